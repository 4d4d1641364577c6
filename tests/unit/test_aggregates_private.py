"""The differentially private mode of the aggregates (data/aggregates/private.py), on the
hand-computed fixture of ``tests/aggregates_support.py`` (71 homeowners counted in 2025:
Gauteng 12 female, 3 male; Western Cape 15 female, 11 male; KwaZulu-Natal 20 female, 10 male;
one Gauteng and one KwaZulu-Natal woman have two leads each).

The noise is random (OpenDP draws from the operating system): it is never compared for
equality. Its law is checked instead, against moments computed here by hand.
"""

from __future__ import annotations

import io
import math
import threading
import time
from datetime import datetime

import pandas as pd
import pytest
from sqlalchemy import select, update

from data.aggregates import private
from data.aggregates.dimensions import BadSpec
from data.aggregates.exporting import export_aggregates
from data.aggregates.models import AggregateExport
from data.aggregates.private import bounded_counts, draw
from data.aggregates.query import names
from data.aggregates.table import Refused
from data.db import session_scope
from data.export import ExportNotAllowed, read_csv_export
from data.models import AuditLog, Homeowner, Lead, ServiceType, Setting, Trade
from tests.aggregates_support import MARCH, build_world, spec
from tests.factories import BaseRows, add_homeowner, add_lead

JUNE = datetime(2025, 6, 15, 10, 0)


@pytest.fixture
def world(db):
    build_world()


def _export(s=None, epsilon=0.5, fmt="csv", role="marketing", now=JUNE, **kw):
    with session_scope() as session:
        return export_aggregates(
            session, s or spec(**kw), fmt=fmt, actor="mia", role=role, now=now, epsilon=epsilon
        )


def _set(key: str, value: str) -> None:
    with session_scope() as s:
        s.add(Setting(key=key, value=value))


# --- contribution bounding (before any noise) -----------------------------------------------


def test_homeowners_are_counted_once_each(world):
    with session_scope() as s:
        got = bounded_counts(s, spec(), names(s))
    assert got == {
        ("Gauteng", "female"): 12,
        ("Gauteng", "male"): 3,
        ("Western Cape", "female"): 15,
        ("Western Cape", "male"): 11,
        ("KwaZulu-Natal", "female"): 20,
        ("KwaZulu-Natal", "male"): 10,
    }


def test_leads_are_capped_per_homeowner(world):
    with session_scope() as s:
        busy = add_homeowner(s, gender="male", province="Western Cape")
        rows = BaseRows(
            s.scalars(select(Trade)).one(), s.scalars(select(ServiceType)).one(), busy, []
        )
        for _ in range(5):  # five leads, of which LEAD_CAP = 3 count
            add_lead(s, rows, homeowner_id=busy.id, province="Western Cape", created_at=MARCH)
    assert private.LEAD_CAP == 3
    with session_scope() as s:
        got = bounded_counts(s, spec(measure="leads"), names(s))
    # by hand: two-lead people count 2; the busy homeowner 3 of 5
    assert got[("Gauteng", "female")] == 13
    assert got[("KwaZulu-Natal", "female")] == 21
    assert got[("Western Cape", "male")] == 11 + 3


# --- the noise: OpenDP's discrete Laplace, checked by its moments ------------------------------


def test_noise_is_opendp_discrete_laplace_with_the_hand_computed_law(monkeypatch):
    made = []
    real = private.dp.m.make_laplace

    def spy(*args, **kwargs):
        made.append(kwargs["scale"])
        return real(*args, **kwargs)

    monkeypatch.setattr(private.dp.m, "make_laplace", spy)
    n, true = 20_000, 40
    noise = draw([true] * n, 1, 0.5)
    assert made and math.isclose(noise.scale, 2.0, rel_tol=1e-6)  # sensitivity 1 / ε 0.5
    assert noise.epsilon <= 0.5 + 1e-12 and math.isclose(noise.epsilon, 0.5, rel_tol=1e-6)
    # discrete Laplace, P(x) ∝ exp(-|x|/2): a = e^-0.5 = 0.60653, variance 2a/(1-a)^2 = 7.835
    variance = 2 * math.exp(-0.5) / (1 - math.exp(-0.5)) ** 2
    assert math.isclose(variance, 7.835, abs_tol=1e-3)
    values = pd.Series(noise.values)
    # the mean of 20 000 draws: sd sqrt(7.835/20000) = 0.0198; 6 sd = 0.119
    assert abs(values.mean() - true) < 0.12
    # the sample variance: sd about 7.835 * sqrt((kurtosis 6 - 1)/20000) = 0.124; 6 sd = 0.75
    assert abs(values.var() - variance) < 0.75
    assert (values != true).mean() > 0.5  # P(no noise) = (1-a)/(1+a) = 0.245


def test_sensitivity_scales_the_noise():
    noise = draw([0] * 10, private.LEAD_CAP, 0.5)
    assert math.isclose(noise.scale, 6.0, rel_tol=1e-6)  # 3 / 0.5


# --- the released table ---------------------------------------------------------------------


def test_csv_reports_mechanism_and_epsilon_and_margins_add_up(world):
    file = _export(epsilon=0.5)
    report, table = read_csv_export(file.content)
    assert report["mechanism"].startswith("discrete Laplace (OpenDP)")
    assert float(report["epsilon (this table)"]) == pytest.approx(0.5)
    assert report["sensitivity (L1, one homeowner)"] == "1"
    assert report["privacy budget 2025 (organisation)"] == "2; spent 0.5; remaining 1.5"
    assert set(table["status"]) == {"released"} and table["value"].notna().all()
    assert (table["value"] >= 0).all()
    inner = table[(table["province"] != "Total") & (table["gender"] != "Total")]
    # every cell of the fixed layout is released (empty ones too): 10 provinces x 4 genders
    assert len(inner) == inner["province"].nunique() * inner["gender"].nunique()
    by_province = inner.groupby("province")["value"].sum()
    for province, total in by_province.items():
        row = table[(table["province"] == province) & (table["gender"] == "Total")]
        assert row["value"].tolist() == [total]
    grand = table[(table["province"] == "Total") & (table["gender"] == "Total")]
    assert grand["value"].tolist() == [inner["value"].sum()]
    text = file.content.decode("utf-8-sig")
    assert "# mechanism" in text and "# epsilon (this table)" in text


def test_grand_total_is_near_the_population_over_many_exports(world):
    """The noisy grand total is the sum of 40 clamped discrete Laplace draws (10 provinces x 4
    genders); over 5 exports at ε = 2 (scale 0.5) its mean stays within a hand-computed bound."""
    _set(private.BUDGET_SETTING, "10")
    totals = []
    for i in range(5):
        with session_scope() as s:
            t = private.build_private_table(s, spec(), 2.0, now=datetime(2025, 1, 1 + i, 12))
        totals.append(int(t.frame["value"].iloc[-1]))
    # a = e^-2 = 0.1353. Clamping at 0 adds E[max(0, X)] = a/(1 - a^2) = 0.138 per empty cell
    # (34 of 40) and at most that per occupied one: the expected total is in [71, 71 + 5.5].
    # Variance per cell at most 2a/(1-a)^2 = 0.362, so a total's sd is under
    # sqrt(40 * 0.362) = 3.8 and the mean of 5 totals' under 1.7: allow 4 sd = 6.8 either way.
    mean = sum(totals) / len(totals)
    assert 71 - 6.8 < mean < 71 + 5.5 + 6.8


def test_ledger_records_mechanism_and_epsilon_and_the_audit_entry(world):
    _export(epsilon=0.4)
    with session_scope() as s:
        (row,) = s.scalars(select(AggregateExport)).all()
        assert row.mechanism == private.MECHANISM
        assert row.epsilon == pytest.approx(0.4)
        assert row.budget_year == 2025
        assert row.spec["dp_epsilon"] == pytest.approx(0.4)
        assert row.population == 71
        (audit,) = s.scalars(select(AuditLog).where(AuditLog.action == "aggregates.export"))
        assert audit.details["filters"]["dp_epsilon"] == pytest.approx(0.4)


# --- the budget -----------------------------------------------------------------------------


def test_yearly_budget_is_spent_then_refused(world):
    _set(private.BUDGET_SETTING, "1.0")
    _export(epsilon=0.5)
    _export(epsilon=0.3, dims=("age_band",))
    with pytest.raises(Refused, match="privacy budget"):
        _export(epsilon=0.3)  # 0.5 + 0.3 + 0.3 = 1.1 > 1.0
    _export(epsilon=0.2)  # 0.5 + 0.3 + 0.2 = 1.0: exactly the budget
    with pytest.raises(Refused, match=r"remains"):
        _export(epsilon=0.05)
    with session_scope() as s:
        spent = [r.epsilon for r in s.scalars(select(AggregateExport).order_by(AggregateExport.id))]
        refusals = s.scalars(
            select(AuditLog).where(AuditLog.action == "aggregates.export_refused")
        ).all()
    assert spent == pytest.approx([0.5, 0.3, 0.2])
    assert [r.details["reason"] for r in refusals] == ["Refused (privacy budget)"] * 2
    # a new Johannesburg year starts at 22:00 UTC on 31 December: a fresh budget
    _export(epsilon=0.5, now=datetime(2025, 12, 31, 22, 30))
    with session_scope() as s:
        assert private.budget(s, datetime(2026, 3, 1)).spent == pytest.approx(0.5)
        assert private.budget(s, datetime(2025, 12, 31, 21, 30)).spent == pytest.approx(1.0)


def test_default_epsilon_and_broken_settings():
    class Fake:
        def __init__(self, value):
            self.value = value

        def execute(self, _query):
            return self

        def scalar(self):
            return self.value

    assert private.default_epsilon(Fake(None)) == private.DEFAULT_EPSILON
    assert private.default_epsilon(Fake("0.25")) == 0.25
    for broken in ("abc", "0", "-1", "0.001", "50", "nan", "inf"):
        assert private.default_epsilon(Fake(broken)) == private.DEFAULT_EPSILON, broken


def test_private_export_takes_no_part_in_differencing(world):
    _export(epsilon=None)  # an exact, k-suppressed export
    with session_scope() as s:  # one homeowner erased since: exact exports now differ by 1
        one = s.scalars(select(Lead.homeowner_id).order_by(Lead.id)).first()  # counted in 2025
        s.execute(update(Homeowner).where(Homeowner.id == one).values(erased_at=JUNE))
    with pytest.raises(Refused, match="differencing"):
        _export(epsilon=None)
    _export(epsilon=0.5)  # the noise protects that one person: allowed
    with pytest.raises(Refused, match="differencing"):  # and a private row is no reference
        _export(epsilon=None)


# --- what is refused ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "epsilon", "message"),
    [
        ({"measure": "share_hired"}, 0.5, "counts only"),
        ({"measure": "avg_rating"}, 0.5, "counts only"),
        ({"rounded": True}, 0.5, "rounding"),
        ({}, 0.01, "between 0.05 and 2"),
        ({}, 5.0, "between 0.05 and 2"),
        ({}, float("nan"), "between 0.05 and 2"),
    ],
)
def test_bad_private_requests_are_refused(world, kw, epsilon, message):
    with pytest.raises(BadSpec, match=message):
        _export(epsilon=epsilon, **kw)
    with session_scope() as s:
        assert s.scalars(select(AggregateExport)).all() == []


@pytest.mark.parametrize("role", ["manager", "privacy_officer", None])
def test_only_marketing_and_admin_export(world, role):
    with pytest.raises(ExportNotAllowed):
        _export(role=role)
    _export(role="admin")


def test_no_personal_data_in_the_files(world):
    with session_scope() as s:
        people = s.execute(
            select(Homeowner.first_name, Homeowner.last_name, Homeowner.email, Homeowner.phone)
        ).all()
    identifiers = {str(v) for row in people for v in row if v}
    csv_text = _export(dims=("province", "age_band")).content.decode("utf-8-sig")
    xlsx = _export(fmt="xlsx", dims=("province", "age_band")).content
    sheets = pd.read_excel(io.BytesIO(xlsx), sheet_name=None, dtype=str)
    for text in (csv_text, "\n".join(df.to_csv() for df in sheets.values())):
        for value in identifiers:
            assert value not in text, value


def test_concurrent_exports_cannot_both_fit_in_the_budget(world, monkeypatch):
    """Budget 1.0, two exports of 0.6 at once: exactly one may pass. The first holds the
    budget lock while it draws (slowed down here), so the second reads its ledger row."""
    _set(private.BUDGET_SETTING, "1.0")
    slow = private.bounded_counts

    def slowly(*args, **kwargs):
        time.sleep(0.5)
        return slow(*args, **kwargs)

    monkeypatch.setattr(private, "bounded_counts", slowly)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def one() -> None:
        start.wait()
        try:
            _export(epsilon=0.6)
            outcomes.append("exported")
        except Refused:
            outcomes.append("refused")

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["exported", "refused"]
    assert _spent_total() == pytest.approx(0.6)


def _spent_total() -> float:
    with session_scope() as s:
        return sum(r.epsilon for r in s.scalars(select(AggregateExport)))

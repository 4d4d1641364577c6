"""Aggregate exports: the file formats, the ledger, the audit entries and the differencing
refusal, on the hand-computed fixture of ``tests/aggregates_support.py``."""

from __future__ import annotations

import io
from datetime import datetime

import pandas as pd
import pytest
from sqlalchemy import select

from data.aggregates.exporting import export_aggregates
from data.aggregates.models import AggregateExport
from data.aggregates.table import Refused
from data.db import session_scope
from data.export import ExportNotAllowed, read_csv_export
from data.models import AuditLog, Homeowner, Lead
from tests.aggregates_support import build_world, spec


@pytest.fixture
def world(db):
    build_world()


def _export(s=None, fmt="csv", role="marketing", **kw):
    with session_scope() as session:
        return export_aggregates(session, s or spec(**kw), fmt=fmt, actor="mia", role=role)


def test_csv_is_report_lines_then_long_form(world):
    file = _export()
    text = file.content.decode("utf-8-sig")
    lines = text.splitlines()
    report = [line for line in lines if line.startswith("#")]
    assert lines[: len(report)] == report  # the report comes first
    filters, table = read_csv_export(file.content)
    assert filters["k (minimum homeowners per released cell)"] == "10"
    assert filters["cells suppressed under k (primary)"] == "1"
    assert filters["cells suppressed to protect them (complementary)"] == "3"
    assert filters["period"] == "2025-01 to 2025-12"
    assert list(table.columns) == ["province", "gender", "value", "status"]
    assert set(table["status"]) == {"released", "suppressed"}
    hidden = table[table["status"] == "suppressed"]
    assert hidden["value"].isna().all() and len(hidden) == 4
    total = table[(table["province"] == "Total") & (table["gender"] == "Total")]
    assert total["value"].tolist() == [71]
    # also readable by a machine that skips comment lines
    plain = pd.read_csv(io.StringIO(text), comment="#")
    assert len(plain) == len(table)
    assert file.filename.startswith("aggregates-") and file.filename.endswith(".csv")


def test_xlsx_has_crosstab_long_form_and_report(world):
    file = _export(fmt="xlsx")
    sheets = pd.read_excel(io.BytesIO(file.content), sheet_name=None, dtype=object)
    assert list(sheets) == ["Cross-tab", "Long form", "Filters"]
    cross = sheets["Cross-tab"].set_index("Province")
    assert cross.loc["KwaZulu-Natal", "female"] == 20
    assert cross.loc["Gauteng", "male"] == "x"
    assert cross.loc["Total", "Total"] == 71
    report = dict(zip(sheets["Filters"]["filter"], sheets["Filters"]["value"], strict=True))
    assert report["k (minimum homeowners per released cell)"] == "10"


def test_every_export_is_in_the_ledger_and_the_audit_log(world):
    _export()
    _export(dims=("age_band",))  # same population, another breakdown: allowed
    with session_scope() as s:
        rows = s.scalars(select(AggregateExport).order_by(AggregateExport.id)).all()
        assert [r.population for r in rows] == [71, 71]
        assert rows[0].population_digest == rows[1].population_digest
        assert rows[0].result_digest != rows[1].result_digest
        assert rows[0].spec["dims"] == ["province", "gender"]
        audits = s.scalars(select(AuditLog).where(AuditLog.action == "aggregates.export")).all()
        assert len(audits) == 2
        assert audits[0].details["filters"]["result_digest"] == rows[0].result_digest


def test_differencing_after_an_erasure_is_refused(world):
    _export()
    with session_scope() as s:
        someone = s.scalars(select(Homeowner).where(Homeowner.gender == "male")).first()
        someone.erased_at = datetime(2026, 1, 1)
    with pytest.raises(Refused, match="differencing"):
        _export()
    with session_scope() as s:
        assert len(s.scalars(select(AggregateExport)).all()) == 1
        refused = s.scalars(
            select(AuditLog).where(AuditLog.action == "aggregates.export_refused")
        ).all()
        assert len(refused) == 1 and refused[0].details["spec"]["from"] == "2025-01"


def test_differencing_between_overlapping_periods(world):
    with session_scope() as s:
        rows_lead = s.scalars(select(Lead)).first()
        for _ in range(3):  # three people with a lead in June only
            h = Homeowner(created_at=datetime(2025, 1, 1), last_activity_at=datetime(2025, 1, 1))
            s.add(h)
            s.flush()
            s.add(
                Lead(
                    homeowner_id=h.id,
                    trade_id=rows_lead.trade_id,
                    service_type_id=rows_lead.service_type_id,
                    province="Gauteng",
                    channel="organic",
                    created_at=datetime(2025, 6, 10),
                    status="created",
                )
            )
    _export(last=(2025, 3))
    with pytest.raises(Refused, match="differencing"):
        _export(last=(2025, 12))  # 3 more people than Jan–Mar: fewer than k
    _export(last=(2025, 5))  # the same people as Jan–Mar: fine


def test_roles_without_the_capability_cannot_export(world):
    for role in ("manager", "privacy_officer", None):
        with pytest.raises(ExportNotAllowed):
            _export(role=role)

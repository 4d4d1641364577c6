"""The de-identified table against a small fixture whose every number is worked out by hand.

Period 2025 (SA months), k = 10, province × gender. Inner cells (distinct homeowners):

=============  ======  ====  =====
province       female  male  total
=============  ======  ====  =====
Gauteng        12      3     15
Western Cape   15      11    26
KwaZulu-Natal  20      10    30
total          47      24    71
=============  ======  ====  =====

Not counted: an erased KZN woman, a KZN man with a standing objection, a Gauteng man whose only
lead is from December 2024 (SA time: 2024-12-31 21:59 UTC), and a Western Cape man whose
objection was denied (so he *is* counted: WC male 11 includes him).

Gauteng × male (3) is under k. Its cheapest hypercube (hand-computed, homeowners hidden
besides itself): with KZN × female 10 + 12 + 20 = 42, with WC × female 11 + 12 + 15 = 38, with
WC × Total 11 + 15 + 26 = 52, Total × female 14 + 12 + 27 = 53, Total × Total 15 + 24 + 71 =
110 — so WC × female wins: hidden cells (G, m), (WC, m), (G, f), (WC, f), everything else
released; 41 of 71 homeowners sit in hidden inner cells.
"""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from data.aggregates.dimensions import TOTAL, BadSpec
from data.aggregates.table import Refused, build_table, configured_k, result_digest
from data.db import session_scope
from data.models import Setting
from tests.aggregates_support import build_world
from tests.aggregates_support import spec as _spec


@pytest.fixture
def world(db):
    build_world()


def _cells(table):
    return {
        tuple(r[: len(table.spec.dims)]): (None if pd.isna(r[-2]) else r[-2], r[-1])
        for r in table.frame.itertuples(index=False)
    }


def test_hand_computed_table(world):
    with session_scope() as s:
        table = build_table(s, _spec())
    cells = _cells(table)
    hidden = {c for c, (_, status) in cells.items() if status == "suppressed"}
    assert hidden == {
        ("Gauteng", "male"),
        ("Western Cape", "male"),
        ("Gauteng", "female"),
        ("Western Cape", "female"),
    }
    assert all(cells[c][0] is None for c in hidden)
    assert cells[("KwaZulu-Natal", "female")] == (20, "released")
    assert cells[("KwaZulu-Natal", "male")] == (10, "released")
    assert cells[("Gauteng", TOTAL)] == (15, "released")
    assert cells[("Western Cape", TOTAL)] == (26, "released")
    assert cells[("KwaZulu-Natal", TOTAL)] == (30, "released")
    assert cells[(TOTAL, "female")] == (47, "released")
    assert cells[(TOTAL, "male")] == (24, "released")
    assert cells[(TOTAL, TOTAL)] == (71, "released")
    assert cells[("Limpopo", "female")] == (0, "released")
    assert table.population == 71
    assert (table.report.primary, table.report.complementary) == (1, 3)
    assert table.report.suppressed_share == pytest.approx(41 / 71)
    # 10 provinces (9 and Other) + Total, times 4 genders (3 and Not stated) + Total
    assert table.report.cells == 11 * 5 == len(table.frame)


def test_leads_measure_counts_leads_and_keeps_the_homeowner_pattern(world):
    with session_scope() as s:
        table = build_table(s, _spec(measure="leads"))
    cells = _cells(table)
    assert cells[("KwaZulu-Natal", "female")] == (21, "released")
    assert cells[(TOTAL, "female")] == (12 + 1 + 15 + 21, "released")
    assert cells[("Gauteng", "male")][1] == "suppressed"


def test_rounding_to_base_5(world):
    with session_scope() as s:
        table = build_table(s, _spec(rounded=True))
    cells = _cells(table)
    assert cells[("KwaZulu-Natal", "female")] == (20, "released")
    assert cells[(TOTAL, "male")] == (25, "released")
    assert cells[(TOTAL, TOTAL)] == (70, "released")


def test_single_dimension_region(world):
    with session_scope() as s:
        table = build_table(s, _spec(dims=("region",)))
    cells = _cells(table)
    # Gauteng is Inland north (15), WC Western (26), KZN East coast (30)
    assert cells[("Inland north",)] == (15, "released")
    assert cells[("Western",)] == (26, "released")
    assert cells[("East coast",)] == (30, "released")
    assert cells[(TOTAL,)] == (71, "released")


def test_k_below_five_is_refused():
    with pytest.raises(Refused, match="below 5"):
        _spec(k=4)


@pytest.mark.parametrize(
    ("dims", "message"),
    [
        ((), "at least one"),
        (("province", "gender", "trade", "channel"), "at most 3"),
        (("province", "region"), "one level"),
        (("month", "year"), "one level"),
        (("name",), "Unknown dimension"),
    ],
)
def test_bad_dimensions(dims, message):
    with pytest.raises(BadSpec, match=message):
        _spec(dims=dims)


def test_k_setting(db):
    with session_scope() as s:
        assert configured_k(s) == 10
        s.add(Setting(key="aggregates.k", value="12"))
    with session_scope() as s:
        assert configured_k(s) == 12
        s.get(Setting, "aggregates.k").value = "3"  # never lowers the threshold
    with session_scope() as s:
        assert configured_k(s) == 10


def test_a_table_too_fine_is_refused_with_a_reason(db):
    # 53 cities × 120 months × 10 channels (+ margins) is far over the cell limit
    spec = _spec(("city", "month", "channel"), "leads", first=(2016, 1), last=(2025, 12))
    with session_scope() as s, pytest.raises(BadSpec, match="cells"):
        build_table(s, spec)


def test_the_result_digest_keeps_the_ledgers_format():
    """The ledger's digest is SHA-256 of this exact JSON (sorted keys, whole numbers as
    decimal text, missing values as null), written out by hand: a digest recorded by an
    earlier release must still match the same table."""
    spec = _spec(("province",), "homeowners", k=10)
    frame = pd.DataFrame(
        [("Gauteng", 12, "released"), ("Limpopo", None, "suppressed"), (TOTAL, 19, "released")],
        columns=["province", "value", "status"],
    )
    frame["value"] = frame["value"].astype("Int64")
    text = (
        '{"rows": [["Gauteng", "12", "released"], ["Limpopo", null, "suppressed"], '
        '["Total", "19", "released"]], "spec": {"dims": ["province"], "from": "2025-01", '
        '"k": 10, "measure": "homeowners", "rounded": false, "to": "2025-12"}}'
    )
    assert result_digest(spec, frame) == hashlib.sha256(text.encode()).hexdigest()
    shares = frame.assign(value=pd.array([0.25, None, 0.5], dtype="Float64"))
    text = text.replace('"12"', "0.25").replace('"19"', "0.5")
    assert result_digest(spec, shares) == hashlib.sha256(text.encode()).hexdigest()

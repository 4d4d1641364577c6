"""The hand-computed aggregates fixture (numbers in tests/unit/test_aggregates_table.py)."""

from __future__ import annotations

from datetime import date, datetime

from data.aggregates.table import make_spec
from data.db import session_scope
from tests.factories import add_homeowner, add_lead, add_privacy_request, base_rows

MARCH = datetime(2025, 3, 10, 9, 0)


def _people(session, rows, province, gender, n, *, leads=1, **fields):
    made = []
    for _ in range(n):
        h = add_homeowner(session, gender=gender, province=province, **fields)
        for _ in range(leads):
            add_lead(session, rows, homeowner_id=h.id, province=province, created_at=MARCH)
        made.append(h)
    return made


def build_world() -> None:
    """Fill the (emptied) test database with the hand-computed population."""
    with session_scope() as s:
        rows = base_rows(s, partners=1)
        _people(s, rows, "Gauteng", "female", 11)
        _people(s, rows, "Gauteng", "female", 1, leads=2)
        _people(s, rows, "Gauteng", "male", 3)
        _people(s, rows, "Western Cape", "female", 15)
        (denied,) = _people(s, rows, "Western Cape", "male", 1)
        _people(s, rows, "Western Cape", "male", 10)
        _people(s, rows, "KwaZulu-Natal", "female", 19)
        _people(s, rows, "KwaZulu-Natal", "female", 1, leads=2)
        _people(s, rows, "KwaZulu-Natal", "male", 10)
        _people(s, rows, "KwaZulu-Natal", "female", 1, erased_at=datetime(2025, 6, 1))
        (objector,) = _people(s, rows, "KwaZulu-Natal", "male", 1)
        add_privacy_request(
            s,
            type="objection",
            subject_type="homeowner",
            subject_id=objector.id,
            status="completed",
        )
        add_privacy_request(
            s, type="objection", subject_type="homeowner", subject_id=denied.id, status="denied"
        )
        late = add_homeowner(s, gender="male", province="Gauteng")
        add_lead(
            s,
            rows,
            homeowner_id=late.id,
            province="Gauteng",
            created_at=datetime(2024, 12, 31, 21, 59),
        )


def spec(
    dims=("province", "gender"), measure="homeowners", k=10, first=(2025, 1), last=(2025, 12), **kw
):
    return make_spec(dims, measure, date(*first, 1), date(*last, 1), k, **kw)

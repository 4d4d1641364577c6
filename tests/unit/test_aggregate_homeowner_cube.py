"""Tables with a homeowner dimension (age band, gender, property type) read ``aggregate_cube``.

* a hand-computed table of three people, then the same after the privacy desk corrects one
  person's birth year and gender (they move to other cells) and after another is erased by the
  real erasure (their cells empty, their ``aggregate_cell`` rows and copies gone);
* random populations (seeded; missing and unlisted genders and property types, every age band)
  against the hand-written Python oracle of ``test_aggregate_cells`` over the base rows, for
  random choices of up to three dimensions and random periods, and the rows the hooks kept
  against a full rebuild;
* the registry knows the copied columns as identifiers, and the erasure deletes the rows.
"""

from __future__ import annotations

import random
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from data.aggregates.cells import LEAD_COMBOS, aggregate_cell, aggregate_cube
from data.aggregates.cube_rebuild import rebuild
from data.aggregates.dimensions import DIMENSIONS, TOTAL, Period
from data.aggregates.query import cell_counts, names
from data.db import session_scope
from data.erasure.execute import erase_subject
from data.erasure.plan import action_of
from data.models import Lead, ServiceType, Trade
from data.privacy.correction import correct_subject
from data.subjects import HOMEOWNER, IDENTIFIER
from tests.factories import add_homeowner, add_lead, add_privacy_request, base_rows
from tests.privacy_support import NOW, make_staff, verified_request
from tests.unit.test_aggregate_cells import oracle

YEAR_2025 = Period(date(2025, 1, 1), date(2025, 12, 1))
#: Lead times of the random worlds: 2024-12-31 22:30 UTC is January in Johannesburg.
WHEN = [
    datetime(2024, 10, 15, 9),
    datetime(2024, 11, 1, 9),
    datetime(2024, 12, 31, 22, 30),
    datetime(2025, 1, 28, 9),
    datetime(2025, 6, 15, 9),
    datetime(2025, 12, 1, 9),
    datetime(2026, 2, 15, 9),
]


def _people_table(session) -> dict[tuple[str, ...], tuple[int, int]]:
    """age band × gender for 2025: (homeowners, leads) of every non-empty cell and margin."""
    counts = cell_counts(session, ("age_band", "gender"), YEAR_2025, names(session))
    return {cell: (c.homeowners, c.leads) for cell, c in counts.items()}


def _kept_equals_rebuild(engine) -> None:
    with session_scope() as s:
        cells = sorted(s.execute(select(aggregate_cell)).all())
        cube = sorted(s.execute(select(aggregate_cube)).all())
    with engine.begin() as conn:
        rebuild(conn)
        assert sorted(conn.execute(select(aggregate_cell)).all()) == cells
        assert sorted(conn.execute(select(aggregate_cube)).all()) == cube


def test_correction_moves_a_person_and_erasure_takes_them_out(db):
    with session_scope() as s:
        rows = base_rows(s, partners=1)
        anna = add_homeowner(s, birth_year=1990, gender="female").id  # 35 in 2025
        ben = add_homeowner(s, birth_year=1991, gender="male").id  # 34
        cara = add_homeowner(s, birth_year=1950, gender=None).id  # 75, gender not stated
        for who, months in ((anna, (3, 7)), (ben, (5,)), (cara, (2,))):
            for month in months:
                add_lead(s, rows, homeowner_id=who, created_at=datetime(2025, month, 10, 9))
        add_lead(s, rows, homeowner_id=cara, created_at=datetime(2024, 12, 10, 9))  # before
        staff = make_staff(s)
    with session_scope() as s:
        assert _people_table(s) == {
            ("30–39", "female"): (1, 2),
            ("30–39", "male"): (1, 1),
            ("70+", "Not stated"): (1, 1),
            ("30–39", TOTAL): (2, 3),
            ("70+", TOTAL): (1, 1),
            (TOTAL, "female"): (1, 2),
            (TOTAL, "male"): (1, 1),
            (TOTAL, "Not stated"): (1, 1),
            (TOTAL, TOTAL): (3, 4),
        }

    request, version = verified_request(
        db, staff.officer, type="correction", subject_type="homeowner", subject_id=anna
    )
    with session_scope() as s:  # the privacy desk corrects Anna: born 1960, male
        correct_subject(
            s,
            request,
            version,
            staff.officer,
            changes={"birth_year": "1960", "gender": "male"},
            now=NOW,
        )
    with session_scope() as s:
        assert _people_table(s) == {
            ("60–69", "male"): (1, 2),
            ("30–39", "male"): (1, 1),
            ("70+", "Not stated"): (1, 1),
            ("60–69", TOTAL): (1, 2),
            ("30–39", TOTAL): (1, 1),
            ("70+", TOTAL): (1, 1),
            (TOTAL, "male"): (2, 3),
            (TOTAL, "Not stated"): (1, 1),
            (TOTAL, TOTAL): (3, 4),
        }
        copies = s.execute(
            select(aggregate_cell.c.birth_year, aggregate_cell.c.gender).where(
                aggregate_cell.c.homeowner_id == anna
            )
        ).all()
        assert copies == [(1960, "male"), (1960, "male")]
    _kept_equals_rebuild(db)

    with session_scope() as s:  # Ben is erased by the real erasure, in its transaction
        erase_subject(s, "homeowner", ben, now=datetime(2026, 3, 4), key=b"k", verify=False)
    with session_scope() as s:
        assert _people_table(s) == {
            ("60–69", "male"): (1, 2),
            ("70+", "Not stated"): (1, 1),
            ("60–69", TOTAL): (1, 2),
            ("70+", TOTAL): (1, 1),
            (TOTAL, "male"): (1, 2),
            (TOTAL, "Not stated"): (1, 1),
            (TOTAL, TOTAL): (2, 3),
        }
        gone = select(func.count()).where(aggregate_cell.c.homeowner_id == ben)
        assert s.execute(gone).scalar_one() == 0
        assert s.get(Lead, s.scalars(select(Lead.id).where(Lead.homeowner_id == ben)).one())
    _kept_equals_rebuild(db)


def test_the_registry_knows_the_copies(db):
    entry = next(e for e in HOMEOWNER.tables if e.table == "aggregate_cell")
    assert set(entry.columns(IDENTIFIER)) == {"birth_year", "gender", "property_type"}
    assert action_of("homeowner", entry) == "delete"
    assert not entry.keeps_statistics


def _random_world(rng: random.Random) -> None:
    """Thirty homeowners with random (sometimes missing or unlisted) birth year, gender and
    property type, one to four leads each at the times of :data:`WHEN` in random cities, trades,
    service types and channels; two erased (by the ORM), one objecting."""
    with session_scope() as s:
        rows = base_rows(s, partners=1)
        trade = Trade(code="roofing", name="Roofing")
        service = ServiceType(code="maintenance", name="Maintenance")
        s.add_all([trade, service])
        s.flush()
        people = []
        for _ in range(30):
            h = add_homeowner(
                s,
                birth_year=rng.choice([None, 1940, 1955, 1966, 1975, 1985, 1996, 2006, 2010]),
                gender=rng.choice([None, "female", "male", "other", "unknown"]),
                property_type=rng.choice([None, "house", "apartment", "farm", "boat"]),
            )
            people.append(h)
            for _ in range(rng.randint(1, 4)):
                at = rng.choice(WHEN)
                add_lead(
                    s,
                    rows,
                    homeowner_id=h.id,
                    province=rng.choice(["Gauteng", "Western Cape", "Limpopo"]),
                    city=rng.choice(["Johannesburg", "Cape Town", None, "Atlantis"]),
                    channel=rng.choice(["organic", "paid_search", "referral"]),
                    trade_id=rng.choice([rows.trade.id, trade.id]),
                    service_type_id=rng.choice([rows.service.id, service.id]),
                    status=rng.choice(["created", "hired", "completed", "closed"]),
                    created_at=at,
                )
        for h in people[:2]:
            h.erased_at = datetime(2025, 8, 1)
        add_privacy_request(
            s, type="objection", subject_type="homeowner", subject_id=people[2].id, status="open"
        )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_tables_equal_the_oracle(db, seed):
    rng = random.Random(seed)
    _random_world(rng)
    keys = [k for k in DIMENSIONS if k != "region"]
    with session_scope() as s:
        vocab = names(s)
        for _ in range(12):
            dims = tuple(rng.sample(keys, rng.randint(1, 3)))
            if len({DIMENSIONS[d].group for d in dims}) < len(dims):
                continue
            first = date(2024, rng.randint(10, 12), 1)
            last = rng.choice([date(2025, 1, 1), date(2025, 6, 1), date(2026, 2, 1)])
            period = Period(first, last)
            assert cell_counts(s, dims, period, vocab) == oracle(s, dims, period), (dims, period)
        with_homeowner_keys = select(func.count()).where(aggregate_cube.c.combo >= len(LEAD_COMBOS))
        assert s.execute(with_homeowner_keys).scalar_one() > 0
    _kept_equals_rebuild(db)

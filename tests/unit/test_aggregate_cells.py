"""The precomputed ``aggregate_cell`` path against an oracle written by hand in Python.

The oracle reads the base rows (leads, homeowners, reviews, privacy requests) of a small fixture
and counts every cell and margin itself: the South African month by adding two hours, distinct
homeowners as Python sets, the exclusions (erased, standing objection) as the design states
them. ``query.cell_counts`` must agree on every cell and every measure, after the initial
writes and after later ones that move homeowners between "one lead in the period" and
"several" (new leads, a lead moved across a month boundary or to another homeowner, a lead
deleted), change hires and ratings, erase a homeowner and record an objection.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from itertools import combinations

import pytest
from alembic import command
from sqlalchemy import inspect, select

from data.aggregates.cells import (
    COMBOS,
    LEAD_COMBOS,
    aggregate_cell,
    aggregate_cube,
    source_rows,
)
from data.aggregates.cube_rebuild import rebuild
from data.aggregates.dimensions import CITY_NAMES, TOTAL, Period
from data.aggregates.query import Counts, cell_counts, names
from data.db import alembic_config, session_scope, upgrade_database
from data.erasure import vocabulary
from data.geography import PROVINCE_REGION
from data.models import Homeowner, Lead, PrivacyRequest, Review, ServiceType, Trade
from tests.factories import add_homeowner, add_lead, add_privacy_request, add_review, base_rows

VOID = {"denied", "duplicate", "unverified"}
HIRED = {"hired", "completed", "reviewed"}
DONE = {"completed", "reviewed"}
CHOICES = [
    (("province", "gender", "month"), Period(date(2025, 1, 1), date(2025, 12, 1))),
    (("trade", "channel", "quarter"), Period(date(2025, 1, 1), date(2025, 6, 1))),
    (("age_band", "province"), Period(date(2024, 12, 1), date(2025, 2, 1))),
    (("year",), Period(date(2024, 11, 1), date(2025, 12, 1))),
    (("channel", "gender", "province"), Period(date(2025, 3, 1), date(2025, 3, 1))),
    # lead dimensions only: read from the cube (``aggregate_cube``)
    (("region", "city", "month"), Period(date(2024, 12, 1), date(2025, 5, 1))),
    (("province", "service_type", "channel"), Period(date(2025, 2, 1), date(2025, 11, 1))),
    (("city", "trade", "year"), Period(date(2024, 11, 1), date(2025, 12, 1))),
    (("channel", "quarter"), Period(date(2025, 5, 1), date(2025, 8, 1))),
]


def _sa_month(at: datetime) -> str:
    return (at + timedelta(hours=2)).strftime("%Y-%m")


def _age_band(birth_year: int | None, year: int) -> str:
    if birth_year is None:
        return "Not stated"
    age = year - birth_year
    bands = ["<20", "20–29", "30–39", "40–49", "50–59", "60–69"]
    return bands[max(0, (age - 10) // 10)] if age < 70 else "70+"


def _category(key: str, lead: Lead, owner: Homeowner, names: dict, period: Period) -> str:
    month = _sa_month(lead.created_at)
    return {
        "province": lead.province,
        "region": PROVINCE_REGION[lead.province],
        "city": lead.city if lead.city in CITY_NAMES else "Other" if lead.city else "Not stated",
        "service_type": names["service_type"][lead.service_type_id],
        "gender": owner.gender if owner.gender in ("female", "male", "other") else "Not stated",
        "property_type": owner.property_type
        if owner.property_type in ("house", "townhouse", "apartment", "farm", "commercial")
        else "Not stated",
        "channel": lead.channel,
        "trade": names["trade"][lead.trade_id],
        "month": month,
        "quarter": f"{month[:4]}-Q{(int(month[5:]) - 1) // 3 + 1}",
        "year": month[:4],
        "age_band": _age_band(owner.birth_year, period.last.year),
    }[key]


def oracle(session, dims, period) -> dict[tuple[str, ...], Counts]:
    """Every non-empty cell and margin, counted in Python from the base rows."""
    owners = {h.id: h for h in session.scalars(select(Homeowner))}
    names = {
        "trade": {t.id: t.name for t in session.scalars(select(Trade))},
        "service_type": {t.id: t.name for t in session.scalars(select(ServiceType))},
    }
    excluded = {h.id for h in owners.values() if h.erased_at is not None} | {
        r.subject_id
        for r in session.scalars(select(PrivacyRequest))
        if r.type == "objection" and r.subject_type == "homeowner" and r.status not in VOID
    }
    ratings: dict[int, list[int]] = defaultdict(list)
    for r in session.scalars(select(Review)):
        if r.author_side == "homeowner_about_partner" and r.moderation_status == "published":
            ratings[r.lead_id].append(r.rating)
    first, last = f"{period.first:%Y-%m}", f"{period.last:%Y-%m}"
    people: dict[tuple, set[int]] = defaultdict(set)
    sums: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for lead in session.scalars(select(Lead)):
        if lead.homeowner_id in excluded or not first <= _sa_month(lead.created_at) <= last:
            continue
        values = [_category(k, lead, owners[lead.homeowner_id], names, period) for k in dims]
        for size in range(len(dims) + 1):
            for kept in combinations(range(len(dims)), size):
                cell = tuple(v if i in kept else TOTAL for i, v in enumerate(values))
                people[cell].add(lead.homeowner_id)
                acc = sums[cell]
                acc[0] += 1
                acc[1] += lead.status in HIRED
                acc[2] += lead.status in DONE
                acc[3] += sum(ratings[lead.id])
                acc[4] += len(ratings[lead.id])
    return {cell: Counts(len(people[cell]), *acc) for cell, acc in sums.items()}


def _check(engine) -> None:
    with session_scope() as s:
        vocab = names(s)
        for dims, period in CHOICES:
            expected = oracle(s, dims, period)
            assert cell_counts(s, dims, period, vocab) == expected, dims
            for sums in ((), ("leads", "hires"), ("rating_sum", "reviews")):  # what tables read
                zeroed = {f: 0 for f in Counts._fields[1:] if f not in sums}
                narrow = {cell: c._replace(**zeroed) for cell, c in expected.items()}
                assert cell_counts(s, dims, period, vocab, sums=sums) == narrow, (dims, sums)
        stored = sorted(s.execute(select(aggregate_cell)).all())
        assert stored == sorted(s.execute(source_rows()).all())
        cube = sorted(s.execute(select(aggregate_cube)).all())
    with engine.begin() as conn:  # the full rebuild agrees with the incremental upkeep
        rebuild(conn)
        assert sorted(conn.execute(select(aggregate_cell)).all()) == stored
        assert sorted(conn.execute(select(aggregate_cube)).all()) == cube


def _at(month: int, day: int = 10, year: int = 2025) -> datetime:
    return datetime(year, month, day, 9, 0)


@pytest.fixture
def world(db):
    """Twenty homeowners with one to three leads over 2024-11..2025-12 (boundary times
    included), two trades and service types, listed, unlisted and missing cities, all
    channels' mix, statuses and reviews of every kind."""
    made = {}
    with session_scope() as s:
        rows = base_rows(s, partners=1)
        other = Trade(code="roofing", name="Roofing")
        repair = ServiceType(code="maintenance", name="Maintenance")
        s.add_all([other, repair])
        s.flush()
        genders = ["female", "male", None, "other"]
        provinces = ["Gauteng", "Western Cape", "Limpopo"]
        channels = ["organic", "paid_search", "referral"]
        cities = ["Johannesburg", "Cape Town", None, "Atlantis"]  # listed, missing, unlisted
        statuses = ["created", "hired", "completed", "reviewed", "closed"]
        for i in range(20):
            h = add_homeowner(s, gender=genders[i % 4], birth_year=1950 + 3 * i)
            for j in range(1 + i % 3):
                lead = add_lead(
                    s,
                    rows,
                    homeowner_id=h.id,
                    province=provinces[(i + j) % 3],
                    channel=channels[(i * j) % 3],
                    trade_id=other.id if (i + j) % 2 else rows.trade.id,
                    service_type_id=repair.id if (i * j) % 2 else rows.service.id,
                    city=cities[(i + 2 * j) % 4],
                    status=statuses[(i + 2 * j) % 5],
                    created_at=_at(1 + (5 * i + 4 * j) % 12),
                )
                if lead.status == "reviewed":
                    add_review(s, rows, lead, rating=1 + i % 5)
                    add_review(s, rows, lead, rating=5, moderation_status="pending")
                    add_review(s, rows, lead, author_side="partner_about_homeowner", rating=2)
            made[i] = h.id
        # SA months at the edges: 2024-12-31 22:30 UTC is January in Johannesburg
        add_lead(s, rows, homeowner_id=made[0], created_at=datetime(2024, 12, 31, 22, 30))
        add_lead(s, rows, homeowner_id=made[1], created_at=_at(11, year=2024))
        made["rows"] = rows
    return made


def test_cells_match_the_oracle_after_every_kind_of_write(world, db):
    _check(db)
    with session_scope() as s:  # a single homeowner gets a second lead in the same cell
        rows = world["rows"]
        add_lead(s, rows, homeowner_id=world[3], created_at=_at(1 + (5 * 3) % 12))
        add_lead(s, rows, homeowner_id=world[6], province="Western Cape", created_at=_at(2, 28))
    _check(db)
    with session_scope() as s:
        leads = {
            lead.homeowner_id: lead for lead in s.scalars(select(Lead).order_by(Lead.id.desc()))
        }
        leads[world[4]].status = "completed"  # hires and completed jobs change
        leads[world[5]].created_at = datetime(2025, 2, 28, 22, 30)  # moves to March (SA)
        leads[world[7]].homeowner_id = world[9]  # moves to another person
        for review in s.scalars(select(Review).where(Review.lead_id == leads[world[10]].id)):
            s.delete(review)
        s.delete(leads[world[11]])
        reviewed = s.scalars(select(Lead).where(Lead.status == "reviewed")).first()
        add_review(s, world["rows"], reviewed, rating=1)
        for review in s.scalars(select(Review).where(Review.moderation_status == "pending")):
            review.moderation_status = "published"
    _check(db)
    with session_scope() as s:  # erasure and objection: the people leave every cell
        s.get(Homeowner, world[2]).erased_at = datetime(2025, 7, 1)
        add_privacy_request(
            s, type="objection", subject_type="homeowner", subject_id=world[8], status="open"
        )
        add_privacy_request(
            s, type="objection", subject_type="homeowner", subject_id=world[12], status="denied"
        )
    _check(db)


def test_migrations_0022_and_0023_fill_the_cube_from_existing_cells(world, db):
    """An upgraded database gets the cube the hooks would have kept: migration 0022 creates
    the table and fills the combinations of lead keys from ``aggregate_cell``; 0023 adds the
    homeowner's copied columns (filled from ``homeowner``) and the combinations with a
    homeowner key, and its downgrade takes both away again. The suite's database is restored
    to the heads afterwards."""
    with session_scope() as s:
        s.get(Homeowner, world[2]).erased_at = datetime(2025, 7, 1)
    with session_scope() as s:
        kept = sorted(s.execute(select(aggregate_cube)).all())
        cells = sorted(s.execute(select(aggregate_cell)).all())
    assert {row.combo for row in kept} == set(range(len(COMBOS)))
    config = alembic_config(db)
    try:
        command.downgrade(config, "0022")
        columns = {c["name"] for c in inspect(db).get_columns("aggregate_cell")}
        assert not columns & {"birth_year", "gender", "property_type"}
        with db.connect() as conn:
            assert sorted(conn.execute(select(aggregate_cube)).all()) == [
                row for row in kept if row.combo < len(LEAD_COMBOS)
            ]
        command.downgrade(config, "0021")
        assert "aggregate_cube" not in inspect(db).get_table_names()
        command.upgrade(config, "0022")
        with db.connect() as conn:
            assert sorted(conn.execute(select(aggregate_cube)).all()) == [
                row for row in kept if row.combo < len(LEAD_COMBOS)
            ]
        command.upgrade(config, "0023")
        with db.connect() as conn:
            assert sorted(conn.execute(select(aggregate_cube)).all()) == kept
            assert sorted(conn.execute(select(aggregate_cell)).all()) == cells
    finally:
        upgrade_database(db)  # as the app upgrades: the residue scan's triggers rebuilt too
    with db.connect() as conn:
        # SQLite's batch ALTER copies the table without its triggers; the upgrade puts them
        # back, covering the copied columns, so the erasure scan still skips the table
        assert {"gender", "property_type"} <= vocabulary.covered(conn)["aggregate_cell"]

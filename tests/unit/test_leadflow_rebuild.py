"""The lead-flow rebuild (packed sums, scratch grains) against the literal ``GROUP BY``.

The rebuild sums the coarser levels from finer ones, three counts packed per integer; the
oracle here counts each level straight from the base tables, grouped by that level's keys
(``flow_source`` / ``transition_source``: one ``SUM(CASE …)`` per column, no packing, no
chaining of levels). The world of ``tests/leadflow_world.py`` gets copies of its leads so that
several leads share a day and a cell and the sums really add up.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Connection, Engine, Integer, cast, func, literal, select, union_all

from data.db import read_connection, session_scope
from data.models import Lead, LeadEvent, LeadShare
from data.rollups import lead_flow
from data.rollups.lead_flow import (
    FLOW_COUNTS,
    FLOW_LEVELS,
    FLOW_TABLES,
    TRANSITION_LEVELS,
    TRANSITION_TABLES,
    flow_source,
    rebuild_lead_flow,
    transition_source,
)
from tests.leadflow_world import World, build_world


@pytest.fixture
def world(db: Engine) -> World:
    world = build_world(db)
    _copy_leads(world, copies=3)
    return world


def _copy_leads(world: World, copies: int) -> None:
    """``copies`` more of every lead, each created an hour later than the last on the same
    day and in the same cell, with its shares and events moved along; one copy of each goes to
    another channel, so that cells differ within a day."""
    with session_scope() as s:
        for lead_id in world.leads.values():
            lead = s.get(Lead, lead_id)
            assert lead is not None
            shares = s.scalars(select(LeadShare).where(LeadShare.lead_id == lead_id)).all()
            events = s.scalars(select(LeadEvent).where(LeadEvent.lead_id == lead_id)).all()
            for n in range(1, copies + 1):
                shift = timedelta(minutes=20 * n)
                copy = Lead(
                    homeowner_id=lead.homeowner_id,
                    trade_id=lead.trade_id,
                    service_type_id=lead.service_type_id,
                    province=lead.province,
                    city=lead.city,
                    channel="referral" if n == copies else lead.channel,
                    created_at=lead.created_at + shift,
                    status=lead.status,
                )
                s.add(copy)
                s.flush()
                for share in shares:
                    s.add(
                        LeadShare(
                            lead_id=copy.id,
                            partner_id=share.partner_id,
                            trade_id=share.trade_id,
                            province=share.province,
                            **{
                                k: None if getattr(share, k) is None else getattr(share, k) + shift
                                for k in (
                                    "shared_at",
                                    "first_contact_at",
                                    "quoted_at",
                                    "hired_at",
                                    "completed_at",
                                )
                            },
                            partner_was_prospective=share.partner_was_prospective,
                        )
                    )
                for event in events:
                    s.add(
                        LeadEvent(
                            lead_id=copy.id,
                            partner_id=event.partner_id,
                            from_status=event.from_status,
                            to_status=event.to_status,
                            at=event.at + shift,
                            actor=event.actor,
                        )
                    )


def _rows(conn: Connection, query: object) -> list[tuple[str, ...]]:
    return sorted(tuple(str(v) for v in row) for row in conn.execute(query))  # type: ignore[call-overload]


def _assert_levels_equal_the_literal_group_by() -> None:
    with read_connection() as conn:
        for level, keys in FLOW_LEVELS.items():
            table = FLOW_TABLES[level]
            stored = select(*(table.c[k] for k in ("day", *keys, *FLOW_COUNTS)))
            literal = flow_source(("day", *keys))
            assert _rows(conn, stored) == _rows(conn, literal), level
        for level, keys in TRANSITION_LEVELS.items():
            stored = select(TRANSITION_TABLES[level])
            literal = transition_source(("day", *keys))
            assert _rows(conn, stored) == _rows(conn, literal), level
        # the copies really share days and cells: a level sums several leads into one row
        biggest = conn.execute(select(func.max(FLOW_TABLES["full"].c.leads))).scalar_one()
    assert biggest == 3


@pytest.mark.parametrize("packed", [True, False], ids=["packed", "one count per integer"])
def test_every_level_equals_a_literal_group_by(
    world: World, packed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lead_flow, "_packable", lambda conn, where: packed)
    with session_scope() as s:
        rebuild_lead_flow(s.connection())
    _assert_levels_equal_the_literal_group_by()


def test_the_session_hooks_equal_a_literal_group_by(world: World) -> None:
    """The copies were written through sessions: the day-by-day recount kept every level."""
    _assert_levels_equal_the_literal_group_by()


def test_packing_falls_back_when_a_day_could_overflow_a_field(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With 2-bit fields a day of 4 leads would carry into the next field: the rebuild sees
    it and sums one count per integer (still equal to the literal GROUP BY)."""
    with read_connection() as conn:
        assert lead_flow._packable(conn, Lead.id > 0)
    monkeypatch.setattr(lead_flow, "PACK_BITS", 2)
    with read_connection() as conn:
        assert not lead_flow._packable(conn, Lead.id > 0)  # 4 leads on 3 March
        # a day with fewer than 4 leads still packs
        first = conn.execute(select(func.min(Lead.created_at))).scalar_one()
        # the first lead and its first two copies (20 and 40 minutes later): 3 leads
        assert lead_flow._packable(conn, Lead.created_at < first + timedelta(minutes=50))
    with session_scope() as s:
        rebuild_lead_flow(s.connection())
    _assert_levels_equal_the_literal_group_by()


def test_packed_fields_keep_their_largest_values(db: Engine) -> None:
    """Two rows whose fields add up to the largest value a field holds come back unchanged,
    on either database (no carry, no sign, no overflow in the multiplications)."""
    top = (1 << lead_flow.PACK_BITS) - 1
    half = top // 2
    rows = union_all(
        select(_as_int(half).label("a"), _as_int(0).label("b"), _as_int(half).label("c")),
        select(_as_int(top - half).label("a"), _as_int(top).label("b"), _as_int(1).label("c")),
    ).subquery()
    packed = lead_flow._pack([rows.c.a, rows.c.b, rows.c.c])
    total = lead_flow._summed(("a", "b", "c"), packed)
    with read_connection() as conn:
        got = conn.execute(select(*lead_flow._unpacked(total, 3))).one()
    assert tuple(got) == (top, top, half + 1)


def _as_int(value: int) -> object:
    return cast(literal(value), Integer)

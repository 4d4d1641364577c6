"""The cumulative rollups stay equal to a full rebuild (and to the base tables) whatever
changes: inserts, updates that move a share between days, partners or provinces, deletes,
reviews that mark a share as reviewed, and bulk writes that bypass the ORM."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import (
    DateTime,
    Engine,
    bindparam,
    event,
    func,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.orm import Session

from data import partner_detail as pdetail
from data import partners as pdata
from data import rollups
from data.db import (
    SESSIONS,
    downgrade_database,
    read_connection,
    session_scope,
    upgrade_database,
)
from data.models import LeadShare, Review, ServiceType
from tests.factories import add_lead, add_review, add_share
from tests.partners_world import MARCH, build_world

TABLES = rollups.ALL_TABLES


def snapshot(engine: Engine) -> dict[str, list[tuple]]:
    with read_connection(engine) as conn:
        return {
            t.name: sorted(tuple(str(v) for v in r) for r in conn.execute(select(t)).all())
            for t in TABLES
        }


def rebuilt(engine: Engine) -> dict[str, list[tuple]]:
    """What a full rebuild produces (the current state is restored afterwards)."""
    with engine.connect() as conn:
        trans = conn.begin()
        rollups.rebuild(conn)
        state = {
            t.name: sorted(tuple(str(v) for v in r) for r in conn.execute(select(t)).all())
            for t in TABLES
        }
        trans.rollback()
    return state


def assert_consistent(engine: Engine) -> None:
    assert snapshot(engine) == rebuilt(engine)


PRESET_DAY = date(2026, 3, 31)  # the presets end here: "last 30 days" is March 2 – 31


@pytest.fixture
def world(db):
    """The partners world, with the standard periods' preset rows stored for ``PRESET_DAY``, so
    that every test of incremental maintenance against a rebuild covers them too."""
    built = build_world(db)
    with db.begin() as conn:
        for key in [
            (0, ""),
            (built.plumbing, ""),
            (built.electrical, ""),
            (0, "Gauteng"),
            (0, "Western Cape"),
        ]:
            rollups.recompute_presets(conn, PRESET_DAY, key)
    return built


def test_orm_inserts_keep_rollups_equal_to_a_rebuild(db, world):
    assert_consistent(db)
    state = snapshot(db)
    for table in rollups.ALL_TABLES:
        assert len(state[table.name]) > 0, table.name


def test_rebuild_is_idempotent_and_bumps_the_version(db, world):
    with db.begin() as conn:
        before = rollups.current_version(conn)
        rollups.rebuild(conn)
    first = snapshot(db)
    with db.begin() as conn:
        rollups.rebuild(conn)
        assert rollups.current_version(conn) == before + 2
    assert snapshot(db) == first


def test_updates_that_move_shares_between_days_partners_and_provinces(db, world):
    with session_scope(db) as s:
        shares = s.scalars(select(LeadShare).order_by(LeadShare.id)).all()
        shares[0].first_contact_at = shares[0].shared_at + timedelta(days=9)  # later contact
        shares[1].shared_at = datetime(2026, 2, 1, 8)  # moves to another day (and month)
        shares[2].partner_id = world.ids["charlie"]  # moves to another partner
        shares[3].province = "Limpopo"  # moves to another key
    assert_consistent(db)
    with read_connection(db) as conn:
        alpha = pdetail.partner_metrics(conn, world.ids["alpha"], pdata.PartnerFilters(*MARCH))
        charlie = pdetail.partner_metrics(conn, world.ids["charlie"], pdata.PartnerFilters(*MARCH))
    assert alpha["shares"] == 2 and charlie["shares"] == 1


def test_deletes_and_reviewed_flag(db, world):
    filters = pdata.PartnerFilters(*MARCH)
    with read_connection(db) as conn:
        assert pdetail.partner_metrics(conn, world.ids["alpha"], filters)["reviewed"] == 1
    with session_scope(db) as s:
        review = s.scalars(
            select(Review).where(
                Review.partner_id == world.ids["alpha"],
                Review.rating == 5,
                Review.author_side == rollups.ABOUT_PARTNER,
                Review.created_at == datetime(2026, 3, 9, 15),
            )
        ).one()
        s.delete(review)
    assert_consistent(db)
    with read_connection(db) as conn:
        alpha = pdetail.partner_metrics(conn, world.ids["alpha"], filters)
    assert alpha["reviewed"] == 0 and alpha["reviews"] == 4
    with session_scope(db) as s:
        for share in s.scalars(select(LeadShare).where(LeadShare.partner_id == world.ids["echo"])):
            s.delete(share)
    assert_consistent(db)


def test_every_change_bumps_the_version(db, world):
    with read_connection(db) as conn:
        before = rollups.current_version(conn)
    with session_scope(db) as s:
        share = s.scalars(select(LeadShare)).first()
        share.quoted_at = share.shared_at + timedelta(hours=3)
    with read_connection(db) as conn:
        assert rollups.current_version(conn) > before


def test_unrelated_writes_do_not_touch_rollups(db, world):
    from data.models import Partner

    with read_connection(db) as conn:
        before = rollups.current_version(conn)
    with session_scope(db) as s:
        s.get(Partner, world.ids["alpha"]).website = "https://alpha.example"
    with read_connection(db) as conn:
        assert rollups.current_version(conn) == before


def test_bulk_writes_need_an_explicit_refresh(db, world):
    row = {
        "lead_id": 1,
        "partner_id": world.ids["bravo"],
        "trade_id": world.plumbing,
        "province": "Gauteng",
        "shared_at": datetime(2026, 3, 30, 12),
    }
    with db.begin() as conn:
        conn.execute(insert(LeadShare.__table__), [row])  # Core: no ORM hook
    assert snapshot(db) != rebuilt(db)
    with db.begin() as conn:
        rollups.refresh_partners(conn, {world.ids["bravo"]: date(2026, 3, 30)})
    assert_consistent(db)


def test_skip_flag_for_bulk_loaders(db, world):
    with session_scope(db) as s:
        s.info[rollups.SKIP_ROLLUPS] = True
        share = s.scalars(
            select(LeadShare).where(LeadShare.partner_id == world.ids["echo"])
        ).first()
        share.first_contact_at = share.shared_at + timedelta(minutes=3)
    assert snapshot(db) != rebuilt(db)
    with db.begin() as conn:
        rollups.rebuild(conn)
    assert_consistent(db)


def test_refresh_from_the_start_equals_refresh_from_a_day(db, world):
    with db.begin() as conn:
        rollups.refresh_partners(conn, {world.ids["alpha"]: None})
    assert_consistent(db)
    with db.begin() as conn:
        rollups.refresh_partners(conn, {world.ids["alpha"]: date(2026, 3, 6)})
    assert_consistent(db)


def test_cum_at_reads_the_latest_row_on_or_before_a_day(db, world):
    alpha = world.ids["alpha"]
    scope = rollups.Scope(partner_ids=(alpha,))
    with read_connection(db) as conn:
        before_any = rollups.cum_at(conn, rollups.SHARES, date(2025, 1, 1), scope, ["shares"])
        jan = rollups.cum_at(conn, rollups.SHARES, date(2026, 2, 28), scope, ["shares"])
        mar5 = rollups.cum_at(conn, rollups.SHARES, date(2026, 3, 5), scope, ["shares"])
        keyed = rollups.cum_at(
            conn,
            rollups.SHARES,
            date(2026, 3, 31),
            rollups.Scope(trade_ids=(world.plumbing,), province="Gauteng", group="trade"),
            ["shares", "contacted"],
        )
        totals = rollups.trade_totals(
            conn, rollups.SHARES, date(2026, 1, 1), date(2026, 3, 31), None, ["shares"]
        )
        in_gauteng = rollups.trade_totals(
            conn,
            rollups.SHARES,
            date(2000, 1, 1),
            date(2026, 3, 31),
            (world.plumbing,),
            ["shares", "contacted"],
            province="Gauteng",
        )
    assert before_any == []
    assert [tuple(r) for r in jan] == [(alpha, 1)]
    assert [tuple(r) for r in mar5] == [(alpha, 3)]
    # plumbing in Gauteng to the end of March: Alpha 5 (incl. January), Echo 3; contacted 3
    assert [tuple(r) for r in keyed] == [(world.plumbing, 8, 3)]
    assert [tuple(r) for r in in_gauteng] == [(world.plumbing, 8, 3)]
    # all plumbing shares (Alpha 5, Bravo 2, Echo 3) and electrical (Delta 1) in Q1
    assert [tuple(r) for r in totals] == [(world.plumbing, 10), (world.electrical, 1)]
    with pytest.raises(ValueError, match="unknown rollup columns"), read_connection(db) as conn:
        rollups.cum_at(conn, rollups.SHARES, date(2026, 1, 1), scope, ["password"])


def test_scope_picks_the_narrowest_level():
    with pytest.raises(ValueError):
        rollups.Scope(group="homeowner")
    assert rollups.Scope().level == "partner"
    assert rollups.Scope(province="Gauteng").level == "partner_province"
    assert rollups.Scope(trade_ids=(1,)).level == "partner_trade"
    assert rollups.Scope(trade_ids=(1,), province="Gauteng").level == "partner_trade_province"
    assert rollups.Scope(group="trade").uses_trade_totals
    assert rollups.Scope(group="trade", province="Gauteng").uses_trade_totals
    assert not rollups.Scope(group="trade", partner_ids=(1,)).uses_trade_totals
    assert not rollups.Scope(group="trade", vetting=("vetted",)).uses_trade_totals


@pytest.mark.parametrize("province", [None, "Gauteng", "Western Cape", "Limpopo"])
def test_trade_totals_agree_with_group_by_over_base_tables(db, world, province):
    """The detail page's trade comparison (all partners of a trade, optionally in one
    province) comes from the daily totals tables; it must equal GROUP BY over the base."""
    scope = rollups.Scope(province=province, group="trade")
    with read_connection(db) as conn:
        for family in rollups.FAMILIES:
            for start, end in (MARCH, (date(2025, 1, 1), date(2026, 12, 31))):
                fast = rollups.period_counts(conn, family, start, end, scope)
                slow = rollups.period_counts(conn, family, start, end, scope, source="base")
                assert fast.to_dict() == slow.to_dict()


@pytest.mark.parametrize(
    ("before", "tables"),
    [
        ("0002", lambda f: [f.trade_province_table]),
        ("0004", lambda f: list(f.latest.values())),
        ("0005", lambda f: [rollups.rollup_lead_day]),
    ],
    ids=["0004 trade x province totals", "0005 latest rows", "0006 lead days"],
)
def test_migration_fills_its_tables_like_a_rebuild(db, world, before, tables):
    """An upgraded database gets the migration's tables filled from its existing rollups,
    equal to what a rebuild writes (so upgrading needs no rebuild)."""
    names = sorted({t.name for f in rollups.FAMILIES for t in tables(f)})
    expected = {name: rows for name, rows in rebuilt(db).items() if name in names}
    assert all(expected.values())  # the world has shares and reviews
    downgrade_database(db, before)
    try:
        assert not set(names) & set(inspect(db).get_table_names())
    finally:
        upgrade_database(db)
    assert {name: rows for name, rows in snapshot(db).items() if name in names} == expected


@pytest.mark.parametrize(
    "scope",
    [
        rollups.Scope(),
        rollups.Scope(province="Gauteng"),
        rollups.Scope(trade_ids=(1,)),
        rollups.Scope(trade_ids=(1,), province="Gauteng"),
    ],
    ids=["partner", "province", "trade", "trade+province"],
)
def test_periods_ending_after_the_data_read_the_latest_rows(db, world, scope):
    """A period that ends on or after the last day with data takes its end from the latest
    rows (no search): it must equal GROUP BY over the base tables, and the statement must
    name the level's latest table."""
    if scope.trade_ids is not None:
        scope = rollups.Scope(trade_ids=(world.plumbing,), province=scope.province)
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db, "before_cursor_execute", record)
    try:
        with read_connection(db) as conn:
            for family in rollups.FAMILIES:
                for start, end in (
                    (date(2026, 3, 1), date(2030, 1, 1)),
                    (date(2000, 1, 1), MARCH[1]),
                ):
                    fast = rollups.period_counts(conn, family, start, end, scope)
                    slow = rollups.period_counts(conn, family, start, end, scope, source="base")
                    assert fast.to_dict() == slow.to_dict()
    finally:
        event.remove(db, "before_cursor_execute", record)
    latest = [t.name for t in (f.latest[scope.level] for f in rollups.FAMILIES)]
    assert all(any(name in sql for sql in statements) for name in latest)


def _march_shares(engine: Engine, partner_id: int) -> tuple[int, int]:
    """(by the rollups, by a plain COUNT over lead_share) for the partner's March shares."""
    scope = rollups.Scope(partner_ids=(partner_id,))
    start, end = MARCH
    with read_connection(engine) as conn:
        counts = rollups.period_counts(conn, rollups.SHARES, start, end, scope, ["shares"])
        plain = conn.execute(
            select(func.count())
            .select_from(LeadShare)
            .where(
                LeadShare.partner_id == partner_id,
                LeadShare.shared_at >= datetime(2026, 3, 1),
                LeadShare.shared_at < datetime(2026, 4, 1),
            )
        ).scalar_one()
    return (int(counts["shares"].sum()) if not counts.empty else 0), plain


def test_a_fresh_session_of_the_factory_keeps_rollups_current(db, world):
    """The rollup hooks come with the application's session factory (installed explicitly in
    ``data.db``), not with importing ``data.rollups``: a new session of the factory updates the
    rollups when it commits, and a bare ``Session`` made elsewhere does not."""
    alpha, bravo = world.ids["alpha"], world.ids["bravo"]
    before, plain_before = _march_shares(db, alpha)
    assert before == plain_before
    march = (
        LeadShare.shared_at >= datetime(2026, 3, 1),
        LeadShare.shared_at < datetime(2026, 4, 1),
    )
    session = SESSIONS(bind=db)
    with session, session.begin():
        share = session.scalars(
            select(LeadShare).where(LeadShare.partner_id == bravo, *march).limit(1)
        ).one()
        share.partner_id = alpha
    assert _march_shares(db, alpha) == (before + 1, plain_before + 1)
    with Session(db) as bare, bare.begin():
        share = bare.scalars(
            select(LeadShare).where(LeadShare.partner_id == bravo, *march).limit(1)
        ).one()
        share.partner_id = alpha
    assert _march_shares(db, alpha) == (before + 1, plain_before + 2)  # rollups not told


# --- an independent oracle: literal GROUP BY over the base tables --------------------------------
#
# The rollups are compared here with plain SQL written out in this file, over lead_share,
# review, lead and partner only: no ``Family.deltas``, no ``data.sqlfuncs`` helper, no rollup
# table. Trade and province come from the lead (the share and review copies must agree). The
# one expression SQLite and PostgreSQL spell differently is "seconds from sharing to the first
# contact"; both spellings give whole seconds, so the 24-hour bound is exact.

SECONDS_TO_CONTACT = {
    "sqlite": "(strftime('%s', s.first_contact_at) - strftime('%s', s.shared_at))",
    "postgresql": "(EXTRACT(EPOCH FROM s.first_contact_at) - EXTRACT(EPOCH FROM s.shared_at))",
}

ORACLE_SHARES = """
SELECT {group} AS g,
       COUNT(*) AS shares,
       SUM(CASE WHEN s.first_contact_at IS NOT NULL THEN 1 ELSE 0 END) AS contacted,
       SUM(CASE WHEN s.first_contact_at IS NOT NULL AND s.quoted_at IS NOT NULL
                 AND s.hired_at IS NOT NULL THEN 1 ELSE 0 END) AS hired,
       SUM(CASE WHEN s.first_contact_at IS NOT NULL AND {seconds} <= 86400
                THEN 1 ELSE 0 END) AS within_24h
FROM lead_share AS s
JOIN lead AS l ON l.id = s.lead_id
JOIN partner AS p ON p.id = s.partner_id
WHERE s.shared_at >= :start AND s.shared_at < :stop {where}
GROUP BY {group}
"""

ORACLE_REVIEWS = """
SELECT {group} AS g,
       COUNT(*) AS all_reviews,
       SUM(CASE WHEN r.moderation_status = 'published' THEN 1 ELSE 0 END) AS reviews,
       SUM(CASE WHEN r.moderation_status = 'published' THEN r.rating ELSE 0 END) AS rating_sum,
       SUM(CASE WHEN r.moderation_status = 'published' AND r.rating = 1 THEN 1 ELSE 0 END) AS r1,
       SUM(CASE WHEN r.moderation_status = 'published' AND r.rating = 2 THEN 1 ELSE 0 END) AS r2,
       SUM(CASE WHEN r.moderation_status = 'published' AND r.rating = 3 THEN 1 ELSE 0 END) AS r3,
       SUM(CASE WHEN r.moderation_status = 'published' AND r.rating = 4 THEN 1 ELSE 0 END) AS r4,
       SUM(CASE WHEN r.moderation_status = 'published' AND r.rating = 5 THEN 1 ELSE 0 END) AS r5,
       SUM(CASE WHEN r.dispute THEN 1 ELSE 0 END) AS disputes
FROM review AS r
JOIN lead AS l ON l.id = r.lead_id
JOIN partner AS p ON p.id = r.partner_id
WHERE r.author_side = 'homeowner_about_partner'
  AND r.created_at >= :start AND r.created_at < :stop {where}
GROUP BY {group}
"""

SHARE_ORACLE_COLUMNS = ("shares", "contacted", "hired", "within_24h")
REVIEW_ORACLE_COLUMNS = ("all_reviews", "reviews", "rating_sum", "r1", "r2", "r3", "r4", "r5")
REVIEW_ORACLE_COLUMNS += ("disputes",)


def oracle(
    conn, sql: str, scope: rollups.Scope, start: date, end: date, columns: tuple[str, ...]
) -> dict[int, tuple[int, ...]]:
    """{partner or trade id: counts} by the literal SQL above, for the inclusive South African
    days ``start``..``end``; groups whose counts are all zero are left out (as period_counts
    does). A Johannesburg day runs from 22:00 UTC the day before to 22:00 UTC (UTC+2, no
    daylight saving), written out here rather than taken from ``data.timeutil``."""
    params: dict = {
        "start": datetime(start.year, start.month, start.day) - timedelta(hours=2),
        "stop": datetime(end.year, end.month, end.day) + timedelta(days=1, hours=-2),
    }
    binds = [bindparam("start", type_=DateTime), bindparam("stop", type_=DateTime)]
    where = ""
    if scope.partner_ids is not None:
        where += " AND p.id IN :partner_ids"
        params["partner_ids"] = list(scope.partner_ids)
        binds.append(bindparam("partner_ids", expanding=True))
    if scope.vetting:
        where += " AND p.vetting_status IN :vetting"
        params["vetting"] = list(scope.vetting)
        binds.append(bindparam("vetting", expanding=True))
    if scope.trade_ids is not None:
        where += " AND l.trade_id IN :trade_ids"
        params["trade_ids"] = list(scope.trade_ids)
        binds.append(bindparam("trade_ids", expanding=True))
    if scope.province is not None:
        where += " AND l.province = :province"
        params["province"] = scope.province
    group = "p.id" if scope.group == "partner" else "l.trade_id"
    seconds = SECONDS_TO_CONTACT[conn.dialect.name]
    statement = text(sql.format(group=group, where=where, seconds=seconds)).bindparams(*binds)
    out = {}
    for row in conn.execute(statement, params).mappings():
        counts = tuple(int(row[c] or 0) for c in columns)
        if any(counts):
            out[int(row["g"])] = counts
    return out


def by_rollups(
    conn, family, scope: rollups.Scope, start: date, end: date, columns: tuple[str, ...]
) -> dict[int, tuple[int, ...]]:
    """The same numbers through ``period_counts`` (the rollups); ``within_24h`` is the sum of
    the histogram buckets up to 1440 minutes."""
    wanted = [c for c in columns if c != "within_24h"]
    if "within_24h" in columns:
        wanted += list(rollups.WITHIN_24H)
    frame = rollups.period_counts(conn, family, start, end, scope, wanted)
    out = {}
    for gid, row in frame.iterrows():
        counts = tuple(
            int(sum(row[b] for b in rollups.WITHIN_24H)) if c == "within_24h" else int(row[c])
            for c in columns
        )
        if any(counts):
            out[int(gid)] = counts
    return out


def add_edge_rows(engine: Engine, world) -> None:
    """Events on the edges of a South African day (22:00 UTC) and of the 24-hour contact bound
    (through the session, so the rollups are refreshed by the hooks). Times are UTC; the
    comments give the Johannesburg wall-clock time that decides the day."""
    with session_scope(engine) as s:
        service_id = s.scalar(select(ServiceType.id))
        ids = world.ids

        def lead(trade_id: int, province: str, at: datetime):
            rows = SimpleNamespace(
                trade=SimpleNamespace(id=trade_id),
                service=SimpleNamespace(id=service_id),
                homeowner=SimpleNamespace(id=world.homeowner),
            )
            return rows, add_lead(s, rows, created_at=at, province=province)

        def partner(pid):
            return SimpleNamespace(id=pid)

        # Delta: shared in the last second of 31 March (23:59:59 SAST), contacted exactly 24 h later
        rows, le = lead(world.electrical, "Gauteng", datetime(2026, 3, 31, 21, 0))
        add_share(
            s,
            rows,
            le,
            partner(ids["delta"]),
            shared_at=datetime(2026, 3, 31, 21, 59, 59),
            first_contact_at=datetime(2026, 4, 1, 21, 59, 59),
        )
        # Bravo: shared at midnight opening 1 April (SAST; still 31 March in UTC), contacted 24 h
        # and one second later
        rows, lb = lead(world.plumbing, "Western Cape", datetime(2026, 3, 31, 20, 0))
        add_share(
            s,
            rows,
            lb,
            partner(ids["bravo"]),
            shared_at=datetime(2026, 3, 31, 22, 0, 0),
            first_contact_at=datetime(2026, 4, 1, 22, 0, 1),
            quoted_at=datetime(2026, 4, 3, 7),
            hired_at=datetime(2026, 4, 4, 7),
        )
        # Echo: shared in the last second of February (SAST)
        rows, lx = lead(world.plumbing, "Gauteng", datetime(2026, 2, 28, 18, 0))
        add_share(s, rows, lx, partner(ids["echo"]), shared_at=datetime(2026, 2, 28, 21, 59, 59))
        # Delta: a disputed 3-star review at midnight opening March (SAST; 28 Feb in UTC);
        # Hotel: a hidden review in the last second of February (SAST)
        add_review(
            s,
            rows,
            le,
            partner(ids["delta"]),
            trade_id=world.electrical,
            rating=3,
            dispute=True,
            created_at=datetime(2026, 2, 28, 22, 0, 0),
        )
        add_review(
            s,
            rows,
            lx,
            partner(ids["hotel"]),
            rating=2,
            moderation_status="hidden",
            created_at=datetime(2026, 2, 28, 21, 59, 59),
        )


def oracle_cases(world) -> list[tuple[str, rollups.Scope, date, date]]:
    ids = world.ids
    whole = (date(2025, 1, 1), date(2026, 12, 31))
    return [
        ("all partners, March", rollups.Scope(), *MARCH),
        ("all partners, everything", rollups.Scope(), *whole),
        ("nothing in range", rollups.Scope(), date(2020, 1, 1), date(2020, 1, 31)),
        ("one day", rollups.Scope(), date(2026, 3, 9), date(2026, 3, 9)),
        ("last day of Feb", rollups.Scope(), date(2026, 2, 28), date(2026, 2, 28)),
        ("31 Mar - 1 Apr", rollups.Scope(), date(2026, 3, 31), date(2026, 4, 1)),
        ("1 Apr only", rollups.Scope(), date(2026, 4, 1), date(2026, 4, 1)),
        (
            "two partners, 2-9 Mar",
            rollups.Scope(partner_ids=(ids["alpha"], ids["echo"], ids["delta"])),
            date(2026, 3, 2),
            date(2026, 3, 9),
        ),
        ("plumbing", rollups.Scope(trade_ids=(world.plumbing,)), *whole),
        ("electrical, March", rollups.Scope(trade_ids=(world.electrical,)), *MARCH),
        ("Gauteng, March", rollups.Scope(province="Gauteng"), *MARCH),
        ("Western Cape", rollups.Scope(province="Western Cape"), *whole),
        (
            "plumbing in Western Cape",
            rollups.Scope(trade_ids=(world.plumbing,), province="Western Cape"),
            *whole,
        ),
        ("vetted, March", rollups.Scope(vetting=("vetted",)), *MARCH),
        (
            "suspended + offboarded, Feb-Mar",
            rollups.Scope(vetting=("suspended", "offboarded")),
            date(2026, 2, 1),
            date(2026, 3, 31),
        ),
        ("by trade, March", rollups.Scope(group="trade"), *MARCH),
        ("by trade in Gauteng", rollups.Scope(group="trade", province="Gauteng"), *whole),
        (
            "by trade, two partners",
            rollups.Scope(group="trade", partner_ids=(ids["alpha"], ids["delta"])),
            *MARCH,
        ),
        ("by trade, vetted", rollups.Scope(group="trade", vetting=("vetted",)), *whole),
    ]


def test_share_rollups_equal_a_literal_group_by(db, world):
    add_edge_rows(db, world)
    ids = world.ids
    with read_connection(db) as conn:
        march = oracle(conn, ORACLE_SHARES, rollups.Scope(), *MARCH, SHARE_ORACLE_COLUMNS)
        april = oracle(
            conn, ORACLE_SHARES, rollups.Scope(), date(2026, 4, 1), date(2026, 4, 1),
            SHARE_ORACLE_COLUMNS,
        )  # fmt: skip
        # the oracle itself, against the world's hand-counted numbers:
        # (shares, contacted, hired, contacted within 24 h)
        assert march[ids["alpha"]] == (4, 3, 2, 2)
        assert march[ids["bravo"]] == (2, 2, 0, 2)
        assert march[ids["delta"]] == (2, 2, 0, 2)  # 60 min, and exactly 24 h
        assert march[ids["echo"]] == (3, 0, 0, 0)  # the 28 Feb 23:59:59 share is outside
        assert set(march) == {ids["alpha"], ids["bravo"], ids["delta"], ids["echo"]}
        assert april == {ids["bravo"]: (1, 1, 1, 0)}  # 24 h and one second is not within
        for label, scope, start, end in oracle_cases(world):
            expected = oracle(conn, ORACLE_SHARES, scope, start, end, SHARE_ORACLE_COLUMNS)
            got = by_rollups(conn, rollups.SHARES, scope, start, end, SHARE_ORACLE_COLUMNS)
            assert got == expected, label


def test_share_rollups_carry_the_review_numbers_of_a_literal_group_by(db, world):
    """The share tables also hold the homeowner-review numbers (by the review's day)."""
    add_edge_rows(db, world)
    columns = ("rv_all", "rv_published", "rv_rating_sum", "rv_disputes")
    for label, scope, start, end in oracle_cases(world):
        with read_connection(db) as conn:
            reviews = oracle(conn, ORACLE_REVIEWS, scope, start, end, REVIEW_ORACLE_COLUMNS)
            got = by_rollups(conn, rollups.SHARES, scope, start, end, columns)
        expected = {}
        for gid, r in reviews.items():
            counts = (r[0], r[1], r[2], r[-1])  # all, published, rating sum, disputes
            if any(counts):
                expected[gid] = counts
        assert got == expected, label


def test_review_rollups_equal_a_literal_group_by(db, world):
    add_edge_rows(db, world)
    ids = world.ids
    with read_connection(db) as conn:
        march = oracle(conn, ORACLE_REVIEWS, rollups.Scope(), *MARCH, REVIEW_ORACLE_COLUMNS)
        feb28 = oracle(
            conn, ORACLE_REVIEWS, rollups.Scope(), date(2026, 2, 28), date(2026, 2, 28),
            REVIEW_ORACLE_COLUMNS,
        )  # fmt: skip
        # the oracle itself, against the world's hand-counted numbers:
        # (all, published, rating sum, r1..r5, disputes)
        assert march[ids["alpha"]] == (6, 5, 22, 0, 0, 0, 3, 2, 1)
        assert march[ids["bravo"]] == (5, 5, 22, 0, 0, 0, 3, 2, 0)
        assert march[ids["delta"]] == (2, 2, 5, 0, 1, 1, 0, 0, 1)  # + the midnight review
        assert march[ids["golf"]] == (2, 2, 2, 2, 0, 0, 0, 0, 0)
        assert march[ids["hotel"]] == (5, 5, 16, 0, 0, 4, 1, 0, 0)
        assert set(march) == {ids[n] for n in ("alpha", "bravo", "delta", "golf", "hotel")}
        assert feb28 == {ids["hotel"]: (1, 0, 0, 0, 0, 0, 0, 0, 0)}  # hidden: counted, unrated
        for label, scope, start, end in oracle_cases(world):
            expected = oracle(conn, ORACLE_REVIEWS, scope, start, end, REVIEW_ORACLE_COLUMNS)
            got = by_rollups(conn, rollups.REVIEWS, scope, start, end, REVIEW_ORACLE_COLUMNS)
            assert got == expected, label


JOHANNESBURG = ZoneInfo("Africa/Johannesburg")


def as_datetime(value: object) -> datetime:
    """A stored instant as a datetime (SQLite returns text to a textual query)."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _leads_per_day_by_hand(engine: Engine) -> list[tuple[str, int]]:
    """The oracle: each lead's Johannesburg day by the time-zone database, counted here."""
    with read_connection(engine) as conn:
        stamps = conn.execute(text("SELECT created_at FROM lead")).scalars().all()
    days = Counter(
        str(as_datetime(at).replace(tzinfo=UTC).astimezone(JOHANNESBURG).date()) for at in stamps
    )
    return sorted(days.items())


def _lead_day_rows(engine: Engine) -> list[tuple[str, int]]:
    with read_connection(engine) as conn:
        rows = conn.execute(select(rollups.rollup_lead_day)).all()
    return sorted((str(d), n) for d, n in rows)


def test_lead_days_follow_inserts_redating_and_deletes(db, world):
    """Each day's row is the number of leads created that day, after inserts at a day's last
    instant, a lead moved to another day, a lead deleted, and a rebuild."""
    from data.models import Lead

    assert _lead_day_rows(db) == _leads_per_day_by_hand(db) != []
    rows = SimpleNamespace(
        trade=SimpleNamespace(id=world.plumbing),
        service=SimpleNamespace(id=None),
        homeowner=SimpleNamespace(id=world.homeowner),
    )
    with session_scope(db) as s:
        rows.service.id = s.scalar(select(ServiceType.id))
        lead = s.scalars(select(Lead).order_by(Lead.id)).first()
        old_day = str((lead.created_at + timedelta(hours=2)).date())  # its SAST day
        old_count = dict(_lead_day_rows(db))[old_day]
        # the last instant of 4 April and the first of 5 April, in Johannesburg
        add_lead(s, rows, created_at=datetime(2026, 4, 4, 21, 59, 59, 999999))
        gone = add_lead(s, rows, created_at=datetime(2026, 4, 4, 22, 0))
    assert {d: n for d, n in _lead_day_rows(db) if d in ("2026-04-04", "2026-04-05")} == {
        "2026-04-04": 1,
        "2026-04-05": 1,
    }
    with session_scope(db) as s:
        s.get(Lead, lead.id).created_at = datetime(2026, 4, 5, 12, 0)
        s.delete(s.get(Lead, gone.id))
    per_day = dict(_lead_day_rows(db))
    assert per_day == dict(_leads_per_day_by_hand(db))
    # known answers: the 5th now holds only the re-dated lead; its old day lost one
    assert (per_day["2026-04-04"], per_day["2026-04-05"]) == (1, 1)
    assert per_day.get(old_day, 0) == old_count - 1
    assert_consistent(db)


def test_lead_days_in_an_aborted_transaction_change_nothing(db, world):
    before = _lead_day_rows(db)
    rows = SimpleNamespace(
        trade=SimpleNamespace(id=world.plumbing),
        service=SimpleNamespace(id=None),
        homeowner=SimpleNamespace(id=world.homeowner),
    )
    with pytest.raises(RuntimeError), session_scope(db) as s:
        rows.service.id = s.scalar(select(ServiceType.id))
        add_lead(s, rows, created_at=datetime(2026, 4, 6, 9, 0))
        s.flush()
        raise RuntimeError("abort")
    assert _lead_day_rows(db) == before


# --- the standard periods' preset rows ------------------------------------------------------


def _preset_expectations(conn, preset: str, scope) -> list[dict[int, tuple[int, ...]]]:
    """What the three frames of a preset must hold, by the literal GROUP BY oracles above."""
    period, previous, year = rollups.ranking_ranges(*rollups.preset_period(preset, PRESET_DAY))
    shares = oracle(conn, ORACLE_SHARES, scope, *period, SHARE_ORACLE_COLUMNS)
    reviews = [
        oracle(conn, ORACLE_REVIEWS, scope, *r, ("reviews", "rating_sum"))
        for r in (period, previous, year)
    ]
    return [shares, *reviews]


def _preset_as_oracle_rows(conn, preset: str, scope) -> list[dict[int, tuple[int, ...]]]:
    trade_id = None if scope.trade_ids is None else scope.trade_ids[0]
    found = rollups.preset_counts(conn, preset, trade_id, scope.province)
    period = found[0].copy()
    period["within_24h"] = period[list(rollups.WITHIN_24H)].sum(axis=1)
    share_cols = ["shares", "contacted", "hired", "within_24h"]

    def rows(frame, cols):
        return {
            int(pid): tuple(int(v) for v in vals)
            for pid, vals in zip(frame.index, frame[cols].to_numpy(), strict=True)
            if any(vals)
        }

    return [
        rows(period, share_cols),
        rows(period, ["rv_published", "rv_rating_sum"]),
        rows(found[1], ["rv_published", "rv_rating_sum"]),
        {pid: (n,) for pid, (n,) in rows(found[2], ["rv_published"]).items()},
    ]


@pytest.mark.parametrize("preset", list(rollups.PRESETS))
def test_preset_rows_equal_a_literal_group_by_after_writes_and_after_a_rebuild(db, world, preset):
    """Every preset, over everything, each trade and each province, after the edge rows were
    written through sessions (incremental upkeep) and again after a full rebuild: equal to the
    plain SQL over the base tables."""
    add_edge_rows(db, world)
    scopes = [
        rollups.Scope(),
        rollups.Scope(trade_ids=(world.plumbing,)),
        rollups.Scope(trade_ids=(world.electrical,)),
        rollups.Scope(province="Gauteng"),
        rollups.Scope(province="Western Cape"),
    ]
    for label in ("incremental", "rebuilt"):
        if label == "rebuilt":
            rollups.rebuild_all(db)
        for scope in scopes:
            where = (preset, label, scope)
            with read_connection(db) as conn:
                expected = _preset_expectations(conn, preset, scope)
                got = _preset_as_oracle_rows(conn, preset, scope)
            assert got[0] == expected[0], where
            assert got[1] == {k: v for k, v in expected[1].items() if any(v)}, where
            assert got[2] == {k: v for k, v in expected[2].items() if any(v)}, where
            assert got[3] == {k: (v[0],) for k, v in expected[3].items() if v[0]}, where


def test_preset_known_answers_for_march(db, world):
    """Hand-counted from tests/partners_world.py: the last 30 days to 31 March are 2–31 March,
    so Alpha's shares there are its four March shares (none on 1 March)."""
    with read_connection(db) as conn:
        period = rollups.preset_counts(conn, "30d")[0]
        electrical = rollups.preset_counts(conn, "30d", trade_id=world.electrical)[0]
    assert int(period.loc[world.ids["alpha"], "shares"]) == 4
    assert world.ids["alpha"] not in electrical.index  # Alpha is a plumber
    assert rollups.preset_period("ytd", PRESET_DAY) == (date(2026, 1, 1), PRESET_DAY)
    assert rollups.ranking_ranges(date(2026, 3, 2), PRESET_DAY) == [
        (date(2026, 3, 2), PRESET_DAY),
        (date(2026, 1, 31), date(2026, 3, 1)),
        (date(2025, 4, 1), PRESET_DAY),
    ]


def test_ranking_reads_presets_only_for_a_standard_period_over_everything(db, world):
    """The ranking of a preset ending on the stored day equals the running totals' answer
    (same rows, same numbers); a view filtered by trade and province reads the running
    totals."""
    statements: list[str] = []

    def capture(conn, cursor, statement, *args):
        statements.append(statement)

    start = rollups.preset_period("90d", PRESET_DAY)[0]
    event.listen(db, "before_cursor_execute", capture)
    try:
        with read_connection(db) as conn:
            view = pdata.PartnerFilters(start, PRESET_DAY)
            fast = pdata.partner_table(conn, view, use_cache=False)
            used_presets = any("rollup_share_partner_preset" in s for s in statements)
            statements.clear()
            filtered = pdata.PartnerFilters(
                start, PRESET_DAY, trade_id=world.plumbing, province="Gauteng"
            )
            pdata.partner_table(conn, filtered, use_cache=False)
            filtered_used = any("rollup_share_partner_preset" in s for s in statements)
    finally:
        event.remove(db, "before_cursor_execute", capture)
    with read_connection(db) as conn:
        with db.begin() as writer:  # forget the presets: the same view from the running totals
            writer.execute(text("DELETE FROM rollup_state WHERE name = 'preset_day'"))
            writer.execute(text("DELETE FROM rollup_share_partner_preset"))
        slow = pdata.compute_table(conn, view, pdata.RiskCriteria.load(conn), source="base")
    assert used_presets and not filtered_used
    assert len(fast) > 3
    pd.testing.assert_frame_equal(fast, slow)


def test_a_later_day_recomputes_the_presets_and_an_earlier_day_leaves_them(db, world):
    later = PRESET_DAY + timedelta(days=1)
    with read_connection(db) as conn:
        assert rollups.ensure_presets(conn, PRESET_DAY)  # stored: read them
        assert not rollups.ensure_presets(conn, PRESET_DAY - timedelta(days=1))
        assert rollups.stored_day(conn) == PRESET_DAY
        assert rollups.ensure_presets(conn, later)  # recomputed for the later day, then read
        assert rollups.stored_day(conn) == later
        assert rollups.stored_day(conn, world.plumbing) == PRESET_DAY  # each filter its own
        assert rollups.stored_day(conn, None, "Limpopo") is None
        assert rollups.ensure_presets(conn, later, None, "Limpopo")
        assert rollups.stored_day(conn, None, "Limpopo") == later


def test_the_nightly_warm_up_brings_every_offered_filter_to_the_day(db, world):
    """Everything, each trade and each of the nine provinces: all on the new day, each counted
    once; a second run has nothing left to do."""
    later = PRESET_DAY + timedelta(days=1)
    with read_connection(db) as conn:
        trade_ids = [t.id for t in pdata.trades(conn)]
    assert rollups.warm_presets(db, later) == 1 + len(trade_ids) + 9
    with read_connection(db) as conn:
        assert rollups.stored_day(conn) == later
        assert {rollups.stored_day(conn, t) for t in trade_ids} == {later}
        assert rollups.stored_day(conn, None, "Limpopo") == later
        assert rollups.stored_day(conn, world.plumbing, "Gauteng") is None  # not offered
    assert rollups.warm_presets(db, later) == 0


def test_warming_exactly_brings_a_later_day_back_and_its_presets_equal_the_base_tables(db, world):
    """The benchmark harness's warm-up (``exactly=True``) moves every offered filter to the
    day asked for, earlier ones included, and the ranking then read from the presets equals
    the plain GROUP BY over the base tables for that day."""
    later = PRESET_DAY + timedelta(days=1)
    rollups.warm_presets(db, later)
    assert rollups.warm_presets(db, PRESET_DAY) > 0  # without exactly: nothing moves back
    with read_connection(db) as conn:
        assert rollups.stored_day(conn) == later
    rollups.warm_presets(db, PRESET_DAY, exactly=True)
    start, end = rollups.preset_period("90d", PRESET_DAY)
    view = pdata.PartnerFilters(start=start, end=end)
    statements: list[str] = []

    def capture(conn, cursor, statement, *args):
        statements.append(statement)

    with read_connection(db) as conn:
        assert rollups.stored_day(conn) == PRESET_DAY
        assert rollups.stored_day(conn, None, "Limpopo") == PRESET_DAY
        criteria = pdata.RiskCriteria.load(conn)
        event.listen(db, "before_cursor_execute", capture)
        try:
            fast = pdata.compute_table(conn, view, criteria, source="rollup")
        finally:
            event.remove(db, "before_cursor_execute", capture)
        slow = pdata.compute_table(conn, view, criteria, source="base")
    assert any("rollup_share_partner_preset" in s for s in statements)
    pd.testing.assert_frame_equal(fast, slow)


@pytest.mark.parametrize("preset", ["30d", "365d"])
@pytest.mark.parametrize("where", ["trade", "province", "vetted"])
def test_filtered_preset_rankings_equal_the_base_tables(db, world, preset, where):
    """A preset over one trade, one province or the vetted partners ranks exactly as the
    plain GROUP BY over the base tables does, after writes through sessions."""
    add_edge_rows(db, world)
    start, end = rollups.preset_period(preset, PRESET_DAY)
    extra = {
        "trade": {"trade_id": world.plumbing},
        "province": {"province": "Gauteng"},
        "vetted": {"vetting": ("vetted",)},
    }[where]
    view = pdata.PartnerFilters(start, end, **extra)
    with read_connection(db) as conn:
        assert rollups.ensure_presets(conn, end)
        fast = pdata.partner_table(conn, view, use_cache=False)
        slow = pdata.compute_table(conn, view, pdata.RiskCriteria.load(conn), source="base")
    assert len(fast) >= 2
    pd.testing.assert_frame_equal(fast, slow)

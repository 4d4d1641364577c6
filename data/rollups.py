"""Cumulative daily rollups behind partner performance, and their maintenance.

Why cumulative, and why daily
-----------------------------
The partner pages ask, for every partner, "how many leads were shared with it between day A
and day B, how many were contacted within an hour, …" for arbitrary day ranges (last 30/90/365
days, this year, custom). A ``GROUP BY`` over ``lead_share`` costs O(shares in the range)
(≈0.7 s on SQLite at 1M leads), and plain monthly rollups still cost O(partners × months) and
need slow raw scans for the partial months at both ends of a day range.

So each rollup row holds *running totals*: for a partner (or a partner × trade, partner ×
province, partner × trade × province), the counts of everything up to and including ``day``.
Rows exist only for days on which something happened. Any range is then the difference of two
look-ups::

    counts(A..B) = cum(latest row with day <= B) - cum(latest row with day < A)

which costs two index seeks per partner, whatever the length of the range. There is one table
per filter combination ("level") so that a look-up never visits more rows than there are
partners: filtering by province in a partner × trade × province table would visit every trade
of every partner in the province. See docs/partner-performance.md for measurements and the
alternatives considered.

Tables (all derived data; :func:`rebuild` recreates them from the base tables):

* ``rollup_{share,review}_{level}`` for the four levels of :data:`LEVELS`: running totals of
  shares by the day they were shared, and of homeowner reviews about partners by the day they
  were written (the province of a review is its lead's).
* ``rollup_{share,review}_trade_day``: plain daily totals per trade (all partners), summed over
  the period for trade averages (a dozen trades × days: tiny).
* ``rollup_{share,review}_trade_province_day``: the same per trade and province, for the
  trade comparison under a province filter.
* ``rollup_{share,review}_{level}_latest``: each key's last running totals, for period ends
  on or after the last day with data (no search).
* ``rollup_key``: every (partner, trade, province) with data: the driving table for filtered
  look-ups.
* ``rollup_state``: a version number bumped by every change, so caches know when to drop.

Maintenance
-----------
* :func:`rebuild` recomputes everything with ``GROUP BY`` and window sums (after bulk loads:
  the demo builder calls :func:`rebuild_all`).
* :func:`refresh_partner` recomputes one partner's series from a given day on and applies the
  difference to the trade (and trade × province) totals. ORM hooks call it, just before the
  commit and inside the writer's transaction, for every partner whose shares or reviews were
  inserted, updated or deleted through a :class:`~sqlalchemy.orm.Session`. Core-level bulk
  writes bypass the hook and must call :func:`refresh_partners` or :func:`rebuild` themselves.
  On PostgreSQL a transaction-scoped advisory lock per partner serialises concurrent refreshes
  of the same partner, and trade totals are changed with atomic upserts (``x = x + delta``).
"""

from __future__ import annotations

import re
import secrets
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock
from itertools import chain
from typing import Any

import numpy as np
from sqlalchemy import (
    Column,
    Connection,
    Date,
    Engine,
    Index,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    and_,
    bindparam,
    case,
    delete,
    event,
    exists,
    func,
    insert,
    inspect,
    literal,
    select,
    text,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from data.models import Base, Lead, LeadShare, Partner, Review
from data.sqlfuncs import fetch_tuples, minutes_between

# --- what is counted --------------------------------------------------------------------------

#: Upper bounds (minutes, inclusive) of the response-time histogram buckets; the last bucket
#: is open-ended. 60 and 1440 are bounds so that "within 1 h / 24 h" are exact sums of buckets.
RESPONSE_BOUNDS: tuple[int, ...] = (5, 15, 30, 60, 120, 240, 480, 960, 1440, 2880, 10080)
HIST: tuple[str, ...] = tuple(f"rt{i}" for i in range(len(RESPONSE_BOUNDS) + 1))
WITHIN_1H = HIST[: RESPONSE_BOUNDS.index(60) + 1]
WITHIN_24H = HIST[: RESPONSE_BOUNDS.index(1440) + 1]
# julianday() arithmetic on SQLite is off by ~1e-6 minutes; count a boundary as inside.
_BOUND_SLACK = 1e-4

#: The homeowner-review numbers the ranking needs, also kept in the share tables (by the day
#: each review was written): one look-up per boundary then serves the whole grid row.
SHARE_REVIEW_COUNTS: tuple[str, ...] = ("rv_all", "rv_published", "rv_rating_sum", "rv_disputes")
#: Per share: 1 if it reached the step (funnel steps nested), or was prospective.
_SHARE_FLAGS: tuple[str, ...] = (
    "shares",
    "accepted",
    "contacted",
    "quoted",
    "hired",
    "completed",
    "reviewed",
    "prospective",
)
SHARE_COUNTS: tuple[str, ...] = (*_SHARE_FLAGS, *HIST, *SHARE_REVIEW_COUNTS)
SUB_RATINGS: tuple[str, ...] = ("quality", "timeliness", "value", "communication")
REVIEW_COUNTS: tuple[str, ...] = (
    "all_reviews",  # every homeowner review about the partner, any moderation status
    "reviews",  # published ones: the v of the Bayesian rating
    "rating_sum",
    "r1",
    "r2",
    "r3",
    "r4",
    "r5",
    *chain.from_iterable((f"{s}_sum", f"{s}_n") for s in SUB_RATINGS),
    "disputes",
    "flagged",
)
ABOUT_PARTNER = "homeowner_about_partner"

# --- tables -----------------------------------------------------------------------------------


LEVELS: dict[str, tuple[str, ...]] = {
    "partner": ("partner_id",),
    "partner_trade": ("partner_id", "trade_id"),
    "partner_province": ("partner_id", "province"),
    "partner_trade_province": ("partner_id", "trade_id", "province"),
}
DIM_KEY = LEVELS["partner_trade_province"]
_KEY_TYPES = {
    "partner_id": Integer,
    "trade_id": Integer,
    "province": lambda: String(40),
    "day": Date,
}


def _counts_table(name: str, keys: Sequence[str], counts: Sequence[str]) -> Table:
    """A rollup table: the key columns (in primary-key order) and one integer per count;
    clustered by the key on SQLite (``WITHOUT ROWID``)."""
    return Table(
        name,
        Base.metadata,
        *(Column(k, _KEY_TYPES[k](), primary_key=True) for k in keys),
        *(Column(c, Integer, nullable=False, default=0) for c in counts),
        sqlite_with_rowid=False,
    )


def _level_tables(family: str, counts: Sequence[str], suffix: str = "") -> dict[str, Table]:
    """Per level: running totals by key and day, or (``suffix="_latest"``) each key's last
    running totals (a copy of its last row): a period that ends on or after the last day with
    data reads its end there, one row per key, instead of searching each key's series."""
    day = () if suffix else ("day",)
    return {
        level: _counts_table(f"rollup_{family}_{level}{suffix}", (*keys, *day), counts)
        for level, keys in LEVELS.items()
    }


SHARE_TABLES = _level_tables("share", SHARE_COUNTS)
REVIEW_TABLES = _level_tables("review", REVIEW_COUNTS)
SHARE_LATEST = _level_tables("share", SHARE_COUNTS, "_latest")
REVIEW_LATEST = _level_tables("review", REVIEW_COUNTS, "_latest")
# Plain (not cumulative) daily totals over all partners: per trade (trade means and funnels),
# and per trade and province (the trade comparison under a province filter, which would
# otherwise visit every partner's series).
share_trade_day = _counts_table("rollup_share_trade_day", ("day", "trade_id"), SHARE_COUNTS)
review_trade_day = _counts_table("rollup_review_trade_day", ("day", "trade_id"), REVIEW_COUNTS)
_TRADE_PROVINCE_DAY = ("trade_id", "province", "day")
share_trade_province_day = _counts_table(
    "rollup_share_trade_province_day", _TRADE_PROVINCE_DAY, SHARE_COUNTS
)
review_trade_province_day = _counts_table(
    "rollup_review_trade_province_day", _TRADE_PROVINCE_DAY, REVIEW_COUNTS
)
rollup_key = Table(
    "rollup_key",
    Base.metadata,
    Column("partner_id", Integer, primary_key=True),
    Column("trade_id", Integer, primary_key=True),
    Column("province", String(40), primary_key=True),
    sqlite_with_rowid=False,
)
Index(
    "ix_rollup_key_trade_province",
    rollup_key.c.trade_id,
    rollup_key.c.province,
    rollup_key.c.partner_id,
)
Index("ix_rollup_key_province", rollup_key.c.province, rollup_key.c.partner_id)
rollup_state = Table(
    "rollup_state",
    Base.metadata,
    Column("name", String(40), primary_key=True),
    Column("value", Integer, nullable=False),
)
VERSION = "version"


# --- portable SQL -----------------------------------------------------------------------------


class day_of(FunctionElement):
    """The calendar day of a timestamp (a DATE on PostgreSQL, 'YYYY-MM-DD' text on SQLite)."""

    type = Date()
    inherit_cache = True


@compiles(day_of)
def _day_of_default(element: day_of, compiler: Any, **kw: Any) -> str:
    (value,) = list(element.clauses)
    return f"CAST({compiler.process(value, **kw)} AS DATE)"


@compiles(day_of, "sqlite")
def _day_of_sqlite(element: day_of, compiler: Any, **kw: Any) -> str:
    (value,) = list(element.clauses)
    return f"date({compiler.process(value, **kw)})"


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


def _start_of(day: date) -> datetime:
    return datetime.combine(day, clock.min)


@dataclass(frozen=True)
class Family:
    """One kind of event that is rolled up (shares or reviews): its tables and its SQL."""

    name: str
    counts: tuple[str, ...]
    tables: Mapping[str, Table]
    trade_table: Table
    trade_province_table: Table
    latest: Mapping[str, Table]

    def deltas(
        self,
        group: Sequence[str],
        *,
        start: date | None = None,
        end: date | None = None,
        scope: Scope | None = None,
    ) -> Select:
        """Per-group counts straight from the base tables for the days ``start``..``end`` and
        ``scope`` (``group`` ⊆ partner, trade, province, day). Also the "naive" computation
        the rollups are checked against."""
        review_where = _filters(Review.__table__.c, "review", start, end, scope)
        if self.name == "share":
            share_where = _filters(LeadShare.__table__.c, "share", start, end, scope)
            return _share_deltas(share_where, review_where, group)
        return _review_deltas(review_where, group)

    def all_tables(self) -> list[Table]:
        return [
            *self.tables.values(),
            *self.latest.values(),
            self.trade_table,
            self.trade_province_table,
        ]

    def totals_table(self, level: str) -> Table | None:
        """The all-partner daily totals kept beside a level (its keys without the partner)."""
        return {
            "partner_trade": self.trade_table,
            "partner_trade_province": self.trade_province_table,
        }.get(level)


def _share_deltas(
    where: Iterable[ColumnElement[bool]],
    review_where: Iterable[ColumnElement[bool]],
    group: Sequence[str],
) -> Select:
    s = LeadShare.__table__.c
    r = Review.__table__.c
    lead = Lead.__table__.c
    zero = literal(0)
    reviewed = exists().where(
        r.lead_id == s.lead_id, r.partner_id == s.partner_id, r.author_side == ABOUT_PARTNER
    )
    contacted = s.first_contact_at.is_not(None)
    quoted = and_(contacted, s.quoted_at.is_not(None))
    hired = and_(quoted, s.hired_at.is_not(None))
    completed = and_(hired, s.completed_at.is_not(None))
    # One row per share with the minutes computed once (a MATERIALIZED CTE stops SQLite from
    # inlining the expression into each of the twelve bucket sums).
    share_rows = select(
        s.partner_id,
        s.trade_id,
        s.province,
        day_of(s.shared_at).label("day"),
        literal(1).label("shares"),
        case((s.response == "accepted", 1), else_=0).label("accepted"),
        # Funnel steps are nested (a step counts only when every earlier one happened),
        # so each conditional rate stays within 0..1 even on inconsistent rows.
        case((contacted, 1), else_=0).label("contacted"),
        case((quoted, 1), else_=0).label("quoted"),
        case((hired, 1), else_=0).label("hired"),
        case((completed, 1), else_=0).label("completed"),
        case((and_(completed, reviewed), 1), else_=0).label("reviewed"),
        case((s.partner_was_prospective.is_(True), 1), else_=0).label("prospective"),
        case(
            (s.first_contact_at.is_(None), None),
            else_=minutes_between(s.shared_at, s.first_contact_at),
        ).label("minutes"),
        *(zero.label(c) for c in SHARE_REVIEW_COUNTS),
    ).where(*where)
    published = r.moderation_status == "published"
    review_rows = (
        select(
            r.partner_id,
            r.trade_id,
            lead.province,
            day_of(r.created_at).label("day"),
            *(zero.label(c) for c in _SHARE_FLAGS),
            literal(None).label("minutes"),
            literal(1).label("rv_all"),
            case((published, 1), else_=0).label("rv_published"),
            case((published, r.rating), else_=0).label("rv_rating_sum"),
            case((r.dispute.is_(True), 1), else_=0).label("rv_disputes"),
        )
        .join_from(Review.__table__, Lead.__table__, lead.id == r.lead_id)
        .where(r.author_side == ABOUT_PARTNER, *review_where)
    )
    # One row per share (and per review) with the minutes computed once: a MATERIALIZED CTE
    # stops SQLite from inlining the expression into each of the twelve bucket sums.
    per_event = union_all(share_rows, review_rows).cte("per_event").prefix_with("MATERIALIZED")
    m = per_event.c
    buckets: list[ColumnElement[int]] = []
    lower: float | None = None
    for i, upper in enumerate((*RESPONSE_BOUNDS, None)):
        parts = [m.minutes.is_not(None)]
        if lower is not None:
            parts.append(m.minutes > lower + _BOUND_SLACK)
        if upper is not None:
            parts.append(m.minutes <= upper + _BOUND_SLACK)
        buckets.append(_flag(and_(*parts)).label(HIST[i]))
        lower = upper
    keys = [m[g].label(g) for g in group]
    return select(
        *keys,
        *(func.sum(m[c]).label(c) for c in _SHARE_FLAGS),
        *buckets,
        *(func.sum(m[c]).label(c) for c in SHARE_REVIEW_COUNTS),
    ).group_by(*(m[g] for g in group))


def _review_deltas(where: Iterable[ColumnElement[bool]], group: Sequence[str]) -> Select:
    r = Review.__table__.c
    lead = Lead.__table__.c
    published = r.moderation_status == "published"
    groups = {
        "partner_id": r.partner_id,
        "trade_id": r.trade_id,
        "province": lead.province,
        "day": day_of(r.created_at),
    }
    keys = [groups[g].label(g) for g in group]
    subs: list[ColumnElement[int]] = []
    for name in SUB_RATINGS:
        col = r[name]
        given = and_(published, col.is_not(None))
        subs.append(func.sum(case((given, col), else_=0)).label(f"{name}_sum"))
        subs.append(_flag(given).label(f"{name}_n"))
    query = select(
        *keys,
        func.count().label("all_reviews"),
        _flag(published).label("reviews"),
        func.sum(case((published, r.rating), else_=0)).label("rating_sum"),
        *(_flag(and_(published, r.rating == k)).label(f"r{k}") for k in range(1, 6)),
        *subs,
        _flag(r.dispute.is_(True)).label("disputes"),
        _flag(r.moderation_status == "flagged").label("flagged"),
    ).where(r.author_side == ABOUT_PARTNER, *where)
    if "province" in group:
        query = query.join_from(Review.__table__, Lead.__table__, lead.id == r.lead_id)
    return query.group_by(*(groups[g] for g in group))


SHARES = Family(
    "share", SHARE_COUNTS, SHARE_TABLES, share_trade_day, share_trade_province_day, SHARE_LATEST
)
REVIEWS = Family(
    "review",
    REVIEW_COUNTS,
    REVIEW_TABLES,
    review_trade_day,
    review_trade_province_day,
    REVIEW_LATEST,
)
FAMILIES = (SHARES, REVIEWS)
ALL_TABLES = (*SHARES.all_tables(), *REVIEWS.all_tables(), rollup_key)


_ONE_DAY = timedelta(days=1)


def _filters(
    table: Any, kind: str, start: date | None, end: date | None, scope: Scope | None
) -> list[ColumnElement[bool]]:
    """WHERE terms on ``lead_share`` (``kind="share"``) or ``review`` for a day range
    (inclusive) and a :class:`Scope`."""
    at = table.shared_at if kind == "share" else table.created_at
    terms: list[ColumnElement[bool]] = []
    if start is not None:
        terms.append(at >= _start_of(start))
    if end is not None:
        terms.append(at < _start_of(end) + _ONE_DAY)
    if scope is None:
        return terms
    if scope.partner_ids is not None:
        terms.append(table.partner_id.in_(list(scope.partner_ids)))
    if scope.vetting:
        terms.append(
            table.partner_id.in_(
                select(Partner.id).where(Partner.vetting_status.in_(list(scope.vetting)))
            )
        )
    if scope.trade_ids is not None:
        terms.append(table.trade_id.in_(list(scope.trade_ids)))
    if scope.province is not None:
        if kind == "share":
            terms.append(table.province == scope.province)
        else:
            terms.append(table.lead_id.in_(select(Lead.id).where(Lead.province == scope.province)))
    return terms


# --- full rebuild -----------------------------------------------------------------------------


def _window_insert(
    conn: Connection, target: Table, source: Any, keys: Sequence[str], counts: Sequence[str]
) -> None:
    """INSERT running totals (window sums over ``day``) of ``source`` grouped by ``keys``."""
    part = [source.c[k] for k in keys]
    grouped = (
        select(*part, source.c.day, *(func.sum(source.c[c]).label(c) for c in counts))
        .group_by(*part, source.c.day)
        .subquery()
    )
    g = grouped.c
    columns = [
        *(g[k] for k in keys),
        g.day,
        *(
            func.sum(g[c])
            .over(partition_by=[g[k] for k in keys], order_by=g.day, rows=(None, 0))
            .label(c)
            for c in counts
        ),
    ]
    conn.execute(insert(target).from_select([*keys, "day", *counts], select(*columns)))


def _latest_insert(
    conn: Connection, series: Table, latest: Table, keys: Sequence[str], counts: Sequence[str]
) -> None:
    """INSERT each key's last row of ``series`` into ``latest``."""
    last = (
        select(*(series.c[k] for k in keys), func.max(series.c.day).label("day"))
        .group_by(*(series.c[k] for k in keys))
        .subquery()
    )
    match = and_(*(series.c[k] == last.c[k] for k in keys), series.c.day == last.c.day)
    rows = select(*(series.c[k] for k in keys), *(series.c[c] for c in counts)).join(last, match)
    conn.execute(insert(latest).from_select([*keys, *counts], rows))


def rebuild(conn: Connection) -> None:
    """Recompute every rollup from the base tables (run after bulk loads; idempotent)."""
    for table in ALL_TABLES:
        conn.execute(delete(table))
    for family in FAMILIES:
        scratch = Table(
            f"tmp_rollup_{family.name}",
            MetaData(),
            Column("partner_id", Integer),
            Column("trade_id", Integer),
            Column("province", String(40)),
            Column("day", Date),
            *(Column(c, Integer) for c in family.counts),
            prefixes=["TEMPORARY"],
        )
        scratch.drop(conn, checkfirst=True)
        scratch.create(conn)
        conn.execute(
            insert(scratch).from_select(
                [*DIM_KEY, "day", *family.counts],
                family.deltas([*DIM_KEY, "day"]),
            )
        )
        for level, keys in LEVELS.items():
            _window_insert(conn, family.tables[level], scratch, keys, family.counts)
            _latest_insert(conn, family.tables[level], family.latest[level], keys, family.counts)
        conn.execute(
            insert(family.trade_table).from_select(
                ["day", "trade_id", *family.counts],
                select(
                    scratch.c.day,
                    scratch.c.trade_id,
                    *(func.sum(scratch.c[c]).label(c) for c in family.counts),
                ).group_by(scratch.c.day, scratch.c.trade_id),
            )
        )
        conn.execute(
            insert(family.trade_province_table).from_select(
                ["trade_id", "province", "day", *family.counts],
                select(
                    scratch.c.trade_id,
                    scratch.c.province,
                    scratch.c.day,
                    *(func.sum(scratch.c[c]).label(c) for c in family.counts),
                ).group_by(scratch.c.trade_id, scratch.c.province, scratch.c.day),
            )
        )
        known = select(rollup_key.c.partner_id).where(
            rollup_key.c.partner_id == scratch.c.partner_id,
            rollup_key.c.trade_id == scratch.c.trade_id,
            rollup_key.c.province == scratch.c.province,
        )
        conn.execute(
            insert(rollup_key).from_select(
                list(DIM_KEY),
                select(scratch.c.partner_id, scratch.c.trade_id, scratch.c.province)
                .distinct()
                .where(~exists(known)),
            )
        )
        scratch.drop(conn)
    bump_version(conn)
    for table in ALL_TABLES:  # fresh statistics for the planner (SQLite and PostgreSQL)
        conn.execute(text(f"ANALYZE {table.name}"))


def rebuild_all(engine: Engine, progress: Callable[[str], None] | None = None) -> float:
    """:func:`rebuild` in its own transaction; returns the seconds it took. Called at the end
    of the demo build (bulk loads bypass the ORM hook)."""
    started = time.perf_counter()
    with engine.begin() as conn:
        rebuild(conn)
    seconds = time.perf_counter() - started
    if progress:
        progress(f"partner rollups rebuilt in {seconds:.1f} s")
    return seconds


# --- incremental maintenance ------------------------------------------------------------------


def _lock_partner(conn: Connection, partner_id: int) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(
            text("SELECT pg_advisory_xact_lock(:ns, :id)"), {"ns": 7_351, "id": partner_id}
        )


Counts = dict[str, int]
Series = dict[tuple, dict[date, Counts]]  # key → day → counts


def _read_series(
    conn: Connection, table: Table, keys: Sequence[str], partner_id: int, since: date | None
) -> tuple[Series, dict[tuple, Counts]]:
    """A partner's running totals from ``since`` on, and the totals just before ``since``."""
    counts = [c.name for c in table.columns if c.name not in (*keys, "day")]
    c = table.c
    where = [c.partner_id == partner_id]
    if since is not None:
        where.append(c.day >= since)
    series: Series = defaultdict(dict)
    for row in conn.execute(select(table).where(*where)).mappings():
        series[tuple(row[k] for k in keys)][_as_date(row["day"])] = {n: row[n] for n in counts}
    offsets: dict[tuple, Counts] = {}
    if since is not None:
        latest = (
            select(*(c[k] for k in keys), func.max(c.day).label("day"))
            .where(c.partner_id == partner_id, c.day < since)
            .group_by(*(c[k] for k in keys))
            .subquery()
        )
        rows = conn.execute(
            select(table).join(
                latest, and_(*(c[k] == latest.c[k] for k in keys), c.day == latest.c.day)
            )
        ).mappings()
        offsets = {tuple(r[k] for k in keys): {n: r[n] for n in counts} for r in rows}
    return series, offsets


def _daily_from_cumulative(
    series: Series, offsets: Mapping[tuple, Counts], counts: Sequence[str]
) -> Series:
    """Per-day amounts from running totals (the first day relative to the offset)."""
    daily: Series = defaultdict(dict)
    for key, days in series.items():
        previous = offsets.get(key) or dict.fromkeys(counts, 0)
        for day in sorted(days):
            daily[key][day] = {n: days[day][n] - previous[n] for n in counts}
            previous = days[day]
    return daily


def _aggregate(
    deltas: Sequence[Mapping[str, Any]], keys: Sequence[str], counts: Sequence[str]
) -> Series:
    """Sum full-key daily deltas up to a level's keys: key → day → counts."""
    out: Series = defaultdict(dict)
    for row in deltas:
        key = tuple(row[k] for k in keys)
        day = _as_date(row["day"])
        bucket = out[key].setdefault(day, dict.fromkeys(counts, 0))
        for name in counts:
            bucket[name] += int(row[name] or 0)
    return out


def _write_series(
    conn: Connection,
    table: Table,
    keys: Sequence[str],
    partner_id: int,
    since: date | None,
    daily: Series,
    offsets: Mapping[tuple, Counts],
    counts: Sequence[str],
    latest: Table,
) -> None:
    """Rewrite a partner's running totals from ``since`` on, and its keys' latest rows."""
    where = [table.c.partner_id == partner_id]
    if since is not None:
        where.append(table.c.day >= since)
    conn.execute(delete(table).where(*where))
    out: list[dict[str, Any]] = []
    last: dict[tuple, Counts] = dict(offsets)  # keys without new days end where they were
    for key, days in daily.items():
        running = dict(offsets.get(key) or dict.fromkeys(counts, 0))
        for day in sorted(days):
            for name in counts:
                running[name] += days[day][name]
            out.append({**dict(zip(keys, key, strict=True)), "day": day, **running})
        last[key] = dict(running)
    if out:
        conn.execute(insert(table), out)
    conn.execute(delete(latest).where(latest.c.partner_id == partner_id))
    if last:
        conn.execute(
            insert(latest),
            [{**dict(zip(keys, key, strict=True)), **values} for key, values in last.items()],
        )


def _apply_total_changes(
    conn: Connection,
    table: Table,
    keys: Sequence[str],
    counts: Sequence[str],
    old: Series,
    new: Series,
) -> None:
    """Add (new − old) per (``keys``, day) to an all-partner daily totals table with atomic
    upserts, and drop rows that fall to zero (a rebuild would not have them)."""
    changes: dict[tuple[tuple, date], Counts] = {}
    for sign, series in ((-1, old), (1, new)):
        for key, days in series.items():
            for day, values in days.items():
                acc = changes.setdefault((key, day), dict.fromkeys(counts, 0))
                for name in counts:
                    acc[name] += sign * values[name]
    rows = [
        {**dict(zip(keys, key, strict=True)), "day": day, **delta}
        for (key, day), delta in sorted(changes.items())
        if any(delta.values())
    ]
    if not rows:
        return
    upsert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    for row in rows:
        statement = upsert(table).values(**row)
        statement = statement.on_conflict_do_update(
            index_elements=[*keys, "day"],
            set_={name: table.c[name] + row[name] for name in counts},
        )
        conn.execute(statement)
    columns = [table.c[k] for k in (*keys, "day")]
    conn.execute(
        delete(table).where(
            tuple_(*columns).in_([tuple(r[k] for k in (*keys, "day")) for r in rows]),
            *(table.c[name] == 0 for name in counts),
        )
    )


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def refresh_partner(conn: Connection, partner_id: int, since: date | None = None) -> None:
    """Recompute one partner's rollups from ``since`` (inclusive; ``None``: from the start).

    Safe to call any number of times; it reads the base tables as they are in ``conn``'s
    transaction. Callers refreshing several partners should call :func:`bump_version` once
    (:func:`refresh_partners` does).
    """
    _lock_partner(conn, partner_id)
    for family in FAMILIES:
        query = family.deltas(
            [*DIM_KEY, "day"], start=since, scope=Scope(partner_ids=(partner_id,))
        )
        deltas = conn.execute(query).mappings().all()
        for level, keys in LEVELS.items():
            table = family.tables[level]
            old_series, offsets = _read_series(conn, table, keys, partner_id, since)
            new_daily = _aggregate(deltas, keys, family.counts)
            totals = family.totals_table(level)
            if totals is not None:
                old_daily = _daily_from_cumulative(old_series, offsets, family.counts)
                _apply_total_changes(
                    conn,
                    totals,
                    keys[1:],
                    family.counts,
                    _drop_partner(old_daily),
                    _drop_partner(new_daily),
                )
            _write_series(
                conn,
                table,
                keys,
                partner_id,
                since,
                new_daily,
                offsets,
                family.counts,
                family.latest[level],
            )
        _ensure_keys(conn, partner_id, {(row["trade_id"], row["province"]) for row in deltas})
    _drop_stale_keys(conn, partner_id)


def _drop_partner(series: Series) -> Series:
    """(partner_id, *rest) keys → (*rest) keys (partners' rows then add up per key)."""
    return {key[1:]: days for key, days in series.items()}


def _ensure_keys(conn: Connection, partner_id: int, pairs: set[tuple[int, str]]) -> None:
    if not pairs:
        return
    existing = set(
        conn.execute(
            select(rollup_key.c.trade_id, rollup_key.c.province).where(
                rollup_key.c.partner_id == partner_id
            )
        ).all()
    )
    missing = [
        {"partner_id": partner_id, "trade_id": t, "province": p}
        for t, p in sorted(pairs - {tuple(e) for e in existing})
    ]
    if missing:
        conn.execute(insert(rollup_key), missing)


def _drop_stale_keys(conn: Connection, partner_id: int) -> None:
    """Forget keys that no longer have rows (their shares or reviews moved or were deleted)."""
    k = rollup_key.c
    used = [
        exists().where(
            t.c.partner_id == k.partner_id, t.c.trade_id == k.trade_id, t.c.province == k.province
        )
        for t in (SHARE_TABLES["partner_trade_province"], REVIEW_TABLES["partner_trade_province"])
    ]
    conn.execute(delete(rollup_key).where(k.partner_id == partner_id, ~used[0], ~used[1]))


def refresh_partners(conn: Connection, since_by_partner: Mapping[int, date | None]) -> None:
    """Refresh several partners (each from its own day) and bump the version once."""
    for partner_id in sorted(since_by_partner):
        refresh_partner(conn, partner_id, since_by_partner[partner_id])
    if since_by_partner:
        bump_version(conn)


def bump_version(conn: Connection) -> None:
    """Tell caches that rollup data changed (the counter is read by :func:`current_version`)."""
    result = conn.execute(
        update(rollup_state)
        .where(rollup_state.c.name == VERSION)
        .values(value=rollup_state.c.value + 1)
    )
    if result.rowcount == 0:
        # A fresh (or emptied) table starts at a random number, so a cache can never mistake
        # new data for what it saw under the same number before.
        conn.execute(insert(rollup_state).values(name=VERSION, value=secrets.randbelow(2**30) + 1))


def current_version(conn: Connection) -> int:
    value = conn.execute(
        select(rollup_state.c.value).where(rollup_state.c.name == VERSION)
    ).scalar()
    return int(value or 0)


# --- the ORM hook -----------------------------------------------------------------------------

SKIP_ROLLUPS = "skip_rollups"  # session.info flag for bulk loaders that rebuild afterwards


def _history_values(obj: Any, attr: str) -> list[Any]:
    state = inspect(obj)
    hist = state.attrs[attr].history
    return [v for v in chain(hist.added or (), hist.unchanged or (), hist.deleted or ()) if v]


def _touched_partners(session: Session) -> dict[int, date | None]:
    touched: dict[int, date | None] = {}

    def touch(partner_id: Any, when: Any) -> None:
        if not isinstance(partner_id, int):
            return
        day = _as_date(when) if when else None
        if partner_id in touched:
            old = touched[partner_id]
            day = None if old is None or day is None else min(old, day)
        touched[partner_id] = day

    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, LeadShare):
            times = _history_values(obj, "shared_at")
            for partner_id in _history_values(obj, "partner_id"):
                touch(partner_id, min(times) if times else None)
        elif isinstance(obj, Review):
            times = _history_values(obj, "created_at")
            for partner_id in _history_values(obj, "partner_id"):
                touch(partner_id, min(times) if times else None)
                shared = (
                    session.connection()
                    .execute(
                        select(func.min(LeadShare.shared_at)).where(
                            LeadShare.lead_id == obj.lead_id, LeadShare.partner_id == partner_id
                        )
                    )
                    .scalar()
                )
                if shared is not None:
                    touch(partner_id, shared)
    return touched


_PENDING = "rollup_pending"  # session.info: partner id → earliest touched day (None: all)


@event.listens_for(Session, "after_flush")
def _collect_after_flush(session: Session, _context: Any) -> None:
    """Note which partners' shares or reviews changed; they are refreshed before commit."""
    if session.info.get(SKIP_ROLLUPS):
        return
    if not any(
        isinstance(o, LeadShare | Review)
        for o in chain(session.new, session.dirty, session.deleted)
    ):
        return
    pending: dict[int, date | None] = session.info.setdefault(_PENDING, {})
    for partner_id, day in _touched_partners(session).items():
        if partner_id in pending:
            old = pending[partner_id]
            day = None if old is None or day is None else min(old, day)
        pending[partner_id] = day


@event.listens_for(Session, "before_commit")
def _refresh_before_commit(session: Session) -> None:
    """Bring the rollups up to date inside the writer's transaction, once per commit.

    Reads inside the same transaction before the commit see the old rollups; the base tables
    are always current.
    """
    if session.info.get(SKIP_ROLLUPS):
        session.info.pop(_PENDING, None)
        return
    session.flush()
    pending = session.info.pop(_PENDING, None)
    if pending:
        refresh_partners(session.connection(), pending)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


# --- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Which rows a look-up covers and how they are grouped.

    ``partner_ids``/``vetting`` narrow the partners, ``trade_ids``/``province`` the dimensions
    (picking the rollup level), ``group`` is ``partner`` (one row per partner) or ``trade``
    (one row per trade, over all partners in scope).
    """

    partner_ids: tuple[int, ...] | None = None
    vetting: tuple[str, ...] = ()
    trade_ids: tuple[int, ...] | None = None
    province: str | None = None
    group: str = "partner"

    def __post_init__(self) -> None:
        if self.group not in ("partner", "trade"):
            raise ValueError(f"unknown group {self.group!r}")

    @property
    def level(self) -> str:
        """The rollup level that answers this scope with one driving row per group member."""
        if self.group == "trade" or (self.trade_ids is not None and self.province is not None):
            return "partner_trade_province" if self.province is not None else "partner_trade"
        if self.trade_ids is not None:
            return "partner_trade"
        if self.province is not None:
            return "partner_province"
        return "partner"

    @property
    def group_columns(self) -> tuple[str, ...]:
        return ("trade_id",) if self.group == "trade" else ("partner_id",)

    @property
    def uses_trade_totals(self) -> bool:
        """All partners of some or all trades (in one province or all): read the per-trade
        (or per trade and province) daily totals."""
        return self.group == "trade" and self.partner_ids is None and not self.vetting


def _driver(scope: Scope, params: dict[str, Any]) -> str:
    """The driving row set of a look-up as SQL text (values are bound parameters)."""
    keys = LEVELS[scope.level]
    where: list[str] = []
    if scope.level == "partner":
        sql = "SELECT p.id AS partner_id FROM partner AS p"
        pid = "p.id"
    else:
        cols = ", ".join(f"rk.{k}" for k in keys)
        sql = f"SELECT DISTINCT {cols} FROM rollup_key AS rk"  # noqa: S608 (constant names)
        pid = "rk.partner_id"
        if scope.vetting:
            sql += " JOIN partner AS p ON p.id = rk.partner_id"
        if scope.trade_ids is not None:
            where.append("rk.trade_id IN :trade_ids")
            params["trade_ids"] = list(scope.trade_ids) or [-1]
        if scope.province is not None:
            where.append("rk.province = :province")
            params["province"] = scope.province
    if scope.vetting:
        where.append("p.vetting_status IN :vetting")
        params["vetting"] = list(scope.vetting)
    if scope.partner_ids is not None:
        where.append(f"{pid} IN :partner_ids")
        params["partner_ids"] = list(scope.partner_ids) or [-1]
    return sql + (" WHERE " + " AND ".join(where) if where else "")


def _checked(family: Family, columns: Sequence[str] | None) -> list[str]:
    columns = list(columns or family.counts)
    unknown = set(columns) - set(family.counts)
    if unknown:
        raise ValueError(f"unknown rollup columns {sorted(unknown)}")
    return columns


def cum_at(
    conn: Connection,
    family: Family,
    day: date,
    scope: Scope,
    columns: Sequence[str] | None = None,
) -> list[Any]:
    """Running totals as of the end of ``day`` for each group of ``scope``: rows of
    ``(*scope.group_columns, *columns)``; groups with nothing up to that day are absent.

    One index seek per driving row, never a scan of the rollup: the join order is fixed
    with ``CROSS JOIN`` on SQLite (which never reorders it) and ``LATERAL … LIMIT 1`` on
    PostgreSQL.
    """
    columns = _checked(family, columns)
    keys = LEVELS[scope.level]
    table = family.tables[scope.level]
    params: dict[str, Any] = {"d": day}
    driver = _driver(scope, params)
    match = " AND ".join(f"x.{k} = k.{k}" for k in keys)
    # Identifiers below are this module's constants; every value is a bound parameter.
    if conn.dialect.name == "postgresql":
        body = (
            f"FROM k CROSS JOIN LATERAL (SELECT * FROM {table.name} AS x "  # noqa: S608
            f"WHERE {match} AND x.day <= :d ORDER BY x.day DESC LIMIT 1) AS c"
        )
    else:
        on = " AND ".join(f"c.{k} = k.{k}" for k in keys)
        body = (
            f"FROM k CROSS JOIN {table.name} AS c ON {on} AND c.day = "  # noqa: S608
            f"(SELECT MAX(x.day) FROM {table.name} AS x WHERE {match} AND x.day <= :d)"
        )
    if len(keys) == 1 and scope.group == "partner":
        select_list = "k.partner_id, " + ", ".join(f"c.{c}" for c in columns)
        tail = ""
    else:
        group = ", ".join(f"k.{g}" for g in scope.group_columns)
        select_list = group + ", " + ", ".join(f"SUM(c.{c})" for c in columns)
        tail = f" GROUP BY {group}"
    sql = f"WITH k AS MATERIALIZED ({driver}) SELECT {select_list} {body}{tail}"
    statement = text(sql).bindparams(bindparam("d", type_=Date))
    for name in ("vetting", "partner_ids", "trade_ids"):
        if name in params:
            statement = statement.bindparams(bindparam(name, expanding=True))
    return list(conn.execute(statement, params).all())


def range_totals(
    conn: Connection,
    family: Family,
    ranges: Sequence[tuple[date, date]],
    scope: Scope,
    columns: Sequence[str] | Sequence[Sequence[str]] | None = None,
    *,
    parts: int = 1,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Totals for several inclusive day ranges at once, per group of ``scope``.

    ``columns`` is one list for every range, or one list per range. Returns the group ids and,
    per range, an int64 array (groups × columns). Every distinct boundary day is looked up once,
    in one statement: one index seek per driving row and boundary (see :func:`cum_at`); the
    differences are taken in SQL so that one row per group comes back.

    ``parts > 1`` (PostgreSQL, one row per partner): the partners are split into that many
    sets, each looked up on its own connection at the same time, all reading the snapshot of
    ``conn``'s transaction (see :func:`_rows_in_parts`). Ignored elsewhere.
    """
    if columns and not isinstance(columns[0], str):
        per_range = [_checked(family, list(c)) for c in columns]  # type: ignore[arg-type]
    else:
        per_range = [_checked(family, columns)] * len(ranges)  # type: ignore[arg-type]
    keys = LEVELS[scope.level]
    table = family.tables[scope.level]
    params: dict[str, Any] = {}
    driver = _driver(scope, params)
    pg = conn.dialect.name == "postgresql"
    split = parts > 1 and pg and scope.group == "partner"
    if split:
        driver = f"SELECT * FROM ({driver}) AS d WHERE d.partner_id % :parts = :part"  # noqa: S608
    days: list[date] = []
    for start, end in ranges:
        for day in (start - timedelta(days=1), end):
            if day not in days:
                days.append(day)
    joins: list[str] = []
    match = " AND ".join(f"x.{k} = k.{k}" for k in keys)
    last_day = _last_day(conn, family)
    for i, day in enumerate(days):
        # Identifiers are this module's constants; every value is a bound parameter.
        if last_day is None or day >= last_day:  # each key's latest row: no search needed
            latest = family.latest[scope.level].name
            on = " AND ".join(f"c{i}.{k} = k.{k}" for k in keys)
            joins.append(f"LEFT JOIN {latest} AS c{i} ON {on}")
            continue
        params[f"d{i}"] = day
        if pg:
            joins.append(
                f"LEFT JOIN LATERAL (SELECT * FROM {table.name} AS x WHERE {match} "  # noqa: S608
                f"AND x.day <= :d{i} ORDER BY x.day DESC LIMIT 1) AS c{i} ON true"
            )
        else:
            on = " AND ".join(f"c{i}.{k} = k.{k}" for k in keys)
            joins.append(
                f"LEFT JOIN {table.name} AS c{i} ON {on} AND c{i}.day = "  # noqa: S608
                f"(SELECT MAX(x.day) FROM {table.name} AS x WHERE {match} AND x.day <= :d{i})"
            )
    grouped = len(keys) > 1 or scope.group != "partner"
    exprs: list[str] = []
    for (start, end), cols in zip(ranges, per_range, strict=True):
        hi = days.index(end)
        lo = days.index(start - timedelta(days=1))
        for col in cols:
            diff = f"COALESCE(c{hi}.{col}, 0) - COALESCE(c{lo}.{col}, 0)"
            exprs.append(f"SUM({diff})" if grouped else diff)
    group = ", ".join(f"k.{g}" for g in scope.group_columns)
    tail = f" GROUP BY {group}" if grouped else ""
    # LEFT JOINs keep the driving table as the outer loop on SQLite (it never reorders them).
    sql = (
        f"WITH k AS MATERIALIZED ({driver}) SELECT {group}, {', '.join(exprs)} "  # noqa: S608
        f"FROM k {' '.join(joins)}{tail}"
    )
    statement = text(sql).bindparams(
        *(bindparam(f"d{i}", type_=Date) for i in range(len(days)) if f"d{i}" in params)
    )
    for name in ("vetting", "partner_ids", "trade_ids"):
        if name in params:
            statement = statement.bindparams(bindparam(name, expanding=True))
    if split:
        rows = _rows_in_parts(conn, statement, params, parts)
    else:
        rows = fetch_tuples(conn.execute(statement, params))
    width = 1 + sum(len(c) for c in per_range)
    matrix = np.array(rows, dtype=np.int64).reshape(len(rows), width)
    out: list[np.ndarray] = []
    offset = 1
    for cols in per_range:
        out.append(matrix[:, offset : offset + len(cols)])
        offset += len(cols)
    return matrix[:, 0], out


def _last_day(conn: Connection, family: Family) -> date | None:
    """The last day with any data in ``family``'s rollups (every such day has a row in the
    per-trade daily totals, whose key starts with the day: one index read)."""
    value = conn.execute(select(func.max(family.trade_table.c.day))).scalar()
    return None if value is None else _as_date(value)


_SNAPSHOT_ID = re.compile(r"[0-9A-F]+-[0-9A-F]+(-[0-9]+)?")


def _rows_in_parts(
    conn: Connection, statement: Any, params: dict[str, Any], parts: int
) -> list[tuple]:
    """Run ``statement`` once per part (``:part`` = 0 … ``parts`` − 1) on parallel connections.

    Why: each partner costs a few index probes, and PostgreSQL runs one statement on one core
    (it does not parallelise ``LATERAL`` look-ups), so at tens of thousands of partners the
    look-ups dominate; split by ``partner_id % parts`` they use every core. Every part imports
    the snapshot exported by ``conn``'s transaction, so all parts see exactly the same data
    (only committed data: callers pass parts only for read-only connections).
    """
    snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
    if not _SNAPSHOT_ID.fullmatch(str(snapshot)):  # it is interpolated below
        raise RuntimeError(f"unexpected snapshot id {snapshot!r}")

    def run(part: int) -> list[tuple]:
        with conn.engine.connect() as worker:
            worker.execution_options(isolation_level="REPEATABLE READ")
            worker.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            return fetch_tuples(worker.execute(statement, {**params, "parts": parts, "part": part}))

    with ThreadPoolExecutor(max_workers=parts) as pool:
        return [row for rows in pool.map(run, range(parts)) for row in rows]


def trade_totals(
    conn: Connection,
    family: Family,
    start: date,
    end: date,
    trade_ids: Sequence[int] | None = None,
    columns: Sequence[str] | None = None,
    province: str | None = None,
) -> list[Any]:
    """Totals per trade over all partners (in ``province`` when given) for the days
    ``start``..``end``: rows of ``(trade_id, *columns)`` from the per-trade (or per trade and
    province) daily table (a few thousand rows at most)."""
    columns = _checked(family, columns)
    t = family.trade_table if province is None else family.trade_province_table
    query = (
        select(t.c.trade_id, *(func.sum(t.c[c]).label(c) for c in columns))
        .where(t.c.day >= start, t.c.day <= end)
        .group_by(t.c.trade_id)
        .order_by(t.c.trade_id)
    )
    if province is not None:
        query = query.where(t.c.province == province)
    if trade_ids is not None:
        query = query.where(t.c.trade_id.in_(list(trade_ids)))
    return list(conn.execute(query).all())

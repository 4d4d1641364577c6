"""Keeping the rollups equal to the base tables: a full rebuild after bulk loads, and an
incremental refresh of the touched partners inside the writer's own transaction.

* :func:`rebuild` recomputes everything with ``GROUP BY`` and window sums (after bulk loads:
  the demo builder runs its two halves, :func:`rebuild_partner_rollups` and the lead flow's,
  side by side: ``data.demo.derived``).
* :func:`refresh_partner` recomputes one partner's series from a given day on and applies the
  difference to the trade (and trade × province) totals. Session hooks call it, just before the
  commit and inside the writer's transaction, for every partner whose shares or reviews were
  inserted, updated or deleted through a session. The hooks are installed explicitly on a
  session factory with :func:`install_session_hooks` (``data.db`` does it for the
  application's one factory), so that importing the package changes nothing and a session made
  elsewhere is visibly outside the rule. Core-level bulk writes bypass the hooks and must call
  :func:`refresh_partners` or :func:`rebuild` themselves.
  On PostgreSQL a transaction-scoped advisory lock per partner serialises concurrent refreshes
  of the same partner, and trade totals are changed with atomic upserts (``x = x + delta``).
"""

from __future__ import annotations

import secrets
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from itertools import chain
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Date,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    delete,
    event,
    exists,
    func,
    insert,
    inspect,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from data.models import LeadShare, Review
from data.rollups.counting import ALL_TABLES, FAMILIES
from data.rollups.lead_days import days_touched, rebuild_lead_days, recount_days
from data.rollups.lead_flow import lead_days_touched, rebuild_lead_flow, recount_flow_days
from data.rollups.presets import recompute_all_presets, refresh_partner_presets
from data.rollups.tables import (
    COUNTERS,
    DIM_KEY,
    LEVELS,
    REVIEW_TABLES,
    SHARE_TABLES,
    VERSION,
    Scope,
    rollup_key,
    rollup_state,
)
from data.timeutil import as_date, sa_date

# --- full rebuild -----------------------------------------------------------------------------


def _window_insert(
    conn: Connection, target: Table, source: Any, keys: Sequence[str], counts: Sequence[str]
) -> None:
    """INSERT running totals (window sums over ``day``) of ``source`` grouped by ``keys``.

    ``source`` holds one row per :data:`DIM_KEY` and day, so at that level there is nothing
    to group: the window reads it directly (a sort and 27 sums per row fewer: about a third of
    the statement)."""
    part = [source.c[k] for k in keys]
    if tuple(keys) == DIM_KEY:
        grouped = select(*part, source.c.day, *(source.c[c] for c in counts)).subquery()
    else:
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
    rebuild_partner_rollups(conn)
    rebuild_lead_flow(conn)


def rebuild_partner_rollups(conn: Connection) -> None:
    """Every rollup but the lead flow's (:data:`ALL_TABLES`), whose rebuild reads and writes
    other tables: the demo build runs the two side by side (``data.demo.derived``)."""
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
    rebuild_lead_days(conn)
    recompute_all_presets(conn)
    for name in COUNTERS:  # bulk loads bypass the hooks: every cache starts over
        bump_version(conn, name)
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
        series[tuple(row[k] for k in keys)][as_date(row["day"])] = {n: row[n] for n in counts}
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
        day = as_date(row["day"])
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
    refresh_partner_presets(conn, [partner_id])


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


def bump_version(conn: Connection, name: str = VERSION) -> None:
    """Tell caches that derived data changed: the rollups (``version``, read by
    :func:`current_version`), or another counter of ``rollup_state`` such as the partner
    directory's (:mod:`data.partner_directory`)."""
    result = conn.execute(
        update(rollup_state)
        .where(rollup_state.c.name == name)
        .values(value=rollup_state.c.value + 1)
    )
    if result.rowcount == 0:
        # A fresh (or emptied) table starts at a random number, so a cache can never mistake
        # new data for what it saw under the same number before.
        conn.execute(insert(rollup_state).values(name=name, value=secrets.randbelow(2**30) + 1))


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
        day = sa_date(when) if when else None
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
_PENDING_LEAD_DAYS = "rollup_pending_lead_days"  # session.info: days whose leads changed
_PENDING_FLOW_DAYS = "rollup_pending_flow_days"  # session.info: lead-flow days to recount


def _collect_after_flush(session: Session, _context: Any) -> None:
    """Note which partners' shares or reviews, and which days' leads, changed; they are
    refreshed before commit."""
    if session.info.get(SKIP_ROLLUPS):
        return
    lead_days = days_touched(session)
    if lead_days:
        session.info.setdefault(_PENDING_LEAD_DAYS, set()).update(lead_days)
    flow_days = lead_days_touched(session)
    if flow_days:
        session.info.setdefault(_PENDING_FLOW_DAYS, set()).update(flow_days)
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


def _refresh_before_commit(session: Session) -> None:
    """Bring the rollups up to date inside the writer's transaction, once per commit.

    Reads inside the same transaction before the commit see the old rollups; the base tables
    are always current.
    """
    if session.info.get(SKIP_ROLLUPS):
        _forget_after_rollback(session)
        return
    session.flush()
    pending = session.info.pop(_PENDING, None)
    if pending:
        refresh_partners(session.connection(), pending)
    lead_days = session.info.pop(_PENDING_LEAD_DAYS, None)
    if lead_days:
        recount_days(session.connection(), lead_days)
    flow_days = session.info.pop(_PENDING_FLOW_DAYS, None)
    if flow_days:
        recount_flow_days(session.connection(), flow_days)


def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_PENDING_LEAD_DAYS, None)
    session.info.pop(_PENDING_FLOW_DAYS, None)


_HOOKS: tuple[tuple[str, Callable[..., None]], ...] = (
    ("after_flush", _collect_after_flush),
    ("before_commit", _refresh_before_commit),
    ("after_rollback", _forget_after_rollback),
)


def install_session_hooks(target: sessionmaker[Any] | Session) -> None:
    """Keep the rollups current for every session ``target`` makes (or for one session).

    Called where sessions are created (``data.db``), not on import: a session factory that
    writes shares or reviews without these hooks would leave the rollups stale, so the rule is
    visible where the factory is defined. Installing twice is harmless.
    """
    for name, hook in _HOOKS:
        if not event.contains(target, name, hook):
            event.listen(target, name, hook)

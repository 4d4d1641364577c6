"""The consent rollup: daily counts that make coverage and trends cheap at any size.

Why: coverage at the end of a period needs every subject's latest event up to then: a window
over the whole event log (3.5 million events at 1M leads: tens of seconds). Instead, each
event is turned once into what it changed — an opt-in or opt-out on its day, and the move of
its subject between "never asked", "granted" and "withdrawn" (its state against its
predecessor's, in the order of :data:`data.consent.current.EARLIEST_FIRST`, the one definition
read forwards) — and summed per day (``consent_day``). The number granted at the end of day D is
then the sum of the granted moves of days ≤ D; the population is likewise a running sum of
arrivals minus erasures (``consent_population_day``). Tables: :mod:`data.consent.models`.

Staying right: derived data, rebuilt whole by :func:`rebuild` (one ``INSERT … SELECT`` per
table). Session hooks, installed when this module is imported, watch every write:

* consent events added through a session that come last in their history (an opt-out or a
  grant recorded now — the only way the console writes consent) are added to the daily rows in
  the writer's own transaction (:func:`_append_in_place`), so the rollup stays fresh;
* anything else that can change it — an event changed, deleted or inserted out of order,
  homeowners or partners added, erased, deleted or moved between sites, any bulk
  ``UPDATE``/``DELETE``/``INSERT`` statement on those tables (the erasure's deletes) — bumps
  ``consent_rollup_state.version`` in the writer's transaction.

Readers call :func:`ensure_fresh`, which rebuilds when the version moved since the last build
(and when nothing was built yet). Bulk loads that bypass sessions (the demo builder) call
:func:`rebuild` themselves. The price of the second kind of write: the first read after it
rebuilds (measured in the README, "Performance"); erasures and retention sweeps are such writes.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    case,
    delete,
    event,
    func,
    insert,
    inspect,
    literal,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from data.consent.current import EARLIEST_FIRST, LATEST_FIRST, SUBJECT_KEY
from data.consent.models import ConsentDay, ConsentPopulationDay, ConsentRollupState
from data.models import ConsentEvent, Homeowner, Partner
from data.sqlfuncs import count_where, day_of
from data.timeutil import sa_date

#: The erasure's anonymous placeholder homeowner (``data.erasure.execute.PLACEHOLDER_SITE``).
PLACEHOLDER_SITE = "erased-placeholder"
PARTNER_SITE = ""
WATCHED_TABLES = frozenset({"consent_event", "homeowner", "partner"})
#: Subject columns that move a subject in or out of the population (or between sites).
POPULATION_COLUMNS = {
    Homeowner: ("created_at", "erased_at", "source_site"),
    Partner: ("joined_at", "erased_at"),
}
LOCK_KEY = 7_515
DAY_KEYS = ["day", "subject_type", "purpose", "channel", "site"]


# --- the full rebuild -------------------------------------------------------------------------


def _day_query() -> Any:
    previous = func.lag(ConsentEvent.granted).over(
        partition_by=SUBJECT_KEY, order_by=EARLIEST_FIRST
    )
    events = select(
        ConsentEvent.subject_type,
        ConsentEvent.subject_id,
        ConsentEvent.purpose,
        ConsentEvent.source.label("channel"),
        ConsentEvent.granted,
        day_of(ConsentEvent.at).label("day"),
        previous.label("prev"),
    ).subquery("consent_moves")
    now_granted = events.c.granted.is_(True)
    now_withdrawn = events.c.granted.is_(False)
    was_granted = events.c.prev.is_(True)
    was_withdrawn = events.c.prev.is_(False)
    granted_delta = case(
        (and_(now_granted, ~func.coalesce(was_granted, False)), 1),
        (and_(now_withdrawn, func.coalesce(was_granted, False)), -1),
        else_=0,
    )
    withdrawn_delta = case(
        (and_(now_withdrawn, ~func.coalesce(was_withdrawn, False)), 1),
        (and_(now_granted, func.coalesce(was_withdrawn, False)), -1),
        else_=0,
    )
    site = func.coalesce(Homeowner.source_site, PARTNER_SITE).label("site")
    keys = (events.c.day, events.c.subject_type, events.c.purpose, events.c.channel, site)
    return (
        select(
            *keys,
            count_where(now_granted).label("opt_ins"),
            count_where(now_withdrawn).label("opt_outs"),
            func.sum(granted_delta).label("granted_delta"),
            func.sum(withdrawn_delta).label("withdrawn_delta"),
        )
        .select_from(events)
        .outerjoin(
            Homeowner,
            and_(events.c.subject_type == "homeowner", Homeowner.id == events.c.subject_id),
        )
        .group_by(*keys)
    )


def _population_query() -> Any:
    homeowner = Homeowner.source_site != PLACEHOLDER_SITE
    moves = union_all(
        select(day_of(Homeowner.created_at).label("day"), literal("homeowner").label("st"),
               Homeowner.source_site.label("site"), literal(1).label("d")).where(homeowner),
        select(day_of(Homeowner.erased_at), literal("homeowner"), Homeowner.source_site,
               literal(-1)).where(homeowner, Homeowner.erased_at.isnot(None)),
        select(day_of(Partner.joined_at), literal("partner"), literal(PARTNER_SITE),
               literal(1)),
        select(day_of(Partner.erased_at), literal("partner"), literal(PARTNER_SITE),
               literal(-1)).where(Partner.erased_at.isnot(None)),
    ).subquery("population_moves")  # fmt: skip
    keys = (moves.c.day, moves.c.st, moves.c.site)
    return select(*keys, func.sum(moves.c.d)).group_by(*keys)


def rebuild(conn: Connection) -> None:
    """Recreate both tables from the base tables, in the caller's transaction, and record
    the version they reflect."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    state = conn.execute(select(ConsentRollupState.version).where(ConsentRollupState.id == 1))
    version = state.scalar_one_or_none()
    conn.execute(delete(ConsentDay))
    conn.execute(delete(ConsentPopulationDay))
    day_columns = ["day", "subject_type", "purpose", "channel", "site", "opt_ins", "opt_outs",
                   "granted_delta", "withdrawn_delta"]  # fmt: skip
    conn.execute(insert(ConsentDay).from_select(day_columns, _day_query()))
    conn.execute(
        insert(ConsentPopulationDay).from_select(
            ["day", "subject_type", "site", "delta"], _population_query()
        )
    )
    if version is None:
        conn.execute(insert(ConsentRollupState).values(id=1, version=0, built_version=0))
    else:
        conn.execute(
            update(ConsentRollupState)
            .where(ConsentRollupState.id == 1)
            .values(built_version=version)
        )


def is_fresh(conn: Connection) -> bool:
    row = conn.execute(
        select(ConsentRollupState.version, ConsentRollupState.built_version).where(
            ConsentRollupState.id == 1
        )
    ).first()
    return row is not None and row[0] == row[1]


def ensure_fresh(conn: Connection) -> None:
    """Rebuild (in a transaction of its own) when a write happened since the last build."""
    if is_fresh(conn):
        return
    engine: Engine = conn.engine
    with engine.begin() as writer:
        if not is_fresh(writer):  # another reader may have rebuilt meanwhile
            rebuild(writer)
    if conn.in_transaction() and conn.dialect.name == "sqlite":
        conn.rollback()  # drop a read snapshot taken before the rebuild


# --- marking it stale -------------------------------------------------------------------------


def _bump(session: Session) -> None:
    session.connection().execute(
        update(ConsentRollupState).values(version=ConsentRollupState.version + 1)
    )


def _changes_rollup(obj: object, *, dirty: bool) -> bool:
    if isinstance(obj, ConsentEvent):
        return True
    columns = POPULATION_COLUMNS.get(type(obj))  # type: ignore[call-overload]
    if columns is None:
        return False
    if not dirty:
        return True
    state = inspect(obj)
    return any(state.attrs[c].history.has_changes() for c in columns)


def _upsert(conn: Connection, table: Any, row: dict[str, Any], keys: list[str]) -> None:
    """Add ``row``'s counts to the row with its key (creating it)."""
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = dialect_insert(table).values(**row)
    counts = [c for c in row if c not in keys]
    statement = statement.on_conflict_do_update(
        index_elements=keys,
        set_={c: table.c[c] + statement.excluded[c] for c in counts},
    )
    conn.execute(statement)


def _append_in_place(session: Session, events: list[ConsentEvent]) -> bool:
    """Add newly inserted events that come last in their history (the usual case: an opt-out
    recorded now) to a fresh rollup, in the writer's transaction. False when that is not
    possible (stale rollup, an event older than its history's latest, two for one key): the
    caller then marks the rollup stale instead."""
    conn = session.connection()
    if not is_fresh(conn):
        return False
    keys = [(e.subject_type, e.subject_id, e.purpose) for e in events]
    if len(set(keys)) != len(keys):
        return False
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    rows = []
    for e, (subject_type, subject_id, purpose) in zip(events, keys, strict=True):
        last = conn.execute(
            select(ConsentEvent.granted, ConsentEvent.at)
            .where(
                ConsentEvent.subject_type == subject_type,
                ConsentEvent.subject_id == subject_id,
                ConsentEvent.purpose == purpose,
            )
            .order_by(*LATEST_FIRST)
            .limit(1)
        ).first()
        if last is not None and last[1] > e.at:
            return False
        before = None if last is None else bool(last[0])
        after = bool(e.granted)
        site = PARTNER_SITE
        if subject_type == "homeowner":
            site = (
                conn.execute(
                    select(Homeowner.source_site).where(Homeowner.id == subject_id)
                ).scalar_one_or_none()
                or PARTNER_SITE
            )
        rows.append(
            {
                "day": sa_date(e.at),
                "subject_type": subject_type,
                "purpose": purpose,
                "channel": e.source,
                "site": site,
                "opt_ins": int(after),
                "opt_outs": int(not after),
                "granted_delta": int(after) - int(before is True),
                "withdrawn_delta": int(not after) - int(before is False),
            }
        )
    for row in rows:
        _upsert(conn, ConsentDay.__table__, row, DAY_KEYS)
    return True


@event.listens_for(Session, "before_flush")
def _stale_on_flush(session: Session, _context: object, _instances: object) -> None:
    appended = [o for o in session.new if isinstance(o, ConsentEvent)]
    touched = chain(
        ((o, False) for o in session.new if not isinstance(o, ConsentEvent)),
        ((o, True) for o in session.dirty),
        ((o, False) for o in session.deleted),
    )
    stale = any(_changes_rollup(o, dirty=d) for o, d in touched)
    if not stale and appended:
        stale = not _append_in_place(session, appended)
    if stale:
        _bump(session)


@event.listens_for(Session, "do_orm_execute")
def _stale_on_statement(state: Any) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None) or getattr(getattr(table, "__table__", None), "name", "")
    if name in WATCHED_TABLES:
        _bump(state.session)

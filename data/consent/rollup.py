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
table) after bulk loads that bypass sessions (the demo builder calls it). Every write through a
session is kept in step in the writer's own transaction by :mod:`data.consent.rollup_upkeep`
(session hooks, installed when ``data.consent`` is imported): the rows of the subjects it
touches are counted before and after it and the difference is applied. Only writes it cannot
follow (bulk ``INSERT`` statements, statements without a ``WHERE`` or touching very many
subjects, writes while the rollup is already stale) bump ``consent_rollup_state.version``;
readers call :func:`ensure_fresh`, which then rebuilds (and builds the first time).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    true,
    union_all,
    update,
)

from data.consent.current import EARLIEST_FIRST, SUBJECT_KEY
from data.consent.models import ConsentDay, ConsentPopulationDay, ConsentRollupState
from data.models import ConsentEvent, Homeowner, Partner
from data.sqlfuncs import count_where, day_of

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
DAY_COUNTS = ["opt_ins", "opt_outs", "granted_delta", "withdrawn_delta"]
POPULATION_KEYS = ["day", "subject_type", "site"]
EVERYONE = true()  # no condition: the whole table


# --- the full rebuild -------------------------------------------------------------------------


def day_query(where: Any = EVERYONE) -> Any:
    """``consent_day``'s rows from the events matching ``where`` (whole histories: the
    upkeep passes whole subjects, since each event's move depends on its predecessor)."""
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
    )
    events = events.where(where).subquery("consent_moves")
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


def population_query(homeowners: Any = EVERYONE, partners: Any = EVERYONE) -> Any:
    """``consent_population_day``'s rows from the homeowners and partners matching the
    conditions; days whose arrivals and erasures cancel out are left out (a sum of zero)."""
    homeowner = and_(Homeowner.source_site != PLACEHOLDER_SITE, homeowners)
    moves = union_all(
        select(day_of(Homeowner.created_at).label("day"), literal("homeowner").label("st"),
               Homeowner.source_site.label("site"), literal(1).label("d")).where(homeowner),
        select(day_of(Homeowner.erased_at), literal("homeowner"), Homeowner.source_site,
               literal(-1)).where(homeowner, Homeowner.erased_at.isnot(None)),
        select(day_of(Partner.joined_at), literal("partner"), literal(PARTNER_SITE),
               literal(1)).where(partners),
        select(day_of(Partner.erased_at), literal("partner"), literal(PARTNER_SITE),
               literal(-1)).where(partners, Partner.erased_at.isnot(None)),
    ).subquery("population_moves")  # fmt: skip
    keys = (moves.c.day, moves.c.st, moves.c.site)
    total = func.sum(moves.c.d)
    return select(*keys, total).group_by(*keys).having(total != 0)


def lock(conn: Connection) -> None:
    """Serialise the rollup's writers (rebuilds, in-place upkeep) on PostgreSQL until the end
    of the transaction (SQLite has one writer at a time anyway)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})


def rebuild(conn: Connection) -> None:
    """Recreate both tables from the base tables, in the caller's transaction, and record
    the version they reflect."""
    lock(conn)
    state = conn.execute(select(ConsentRollupState.version).where(ConsentRollupState.id == 1))
    version = state.scalar_one_or_none()
    conn.execute(delete(ConsentDay))
    conn.execute(delete(ConsentPopulationDay))
    conn.execute(insert(ConsentDay).from_select(DAY_KEYS + DAY_COUNTS, day_query()))
    conn.execute(
        insert(ConsentPopulationDay).from_select([*POPULATION_KEYS, "delta"], population_query())
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

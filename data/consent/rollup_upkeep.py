"""Keeping the consent rollup (:mod:`data.consent.rollup`) equal to the base tables on every
write through a session, in the writer's own transaction.

Why: the rollup's rows are sums of independent per-subject contributions (a subject's events
move only its own counts; a subject adds to the population on the day it arrives and leaves
it on the day it is erased). So a write is followed exactly by counting the rows of the
subjects it touches before it and after it (:func:`counts`, the rebuild's own queries limited
to those subjects) and adding the difference (:func:`apply`). An erasure or a retention sweep
(one ``DELETE`` of a subject's events and one ``UPDATE`` of its profile each) then costs a few
indexed queries instead of a rebuild of the whole rollup at the next read (28 s on SQLite at
1M leads).

The hooks (installed when ``data.consent`` is imported):

* ORM flushes: ``before_flush`` counts the touched subjects (consent events added, changed or
  deleted; homeowners and partners deleted or moved in or out of the population or between
  sites) and ``after_flush`` counts them again (with the ids of new homeowners and partners,
  known by then) and applies the difference;
* bulk ``UPDATE``/``DELETE`` statements on ``consent_event``, ``homeowner`` or ``partner``
  through a session (the erasure's): the rows the statement's ``WHERE`` matches name the
  subjects, counted before and after the statement.

What cannot be followed bumps ``consent_rollup_state.version`` instead, and the next read
rebuilds: bulk ``INSERT`` statements, statements without a ``WHERE`` or with many parameter
sets, more than :data:`MAX_SUBJECTS` subjects (or :data:`MAX_ROWS` rows) at once, an event
moved to another subject, an event whose subject is not set, and any write while the rollup
is already stale. On
PostgreSQL the rollup's advisory lock (:func:`data.consent.rollup.lock`) serialises this with
rebuilds and with other writers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import chain
from typing import Any

from sqlalchemy import Connection, Table, and_, delete, event, false, inspect, literal, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import ORMExecuteState, Session

from data.consent.models import ConsentDay, ConsentPopulationDay, ConsentRollupState
from data.consent.rollup import (
    DAY_COUNTS,
    DAY_KEYS,
    POPULATION_COLUMNS,
    POPULATION_KEYS,
    WATCHED_TABLES,
    day_query,
    is_fresh,
    lock,
    population_query,
)
from data.models import ConsentEvent, Homeowner, Partner
from data.timeutil import as_date

#: More subjects than this in one write: mark the rollup stale rather than count them twice.
MAX_SUBJECTS = 2_000
#: More rows than this matched by one statement: not followed either (a batch erasure deletes
#: a few events per subject, so the limit on rows must be well above the one on subjects).
MAX_ROWS = 50 * MAX_SUBJECTS
PENDING = "consent_rollup_pending"  # session.info key: what before_flush counted
SUBJECT_MODELS: dict[type, str] = {Homeowner: "homeowner", Partner: "partner"}

Subject = tuple[str, int]
#: A subject set's rows: (consent_day key → counts, consent_population_day key → (delta,)).
Counts = tuple[dict[tuple, tuple[int, ...]], dict[tuple, tuple[int, ...]]]


# --- counting and applying ---------------------------------------------------------------------


def _conditions(subjects: Iterable[Subject]) -> tuple[Any, Any, Any]:
    ids: dict[str, list[int]] = {"homeowner": [], "partner": []}
    for subject_type, subject_id in subjects:
        ids[subject_type].append(subject_id)
    events = or_(
        false(),
        *(
            and_(ConsentEvent.subject_type == kind, ConsentEvent.subject_id.in_(sorted(found)))
            for kind, found in ids.items()
            if found
        ),
    )
    homeowners = Homeowner.id.in_(sorted(ids["homeowner"])) if ids["homeowner"] else false()
    partners = Partner.id.in_(sorted(ids["partner"])) if ids["partner"] else false()
    return events, homeowners, partners


def _keyed(rows: Iterable[Any], width: int) -> dict[tuple, tuple[int, ...]]:
    """Rows (day first) as key → counts, with days as dates on both databases."""
    return {(as_date(r[0]), *r[1:width]): tuple(int(v) for v in r[width:]) for r in rows}


def counts(conn: Connection, subjects: set[Subject]) -> Counts:
    """The rollup rows ``subjects`` contribute, as the rebuild would count them now."""
    if not subjects:
        return {}, {}
    events, homeowners, partners = _conditions(subjects)
    days = _keyed(conn.execute(day_query(events)), len(DAY_KEYS))
    population = _keyed(conn.execute(population_query(homeowners, partners)), len(POPULATION_KEYS))
    return days, population


def _upsert(conn: Connection, table: Table, row: dict[str, Any], keys: list[str]) -> None:
    """Add ``row``'s counts to the row with its key (creating it)."""
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = dialect_insert(table).values(**row)
    added = [c for c in row if c not in keys]
    statement = statement.on_conflict_do_update(
        index_elements=keys, set_={c: table.c[c] + statement.excluded[c] for c in added}
    )
    conn.execute(statement)


def apply(conn: Connection, before: Counts, after: Counts) -> None:
    """Add ``after − before`` to the rollup; rows left counting nothing are removed (the
    rebuild has none)."""
    tables = (
        (ConsentDay.__table__, DAY_KEYS, DAY_COUNTS),
        (ConsentPopulationDay.__table__, POPULATION_KEYS, ["delta"]),
    )
    for (table, keys, names), old, new in zip(tables, before, after, strict=True):
        zero = (0,) * len(names)
        for key in sorted(old.keys() | new.keys(), key=repr):
            delta = [b - a for a, b in zip(old.get(key, zero), new.get(key, zero), strict=True)]
            if not any(delta):
                continue
            where = [table.c[k] == v for k, v in zip(keys, key, strict=True)]
            _upsert(conn, table, dict(zip(keys + names, (*key, *delta), strict=True)), keys)
            conn.execute(delete(table).where(*where, *(table.c[n] == 0 for n in names)))


def _bump(session: Session) -> None:
    session.connection().execute(
        ConsentRollupState.__table__.update().values(version=ConsentRollupState.version + 1)
    )


def _start(session: Session, subjects: set[Subject], expected: int) -> Counts | None:
    """Lock, and count ``subjects`` when the write can be followed; else mark it stale."""
    conn = session.connection()
    if expected > MAX_SUBJECTS:
        _bump(session)
        return None
    lock(conn)
    if not is_fresh(conn):
        _bump(session)  # a rebuild is due anyway; keep it due
        return None
    return counts(conn, subjects)


# --- ORM flushes -------------------------------------------------------------------------------


def _event_subjects(obj: ConsentEvent, dirty: bool) -> list[Subject] | None:
    if obj.subject_id is None or obj.subject_type is None:
        return None
    found = [(obj.subject_type, int(obj.subject_id))]
    if dirty:
        state = inspect(obj)
        for name in ("subject_type", "subject_id"):
            if state.attrs[name].history.deleted:
                return None  # moved to another subject: not followed
    return found


def _touched(session: Session) -> tuple[set[Subject], list[Any]] | None:
    """Subjects the flush touches (known ids) and new subjects (ids after the flush); None
    when it cannot be followed."""
    known: set[Subject] = set()
    arriving: list[Any] = []
    writes = chain(
        ((o, False) for o in session.new),
        ((o, True) for o in session.dirty),
        ((o, False) for o in session.deleted),
    )
    for obj, dirty in writes:
        if isinstance(obj, ConsentEvent):
            found = _event_subjects(obj, dirty)
            if found is None:
                return None
            known.update(found)
            continue
        kind = SUBJECT_MODELS.get(type(obj))
        if kind is None:
            continue
        if dirty:
            state = inspect(obj)
            if not any(state.attrs[c].history.has_changes() for c in POPULATION_COLUMNS[type(obj)]):
                continue
        if obj.id is None:
            arriving.append(obj)
        else:
            known.add((kind, int(obj.id)))
    return known, arriving


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context: object, _instances: object) -> None:
    session.info.pop(PENDING, None)
    touched = _touched(session)
    if touched is None:
        _bump(session)
        return
    known, arriving = touched
    if not known and not arriving:
        return
    before = _start(session, known, len(known) + len(arriving))
    if before is not None:
        session.info[PENDING] = (known, arriving, before)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: object) -> None:
    pending = session.info.pop(PENDING, None)
    if pending is None:
        return
    known, arriving, before = pending
    subjects = known | {(SUBJECT_MODELS[type(o)], int(o.id)) for o in arriving}
    conn = session.connection()
    apply(conn, before, counts(conn, subjects))


# --- bulk statements ---------------------------------------------------------------------------


def statement_table(statement: Any) -> Table | None:
    """The table an ``INSERT``/``UPDATE``/``DELETE`` writes (an ORM entity's or a Core one)."""
    table = getattr(statement, "table", None)
    return getattr(table, "__table__", table)


@event.listens_for(Session, "do_orm_execute")
def _on_statement(state: ORMExecuteState) -> Any:
    if not (state.is_update or state.is_delete or state.is_insert):
        return None
    table = statement_table(state.statement)
    if table is None or table.name not in WATCHED_TABLES:
        return None
    session = state.session
    where = getattr(state.statement, "whereclause", None)
    params = state.parameters
    if state.is_insert or where is None or not (params is None or isinstance(params, Mapping)):
        _bump(session)
        return None
    events = table.name == "consent_event"
    key = (
        (table.c.subject_type, table.c.subject_id)
        if events
        else (literal(table.name), table.c.id)  # homeowner and partner: the subject itself
    )
    conn = session.connection()
    query = select(table.c.id, *key).where(where).limit(MAX_ROWS + 1)
    rows = conn.execute(query, dict(params or {})).all()
    matched = [(int(i), (str(t), int(s))) for i, t, s in rows if s is not None]
    subjects = {s for _, s in matched}
    before = _start(session, subjects, MAX_ROWS if len(rows) > MAX_ROWS else len(subjects))
    result = state.invoke_statement()
    if before is None:
        return result
    if events and state.is_update:
        ids = [i for i, _ in matched]
        moved = select(table.c.subject_type, table.c.subject_id).where(table.c.id.in_(ids))
        if {(str(t), int(s)) for t, s in conn.execute(moved)} - subjects:
            _bump(session)  # events moved to other subjects: not followed
            return result
    apply(conn, before, counts(conn, subjects))
    return result

"""``aggregate_cell``: one narrow, precomputed row per lead, and ``aggregate_cube``, its rows
pre-aggregated: what the de-identified tables read.

Why: a table's distinct-homeowner counts need the period's leads one by one (distinct counts do
not add up across cells, months or margins, so no per-cell rollup can answer them), and reading
them from ``lead`` meant visiting ~450 000 wide rows through the ``created_at`` index, computing
the South African month of each, and running two correlated review sub-queries per lead for the
average rating: 5–6 s of CPU per table on SQLite at 1M leads. This table holds, per lead, only
what a table groups or sums, already computed: the SA month as ``YYYY-MM`` text, the lead's
province, city, trade, service type and channel, whether it was hired and completed, the sum
and number of its published homeowner reviews, the months of the same homeowner's previous and
next lead, and copies of the homeowner's birth year, gender and property type (migration 0023:
what the cube counted the person under, needed to take them off again). Erased homeowners have
no rows (:func:`source_rows`; the erasure deletes them, ``data.erasure.plan``); people with a
standing objection are subtracted when a table is read (``query.py``).

``aggregate_cube`` (migrations 0022, 0023) holds, per combination of up to three keys
(:data:`COMBOS`: lead keys and the homeowner's), category codes, month and ``prev`` (the month
of the same homeowner's previous lead *in the same cell*), the number of leads, hires,
completed jobs and ratings. A homeowner with leads in a cell during a period is counted by the
one lead whose ``prev`` is before the period (or before its month, quarter or year), so each
distinct count is a sum over cube rows (``query.py``). Integer columns only, no homeowner id.

Kept current in the writer's transaction, like ``data.rollups``: the session hooks
(:func:`install_cell_hooks`, installed on the application's session factory in ``data.db``)
note the homeowner of every lead inserted, changed or deleted, of every review written, and
every homeowner whose copied columns change or who is erased, and before the commit
:func:`refresh_homeowners` recomputes all those homeowners' rows from the base tables (delete,
then ``INSERT … SELECT``; a homeowner has a handful of leads), so the rows and their
neighbours' months are right whatever the change was. The cube gets the difference between
those homeowners' contributions before and after (:func:`contributions`, atomic upserts);
:func:`cube_follows` does the same around plain statements (the erasure). Bulk loads bypass
the hooks and call :func:`data.aggregates.cube_rebuild.rebuild` afterwards (the demo build;
migrations 0016, 0022 and 0023 fill existing databases).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from functools import cache
from itertools import chain, combinations
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Index,
    Integer,
    Select,
    SmallInteger,
    String,
    Table,
    and_,
    bindparam,
    case,
    cast,
    delete,
    event,
    func,
    insert,
    inspect,
    literal,
    select,
    text,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause

from data.aggregates.dimensions import (
    COMPLETED_STATUSES,
    DIMENSIONS,
    HIRED_STATUSES,
    NOT_STATED,
    OTHER,
    Names,
    Period,
    Source,
)
from data.models import Base, Homeowner, Lead, Review
from data.rollups.maintain import SKIP_ROLLUPS
from data.sqlfuncs import month_start, tuples_of

aggregate_cell = Table(
    "aggregate_cell",
    Base.metadata,
    Column("lead_id", Integer, primary_key=True, autoincrement=False),
    Column("homeowner_id", Integer, nullable=False),
    Column("month", String(7), nullable=False),  # SA month of creation, "YYYY-MM"
    Column("province", String(40), nullable=False),
    Column("city", String(80)),
    Column("trade_id", Integer, nullable=False),
    Column("service_type_id", Integer, nullable=False),
    Column("channel", String(20), nullable=False),
    Column("hired", SmallInteger, nullable=False),
    Column("completed", SmallInteger, nullable=False),
    Column("rating_sum", Integer, nullable=False),
    Column("reviews", Integer, nullable=False),
    # the months of the homeowner's previous and next lead (NULL: none): a homeowner with one
    # lead in a period counts once in every cell and margin that lead falls in (query.py)
    Column("prev_month", String(7)),
    Column("next_month", String(7)),
    # copies of the homeowner's quasi-identifiers (migration 0023): what the cube counted the
    # person under; erasure clears them with the homeowner's (data.subjects: identifiers)
    Column("birth_year", SmallInteger),
    Column("gender", String(10)),
    Column("property_type", String(20)),
    Index("ix_aggregate_cell_month", "month"),
    Index("ix_aggregate_cell_homeowner", "homeowner_id"),
)

COLUMNS = tuple(c.name for c in aggregate_cell.columns)
#: Leads refreshed per statement (keeps ``IN`` lists well under every driver's limit).
CHUNK = 500
_PENDING = "aggregate_cell_pending"  # session.info: ids of the homeowners to recompute
_LOCK_NS = 14_016  # advisory-lock namespace of this table (issue 14, migration 0016)

#: ``aggregate_cell``'s columns as the dimensions read them.
CELL_SOURCE = Source(
    province=aggregate_cell.c.province,
    city=aggregate_cell.c.city,
    trade_id=aggregate_cell.c.trade_id,
    service_type_id=aggregate_cell.c.service_type_id,
    channel=aggregate_cell.c.channel,
    month=aggregate_cell.c.month,
    birth_year=aggregate_cell.c.birth_year,
    gender=aggregate_cell.c.gender,
    property_type=aggregate_cell.c.property_type,
)

# --- the cube: every lead dimension combination, pre-aggregated per month -------------------

#: The lead's own dimensions the cube is kept for (the time levels are not combinations of
#: their own: months are the cube's rows, quarters and years their sums).
LEAD_KEYS = ("province", "region", "city", "trade", "service_type", "channel")
#: The homeowner's (migration 0023): the age band is coded by birth year, as the band depends
#: on the period's last year; the codes are copies in ``aggregate_cell``, constant over a
#: homeowner's rows.
HOMEOWNER_KEYS = ("birth_year", "gender", "property_type")
CUBE_KEYS = LEAD_KEYS + HOMEOWNER_KEYS
#: The cube key of each dimension that has one (the time dimensions have none).
KEY_OF = {**{k: k for k in CUBE_KEYS if k != "birth_year"}, "age_band": "birth_year"}
#: Every combination of up to three keys (province and region are two levels of one hierarchy,
#: never together): the 37 of lead keys only (migration 0022) first, then the 85 with a
#: homeowner key (0023). A table reads the combination of each of its margins. The cube
#: stores a combination by its position here, and categories by their position in the
#: dimension's fixed list: changing either needs a rebuild (migration).
COMBOS: tuple[tuple[str, ...], ...] = tuple(
    kept
    for keys in (LEAD_KEYS, CUBE_KEYS)
    for size in range(4)
    for kept in combinations(keys, size)
    if not {"province", "region"} <= set(kept)
    and (keys == LEAD_KEYS or set(kept) & set(HOMEOWNER_KEYS))
)
LEAD_COMBOS = COMBOS[:37]
HOMEOWNER_COMBOS = COMBOS[37:]
COMBO_ID = {combo: i for i, combo in enumerate(COMBOS)}
#: The birth-year code of a homeowner without one: outside a ``SmallInteger``, so no birth year.
NO_BIRTH_YEAR = 1 << 16
NO_PREVIOUS = -1  # ``prev`` of a lead that is its homeowner's first in its cell
CUBE_KEY = ("combo", "c1", "c2", "c3", "month", "prev")
CUBE_SUMS = ("leads", "hires", "completed", "rating_sum", "reviews")
SOURCE_SUMS = ("hired", "completed", "rating_sum", "reviews")  # per lead, summed into them

aggregate_cube = Table(
    "aggregate_cube",
    Base.metadata,
    Column("combo", SmallInteger, primary_key=True, autoincrement=False),  # COMBOS index
    # the category codes of the combination's dimensions (cube_code), 0 where unused
    Column("c1", Integer, primary_key=True, autoincrement=False),
    Column("c2", Integer, primary_key=True, autoincrement=False),
    Column("c3", Integer, primary_key=True, autoincrement=False),
    Column("month", SmallInteger, primary_key=True, autoincrement=False),  # month_index
    # month_index of the same homeowner's previous lead in the same cell (NO_PREVIOUS: none)
    Column("prev", SmallInteger, primary_key=True, autoincrement=False),
    *(Column(name, Integer, nullable=False) for name in CUBE_SUMS),
    sqlite_with_rowid=False,
)

#: Any period and no names: the expressions of the lead dimensions coded here use neither.
_ANY_PERIOD = Period(date(2000, 1, 1), date(2000, 1, 1))
_NO_NAMES = Names(trades={}, service_types={})


def month_index(month: date) -> int:
    """A month as one integer (``year × 12 + month − 1``; in SQL from ``aggregate_cell.month``
    by :func:`_month_index_sql`): consecutive months differ by one, and a quarter or year
    starts where the index is a multiple of 3 or 12."""
    return month.year * 12 + month.month - 1


@cache
def code_labels(key: str) -> tuple[str, ...]:
    """The categories of a coded dimension, by code (trade and service type are coded by id,
    the age band by birth year)."""
    dim = DIMENSIONS[key]
    return tuple(dict.fromkeys((*dim.values(_ANY_PERIOD, _NO_NAMES), OTHER, NOT_STATED)))


def cube_code(key: str) -> ColumnElement[int]:
    """The category of an ``aggregate_cell`` row in dimension ``key`` as a small integer: the
    trade or service type id, else the position of the row's category (the dimension's own
    expression, so ``Other`` and ``Not stated`` are decided as for every table)."""
    if key == "trade":
        return aggregate_cell.c.trade_id
    if key == "service_type":
        return aggregate_cell.c.service_type_id
    if key == "birth_year":
        return func.coalesce(aggregate_cell.c.birth_year, NO_BIRTH_YEAR)
    category = DIMENSIONS[key].expression(_ANY_PERIOD, _NO_NAMES, CELL_SOURCE)
    codes = {label: code for code, label in enumerate(code_labels(key))}
    return case(codes, value=category, else_=codes[OTHER])


def _month_index_sql() -> ColumnElement[int]:
    month = aggregate_cell.c.month
    year = cast(func.substr(month, 1, 4), Integer)
    return year * 12 + cast(func.substr(month, 6, 2), Integer) - 1


def cube_source(where: ColumnElement[bool] | None, keys: Sequence[str] = CUBE_KEYS) -> Select:
    """The ``aggregate_cell`` rows matching ``where`` (all: ``None``) as the cube reads them:
    homeowner, lead, month index, the category codes of ``keys``, the sums, and whether the
    homeowner has this one lead only (then every combination's ``prev`` is
    :data:`NO_PREVIOUS`). ``where`` must keep all of a homeowner's rows or none."""
    cell = aggregate_cell.c
    query = select(
        cell.homeowner_id.label("h"),
        cell.lead_id.label("lead"),
        _month_index_sql().label("m"),
        *(cube_code(k).label(k) for k in keys),
        cell.hired,
        cell.completed,
        cell.rating_sum,
        cell.reviews,
        flag(and_(cell.prev_month.is_(None), cell.next_month.is_(None))).label("single"),
    )
    return query if where is None else query.where(where)


def contributions(source: FromClause, combos: Sequence[tuple[str, ...]] = COMBOS) -> Select:
    """What the rows of ``source`` (:func:`cube_source`'s columns, a few homeowners' rows)
    add to the cube, per combination, in the cube's columns. ``prev`` is the month of the
    previous lead of the same homeowner with the same categories in the combination's
    dimensions (in month, lead id order). :mod:`data.aggregates.cube_rebuild` computes the
    same for every row at once."""
    parts = []
    for combo in combos:
        keys = [source.c[k] for k in combo]
        codes = [*keys, *[literal(0, Integer)] * (3 - len(combo))]
        previous = func.lag(source.c.m).over(
            partition_by=[source.c.h, *keys], order_by=(source.c.m, source.c.lead)
        )
        per_lead = select(
            *(code.label(f"c{i + 1}") for i, code in enumerate(codes)),
            source.c.m.label("month"),
            func.coalesce(previous, NO_PREVIOUS).label("prev"),
            *(source.c[name] for name in SOURCE_SUMS),
        ).subquery(f"cube_{COMBO_ID[combo]}")
        group = [per_lead.c[name] for name in CUBE_KEY[1:]]
        parts.append(
            select(
                literal(COMBO_ID[combo], SmallInteger).label("combo"),
                *group,
                func.count().label("leads"),
                *(
                    func.sum(per_lead.c[read]).label(name)
                    for read, name in zip(SOURCE_SUMS, CUBE_SUMS[1:], strict=True)
                ),
            ).group_by(*group)
        )
    return parts[0] if len(parts) == 1 else union_all(*parts)


CubeRows = dict[tuple[int, ...], tuple[int, ...]]


@cache
def _homeowners_contributions() -> Select:
    """:func:`contributions` of the homeowners bound as ``homeowners``: built once, as its 37
    parts took ~70 ms of Python per writer's commit to assemble."""
    chosen = aggregate_cell.c.homeowner_id.in_(bindparam("homeowners", expanding=True))
    return contributions(cube_source(chosen).cte("cube_source"))


def _cube_rows(conn: Connection, homeowner_ids: Sequence[int]) -> CubeRows:
    rows = conn.execute(_homeowners_contributions(), {"homeowners": list(homeowner_ids)})
    return {
        tuple(int(v) for v in row[:6]): tuple(int(v or 0) for v in row[6:])
        for row in tuples_of(rows)
    }


def _apply_changes(conn: Connection, old: CubeRows, new: CubeRows) -> None:
    """Add ``new − old`` to the cube with atomic upserts (in key order, so that concurrent
    writers lock rows in one order) and drop the rows that fall to zero leads."""
    changes = []
    for key in sorted(old.keys() | new.keys()):
        before, after = old.get(key, (0,) * 5), new.get(key, (0,) * 5)
        delta = tuple(a - b for a, b in zip(after, before, strict=True))
        if any(delta):
            changes.append(dict(zip(CUBE_KEY + CUBE_SUMS, key + delta, strict=True)))
    if not changes:
        return
    upsert = (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(aggregate_cube)
    conn.execute(
        upsert.on_conflict_do_update(
            index_elements=list(CUBE_KEY),
            set_={name: aggregate_cube.c[name] + upsert.excluded[name] for name in CUBE_SUMS},
        ),
        changes,
    )
    key_columns = tuple_(*(aggregate_cube.c[name] for name in CUBE_KEY))
    for start in range(0, len(changes), CHUNK):
        keys = [tuple(c[name] for name in CUBE_KEY) for c in changes[start : start + CHUNK]]
        conn.execute(
            delete(aggregate_cube).where(key_columns.in_(keys), aggregate_cube.c.leads == 0)
        )


def published_reviews() -> Any:
    """The reviews an average rating counts: published, by the homeowner about the partner."""
    return and_(
        Review.author_side == "homeowner_about_partner",
        Review.moderation_status == "published",
    )


def flag(condition: Any) -> Any:
    """1 where ``condition`` holds, else 0 (summed as a count)."""
    return case((condition, 1), else_=0)


def source_rows(homeowner_ids: Iterable[int] | None = None) -> Select:
    """The rows of :data:`aggregate_cell` computed from ``lead`` and ``review`` (every lead, or
    the leads of the given homeowners): what the rebuild and the refresh insert, and what the
    tests compare with. ``prev_month`` and ``next_month`` are the months of the homeowner's
    previous and next lead in (month, lead id) order."""
    ratings = select(
        Review.lead_id.label("lead_id"),
        func.sum(Review.rating).label("rating_sum"),
        func.count().label("reviews"),
    ).where(published_reviews())
    leads = select(
        Lead.id.label("lead_id"),
        Lead.homeowner_id.label("homeowner_id"),
        func.substr(month_start(Lead.created_at), 1, 7).label("month"),
        Lead.province.label("province"),
        Lead.city.label("city"),
        Lead.trade_id.label("trade_id"),
        Lead.service_type_id.label("service_type_id"),
        Lead.channel.label("channel"),
        flag(Lead.status.in_(HIRED_STATUSES)).label("hired"),
        flag(Lead.status.in_(COMPLETED_STATUSES)).label("completed"),
        Homeowner.birth_year.label("birth_year"),
        Homeowner.gender.label("gender"),
        Homeowner.property_type.label("property_type"),
    ).join(Homeowner, Homeowner.id == Lead.homeowner_id)
    leads = leads.where(Homeowner.erased_at.is_(None))  # erased people are never counted
    if homeowner_ids is not None:
        ids = sorted(homeowner_ids)
        leads = leads.where(Lead.homeowner_id.in_(ids))
        ratings = ratings.where(
            Review.lead_id.in_(select(Lead.id).where(Lead.homeowner_id.in_(ids)))
        )
    rated = ratings.group_by(Review.lead_id).subquery()
    row = (
        leads.add_columns(
            func.coalesce(rated.c.rating_sum, 0).label("rating_sum"),
            func.coalesce(rated.c.reviews, 0).label("reviews"),
        )
        .outerjoin(rated, rated.c.lead_id == Lead.id)
        .subquery("cell_row")
    )
    order = {"partition_by": row.c.homeowner_id, "order_by": (row.c.month, row.c.lead_id)}
    window = {
        "prev_month": func.lag(row.c.month).over(**order),
        "next_month": func.lead(row.c.month).over(**order),
    }
    return select(*(window[name] if name in window else row.c[name] for name in COLUMNS))


def rebuild(conn: Connection) -> None:
    """Recompute every row from the base tables (after bulk loads; idempotent; the cube is
    rebuilt from them by :func:`data.aggregates.cube_rebuild.rebuild`)."""
    conn.execute(delete(aggregate_cell))
    conn.execute(insert(aggregate_cell).from_select(list(COLUMNS), source_rows()))


def _lock(conn: Connection, homeowner_ids: Sequence[int]) -> None:
    """On PostgreSQL, a transaction-scoped advisory lock per homeowner (in id order), so that
    two writers of one homeowner's rows and cube contributions run one after the other."""
    if conn.dialect.name == "postgresql":
        for ident in homeowner_ids:
            conn.execute(
                text("SELECT pg_advisory_xact_lock(:ns, :id)"), {"ns": _LOCK_NS, "id": ident}
            )


def refresh_homeowners(conn: Connection, homeowner_ids: Iterable[int]) -> None:
    """Make the rows of these homeowners' leads equal to what the base tables say now (a
    deleted lead loses its row, its neighbours get new ``prev_month``/``next_month``). On
    PostgreSQL a transaction-scoped advisory lock per homeowner makes a second writer of the
    same homeowner wait, then recompute from a snapshot that includes the first one's leads."""
    ids = sorted(set(homeowner_ids))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        _lock(conn, chunk)
        old = _cube_rows(conn, chunk)
        conn.execute(delete(aggregate_cell).where(aggregate_cell.c.homeowner_id.in_(chunk)))
        conn.execute(insert(aggregate_cell).from_select(list(COLUMNS), source_rows(chunk)))
        _apply_changes(conn, old, _cube_rows(conn, chunk))


@contextmanager
def cube_follows(conn: Connection, homeowner_ids: Iterable[int]) -> Iterator[None]:
    """Whatever the block does to these homeowners' ``aggregate_cell`` rows with plain
    statements (an erasure clears their copied birth year, gender and property type), the cube
    follows: their contributions are read before and after, and the difference applied, in
    the caller's transaction. The session hooks do the same for ORM writes."""
    ids = sorted(set(homeowner_ids))
    chunks = [ids[start : start + CHUNK] for start in range(0, len(ids), CHUNK)]
    for chunk in chunks:
        _lock(conn, chunk)
    before = [_cube_rows(conn, chunk) for chunk in chunks]
    yield
    for chunk, old in zip(chunks, before, strict=True):
        _apply_changes(conn, old, _cube_rows(conn, chunk))


# --- the ORM hooks ----------------------------------------------------------------------------


def _ids(obj: Any, attr: str) -> list[int]:
    hist = inspect(obj).attrs[attr].history
    values = chain(hist.added or (), hist.unchanged or (), hist.deleted or ())
    return [v for v in values if isinstance(v, int)]


#: The homeowner's columns that change their rows: the copies, and erasure (no rows then).
WATCHED = (*HOMEOWNER_KEYS, "erased_at")


def homeowners_touched(session: Session) -> set[int]:
    """Ids of the homeowners whose rows may have changed in this flush: the homeowners (old and
    new) of leads inserted, changed or deleted, of the leads of reviews written, and those whose
    birth year, gender or property type changed (a correction) or who were erased."""
    touched: set[int] = set()
    reviewed: set[int] = set()
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, Lead):
            touched.update(_ids(obj, "homeowner_id"))
        elif isinstance(obj, Review):
            reviewed.update(_ids(obj, "lead_id"))
        elif isinstance(obj, Homeowner) and obj.id is not None:
            state = inspect(obj)
            if any(state.attrs[name].history.has_changes() for name in WATCHED):
                touched.add(obj.id)
    if reviewed:
        owners = select(Lead.homeowner_id).where(Lead.id.in_(sorted(reviewed)))
        touched.update(int(h) for h in session.connection().execute(owners).scalars())
    return touched


def _collect_after_flush(session: Session, _context: Any) -> None:
    if session.info.get(SKIP_ROLLUPS):  # a bulk loader: it rebuilds afterwards
        return
    touched = homeowners_touched(session)
    if touched:
        session.info.setdefault(_PENDING, set()).update(touched)


def _refresh_before_commit(session: Session) -> None:
    session.flush()
    pending = session.info.pop(_PENDING, None)
    if pending:
        refresh_homeowners(session.connection(), pending)


def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


_HOOKS = (
    ("after_flush", _collect_after_flush),
    ("before_commit", _refresh_before_commit),
    ("after_rollback", _forget_after_rollback),
)


def install_cell_hooks(target: sessionmaker[Any] | Session) -> None:
    """Keep :data:`aggregate_cell` current for every session ``target`` makes (installing
    twice is harmless)."""
    for name, hook in _HOOKS:
        if not event.contains(target, name, hook):
            event.listen(target, name, hook)

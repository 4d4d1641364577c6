"""``aggregate_cell``: one narrow, precomputed row per lead that the de-identified tables read.

Why: a table's distinct-homeowner counts need the period's leads one by one (distinct counts do
not add up across cells, months or margins, so no per-cell rollup can answer them), and reading
them from ``lead`` meant visiting ~450 000 wide rows through the ``created_at`` index, computing
the South African month of each, and running two correlated review sub-queries per lead for the
average rating: 5–6 s of CPU per table on SQLite at 1M leads. This table holds, per lead, only
what a table groups or sums, already computed: the SA month as ``YYYY-MM`` text (so a period
of whole months is an index range and quarter and year are ``substr``), the lead's province,
city, trade, service type and channel, whether it was hired and completed, and the sum and
number of its published homeowner reviews. Homeowner attributes (age band, gender, property
type) stay in ``homeowner`` (joined only when chosen) so that erasure has nothing to clear here.

``prev_month`` and ``next_month`` (the months of the same homeowner's previous and next lead)
make most distinct counts additive: a homeowner whose previous lead is before a period and next
lead after it has exactly one lead in it, so counts once in exactly the cells that lead is in,
and such people can be summed like leads (``query.py``). Four in five homeowners of a year are
like that at 1M leads; only the rest are counted distinct per cell and margin.

Who is counted is decided at read time (``query.excluded_ids``: erased, or a standing
objection), so an erasure or an objection needs no maintenance here and takes effect at once.

Kept current in the writer's transaction, like ``data.rollups``: the session hooks
(:func:`install_cell_hooks`, installed on the application's session factory in ``data.db``)
note the homeowner of every lead inserted, changed or deleted and of every review written, and
before the commit :func:`refresh_homeowners` recomputes all those homeowners' rows from the
base tables (delete, then ``INSERT … SELECT``; a homeowner has a handful of leads), so the rows
and their neighbours' months are right whatever the change was. Bulk loads bypass the hooks
and call :func:`rebuild` afterwards (the demo build; migration 0016 fills existing databases).
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain
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
    case,
    delete,
    event,
    func,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.orm import Session, sessionmaker

from data.aggregates.dimensions import COMPLETED_STATUSES, HIRED_STATUSES
from data.models import Base, Lead, Review
from data.rollups.maintain import SKIP_ROLLUPS
from data.sqlfuncs import month_start

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
    Index("ix_aggregate_cell_month", "month"),
    Index("ix_aggregate_cell_homeowner", "homeowner_id"),
)

COLUMNS = tuple(c.name for c in aggregate_cell.columns)
#: Leads refreshed per statement (keeps ``IN`` lists well under every driver's limit).
CHUNK = 500
_PENDING = "aggregate_cell_pending"  # session.info: ids of the homeowners to recompute
_LOCK_NS = 14_016  # advisory-lock namespace of this table (issue 14, migration 0016)


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
    )
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
    return select(
        *(row.c[name] for name in COLUMNS[:-2]),
        func.lag(row.c.month).over(**order),
        func.lead(row.c.month).over(**order),
    )


def rebuild(conn: Connection) -> None:
    """Recompute every row from the base tables (after bulk loads; idempotent)."""
    conn.execute(delete(aggregate_cell))
    conn.execute(insert(aggregate_cell).from_select(list(COLUMNS), source_rows()))


def refresh_homeowners(conn: Connection, homeowner_ids: Iterable[int]) -> None:
    """Make the rows of these homeowners' leads equal to what the base tables say now (a
    deleted lead loses its row, its neighbours get new ``prev_month``/``next_month``). On
    PostgreSQL a transaction-scoped advisory lock per homeowner makes a second writer of the
    same homeowner wait, then recompute from a snapshot that includes the first one's leads."""
    ids = sorted(set(homeowner_ids))
    postgres = conn.dialect.name == "postgresql"
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        if postgres:
            for ident in chunk:
                conn.execute(
                    text("SELECT pg_advisory_xact_lock(:ns, :id)"), {"ns": _LOCK_NS, "id": ident}
                )
        conn.execute(delete(aggregate_cell).where(aggregate_cell.c.homeowner_id.in_(chunk)))
        conn.execute(insert(aggregate_cell).from_select(list(COLUMNS), source_rows(chunk)))


# --- the ORM hooks ----------------------------------------------------------------------------


def _ids(obj: Any, attr: str) -> list[int]:
    hist = inspect(obj).attrs[attr].history
    values = chain(hist.added or (), hist.unchanged or (), hist.deleted or ())
    return [v for v in values if isinstance(v, int)]


def homeowners_touched(session: Session) -> set[int]:
    """Ids of the homeowners whose rows may have changed in this flush: the homeowners (old and
    new) of leads inserted, changed or deleted, and of the leads of reviews written."""
    touched: set[int] = set()
    reviewed: set[int] = set()
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, Lead):
            touched.update(_ids(obj, "homeowner_id"))
        elif isinstance(obj, Review):
            reviewed.update(_ids(obj, "lead_id"))
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

"""The one query the registry of :mod:`data.subjects` answers: "this subject's rows of that
table", along every route the registry records, oldest first.

The access package, the erasure (``data.erasure``), the residue scan and the retention sweep
all read through it, so all of them reach exactly the same rows.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import ColumnElement, CompoundSelect, Select, Table, or_, select, union
from sqlalchemy.sql import FromClause

from data.models import Base
from data.subjects import REGISTRIES, Route


def _table(name: str) -> Table:
    try:
        return Base.metadata.tables[name]
    except KeyError:
        raise KeyError(
            f"table {name!r} is not on Base.metadata: import its module "
            "(data.schema.load_all_models())"
        ) from None


def route_condition(
    table: str, route: Route, subject_type: str, subject_id: int | Collection[int]
) -> ColumnElement[bool]:
    """Rows of ``table`` that this route ties to the subject (or to any of several subjects of
    one type, for the residue scan's namesakes): nested ``IN (SELECT id …)`` along the hops, so
    a row matches once however many rows of the path lead to it."""
    tables = [_table(table)] + [_table(hop.target) for hop in route.hops]
    last = tables[-1]
    condition: ColumnElement[bool] = (
        last.c[route.key] == subject_id
        if isinstance(subject_id, int)
        else last.c[route.key].in_(sorted(subject_id))
    )
    if route.type_column is not None:
        condition = condition & (last.c[route.type_column] == subject_type)
    for source, target, hop in reversed(
        list(zip(tables[:-1], tables[1:], route.hops, strict=True))
    ):
        condition = source.c[hop.column].in_(select(target.c.id).where(condition))
    return condition


def subject_condition(
    subject_type: str, table: str, subject_id: int | Collection[int]
) -> ColumnElement[bool]:
    """The WHERE clause for "rows of ``table`` that belong to this subject" (any route).

    Several routes are joined as ``id IN (route 1 UNION route 2 …)`` rather than with ``OR``:
    PostgreSQL cannot use an index for ``x = … OR y IN (SELECT …)`` and read the whole table
    (317 ms for a homeowner's interactions at 10M leads); each branch of the union uses its own
    index.
    """
    entry = REGISTRIES[subject_type].table(table)
    routes = [route_condition(table, r, subject_type, subject_id) for r in entry.routes]
    core = _table(table)
    if len(routes) == 1 or "id" not in core.c:
        return or_(*routes)
    return core.c.id.in_(union(*(select(core.c.id).where(route) for route in routes)))


def _route_owners(
    table: str,
    route: Route,
    subject_type: str,
    subject_ids: list[int] | None,
    row_ids: list[int] | None,
) -> Select:
    """(primary key…, ``owner``) of the rows this route ties to a subject of the type (to one
    of ``subject_ids``; among the rows ``row_ids``): the hops as joins, so each row comes with
    the subject it belongs to."""
    source = _table(table)
    joined: FromClause = source
    current: FromClause = source
    for hop in route.hops:
        target = _table(hop.target).alias()
        joined = joined.join(target, current.c[hop.column] == target.c.id)
        current = target
    owner = current.c[route.key]
    conditions = [owner.is_not(None)]
    if subject_ids is not None:
        conditions.append(owner.in_(subject_ids))
    if row_ids is not None:
        conditions.append(source.c.id.in_(row_ids))
    if route.type_column is not None:
        conditions.append(current.c[route.type_column] == subject_type)
    return (
        select(*source.primary_key.columns, owner.label("owner"))
        .select_from(joined)
        .where(*conditions)
    )


def subject_owners(
    subject_type: str,
    table: str,
    subject_ids: Collection[int] | None = None,
    *,
    row_ids: Collection[int] | None = None,
) -> Select | CompoundSelect:
    """(primary key…, ``owner``) of the rows of ``table`` that belong to any of these subjects
    (to any subject of the type, with ``row_ids``: among those rows; ``row_ids`` needs an
    ``id`` key), one per (row, subject). A batch erasure counts each subject's rows with one
    query (a row reached by two routes of the same subject is one pair; a row two subjects
    share, e.g. a call on one homeowner's record about another's lead, counts for both, as
    erasing them one after the other would); the residue scan asks whom the rows it found
    belong to."""
    subjects = None if subject_ids is None else sorted(subject_ids)
    rows = None if row_ids is None else sorted(row_ids)
    entry = REGISTRIES[subject_type].table(table)
    routes = [_route_owners(table, r, subject_type, subjects, rows) for r in entry.routes]
    return routes[0] if len(routes) == 1 else union(*routes)


def time_order(subject_type: str, table: str) -> tuple[ColumnElement, ...]:
    """Oldest first by the table's time column, ties (and untimed tables) by primary key."""
    entry = REGISTRIES[subject_type].table(table)
    core = _table(table)
    timed = (core.c[entry.time_column],) if entry.time_column else ()
    return (*timed, *core.primary_key.columns)


def subject_rows(subject_type: str, table: str, subject_id: int) -> Select:
    """All columns of the subject's rows of ``table``, oldest first (a Core select)."""
    return (
        select(_table(table))
        .where(subject_condition(subject_type, table, subject_id))
        .order_by(*time_order(subject_type, table))
    )

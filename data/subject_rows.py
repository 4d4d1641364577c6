"""The one query the registry of :mod:`data.subjects` answers: "this subject's rows of that
table", along every route the registry records, oldest first.

The access package reads through it today; the erasure, the residue scan and the retention
sweep will too, so all of them reach exactly the same rows.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, Table, or_, select

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
    table: str, route: Route, subject_type: str, subject_id: int
) -> ColumnElement[bool]:
    """Rows of ``table`` that this route ties to the subject: nested ``IN (SELECT id …)``
    along the hops, so a row matches once however many rows of the path lead to it."""
    tables = [_table(table)] + [_table(hop.target) for hop in route.hops]
    last = tables[-1]
    condition: ColumnElement[bool] = last.c[route.key] == subject_id
    if route.type_column is not None:
        condition = condition & (last.c[route.type_column] == subject_type)
    for source, target, hop in reversed(
        list(zip(tables[:-1], tables[1:], route.hops, strict=True))
    ):
        condition = source.c[hop.column].in_(select(target.c.id).where(condition))
    return condition


def subject_condition(subject_type: str, table: str, subject_id: int) -> ColumnElement[bool]:
    """The WHERE clause for "rows of ``table`` that belong to this subject" (any route)."""
    entry = REGISTRIES[subject_type].table(table)
    return or_(*(route_condition(table, r, subject_type, subject_id) for r in entry.routes))


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

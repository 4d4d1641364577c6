"""Portable SQL expressions that SQLite and PostgreSQL spell differently."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CursorResult, Date, Float, String, case, func
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement


class minutes_between(FunctionElement):
    """Minutes from the first datetime expression to the second (fractional)."""

    type = Float()
    inherit_cache = True


@compiles(minutes_between)
def _minutes_between_default(element: minutes_between, compiler: Any, **kw: Any) -> str:
    start, end = list(element.clauses)
    return (
        f"(EXTRACT(EPOCH FROM ({compiler.process(end, **kw)} - {compiler.process(start, **kw)}))"
        " / 60.0)"
    )


@compiles(minutes_between, "sqlite")
def _minutes_between_sqlite(element: minutes_between, compiler: Any, **kw: Any) -> str:
    start, end = list(element.clauses)
    return (
        f"((julianday({compiler.process(end, **kw)}) - julianday({compiler.process(start, **kw)}))"
        " * 1440.0)"
    )


#: Johannesburg's offset from UTC, in hours. South Africa has kept UTC+2 all year since 1944 (no
#: daylight saving), so a South African day is a fixed shift of the stored UTC instant; the SQL
#: below adds it rather than asking each database for a time-zone conversion (SQLite has none).
#: ``tests/unit/test_timeutil.py`` checks it against the time-zone database.
SA_OFFSET_HOURS = 2


_SHIFT_SQLITE = f"'+{SA_OFFSET_HOURS} hours'"


def _whole_seconds_sqlite(value: Any, compiler: Any, **kw: Any) -> str:
    """A stored SQLite datetime ('YYYY-MM-DD HH:MM:SS.ffffff' text) cut to whole seconds.

    Why: SQLite's date functions round fractional seconds to milliseconds once a modifier is
    applied, so 21:59:59.9999 UTC plus two hours would become midnight and the next day.
    Cutting (never rounding) the fraction cannot move an instant across a day boundary."""
    return f"substr({compiler.process(value, **kw)}, 1, 19)"


class month_start(FunctionElement):
    """The first day of the South African month of a stored (UTC) datetime, as 'YYYY-MM-01'
    text on both databases."""

    type = String()
    inherit_cache = True


@compiles(month_start)
def _month_start_default(element: month_start, compiler: Any, **kw: Any) -> str:
    (value,) = list(element.clauses)
    shifted = f"({compiler.process(value, **kw)} + INTERVAL '{SA_OFFSET_HOURS} hours')"
    return f"to_char({shifted}, 'YYYY-MM-01')"


@compiles(month_start, "sqlite")
def _month_start_sqlite(element: month_start, compiler: Any, **kw: Any) -> str:
    (value,) = list(element.clauses)
    return f"strftime('%Y-%m-01', {_whole_seconds_sqlite(value, compiler, **kw)}, {_SHIFT_SQLITE})"


class day_of(FunctionElement):
    """The South African calendar day of a stored (UTC) timestamp: a DATE on PostgreSQL,
    'YYYY-MM-DD' text on SQLite. An event at 23:30 UTC belongs to the next day, as it does for
    the people in Johannesburg who count it (``data.timeutil.sa_date`` in Python)."""

    type = Date()
    inherit_cache = True


@compiles(day_of)
def _day_of_default(element: day_of, compiler: Any, **kw: Any) -> str:
    (value,) = list(element.clauses)
    return f"CAST(({compiler.process(value, **kw)} + INTERVAL '{SA_OFFSET_HOURS} hours') AS DATE)"


@compiles(day_of, "sqlite")
def _day_of_sqlite(element: day_of, compiler: Any, **kw: Any) -> str:
    (value,) = list(element.clauses)
    return f"date({_whole_seconds_sqlite(value, compiler, **kw)}, {_SHIFT_SQLITE})"


def count_where(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """The number of rows for which ``condition`` holds (``SUM(CASE WHEN … THEN 1 ELSE 0)``)."""
    return func.sum(case((condition, 1), else_=0))


def fetch_tuples(result: CursorResult[Any]) -> list[tuple]:
    """All rows of ``result`` as the driver's own tuples, and close it.

    Why: building SQLAlchemy ``Row`` objects and turning them back into tuples cost several
    times the fetch itself at tens of thousands of rows (the partner ranking reads 50 000
    partners × 30 counts at 10M leads). Only for columns that need no type conversion —
    integers, floats and text — which SQLite and psycopg return as Python values already.
    """
    try:
        return list(result.cursor.fetchall()) if result.returns_rows else []
    finally:
        result.close()


def tuples_of(result: Any) -> list[tuple]:
    """Plain tuples, fetched at once (iterating a result fetches row by row, and numpy and
    pandas probe SQLAlchemy ``Row`` objects slowly); a live result's rows come straight from
    the driver (:func:`fetch_tuples`: integer and text columns only)."""
    if isinstance(result, CursorResult):
        return fetch_tuples(result)
    return [tuple(row) for row in result]

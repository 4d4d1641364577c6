"""Time helpers: the database stores naive UTC datetimes on both SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any


def utcnow() -> datetime:
    """Current UTC time without tzinfo, to match the naive ``DateTime`` columns."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def today() -> date:
    return utcnow().date()


def start_of(day: date) -> datetime:
    """Midnight at the start of ``day`` as a naive datetime, comparable with stored times."""
    return datetime.combine(day, time.min)


def as_date(value: Any) -> date:
    """A date from what a driver returns for a DATE column: a ``date``, a ``datetime``, or
    ISO text (SQLite stores dates as ``YYYY-MM-DD`` text)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])

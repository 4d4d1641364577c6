"""Time helpers: the database stores naive UTC datetimes on both SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime


def utcnow() -> datetime:
    """Current UTC time without tzinfo, to match the naive ``DateTime`` columns."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def today() -> date:
    return utcnow().date()

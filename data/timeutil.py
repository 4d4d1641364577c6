"""Time helpers: the database stores naive UTC datetimes on both SQLite and PostgreSQL, while the
business counts South African days (``Africa/Johannesburg``, UTC+2 all year): a request is
"due today" or overdue, and a period preset starts, by the day in Johannesburg. So instants stay
UTC and only the *day* of an instant is taken in Johannesburg (:func:`sa_date`), and a time typed
by staff (the intake form's "received") is read as Johannesburg time (:func:`sa_to_utc`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

SA_TZ = ZoneInfo("Africa/Johannesburg")


def utcnow() -> datetime:
    """Current UTC time without tzinfo, to match the naive ``DateTime`` columns."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def sa_date(instant: datetime) -> date:
    """The South African calendar day of a stored (naive UTC) instant."""
    return instant.replace(tzinfo=UTC).astimezone(SA_TZ).date()


def utc_to_sa(instant: datetime) -> datetime:
    """A stored (naive UTC) instant as naive Johannesburg wall-clock time."""
    return instant.replace(tzinfo=UTC).astimezone(SA_TZ).replace(tzinfo=None)


def sa_to_utc(local: datetime) -> datetime:
    """Naive Johannesburg wall-clock time (typed by staff) as a stored naive UTC instant."""
    return local.replace(tzinfo=SA_TZ).astimezone(UTC).replace(tzinfo=None)


def sa_text(instant: datetime | None, with_time: bool = True) -> str:
    """A stored (naive UTC) instant as staff read it: Johannesburg's day, and with ``with_time``
    its wall-clock time marked SAST; "–" for none. Every date or time the console prints of a
    stored instant goes through here, so a due date and its "days left" badge cannot disagree."""
    if instant is None:
        return "–"
    local = utc_to_sa(instant)
    return local.strftime("%Y-%m-%d %H:%M SAST") if with_time else local.strftime("%Y-%m-%d")


def today() -> date:
    """Today in South Africa: the day the due dates, overdue flags and period presets use."""
    return sa_date(utcnow())


def start_of(day: date) -> datetime:
    """The instant the South African ``day`` begins (midnight in Johannesburg), as a naive UTC
    datetime comparable with stored times: 22:00 UTC on the day before. Day ranges on stored
    instants use it on both ends (``start_of(first) <= at < start_of(last + 1 day)``), so they
    hold exactly the instants whose :func:`sa_date` falls in the range."""
    return sa_to_utc(datetime.combine(day, time.min))


def as_date(value: Any) -> date:
    """A date from what a driver returns for a DATE column: a ``date``, a ``datetime``, or
    ISO text (SQLite stores dates as ``YYYY-MM-DD`` text)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])

"""The privacy request clock (PAIA s56–58, POPIA s23–24).

due = received + 30 days; one extension of at most 30 days, recorded before the original due
date; days-left colouring green ≥ 10, amber 5–9, red < 5, then "N days overdue"; an open access
request past its due date is a deemed refusal; requests left unverified for 30 days close as
"unverified". Pure functions, so the queue, the request page and the tests agree on every edge.

Days are South African days: ``due_at`` is a stored UTC instant, and its due *day* is the day
in Johannesburg (``data.timeutil.sa_date``); ``today`` is Johannesburg's today
(``data.timeutil.today``). The badge, the deemed refusal and the extension rule
(``workflow.refusal_reason``) all use that one day: on the due day the badge says "due today"
and an extension is still allowed; from the next day it is overdue and refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from data.timeutil import sa_date

DUE_DAYS = 30
MAX_EXTENSION_DAYS = 30
UNVERIFIED_CLOSE_DAYS = 30
GREEN_FROM = 10
AMBER_FROM = 5

OPEN_STATUSES = ("received", "verifying", "in_progress")
CLOSED_STATUSES = ("completed", "denied", "unverified", "duplicate")


def due_date(received_at: datetime) -> datetime:
    """The statutory due date of a request received at ``received_at``."""
    return received_at + timedelta(days=DUE_DAYS)


def due_day(due_at: datetime) -> date:
    """The South African day on which a request stored as due at ``due_at`` (UTC) is due."""
    return sa_date(due_at)


def days_left(due_at: datetime, today: date) -> int:
    """Whole South African days from ``today`` to the due day (0 = due today, < 0 overdue)."""
    return (due_day(due_at) - today).days


def is_overdue(due_at: datetime, today: date) -> bool:
    return days_left(due_at, today) < 0


@dataclass(frozen=True)
class DaysLeft:
    """What the queue and the request page show for an open request's clock."""

    days: int
    css_class: str
    label: str


def days_left_badge(due_at: datetime, today: date) -> DaysLeft:
    """Green ≥ 10, amber 5–9, red < 5 (0–4), then "N days overdue"."""
    days = days_left(due_at, today)
    if days < 0:
        overdue = -days
        return DaysLeft(days, "days-overdue", f"{overdue} day{'s' if overdue != 1 else ''} overdue")
    label = "due today" if days == 0 else f"{days} day{'s' if days != 1 else ''} left"
    if days >= GREEN_FROM:
        return DaysLeft(days, "days-green", label)
    if days >= AMBER_FROM:
        return DaysLeft(days, "days-amber", label)
    return DaysLeft(days, "days-red", label)


def is_deemed_refusal(request_type: str, status: str, due_at: datetime, today: date) -> bool:
    """An unanswered access request past its due date is a deemed refusal (PAIA s58)."""
    return request_type == "access" and status in OPEN_STATUSES and is_overdue(due_at, today)


def unverified_cutoff(now: datetime) -> datetime:
    """Requests received before this instant and still unverified close as "unverified"."""
    return now - timedelta(days=UNVERIFIED_CLOSE_DAYS)

"""Headline numbers for the home page.

The privacy queue counts its (small) base table. The rest read rollups kept current in the
writer's transaction: lead volume sums one row per day (``rollup_lead_day``), contact within 24
hours and the mean rating the per-trade daily totals (a dozen trades × the days of the window).
The base-table versions counted every lead, share or review of the window: up to 400 ms at 1M
leads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Connection, func, select

from data.models import PrivacyRequest
from data.rollups import REVIEWS, SHARES, WITHIN_24H, leads_between, trade_totals
from data.timeutil import start_of

OPEN_REQUEST_STATUSES = ("received", "verifying", "in_progress")


@dataclass(frozen=True)
class LeadVolume:
    current: int
    previous: int

    @property
    def change(self) -> float | None:
        """Relative change against the previous window (None when there was nothing before)."""
        if self.previous == 0:
            return None
        return (self.current - self.previous) / self.previous


def lead_volume(conn: Connection, as_of: date, days: int = 30) -> LeadVolume:
    """Leads created in the ``days`` up to and including ``as_of``, and in the window before."""
    mid = as_of - timedelta(days=days - 1)
    return LeadVolume(
        current=leads_between(conn, mid, as_of),
        previous=leads_between(conn, mid - timedelta(days=days), mid - timedelta(days=1)),
    )


@dataclass(frozen=True)
class ContactShare:
    shares: int
    within_24h: int

    @property
    def share(self) -> float | None:
        return self.within_24h / self.shares if self.shares else None


def contact_within_24h(conn: Connection, as_of: date, days: int = 30) -> ContactShare:
    """Of the leads shared in the ``days`` days before ``as_of`` (the window ends a day early so
    every share had its full 24 hours), how many the partner contacted within 24 hours."""
    rows = trade_totals(
        conn,
        SHARES,
        as_of - timedelta(days=days),
        as_of - timedelta(days=1),
        columns=["shares", *WITHIN_24H],
    )
    return ContactShare(
        shares=sum(int(r[1]) for r in rows), within_24h=sum(int(v) for r in rows for v in r[2:])
    )


@dataclass(frozen=True)
class RatingSummary:
    reviews: int
    mean: float | None


def mean_partner_rating(conn: Connection, as_of: date, days: int = 90) -> RatingSummary:
    """Mean of published homeowner reviews about partners written in the ``days`` days up to
    and including ``as_of``."""
    rows = trade_totals(
        conn, REVIEWS, as_of - timedelta(days=days - 1), as_of, columns=["reviews", "rating_sum"]
    )
    reviews = sum(int(r[1]) for r in rows)
    total = sum(int(r[2]) for r in rows)
    return RatingSummary(reviews=reviews, mean=total / reviews if reviews else None)


@dataclass(frozen=True)
class PrivacyQueue:
    open: int
    overdue: int


def privacy_queue(conn: Connection, as_of: date) -> PrivacyQueue:
    """Open privacy requests and how many are past their due date on ``as_of``."""
    now = start_of(as_of)
    row = conn.execute(
        select(func.count(), func.count().filter(PrivacyRequest.due_at < now)).where(
            PrivacyRequest.status.in_(OPEN_REQUEST_STATUSES)
        )
    ).one()
    return PrivacyQueue(open=row[0] or 0, overdue=row[1] or 0)

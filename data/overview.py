"""Headline numbers for the home page. Each function aggregates in SQL over an indexed range."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Connection, and_, case, func, select

from data.models import Lead, LeadShare, PrivacyRequest, Review
from data.sqlfuncs import minutes_between
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
    end = start_of(as_of + timedelta(days=1))
    mid = end - timedelta(days=days)
    start = mid - timedelta(days=days)
    row = conn.execute(
        select(
            func.count().filter(Lead.created_at >= mid),
            func.count().filter(Lead.created_at < mid),
        ).where(Lead.created_at >= start, Lead.created_at < end)
    ).one()
    return LeadVolume(current=row[0] or 0, previous=row[1] or 0)


@dataclass(frozen=True)
class ContactShare:
    shares: int
    within_24h: int

    @property
    def share(self) -> float | None:
        return self.within_24h / self.shares if self.shares else None


def contact_within_24h(conn: Connection, as_of: date, days: int = 30) -> ContactShare:
    """Of the leads shared in the window (ending a day before ``as_of`` so every share had its
    full 24 hours), how many the partner contacted within 24 hours."""
    end = start_of(as_of)
    start = end - timedelta(days=days)
    waited = minutes_between(LeadShare.shared_at, LeadShare.first_contact_at)
    row = conn.execute(
        select(
            func.count(),
            func.sum(
                case(
                    (and_(LeadShare.first_contact_at.is_not(None), waited <= 24 * 60), 1),
                    else_=0,
                )
            ),
        ).where(LeadShare.shared_at >= start, LeadShare.shared_at < end)
    ).one()
    return ContactShare(shares=row[0] or 0, within_24h=int(row[1] or 0))


@dataclass(frozen=True)
class RatingSummary:
    reviews: int
    mean: float | None


def mean_partner_rating(conn: Connection, as_of: date, days: int = 90) -> RatingSummary:
    """Mean of published homeowner reviews about partners in the window."""
    end = start_of(as_of + timedelta(days=1))
    start = end - timedelta(days=days)
    row = conn.execute(
        select(func.count(), func.avg(Review.rating)).where(
            Review.created_at >= start,
            Review.created_at < end,
            Review.author_side == "homeowner_about_partner",
            Review.moderation_status == "published",
        )
    ).one()
    return RatingSummary(reviews=row[0] or 0, mean=float(row[1]) if row[1] is not None else None)


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

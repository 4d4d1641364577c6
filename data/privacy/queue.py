"""The privacy request queue and the summary above it.

Aggregation runs in SQL over the ``(status, due_at)`` index; only the median days to close is
computed in Python, because SQLite has no percentile function and the rows involved (requests
closed in the last 12 months) are few. Identifiers are masked here, so the queue's grid data
never carries a full email address or phone number to the browser.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pandas as pd
from sqlalchemy import Connection, and_, case, func, select

from data.models import REQUEST_STATUSES, REQUEST_TYPES, PrivacyRequest, User
from data.privacy.clock import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    days_left_badge,
    is_deemed_refusal,
    unverified_cutoff,
)
from data.privacy.masking import masked_subject
from data.roles import roles_with
from data.timeutil import sa_date, sa_to_utc

STATUS_FILTERS = ("open", "closed", "all", *REQUEST_STATUSES)
QUEUE_LIMIT = 5000
AGE_BUCKETS = ("0–9 days", "10–19 days", "20–29 days", "30+ days")
QUEUE_COLUMNS = [
    "id",
    "type",
    "subject",
    "matched",
    "channel",
    "received",
    "due",
    "days_left",
    "days_label",
    "days_class",
    "status",
    "assignee",
    "extended",
    "deemed_refusal",
    "duplicate_of",
]


def _midnight(day: date) -> datetime:
    """The stored (UTC) instant at which the South African ``day`` begins."""
    return sa_to_utc(datetime.combine(day, time.min))


@dataclass(frozen=True)
class QueueFilters:
    """Validated queue filters (the page parses them from the URL)."""

    type: str | None = None
    status: str = "open"
    assignee: int | None = None
    unassigned: bool = False
    overdue: bool = False
    due_week: bool = False

    def __post_init__(self) -> None:
        if self.type is not None and self.type not in REQUEST_TYPES:
            raise ValueError(f"unknown type {self.type!r}")
        if self.status not in STATUS_FILTERS:
            raise ValueError(f"unknown status {self.status!r}")


def _filtered(query, filters: QueueFilters, today: date):
    start_today = _midnight(today)
    if filters.type:
        query = query.where(PrivacyRequest.type == filters.type)
    if filters.status == "open":
        query = query.where(PrivacyRequest.status.in_(OPEN_STATUSES))
    elif filters.status == "closed":
        query = query.where(PrivacyRequest.status.in_(CLOSED_STATUSES))
    elif filters.status != "all":
        query = query.where(PrivacyRequest.status == filters.status)
    if filters.unassigned:
        query = query.where(PrivacyRequest.assignee_id.is_(None))
    elif filters.assignee is not None:
        query = query.where(PrivacyRequest.assignee_id == filters.assignee)
    if filters.overdue:
        query = query.where(
            PrivacyRequest.status.in_(OPEN_STATUSES), PrivacyRequest.due_at < start_today
        )
    if filters.due_week:
        query = query.where(
            PrivacyRequest.status.in_(OPEN_STATUSES),
            PrivacyRequest.due_at >= start_today,
            PrivacyRequest.due_at < start_today + timedelta(days=7),
        )
    return query


def request_queue(
    conn: Connection, filters: QueueFilters, today: date, limit: int = QUEUE_LIMIT
) -> pd.DataFrame:
    """The queue rows for ``filters``, most urgent first (masked identifiers, clock labels)."""
    query = _filtered(
        select(
            PrivacyRequest.id,
            PrivacyRequest.type,
            PrivacyRequest.given_name,
            PrivacyRequest.given_email,
            PrivacyRequest.given_phone,
            PrivacyRequest.subject_type,
            PrivacyRequest.subject_id,
            PrivacyRequest.no_record_found,
            PrivacyRequest.channel,
            PrivacyRequest.received_at,
            PrivacyRequest.due_at,
            PrivacyRequest.status,
            User.username,
            PrivacyRequest.extended,
            PrivacyRequest.duplicate_of_id,
        ).outerjoin(User, User.id == PrivacyRequest.assignee_id),
        filters,
        today,
    )
    rows = conn.execute(query.order_by(PrivacyRequest.due_at, PrivacyRequest.id).limit(limit)).all()
    records = []
    for r in rows:
        is_open = r.status in OPEN_STATUSES
        badge = days_left_badge(r.due_at, today) if is_open else None
        if r.subject_id is not None:
            matched = f"{r.subject_type} #{r.subject_id}"
        else:
            matched = "no record found" if r.no_record_found else "not matched"
        records.append(
            {
                "id": r.id,
                "type": r.type,
                "subject": masked_subject(r.given_name, r.given_email, r.given_phone),
                "matched": matched,
                "channel": r.channel,
                "received": sa_date(r.received_at).isoformat(),
                "due": sa_date(r.due_at).isoformat(),
                "days_left": badge.days if badge else None,
                "days_label": badge.label if badge else "closed",
                "days_class": badge.css_class if badge else "text-muted",
                "status": r.status,
                "assignee": r.username or "",
                "extended": bool(r.extended),
                "deemed_refusal": is_deemed_refusal(r.type, r.status, r.due_at, today),
                "duplicate_of": r.duplicate_of_id,
            }
        )
    return pd.DataFrame.from_records(records, columns=QUEUE_COLUMNS)


@dataclass(frozen=True)
class QueueSummary:
    open_by_type_age: pd.DataFrame  # rows: type; columns: AGE_BUCKETS + "total"
    median_days_to_close: pd.DataFrame  # type, closed, median_days
    open_total: int
    overdue: int
    deemed_refusals: pd.DataFrame  # id, subject, received, due, days_overdue, assignee


def open_by_type_and_age(conn: Connection, today: date) -> pd.DataFrame:
    """Open requests per type, by how long ago they arrived."""
    start = _midnight(today + timedelta(days=1))
    bucket = case(
        (PrivacyRequest.received_at >= start - timedelta(days=10), AGE_BUCKETS[0]),
        (PrivacyRequest.received_at >= start - timedelta(days=20), AGE_BUCKETS[1]),
        (PrivacyRequest.received_at >= start - timedelta(days=30), AGE_BUCKETS[2]),
        else_=AGE_BUCKETS[3],
    ).label("age")
    rows = conn.execute(
        select(PrivacyRequest.type, bucket, func.count())
        .where(PrivacyRequest.status.in_(OPEN_STATUSES))
        .group_by(PrivacyRequest.type, bucket)
    ).all()
    table = pd.DataFrame(0, index=list(REQUEST_TYPES), columns=list(AGE_BUCKETS), dtype="int64")
    for type_, age, count in rows:
        if type_ in table.index:
            table.loc[type_, age] = int(count)
    table["total"] = table.sum(axis=1)
    table.index.name = "type"
    return table


def median_days_to_close(conn: Connection, today: date) -> pd.DataFrame:
    """Median days from receipt to closing, per type, over requests closed in the last 12
    months (duplicates excluded: they close on arrival and would flatter the figure)."""
    since = _midnight(today) - timedelta(days=365)
    rows = conn.execute(
        select(PrivacyRequest.type, PrivacyRequest.received_at, PrivacyRequest.closed_at).where(
            PrivacyRequest.closed_at >= since,
            PrivacyRequest.status.in_(("completed", "denied", "unverified")),
        )
    ).all()
    frame = pd.DataFrame.from_records(rows, columns=["type", "received_at", "closed_at"])
    out = []
    for type_ in REQUEST_TYPES:
        part = frame[frame["type"] == type_] if not frame.empty else frame
        if part.empty:
            out.append({"type": type_, "closed": 0, "median_days": None})
            continue
        days = (part["closed_at"] - part["received_at"]).dt.total_seconds() / 86400
        out.append({"type": type_, "closed": len(part), "median_days": round(days.median(), 1)})
    return pd.DataFrame.from_records(out, columns=["type", "closed", "median_days"])


def deemed_refusals(conn: Connection, today: date) -> pd.DataFrame:
    """Open access requests past their due date (PAIA s58: deemed refused)."""
    rows = conn.execute(
        select(
            PrivacyRequest.id,
            PrivacyRequest.given_name,
            PrivacyRequest.given_email,
            PrivacyRequest.given_phone,
            PrivacyRequest.received_at,
            PrivacyRequest.due_at,
            User.username,
        )
        .outerjoin(User, User.id == PrivacyRequest.assignee_id)
        .where(
            PrivacyRequest.type == "access",
            PrivacyRequest.status.in_(OPEN_STATUSES),
            PrivacyRequest.due_at < _midnight(today),
        )
        .order_by(PrivacyRequest.due_at, PrivacyRequest.id)
    ).all()
    records = [
        {
            "id": r.id,
            "subject": masked_subject(r.given_name, r.given_email, r.given_phone),
            "received": sa_date(r.received_at).isoformat(),
            "due": sa_date(r.due_at).isoformat(),
            "days_overdue": (today - sa_date(r.due_at)).days,
            "assignee": r.username or "",
        }
        for r in rows
    ]
    return pd.DataFrame.from_records(
        records, columns=["id", "subject", "received", "due", "days_overdue", "assignee"]
    )


def queue_summary(conn: Connection, today: date) -> QueueSummary:
    start_today = _midnight(today)
    totals = conn.execute(
        select(
            func.count(),
            func.count().filter(PrivacyRequest.due_at < start_today),
        ).where(PrivacyRequest.status.in_(OPEN_STATUSES))
    ).one()
    return QueueSummary(
        open_by_type_age=open_by_type_and_age(conn, today),
        median_days_to_close=median_days_to_close(conn, today),
        open_total=int(totals[0] or 0),
        overdue=int(totals[1] or 0),
        deemed_refusals=deemed_refusals(conn, today),
    )


def assignee_options(conn: Connection) -> list[tuple[int, str]]:
    """Users who own at least one request or may own one (for the assignee filter)."""
    owners = select(PrivacyRequest.assignee_id).where(PrivacyRequest.assignee_id.is_not(None))
    rows = conn.execute(
        select(User.id, User.username)
        .where(
            and_(User.id.in_(owners.distinct()))
            | (User.active.is_(True) & User.role.in_(roles_with("handle_privacy_requests")))
        )
        .order_by(User.username)
    ).all()
    return [(r[0], r[1]) for r in rows]


def queue_version(conn: Connection) -> str:
    """A cheap fingerprint of every request's state, polled by the open queue tabs.

    Every transition bumps its request's ``version`` and intake adds a row, so the number of
    requests, the newest id and the sum of versions change whenever anything the queue shows
    could have changed (an open request becoming overdue changes with the day, which the date
    in the fingerprint covers). One aggregate over a table of thousands of rows, not a render.
    """
    count, newest, versions = conn.execute(
        select(
            func.count(),
            func.coalesce(func.max(PrivacyRequest.id), 0),
            func.coalesce(func.sum(PrivacyRequest.version), 0),
        )
    ).one()
    return f"{count}:{newest}:{versions}"


@dataclass(frozen=True)
class ClosableRequest:
    """A request the unverified sweep would close now, as the confirmation lists it."""

    id: int
    type: str
    status: str
    received_at: datetime


def closable_unverified(conn: Connection, now: datetime) -> list[ClosableRequest]:
    """What "Close requests unverified for 30 days" would close at ``now`` (the same rule as
    ``workflow.stale_unverified``), oldest first, for the officer to confirm."""
    rows = conn.execute(
        select(
            PrivacyRequest.id,
            PrivacyRequest.type,
            PrivacyRequest.status,
            PrivacyRequest.received_at,
        )
        .where(
            PrivacyRequest.status.in_(("received", "verifying")),
            PrivacyRequest.received_at <= unverified_cutoff(now),
        )
        .order_by(PrivacyRequest.received_at, PrivacyRequest.id)
    ).all()
    return [ClosableRequest(r[0], r[1], r[2], r[3]) for r in rows]

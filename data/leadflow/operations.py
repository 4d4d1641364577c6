"""The operations list: leads that need someone's attention now.

* **Not contacted after 24 hours**: open leads (status ``created`` or ``shared``: nobody has
  contacted the homeowner) created more than 24 hours ago, within the 30-day window.
* **Shared with a prospective partner**: shares made, within the window, to a partner that was
  still being vetted.

Both read recent base rows through the ``created_at`` / ``shared_at`` indexes, newest first and
limited, and carry what a row concerns (the partner, or the trade and province to find one)
so that the page can link to it. No homeowner data: the list is for managers, who see none.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Connection, and_, func, join, select, text, true

from data.leadflow.filters import LeadFlowFilters
from data.models import Homeowner, Lead, LeadShare, Partner, ServiceType, Trade
from data.rollups.lead_flow import WINDOW_DAYS
from data.timeutil import start_of, utc_to_sa

OPEN_STATUSES = ("created", "shared")
LIMIT = 200
UNCONTACTED = "Not contacted after 24 h"
PROSPECTIVE = "Shared with a prospective partner"
COLUMNS = [
    "kind",
    "lead_id",
    "created",
    "trade",
    "trade_code",
    "service",
    "province",
    "channel",
    "hours_waiting",
    "partner_id",
    "partner",
]


def _bounds(filters: LeadFlowFilters, now: datetime, latest: datetime) -> tuple[datetime, datetime]:
    """The creation times the list may cover: the filters' period, within the window."""
    low = max(start_of(filters.start), now - timedelta(days=WINDOW_DAYS))
    high = min(start_of(filters.end + timedelta(days=1)), latest)
    return low, high


def _dimension_conditions(filters: LeadFlowFilters) -> list[object]:
    return filters.lead_conditions()[2:]  # the dimensions (the period is bounded separately)


#: What both lists show of a lead, in :data:`COLUMNS` order after ``kind``: the lead, its
#: creation time, trade (name and code), service type, province and channel.
_LEAD_COLUMNS = (
    Lead.id,
    Lead.created_at,
    Trade.name,
    Trade.code,
    ServiceType.name,
    Lead.province,
    Lead.channel,
)


def _lead_rows(
    conn: Connection,
    filters: LeadFlowFilters,
    extra: tuple[Any, ...],
    source: Any,
    where: list[Any],
    order: Any,
    limit: int,
) -> list[tuple]:
    """Rows of :data:`_LEAD_COLUMNS` then ``extra`` (from ``source``, joined to ``lead`` and
    its trade and service type, and to the homeowner when the source site is filtered),
    matching ``where`` and the filters' dimensions, in ``order``, at most ``limit``."""
    query = (
        select(*_LEAD_COLUMNS, *extra)
        .select_from(source)
        .join(Trade, Trade.id == Lead.trade_id)
        .join(ServiceType, ServiceType.id == Lead.service_type_id)
        .where(*where, *_dimension_conditions(filters))
        .order_by(*order)
        .limit(limit)
    )
    if filters.source_site is not None:
        query = query.join(Homeowner, Homeowner.id == Lead.homeowner_id)
    return [tuple(r) for r in conn.execute(query)]  # (datetimes: typed rows)


def _frame(kind: str, rows: list[tuple], now: datetime, names: dict[int, str]) -> pd.DataFrame:
    """The list's rows: each is :data:`_LEAD_COLUMNS`, the time the wait started, and the
    partner's id (``names``: their names, for rows that carry none)."""
    return pd.DataFrame(
        [
            (
                kind,
                lead,
                utc_to_sa(created),
                trade,
                code,
                service,
                province,
                channel,
                _hours(now - waiting_since),
                partner,
                names.get(partner, ""),
            )
            for lead, created, trade, code, service, province, channel, waiting_since, partner in (
                rows
            )
        ],
        columns=COLUMNS,
    )


def uncontacted(
    conn: Connection, filters: LeadFlowFilters, now: datetime, limit: int = LIMIT
) -> pd.DataFrame:
    """Open leads nobody contacted, created over 24 hours ago, oldest first."""
    low, high = _bounds(filters, now, now - timedelta(hours=24))
    first_partner = (
        select(func.min(LeadShare.partner_id)).where(LeadShare.lead_id == Lead.id).scalar_subquery()
    )
    rows = _lead_rows(
        conn,
        filters,
        (Lead.created_at, first_partner),  # waiting since its creation
        Lead,
        [Lead.created_at >= low, Lead.created_at < high, Lead.status.in_(OPEN_STATUSES)],
        (Lead.created_at, Lead.id),
        limit,
    )
    names = _partner_names(conn, {r[8] for r in rows if r[8] is not None})
    return _frame(UNCONTACTED, rows, now, names)


@contextmanager
def _newest_first_by_index(conn: Connection) -> Iterator[None]:
    """On PostgreSQL, walk ``ix_lead_share_prospective_shared`` backwards for the newest shares.

    The planner multiplies the share window's selectivity by the lead-creation window's as if
    they were independent (they are nearly the same rows), expects fewer rows than the limit,
    and reads every prospective share of the month into a bitmap and a sort: 50 ms at 1M leads,
    against 1.2 ms for the backward index walk that stops at the limit (EXPLAIN ANALYZE,
    2026-12-01). Bitmap scans are switched off for this one statement only.
    """
    if conn.dialect.name != "postgresql":
        yield
        return
    conn.execute(text("SET LOCAL enable_bitmapscan = off"))
    yield  # on an error the transaction's rollback undoes the SET LOCAL
    conn.execute(text("RESET enable_bitmapscan"))


def prospective(
    conn: Connection, filters: LeadFlowFilters, now: datetime, limit: int = LIMIT
) -> pd.DataFrame:
    """Shares to partners still being vetted, newest first."""
    low, high = _bounds(filters, now, now)
    with _newest_first_by_index(conn):
        rows = _lead_rows(
            conn,
            filters,
            (LeadShare.shared_at, LeadShare.partner_id, Partner.business_name),
            join(LeadShare, Lead, Lead.id == LeadShare.lead_id).join(
                Partner, Partner.id == LeadShare.partner_id
            ),
            [
                LeadShare.shared_at >= low,
                LeadShare.shared_at < now,
                LeadShare.partner_was_prospective == true(),
                and_(Lead.created_at >= low, Lead.created_at < high),
            ],
            (LeadShare.shared_at.desc(),),  # index order (no tiebreak: it would sort)
            limit,
        )
    names = {r[8]: r[9] or "" for r in rows}
    return _frame(PROSPECTIVE, [r[:9] for r in rows], now, names)


def operations_list(conn: Connection, filters: LeadFlowFilters, now: datetime) -> pd.DataFrame:
    """Both lists, uncontacted leads first (columns :data:`COLUMNS`; ``hours_waiting``: since
    creation for an uncontacted lead, since the share for a prospective one)."""
    parts = [uncontacted(conn, filters, now), prospective(conn, filters, now)]
    return pd.concat(parts, ignore_index=True) if any(len(p) for p in parts) else parts[0]


def _partner_names(conn: Connection, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = conn.execute(select(Partner.id, Partner.business_name).where(Partner.id.in_(ids)))
    return {int(i): str(n or "") for i, n in rows}


def _hours(delta: timedelta) -> float:
    return round(delta.total_seconds() / 3600, 1)

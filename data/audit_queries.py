"""Reading the audit log: filtered listings for the /audit page and its exports.

Read-only by construction: this module only selects. Writing goes through
``data.audit.record`` (append); nothing in the code updates or deletes audit rows, and on
PostgreSQL a trigger (migration 0001) refuses UPDATE and DELETE outright.

The listing is filtered in SQL on the indexed ``at`` column (plus actor, action, object) and
paged in SQL, newest first, so a busy log never loads whole into memory; exports are capped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Text, cast, func, select

from data.models import AuditLog
from data.timeutil import sa_to_utc, utc_to_sa

ROW_CAP = 200_000  # an export larger than this asks for narrower filters
COLUMNS = ["id", "at", "actor", "action", "object_type", "object_id", "details"]


@dataclass(frozen=True)
class AuditFilters:
    """Validated filters; ``action`` ending in ``.*`` matches every action with that prefix."""

    start: date
    end: date
    actor: str | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None

    def describe(self) -> dict[str, str]:
        """The filters as text (carried inside exports and the audit entry of an export)."""
        out = {"from": self.start.isoformat(), "to": self.end.isoformat()}
        for key in ("actor", "action", "object_type", "object_id"):
            value = getattr(self, key)
            if value:
                out[key] = value
        return out


def _where(query, filters: AuditFilters):
    # The period's days are South African days: their midnights, as stored UTC instants.
    start = sa_to_utc(datetime.combine(filters.start, time.min))
    end = sa_to_utc(datetime.combine(filters.end + timedelta(days=1), time.min))
    query = query.where(AuditLog.at >= start, AuditLog.at < end)
    if filters.actor:
        query = query.where(AuditLog.actor == filters.actor)
    if filters.action:
        if filters.action.endswith(".*"):
            prefix = filters.action[:-1]
            query = query.where(AuditLog.action.startswith(prefix, autoescape=True))
        else:
            query = query.where(AuditLog.action == filters.action)
    if filters.object_type:
        query = query.where(AuditLog.object_type == filters.object_type)
    if filters.object_id:
        query = query.where(AuditLog.object_id == filters.object_id)
    return query


def _select():
    # The details are read as the JSON text the database holds (no parse and re-serialise).
    return select(
        AuditLog.id,
        AuditLog.at,
        AuditLog.actor,
        AuditLog.action,
        AuditLog.object_type,
        AuditLog.object_id,
        cast(AuditLog.details, Text),
    )


def _frame(rows) -> pd.DataFrame:
    df = pd.DataFrame.from_records(rows, columns=COLUMNS)
    if df.empty:
        return df
    # Johannesburg wall time, like the period filter's days (the stored instant is UTC)
    df["at"] = [utc_to_sa(at).strftime("%Y-%m-%d %H:%M:%S") for at in pd.to_datetime(df["at"])]
    for column in ("object_type", "object_id"):
        df[column] = df[column].fillna("")
    df["details"] = df["details"].fillna("").replace("null", "")
    return df


def audit_entries(conn: Connection, filters: AuditFilters, cap: int = ROW_CAP) -> pd.DataFrame:
    """Entries matching ``filters``, newest first, at most ``cap`` rows (exports)."""
    return audit_page(conn, filters, 0, cap)


def audit_page(conn: Connection, filters: AuditFilters, offset: int, limit: int) -> pd.DataFrame:
    """One page of the newest-first listing, paged in SQL (the grid asks block by block, so a
    long log costs one index range scan per page, never a full load)."""
    rows = conn.execute(
        _where(_select(), filters)
        .order_by(AuditLog.at.desc(), AuditLog.id.desc())
        .offset(max(0, offset))
        .limit(max(0, limit))
    ).all()
    return _frame(rows)


def audit_count(conn: Connection, filters: AuditFilters) -> int:
    return conn.execute(_where(select(func.count()).select_from(AuditLog), filters)).scalar_one()


@dataclass(frozen=True)
class AuditFacets:
    """Values offered in the filter dropdowns."""

    actors: list[str]
    actions: list[str]
    object_types: list[str]


def _distinct_values(conn: Connection, column: Any) -> list[str]:
    """Distinct non-null values of an indexed column by a "loose index scan": a recursive query
    that jumps from one value to the next (one index seek per distinct value), instead of
    reading every row. SQLite and PostgreSQL both lack a skip scan for ``SELECT DISTINCT``."""
    walk = select(func.min(column).label("v")).cte("walk", recursive=True)
    walk = walk.union_all(
        select(select(func.min(column)).where(column > walk.c.v).scalar_subquery()).where(
            walk.c.v.is_not(None)
        )
    )
    return [v for v in conn.execute(select(walk.c.v).where(walk.c.v.is_not(None))).scalars()]


def audit_facets(conn: Connection) -> AuditFacets:
    """Every actor, action and object type in the log (for the filter dropdowns). Each column
    has an index (actor: migration 0003), so this costs a few dozen seeks however long the log."""
    return AuditFacets(
        _distinct_values(conn, AuditLog.actor),
        _distinct_values(conn, AuditLog.action),
        _distinct_values(conn, AuditLog.object_type),
    )


def action_groups(actions: list[str]) -> list[str]:
    """``privacy_request.*``-style prefixes for every dotted action family present."""
    return sorted({a.split(".", 1)[0] + ".*" for a in actions if "." in a})

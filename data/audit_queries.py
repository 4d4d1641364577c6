"""Reading the audit log: filtered listings for the /audit page and its exports.

Read-only by construction: this module only selects. Writing goes through
``data.audit.record`` (append); nothing in the code updates or deletes audit rows, and on
PostgreSQL a trigger (migration 0001) refuses UPDATE and DELETE outright.

The listing is filtered in SQL on the indexed ``at`` column (plus actor, action, object) and
capped, newest first, so a busy log never loads whole into memory; the page says when the cap
was reached so the officer narrows the filters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pandas as pd
from sqlalchemy import Connection, func, select

from data.models import AuditLog

ROW_CAP = 20_000
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
    start = datetime.combine(filters.start, time.min)
    end = datetime.combine(filters.end + timedelta(days=1), time.min)
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


def _details_text(details: object) -> str:
    if not details:
        return ""
    return json.dumps(details, ensure_ascii=False, sort_keys=True, default=str)


def audit_entries(conn: Connection, filters: AuditFilters, cap: int = ROW_CAP) -> pd.DataFrame:
    """Entries matching ``filters``, newest first, at most ``cap`` rows."""
    rows = conn.execute(
        _where(
            select(
                AuditLog.id,
                AuditLog.at,
                AuditLog.actor,
                AuditLog.action,
                AuditLog.object_type,
                AuditLog.object_id,
                AuditLog.details,
            ),
            filters,
        )
        .order_by(AuditLog.at.desc(), AuditLog.id.desc())
        .limit(cap)
    ).all()
    records = [
        {
            "id": r[0],
            "at": r[1].strftime("%Y-%m-%d %H:%M:%S"),
            "actor": r[2],
            "action": r[3],
            "object_type": r[4] or "",
            "object_id": r[5] or "",
            "details": _details_text(r[6]),
        }
        for r in rows
    ]
    return pd.DataFrame.from_records(records, columns=COLUMNS)


def audit_count(conn: Connection, filters: AuditFilters) -> int:
    return conn.execute(_where(select(func.count()).select_from(AuditLog), filters)).scalar_one()


@dataclass(frozen=True)
class AuditFacets:
    """Values offered in the filter dropdowns."""

    actors: list[str]
    actions: list[str]
    object_types: list[str]


def audit_facets(conn: Connection) -> AuditFacets:
    actors = conn.execute(select(AuditLog.actor).distinct().order_by(AuditLog.actor)).scalars()
    actions = conn.execute(select(AuditLog.action).distinct().order_by(AuditLog.action)).scalars()
    types = conn.execute(
        select(AuditLog.object_type)
        .where(AuditLog.object_type.is_not(None))
        .distinct()
        .order_by(AuditLog.object_type)
    ).scalars()
    return AuditFacets(list(actors), list(actions), list(types))


def action_groups(actions: list[str]) -> list[str]:
    """``privacy_request.*``-style prefixes for every dotted action family present."""
    return sorted({a.split(".", 1)[0] + ".*" for a in actions if "." in a})

"""The append-only audit log: one writer, no update or delete anywhere in the code.

``details`` must never hold raw PII (names, emails, phones, free text): record ids, counts,
field names and filter specifications instead. PostgreSQL additionally refuses UPDATE and
DELETE with a trigger (migration 0001).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from data.models import AuditLog
from data.timeutil import utcnow


def record(
    session: Session,
    actor: str,
    action: str,
    object_type: str | None = None,
    object_id: str | int | None = None,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditLog:
    """Append one entry in the caller's transaction: the action and its log commit together."""
    entry = AuditLog(
        at=at or utcnow(),
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        details=details or None,
    )
    session.add(entry)
    return entry

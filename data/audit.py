"""The append-only audit log: one writer, no update or delete anywhere in the code.

``details`` must never hold raw PII (names, emails, phones, free text): record ids, counts,
field names and filter specifications instead. PostgreSQL additionally refuses UPDATE and
DELETE with a trigger (migration 0001).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import event
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


class AuditLogIsAppendOnly(RuntimeError):
    """Raised when code tries to change or delete an audit entry through the ORM."""


@event.listens_for(Session, "before_flush")
def _refuse_audit_changes(session: Session, _context: object, _instances: object) -> None:
    """Append-only in code too (PostgreSQL's trigger is the last line, SQLite has none)."""
    for obj in session.deleted:
        if isinstance(obj, AuditLog):
            raise AuditLogIsAppendOnly("audit entries cannot be deleted")
    for obj in session.dirty:
        if isinstance(obj, AuditLog) and session.is_modified(obj):
            raise AuditLogIsAppendOnly("audit entries cannot be changed")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_audit_changes(state: Any) -> None:
    """The same for ``session.execute(update(AuditLog) …)`` / ``delete(AuditLog)``."""
    if (state.is_update or state.is_delete) and (
        state.bind_mapper is not None and state.bind_mapper.class_ is AuditLog
    ):
        raise AuditLogIsAppendOnly("audit entries cannot be changed or deleted")

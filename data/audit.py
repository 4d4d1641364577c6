"""The append-only audit log: one writer, no update or delete anywhere in the code.

``details`` must never hold raw PII (names, emails, phones, free text): record ids, counts,
field names and filter specifications instead. Three layers keep the log whole:

* here, in code: the ORM refuses to change or delete an entry (object, bulk, table-level and
  textual statements), and every statement sent to any engine that would delete, update,
  truncate or disable the triggers of ``audit_log`` is refused before it reaches the database
  (only a connection opened with :data:`MAINTENANCE_OPTION`, i.e. a migration or the test
  suite's reset, may);
* on PostgreSQL, triggers refuse UPDATE, DELETE (migration 0001) and TRUNCATE (0009), and
  ``flask --app app db-roles`` sets up an application role that does not own the table;
* the hash chain (``data.audit_chain``) makes any change made behind all of that visible.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Delete, Update

from data.audit_chain import chain_new_entries
from data.models import AuditLog
from data.timeutil import utcnow

ANONYMOUS = "anonymous"
#: Execution option a connection sets to run maintenance on ``audit_log`` (migrations, the test
#: suite's table reset). Application code never sets it.
MAINTENANCE_OPTION = "audit_log_maintenance"

_TABLE = r'(?:"?\w+"?\.)?"?audit_log"?(?![\w])'
_CHANGES = re.compile(
    rf"\b(?:DELETE\s+FROM\s+{_TABLE}|UPDATE\s+(?:ONLY\s+)?{_TABLE}|"
    rf"TRUNCATE\b[^;]*?{_TABLE}|ALTER\s+TABLE\s+(?:ONLY\s+)?{_TABLE}\s+DISABLE)",
    re.IGNORECASE,
)


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


def record_read(
    actor: str,
    action: str,
    object_type: str | None = None,
    object_id: str | int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Audit a read of personal data in a transaction of its own (the read itself wrote
    nothing). ``details`` hold ids and counts, never the searched or shown values."""
    from data.db import session_scope  # data.db must not import this module at load time

    with session_scope() as session:
        record(session, actor, action, object_type, object_id, details)


class AuditLogIsAppendOnly(RuntimeError):
    """Raised when code tries to change or delete audit entries."""


def changes_audit_log(sql: str) -> bool:
    """Whether a SQL text deletes, updates, truncates or disables triggers on ``audit_log``."""
    return "audit_log" in sql.lower() and _CHANGES.search(sql) is not None


@event.listens_for(Session, "before_flush")
def _refuse_audit_changes(session: Session, _context: object, _instances: object) -> None:
    """Append-only in code too (PostgreSQL's trigger is the last line, SQLite has none); new
    entries get their chain links here, whoever added them."""
    for obj in session.deleted:
        if isinstance(obj, AuditLog):
            raise AuditLogIsAppendOnly("audit entries cannot be deleted")
    for obj in session.dirty:
        if isinstance(obj, AuditLog) and session.is_modified(obj):
            raise AuditLogIsAppendOnly("audit entries cannot be changed")
    chain_new_entries(session)


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_audit_changes(state: Any) -> None:
    """The same for ``update(AuditLog)`` / ``delete(AuditLog)``, ``delete(AuditLog.__table__)``
    and textual statements run through a session."""
    statement = state.statement
    if isinstance(statement, Update | Delete):
        table = getattr(statement, "table", None)
        mapper_class = state.bind_mapper.class_ if state.bind_mapper is not None else None
        if mapper_class is AuditLog or getattr(table, "name", None) == "audit_log":
            raise AuditLogIsAppendOnly("audit entries cannot be changed or deleted")
    elif not (state.is_select or state.is_insert) and changes_audit_log(str(statement)):
        raise AuditLogIsAppendOnly("audit entries cannot be changed or deleted")


@event.listens_for(Engine, "before_cursor_execute")
def _refuse_audit_sql(
    conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
) -> None:
    """The last check in the process: whatever built the SQL (Core, ``text()``, a raw
    ``exec_driver_sql``), it does not change the audit log unless the connection says it is
    maintenance."""
    if changes_audit_log(statement) and not conn.get_execution_options().get(MAINTENANCE_OPTION):
        raise AuditLogIsAppendOnly("audit entries cannot be changed or deleted")

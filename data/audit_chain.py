"""The audit log's hash chain: tamper evidence for a table only the application should write.

The triggers (PostgreSQL) and the ORM guard (``data.audit``) stop the application and careless
code from changing the log; they cannot stop someone who owns the database. The chain makes such
a change visible: every entry stores the hash of its predecessor (``prev_hash``) and its own
hash (``entry_hash``) over its canonical content plus ``prev_hash``. Editing, removing or
re-ordering an entry breaks the link after it; removing the newest entries disagrees with the
one-row head (``audit_chain_head``). :func:`verify` walks the chain and names the first broken
link (``flask --app app audit-verify``).

Appending is serialised: the flush that inserts entries first updates the head row, which takes
a row lock on PostgreSQL (held to the end of the transaction) and the write lock on SQLite, so
two transactions never chain to the same predecessor.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, inspect, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from data.models import AuditChainHead, AuditLog

GENESIS = "0" * 64
HEAD_ID = 1
_CONTENT = ("at", "actor", "action", "object_type", "object_id", "details")


def canonical(fields: dict[str, Any], prev_hash: str) -> bytes:
    """The bytes an entry's hash covers: its content and its predecessor's hash, as JSON with
    sorted keys (so a dict read back from either database gives the same bytes)."""
    at = fields["at"]
    body = {
        "at": at.isoformat(sep=" ") if isinstance(at, datetime) else str(at),
        "actor": fields["actor"],
        "action": fields["action"],
        "object_type": fields["object_type"],
        "object_id": None if fields["object_id"] is None else str(fields["object_id"]),
        "details": fields["details"] or None,
        "prev": prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def entry_hash(fields: dict[str, Any], prev_hash: str) -> str:
    return hashlib.sha256(canonical(fields, prev_hash)).hexdigest()


def _fields(entry: AuditLog) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in _CONTENT}


def _last_hash(conn: Connection) -> str:
    last = conn.scalar(select(AuditLog.entry_hash).order_by(AuditLog.id.desc()).limit(1))
    return last or GENESIS


def _start_head(conn: Connection) -> None:
    """Create the head row if it is missing (a database emptied table by table, as the test
    suite does; the migration creates it). Two writers may race here: the second one's insert
    waits for the first and then does nothing."""
    head = AuditChainHead.__table__
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    values = {"id": HEAD_ID, "last_hash": _last_hash(conn), "entries": 0}
    conn.execute(dialect_insert(head).values(**values).on_conflict_do_nothing())


def lock_head(conn: Connection) -> str:
    """Lock the chain for this transaction and return the hash to chain the next entry to."""
    head = AuditChainHead.__table__
    lock = (
        update(head)
        .where(head.c.id == HEAD_ID)
        .values(entries=head.c.entries + 0)
        .returning(head.c.last_hash)
    )
    row = conn.execute(lock).first()
    if row is None:
        _start_head(conn)
        row = conn.execute(lock).one()
    return row[0] or GENESIS


def chain_new_entries(session: Session) -> None:
    """``before_flush``: give every new audit entry its links, in the order they were added."""
    new = [obj for obj in session.new if isinstance(obj, AuditLog)]
    if not new:
        return
    new.sort(key=lambda obj: inspect(obj).insert_order)
    conn = session.connection()
    prev = lock_head(conn)
    for entry in new:
        entry.prev_hash = prev
        entry.entry_hash = prev = entry_hash(_fields(entry), prev)
    head = AuditChainHead.__table__
    conn.execute(
        update(head)
        .where(head.c.id == HEAD_ID)
        .values(last_hash=prev, entries=head.c.entries + len(new))
    )


@dataclass(frozen=True)
class Verdict:
    """The result of :func:`verify`: ``broken_at`` is the id of the first entry whose link or
    hash is wrong (``None`` when the chain holds), ``reason`` says which."""

    checked: int
    broken_at: int | None
    reason: str | None

    @property
    def ok(self) -> bool:
        return self.broken_at is None and self.reason is None


def _rows(conn: Connection, batch: int = 5000) -> Iterable[Any]:
    last_id = 0
    table = AuditLog.__table__
    while True:
        rows = conn.execute(
            select(table).where(table.c.id > last_id).order_by(table.c.id).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id


def verify(conn: Connection) -> Verdict:
    """Walk the whole chain in id order; stop at the first entry that does not hold."""
    prev = GENESIS
    checked = 0
    for row in _rows(conn):
        fields = {name: getattr(row, name) for name in _CONTENT}
        if row.prev_hash != prev:
            return Verdict(checked, row.id, "its link to the previous entry does not match")
        if row.entry_hash != entry_hash(fields, prev):
            return Verdict(checked, row.id, "its content does not match its hash")
        prev = row.entry_hash
        checked += 1
    head = conn.scalar(select(AuditChainHead.last_hash).where(AuditChainHead.id == HEAD_ID))
    if checked and head is not None and head != prev:
        return Verdict(checked, None, "the newest entries were removed (the head disagrees)")
    return Verdict(checked, None, None)

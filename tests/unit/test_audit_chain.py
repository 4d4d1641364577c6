"""An audit log that cannot be wiped quietly (issue 12, point 4).

* the ORM and engine guard refuse table-level, textual and raw deletes/updates/truncates;
* each entry is hash-chained; the known-answer hashes below were computed once with hashlib
  over JSON typed out by hand (never with ``data.audit_chain``);
* an edit, a removal or a lost tail made behind the application's back is found by the
  verifier, at the right entry;
* on PostgreSQL, TRUNCATE is refused by the database itself.
"""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from data import audit
from data.audit import MAINTENANCE_OPTION, AuditLogIsAppendOnly, changes_audit_log
from data.audit_chain import verify
from data.db import session_scope
from data.models import AuditLog

GENESIS = "0" * 64
# sha256 of {"action":"privacy_request.verify","actor":"olivia","at":"2026-03-04 05:06:07",
# "details":{"a":"z","b":1},"object_id":"7","object_type":"privacy_request","prev":"000…0"}
FIRST = "b2763f97bf5eb593ca6761845502c4f5494669fdb400adeb60cf1ba6a29ce6ff"
# sha256 of {"action":"login","actor":"anonymous","at":"2026-03-04 05:06:08","details":null,
# "object_id":null,"object_type":null,"prev":FIRST}
SECOND = "914bfed745647869ad57724f0dbadff3a6553827861e82b3df2e739b485c3bb8"


def _entries(db) -> list[AuditLog]:
    with session_scope(db) as s:
        return list(s.scalars(select(AuditLog).order_by(AuditLog.id)))


def _record_known_pair(db) -> None:
    with session_scope(db) as s:
        audit.record(
            s,
            "olivia",
            "privacy_request.verify",
            "privacy_request",
            7,
            {"b": 1, "a": "z"},
            at=datetime(2026, 3, 4, 5, 6, 7),
        )
    with session_scope(db) as s:
        audit.record(s, "anonymous", "login", at=datetime(2026, 3, 4, 5, 6, 8))


def test_entries_carry_known_answer_hashes(db):
    _record_known_pair(db)
    first, second = _entries(db)
    assert (first.prev_hash, first.entry_hash) == (GENESIS, FIRST)
    assert (second.prev_hash, second.entry_hash) == (FIRST, SECOND)


def test_entries_added_directly_in_one_transaction_are_chained_in_order(db):
    with session_scope(db) as s:
        s.add(
            AuditLog(
                at=datetime(2026, 3, 4, 5, 6, 7),
                actor="olivia",
                action="privacy_request.verify",
                object_type="privacy_request",
                object_id="7",
                details={"a": "z", "b": 1},
            )
        )
        s.add(AuditLog(at=datetime(2026, 3, 4, 5, 6, 8), actor="anonymous", action="login"))
    assert [e.entry_hash for e in _entries(db)] == [FIRST, SECOND]


def _tamper(db, sql: str) -> None:
    """What someone who owns the table can do: switch the trigger off and change rows."""
    with db.begin() as conn:
        conn.execution_options(**{MAINTENANCE_OPTION: True})
        postgresql = db.dialect.name == "postgresql"
        if postgresql:
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        conn.execute(text(sql))
        if postgresql:
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))


def _five(db) -> list[int]:
    for i in range(5):
        with session_scope(db) as s:
            audit.record(s, "admin", "user.create", "user", i, {"role": "manager"})
    return [e.id for e in _entries(db)]


def test_an_intact_chain_verifies(db):
    _five(db)
    with db.connect() as conn:
        verdict = verify(conn)
    assert (verdict.ok, verdict.checked, verdict.broken_at) == (True, 5, None)


def test_the_verifier_finds_an_edited_entry(db):
    ids = _five(db)
    _tamper(db, f"UPDATE audit_log SET actor = 'mallory' WHERE id = {ids[2]}")
    with db.connect() as conn:
        verdict = verify(conn)
    assert (verdict.broken_at, verdict.checked) == (ids[2], 2)
    assert verdict.reason == "its content does not match its hash"


def test_the_verifier_finds_a_removed_entry(db):
    ids = _five(db)
    _tamper(db, f"DELETE FROM audit_log WHERE id = {ids[1]}")
    with db.connect() as conn:
        verdict = verify(conn)
    assert verdict.broken_at == ids[2]
    assert verdict.reason == "its link to the previous entry does not match"


def test_the_verifier_finds_a_removed_tail(db):
    ids = _five(db)
    _tamper(db, f"DELETE FROM audit_log WHERE id >= {ids[3]}")
    with db.connect() as conn:
        verdict = verify(conn)
    assert not verdict.ok
    assert verdict.reason == "the newest entries were removed (the head disagrees)"


def test_parallel_writers_keep_one_chain(db):
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def write(i: int) -> None:
        start.wait()
        try:
            for j in range(3):
                with session_scope(db) as s:
                    audit.record(s, f"user{i}", "login", "user", j)
        except BaseException as exc:  # a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    with db.connect() as conn:
        verdict = verify(conn)
    assert (verdict.ok, verdict.checked) == (True, 24)


# --- the guard in code ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        lambda: delete(AuditLog),
        lambda: delete(AuditLog.__table__),
        lambda: update(AuditLog.__table__).values(actor="x"),
        lambda: update(AuditLog).values(actor="x"),
        lambda: text("DELETE FROM audit_log"),
        lambda: text("delete   from\n audit_log where id = 1"),
        lambda: text('TRUNCATE "audit_log"'),
        lambda: text("TRUNCATE lead, audit_log CASCADE"),
        lambda: text("UPDATE public.audit_log SET actor = 'x'"),
        lambda: text("ALTER TABLE audit_log DISABLE TRIGGER ALL"),
    ],
    ids=[
        "orm delete",
        "table-level delete",
        "table-level update",
        "orm update",
        "textual delete",
        "textual delete, odd spacing",
        "truncate",
        "truncate in a list",
        "schema-qualified update",
        "disable triggers",
    ],
)
def test_the_session_refuses_to_change_the_audit_log(db, statement):
    audit_row = None
    with session_scope(db) as s:
        audit_row = audit.record(s, "admin", "login")
    with pytest.raises(AuditLogIsAppendOnly), session_scope(db) as s:
        s.execute(statement())
    assert [e.id for e in _entries(db)] == [audit_row.id]


def test_a_raw_connection_is_refused_too(db):
    with pytest.raises(AuditLogIsAppendOnly), db.connect() as conn:
        conn.exec_driver_sql("DELETE FROM audit_log")


@pytest.mark.parametrize(
    ("sql", "changes"),
    [
        ("SELECT * FROM audit_log", False),
        ("INSERT INTO audit_log (actor) VALUES ('x')", False),
        ("UPDATE audit_chain_head SET entries = entries + 0", False),
        ("DELETE FROM audit_log_archive", False),
        ("UPDATE lead SET status = 'closed'", False),
        ("DELETE FROM audit_log", True),
        ('DELETE FROM "audit_log" WHERE id = 3', True),
        ("update ONLY audit_log set actor = 'x'", True),
        ("TRUNCATE TABLE audit_log RESTART IDENTITY", True),
    ],
)
def test_which_statements_count_as_changing_the_log(sql, changes):
    assert changes_audit_log(sql) is changes


def test_postgresql_refuses_truncate_itself(db):
    if db.dialect.name != "postgresql":
        pytest.skip("the TRUNCATE trigger is PostgreSQL's")
    with session_scope(db) as s:
        audit.record(s, "admin", "login")
    with pytest.raises(DBAPIError, match="TRUNCATE is refused"), db.begin() as conn:
        conn.execution_options(**{MAINTENANCE_OPTION: True})  # past the app's own guard
        conn.execute(text("TRUNCATE audit_log"))
    assert len(_entries(db)) == 1

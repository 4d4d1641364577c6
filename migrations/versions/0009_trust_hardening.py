"""Trust hardening: revocable sessions, the login throttle's outcome, the audit hash chain.

* ``app_user.session_version``: bumped to end every session of a user (``auth.py``);
* ``login_attempt.throttled``: attempts refused before any password check (``data.throttle``);
* ``audit_log.prev_hash`` / ``entry_hash`` and the one-row ``audit_chain_head``: the chain of
  ``data.audit_chain``; existing entries are chained here, in id order;
* PostgreSQL: a statement trigger refuses TRUNCATE of ``audit_log``;
* ``lead.description_redacted``, ``review.comment_redacted``, ``interaction.notes_redacted``:
  the stored redacted twins of free text (``data.free_text``), computed here for existing rows;
* stored homeowner and partner emails and phones are re-normalised with the library-based rules
  of ``data.identifiers`` (values the new rules refuse are left as they are), and every
  do-not-contact digest of a value that changed gets its twin for the new form, so an opt-out
  recorded under the old form still matches. Digests of erased people cannot be recomputed
  (nothing of them is kept to recompute from); their values were already in the stored form.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MAINTENANCE_OPTION = "audit_log_maintenance"  # data.audit.MAINTENANCE_OPTION

NO_TRUNCATE_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_log_no_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: TRUNCATE is refused';
END;
$$ LANGUAGE plpgsql
"""
NO_TRUNCATE_TRIGGER = """
CREATE TRIGGER audit_log_no_truncate
BEFORE TRUNCATE ON audit_log
FOR EACH STATEMENT EXECUTE FUNCTION audit_log_no_truncate()
"""


def _chain_existing_entries(conn: sa.Connection) -> None:
    from data.audit_chain import GENESIS, entry_hash

    audit = sa.table(
        "audit_log",
        sa.column("id", sa.Integer),
        sa.column("at", sa.DateTime),
        sa.column("actor", sa.String),
        sa.column("action", sa.String),
        sa.column("object_type", sa.String),
        sa.column("object_id", sa.String),
        sa.column("details", sa.JSON),
        sa.column("prev_hash", sa.String),
        sa.column("entry_hash", sa.String),
    )
    prev = GENESIS
    rows = conn.execute(sa.select(audit).order_by(audit.c.id)).mappings().all()
    links = []
    for row in rows:
        digest = entry_hash(dict(row), prev)
        links.append({"_id": row["id"], "prev_hash": prev, "entry_hash": digest})
        prev = digest
    by_id = audit.update().where(audit.c.id == sa.bindparam("_id"))
    _in_chunks(conn, by_id, links)
    head = sa.table(
        "audit_chain_head",
        sa.column("id", sa.Integer),
        sa.column("last_hash", sa.String),
        sa.column("entries", sa.Integer),
    )
    conn.execute(head.insert().values(id=1, last_hash=prev, entries=len(rows)))


CHUNK = 5_000  # rows per executemany: one statement sent for many rows, memory bounded


def _in_chunks(conn: sa.Connection, statement: Any, rows: list[dict[str, Any]]) -> None:
    """``statement`` for every row, as executemany in chunks: row-by-row UPDATEs took minutes
    on a 1M-lead database (a round trip each on PostgreSQL)."""
    for start in range(0, len(rows), CHUNK):
        conn.execute(statement, rows[start : start + CHUNK])


IDENTIFIER_COLUMNS = (("homeowner", "email"), ("homeowner", "phone"))
IDENTIFIER_COLUMNS += (("partner", "email"), ("partner", "phone"))


def _renormalise_identifiers(conn: sa.Connection) -> None:
    from data.do_not_contact import stored_form_digest, suppression_key
    from data.identifiers import normalise_email, normalise_phone

    suppression = sa.table(
        "suppression",
        sa.column("kind", sa.String),
        sa.column("digest", sa.String),
        sa.column("reason", sa.String),
        sa.column("created_at", sa.DateTime),
    )
    has_digests = conn.scalar(sa.select(sa.func.count()).select_from(suppression)) > 0
    key = suppression_key() if has_digests else None
    for table_name, column in IDENTIFIER_COLUMNS:
        table = sa.table(table_name, sa.column("id", sa.Integer), sa.column(column, sa.String))
        normalise = normalise_email if column == "email" else normalise_phone
        rows = conn.execute(
            sa.select(table.c.id, table.c[column]).where(table.c[column].is_not(None))
        )
        changed = []
        for row_id, value in rows.all():
            new = normalise(value)
            if new is not None and new != value:
                changed.append((row_id, value, new))
        by_id = table.update().where(table.c.id == sa.bindparam("_id"))
        _in_chunks(conn, by_id, [{"_id": i, column: new} for i, _old, new in changed])
        for _row_id, value, new in changed:
            if key is None:
                continue
            old_digest = stored_form_digest(column, value, key)
            new_digest = stored_form_digest(column, new, key)
            found = conn.execute(
                sa.select(suppression.c.reason, suppression.c.created_at).where(
                    suppression.c.digest == old_digest
                )
            ).first()
            twin = conn.scalar(sa.select(sa.func.count()).where(suppression.c.digest == new_digest))
            if found is not None and not twin:
                conn.execute(
                    suppression.insert().values(
                        kind=column, digest=new_digest, reason=found[0], created_at=found[1]
                    )
                )


FREE_TEXT = (
    ("lead", "description", "description_redacted", "homeowner_id"),
    ("review", "comment", "comment_redacted", "homeowner_id"),
    ("interaction", "notes", "notes_redacted", "homeowner_id"),
)


def _redact_existing_text(conn: sa.Connection) -> None:
    from data.free_text import rewrite_stored_twins

    rewrite_stored_twins(conn)


def upgrade() -> None:
    conn = op.get_bind()
    conn.execution_options(**{MAINTENANCE_OPTION: True})
    postgresql = conn.dialect.name == "postgresql"
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_version", sa.Integer(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.add_column(sa.Column("throttled", sa.Boolean(), nullable=True))
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("entry_hash", sa.String(length=64), nullable=True))
    for table_name, _source, twin, _owner in FREE_TEXT:
        with op.batch_alter_table(table_name, schema=None) as batch_op:
            batch_op.add_column(sa.Column(twin, sa.Text(), nullable=True))
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=True),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    if postgresql:
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    _chain_existing_entries(conn)
    if postgresql:
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
        op.execute(NO_TRUNCATE_FUNCTION)
        op.execute(NO_TRUNCATE_TRIGGER)
    _renormalise_identifiers(conn)
    _redact_existing_text(conn)
    conn.execution_options(**{MAINTENANCE_OPTION: False})


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_no_truncate()")
    op.drop_table("audit_chain_head")
    # Plain DROP COLUMN (SQLite 3.35+ and PostgreSQL): a batch operation would copy and drop
    # tables that other tables reference, which SQLite refuses while foreign keys are on.
    columns = [(table_name, twin) for table_name, _source, twin, _owner in FREE_TEXT]
    columns += [
        ("audit_log", "entry_hash"),
        ("audit_log", "prev_hash"),
        ("login_attempt", "throttled"),
        ("app_user", "session_version"),
    ]
    for table_name, column in columns:
        op.execute(f"ALTER TABLE {table_name} DROP COLUMN {column}")

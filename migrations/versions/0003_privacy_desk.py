"""Privacy desk: corrections table, the subject index on privacy requests, an (actor, at)
index on the audit log (filter by actor; fast distinct actors for the dropdown) and a
lower-cased name index on homeowners (intake matching by name).

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-25 12:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "privacy_correction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("subject_type", sa.String(length=20), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("before_value", sa.Text(), nullable=True),
        sa.Column("after_value", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["privacy_request.id"]),
        sa.ForeignKeyConstraint(["by_user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("privacy_correction", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_privacy_correction_request_id"), ["request_id"], unique=False
        )
    with op.batch_alter_table("privacy_request", schema=None) as batch_op:
        batch_op.create_index(
            "ix_privacy_request_subject", ["subject_type", "subject_id", "type"], unique=False
        )
    # A plain CREATE INDEX (not batch mode): on SQLite, batch mode would copy the table, and
    # the audit log is append-only (its PostgreSQL trigger is untouched by an index).
    op.create_index("ix_audit_log_actor_at", "audit_log", ["actor", "at"], unique=False)
    # Intake proposes homeowners with the same full name: an expression index keeps that a
    # look-up instead of a scan of every homeowner.
    op.create_index(
        "ix_homeowner_name_lower",
        "homeowner",
        [sa.text("lower(last_name)"), sa.text("lower(first_name)")],
        unique=False,
    )


def downgrade() -> None:
    # IF EXISTS: databases made by an early draft of this revision lack these two indexes.
    op.execute("DROP INDEX IF EXISTS ix_homeowner_name_lower")
    op.execute("DROP INDEX IF EXISTS ix_audit_log_actor_at")
    with op.batch_alter_table("privacy_request", schema=None) as batch_op:
        batch_op.drop_index("ix_privacy_request_subject")
    with op.batch_alter_table("privacy_correction", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_privacy_correction_request_id"))
    op.drop_table("privacy_correction")

"""The retention sweep's progress in the database (``retention_run``, ``data.erasure.sweep_runs``).

Every page polls the latest run, so an officer on any gunicorn worker sees a sweep's progress
and can stop it; the unique index on ``live`` (1 while running, NULL after) allows one running
sweep at a time.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "retention_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_by", sa.String(80), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("live", sa.Integer(), nullable=True),
        sa.Column("rule", sa.String(40), nullable=True),
        sa.Column("handled", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("stop_requested", sa.Boolean(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ux_retention_run_live", "retention_run", ["live"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_retention_run_live", table_name="retention_run")
    op.drop_table("retention_run")

"""Aggregates: the export ledger (``aggregate_export``, issue 14).

Every de-identified table that leaves the console (file or command line) gets a row with its
specification, population size and digests (``data/aggregates/models.py``). Plus an index on
``homeowner.erased_at``: every aggregate leaves the erased out.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "aggregate_export",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("format", sa.String(10), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("period_first", sa.Date(), nullable=False),
        sa.Column("period_last", sa.Date(), nullable=False),
        sa.Column("k", sa.Integer(), nullable=False),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("population_digest", sa.String(64), nullable=False),
        sa.Column("result_digest", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_aggregate_export_period", "aggregate_export", ["period_first", "period_last"]
    )
    # the erased homeowners every aggregate leaves out (data/aggregates/models.py)
    op.create_index("ix_homeowner_erased_at", "homeowner", ["erased_at"])


def downgrade() -> None:
    op.drop_index("ix_homeowner_erased_at", table_name="homeowner")
    op.drop_index("ix_aggregate_export_period", table_name="aggregate_export")
    op.drop_table("aggregate_export")

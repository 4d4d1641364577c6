"""Aggregates: the differentially private mode's ledger columns (issue 14).

``aggregate_export`` gains ``mechanism``, ``epsilon`` and ``budget_year`` (all empty for exact,
k-suppressed exports): the yearly privacy budget is the sum of ``epsilon`` over a year's rows
(``data/aggregates/private.py``, ``data/aggregates/ledger.py``).

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("aggregate_export") as batch:
        batch.add_column(sa.Column("mechanism", sa.String(60), nullable=True))
        batch.add_column(sa.Column("epsilon", sa.Float(), nullable=True))
        batch.add_column(sa.Column("budget_year", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("aggregate_export") as batch:
        batch.drop_column("budget_year")
        batch.drop_column("epsilon")
        batch.drop_column("mechanism")

"""The de-identified tables' cube (``aggregate_cube``): ``aggregate_cell`` pre-aggregated per
combination of lead dimensions, month and the month of the homeowner's previous lead in the
cell (issue 14's performance; ``data/aggregates/cells.py`` explains it).

Integer columns only (category codes, month indexes, sums): no homeowner id and no text. Filled
here by the application's own ``data.aggregates.cube_rebuild.rebuild_cube`` (as 0013 fills the
rollups), from the ``aggregate_cell`` rows that migration 0016 made; afterwards the session
hooks keep it current with every lead and review write.

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY = ("combo", "c1", "c2", "c3", "month", "prev")
_SUMS = ("leads", "hires", "completed", "rating_sum", "reviews")


def upgrade() -> None:
    op.create_table(
        "aggregate_cube",
        sa.Column("combo", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("c1", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("c2", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("c3", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("month", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("prev", sa.SmallInteger(), autoincrement=False, nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in _SUMS),
        sa.PrimaryKeyConstraint(*_KEY),
        sqlite_with_rowid=False,
    )
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM aggregate_cell LIMIT 1")).first():
        from data.aggregates.cells import LEAD_COMBOS
        from data.aggregates.cube_rebuild import rebuild_cube

        rebuild_cube(bind, LEAD_COMBOS)  # 0023 adds the others


def downgrade() -> None:
    op.drop_table("aggregate_cube")

"""Leads created per day (``rollup_lead_day``), for the home page's lead volume.

Filled here from ``lead`` (one ``GROUP BY`` over the days), so an upgraded database needs no
rebuild; afterwards the session hooks recount each day a writer touches.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rollup_lead_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("leads", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day"),
        sqlite_with_rowid=False,
    )
    day = "date(created_at)" if op.get_bind().dialect.name == "sqlite" else "created_at::date"
    op.execute(
        f"INSERT INTO rollup_lead_day (day, leads) "  # noqa: S608 (constant expression)
        f"SELECT {day}, COUNT(*) FROM lead GROUP BY {day}"
    )


def downgrade() -> None:
    op.drop_table("rollup_lead_day")

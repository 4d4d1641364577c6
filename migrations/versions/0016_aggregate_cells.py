"""One precomputed narrow row per lead for the de-identified tables (``aggregate_cell``).

Filled here from ``lead`` and the published homeowner reviews, so an upgraded database needs no
rebuild; afterwards the session hooks of ``data.aggregates.cells`` recompute each lead a writer
touches. The SQL is spelled out (not imported from the application) so that this migration
keeps meaning what it meant when later code changes; ``data.aggregates.cells.source_rows`` is
the same computation and the tests compare the two kinds of rows.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The South African month (UTC+2, no daylight saving) of ``lead.created_at`` as YYYY-MM.
_MONTH = {
    "sqlite": "strftime('%Y-%m', substr(l.created_at, 1, 19), '+2 hours')",
    "postgresql": "to_char(l.created_at + INTERVAL '2 hours', 'YYYY-MM')",
}


def upgrade() -> None:
    op.create_table(
        "aggregate_cell",
        sa.Column("lead_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("homeowner_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("province", sa.String(length=40), nullable=False),
        sa.Column("city", sa.String(length=80), nullable=True),
        sa.Column("trade_id", sa.Integer(), nullable=False),
        sa.Column("service_type_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("hired", sa.SmallInteger(), nullable=False),
        sa.Column("completed", sa.SmallInteger(), nullable=False),
        sa.Column("rating_sum", sa.Integer(), nullable=False),
        sa.Column("reviews", sa.Integer(), nullable=False),
        sa.Column("prev_month", sa.String(length=7), nullable=True),
        sa.Column("next_month", sa.String(length=7), nullable=True),
        sa.PrimaryKeyConstraint("lead_id"),
    )
    month = _MONTH[op.get_bind().dialect.name]
    op.execute(
        "INSERT INTO aggregate_cell (lead_id, homeowner_id, month, province, city, trade_id, "  # noqa: S608 (constant SQL)
        "service_type_id, channel, hired, completed, rating_sum, reviews, prev_month, "
        "next_month) "
        "SELECT c.*, "
        "LAG(c.month) OVER (PARTITION BY c.homeowner_id ORDER BY c.month, c.lead_id), "
        "LEAD(c.month) OVER (PARTITION BY c.homeowner_id ORDER BY c.month, c.lead_id) "
        "FROM ("
        f"SELECT l.id AS lead_id, l.homeowner_id, {month} AS month, l.province, l.city, "
        "l.trade_id, l.service_type_id, l.channel, "
        "CASE WHEN l.status IN ('hired', 'completed', 'reviewed') THEN 1 ELSE 0 END, "
        "CASE WHEN l.status IN ('completed', 'reviewed') THEN 1 ELSE 0 END, "
        "COALESCE(r.rating_sum, 0), COALESCE(r.reviews, 0) "
        "FROM lead l LEFT OUTER JOIN ("
        "SELECT lead_id, SUM(rating) AS rating_sum, COUNT(*) AS reviews FROM review "
        "WHERE author_side = 'homeowner_about_partner' AND moderation_status = 'published' "
        "GROUP BY lead_id) r ON r.lead_id = l.id) c"
    )
    op.create_index("ix_aggregate_cell_month", "aggregate_cell", ["month"])
    op.create_index("ix_aggregate_cell_homeowner", "aggregate_cell", ["homeowner_id"])


def downgrade() -> None:
    op.drop_index("ix_aggregate_cell_homeowner", table_name="aggregate_cell")
    op.drop_index("ix_aggregate_cell_month", table_name="aggregate_cell")
    op.drop_table("aggregate_cell")

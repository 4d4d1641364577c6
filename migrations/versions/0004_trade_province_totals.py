"""Daily totals per trade and province (all partners) for the share and review rollups.

The partner detail page compares a partner with its trade; under a province filter that
comparison used to visit every partner's trade × province rollup (thousands of look-ups). These
two small tables answer it with one index range per trade. They are filled here from the
existing partner × trade × province running totals (the day-to-day differences, summed over
partners), so an upgraded database needs no rebuild.

Revision ID: 0004
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FAMILIES = ("share", "review")


def _counts(bind: sa.Connection, family: str) -> list[str]:
    """The count columns of a family, as the existing per-trade daily table has them."""
    columns = sa.inspect(bind).get_columns(f"rollup_{family}_trade_day")
    return [c["name"] for c in columns if c["name"] not in ("day", "trade_id")]


def upgrade() -> None:
    bind = op.get_bind()
    for family in FAMILIES:
        counts = _counts(bind, family)
        name = f"rollup_{family}_trade_province_day"
        op.create_table(
            name,
            sa.Column("trade_id", sa.Integer(), nullable=False),
            sa.Column("province", sa.String(length=40), nullable=False),
            sa.Column("day", sa.Date(), nullable=False),
            *(sa.Column(c, sa.Integer(), nullable=False) for c in counts),
            sa.PrimaryKeyConstraint("trade_id", "province", "day"),
            sqlite_with_rowid=False,
        )
        source = f"rollup_{family}_partner_trade_province"
        deltas = ", ".join(f"{c} - COALESCE(LAG({c}) OVER w, 0) AS {c}" for c in counts)
        sums = ", ".join(f"SUM({c})" for c in counts)
        # Identifiers are this migration's own constants and the table's column names.
        op.execute(
            f"INSERT INTO {name} (trade_id, province, day, {', '.join(counts)}) "  # noqa: S608
            f"SELECT trade_id, province, day, {sums} FROM ("
            f"SELECT trade_id, province, day, {deltas} FROM {source} "
            "WINDOW w AS (PARTITION BY partner_id, trade_id, province ORDER BY day)"
            ") AS d GROUP BY trade_id, province, day"
        )


def downgrade() -> None:
    for family in FAMILIES:
        op.drop_table(f"rollup_{family}_trade_province_day")

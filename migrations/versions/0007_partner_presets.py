"""Per-partner totals of the standard periods (``rollup_share_partner_preset``, and the day
each filter's rows end on: ``rollup_preset_day``), and the partner directory's version counter.

The table is created empty: the first ranking of a standard period fills it for its day (see
``data.rollups.presets``), so an upgraded database needs no rebuild. The directory counter
(``directory`` in ``rollup_state``, see ``data.partner_directory``) starts at a random number:
0 means "never counted" and is never cached.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import secrets

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The share counts of the running totals at this revision, then the three extra columns.
COUNTS = (
    "shares", "accepted", "contacted", "quoted", "hired", "completed", "reviewed", "prospective",
    *(f"rt{i}" for i in range(12)),
    "rv_all", "rv_published", "rv_rating_sum", "rv_disputes",
    "prev_rv_published", "prev_rv_rating_sum", "year_rv_published",
)  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "rollup_share_partner_preset",
        sa.Column("preset", sa.String(8), nullable=False),
        sa.Column("trade_id", sa.Integer(), nullable=False),  # 0: every trade
        sa.Column("province", sa.String(40), nullable=False),  # '': every province
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("counts", sa.LargeBinary(), nullable=False),  # int64 array of COUNTS
        sa.PrimaryKeyConstraint("preset", "trade_id", "province", "partner_id"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "rollup_preset_day",
        sa.Column("trade_id", sa.Integer(), nullable=False),
        sa.Column("province", sa.String(40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("trade_id", "province"),
    )
    op.execute(
        sa.text(
            "INSERT INTO rollup_state (name, value) SELECT 'directory', :value "
            "WHERE NOT EXISTS (SELECT 1 FROM rollup_state WHERE name = 'directory')"
        ).bindparams(value=secrets.randbelow(2**30) + 1)
    )


def downgrade() -> None:
    op.drop_table("rollup_share_partner_preset")
    op.drop_table("rollup_preset_day")
    op.execute("DELETE FROM rollup_state WHERE name = 'directory'")

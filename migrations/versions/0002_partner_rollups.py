"""Partner performance rollups: cumulative daily totals per partner, partner × trade,
partner × province and partner × trade × province; daily totals per trade; the key table that
drives filtered look-ups; the rollup version counter.

The column lists are frozen here (a migration must not change when the application code does).
On a database that already holds shares or reviews, the upgrade fills the new tables.
See docs/partner-performance.md.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 12:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HIST = [f"rt{i}" for i in range(12)]
SHARE_COUNTS = [
    "shares",
    "accepted",
    "contacted",
    "quoted",
    "hired",
    "completed",
    "reviewed",
    "prospective",
    *HIST,
    # the ranking's review numbers, by the day each review was written
    "rv_all",
    "rv_published",
    "rv_rating_sum",
    "rv_disputes",
]
REVIEW_COUNTS = [
    "all_reviews",
    "reviews",
    "rating_sum",
    "r1",
    "r2",
    "r3",
    "r4",
    "r5",
    "quality_sum",
    "quality_n",
    "timeliness_sum",
    "timeliness_n",
    "value_sum",
    "value_n",
    "communication_sum",
    "communication_n",
    "disputes",
    "flagged",
]


LEVELS = {
    "partner": ["partner_id"],
    "partner_trade": ["partner_id", "trade_id"],
    "partner_province": ["partner_id", "province"],
    "partner_trade_province": ["partner_id", "trade_id", "province"],
}
FAMILIES = {"share": SHARE_COUNTS, "review": REVIEW_COUNTS}


def _key_column(name: str) -> sa.Column:
    kind = sa.String(length=40) if name == "province" else sa.Integer()
    return sa.Column(name, kind, nullable=False)


def _counts(counts: list[str]) -> list[sa.Column]:
    return [sa.Column(c, sa.Integer(), nullable=False) for c in counts]


def _tables() -> list[str]:
    names = [f"rollup_{f}_{level}" for f in FAMILIES for level in LEVELS]
    return [*names, *(f"rollup_{f}_trade_day" for f in FAMILIES)]


def upgrade() -> None:
    for family, counts in FAMILIES.items():
        for level, keys in LEVELS.items():
            op.create_table(
                f"rollup_{family}_{level}",
                *(_key_column(k) for k in keys),
                sa.Column("day", sa.Date(), nullable=False),
                *_counts(counts),
                sa.PrimaryKeyConstraint(*keys, "day"),
                sqlite_with_rowid=False,
            )
        op.create_table(
            f"rollup_{family}_trade_day",
            sa.Column("day", sa.Date(), nullable=False),
            sa.Column("trade_id", sa.Integer(), nullable=False),
            *_counts(counts),
            sa.PrimaryKeyConstraint("day", "trade_id"),
            sqlite_with_rowid=False,
        )
    op.create_table(
        "rollup_key",
        _key_column("partner_id"),
        _key_column("trade_id"),
        _key_column("province"),
        sa.PrimaryKeyConstraint("partner_id", "trade_id", "province"),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_rollup_key_trade_province", "rollup_key", ["trade_id", "province", "partner_id"]
    )
    op.create_index("ix_rollup_key_province", "rollup_key", ["province", "partner_id"])
    op.create_table(
        "rollup_state",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.execute("INSERT INTO rollup_state (name, value) VALUES ('version', 0)")
    # The detail page's lists: one partner's prospective leads, and its reviews by author side.
    op.create_index(
        "ix_lead_share_partner_prospective",
        "lead_share",
        ["partner_id", "partner_was_prospective", "shared_at"],
    )
    op.create_index(
        "ix_review_partner_side_created", "review", ["partner_id", "author_side", "created_at"]
    )

    bind = op.get_bind()
    has_data = (
        bind.execute(sa.text("SELECT 1 FROM lead_share LIMIT 1")).first()
        or bind.execute(sa.text("SELECT 1 FROM review LIMIT 1")).first()
    )
    if has_data:
        from data.rollups import rebuild

        rebuild(bind)


def downgrade() -> None:
    op.drop_index("ix_review_partner_side_created", table_name="review")
    op.drop_index("ix_lead_share_partner_prospective", table_name="lead_share")
    op.drop_table("rollup_state")
    op.drop_index("ix_rollup_key_province", table_name="rollup_key")
    op.drop_index("ix_rollup_key_trade_province", table_name="rollup_key")
    op.drop_table("rollup_key")
    for name in reversed(_tables()):
        op.drop_table(name)

"""Each key's latest running totals, per rollup level (``rollup_{family}_{level}_latest``).

A period ending on or after the last day with data (every preset ends today) reads its end
boundary from these tables, one row per key, instead of searching each key's series: a
quarter to a third fewer index searches for the partner ranking. Filled here from the existing
rollups, so an upgraded database needs no rebuild.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FAMILIES = ("share", "review")
LEVELS = {
    "partner": ("partner_id",),
    "partner_trade": ("partner_id", "trade_id"),
    "partner_province": ("partner_id", "province"),
    "partner_trade_province": ("partner_id", "trade_id", "province"),
}
KEY_TYPES = {"partner_id": sa.Integer, "trade_id": sa.Integer, "province": lambda: sa.String(40)}


def upgrade() -> None:
    bind = op.get_bind()
    for family in FAMILIES:
        for level, keys in LEVELS.items():
            source = f"rollup_{family}_{level}"
            counts = [
                c["name"]
                for c in sa.inspect(bind).get_columns(source)
                if c["name"] not in (*keys, "day")
            ]
            name = f"{source}_latest"
            op.create_table(
                name,
                *(sa.Column(k, KEY_TYPES[k](), nullable=False) for k in keys),
                *(sa.Column(c, sa.Integer(), nullable=False) for c in counts),
                sa.PrimaryKeyConstraint(*keys),
                sqlite_with_rowid=False,
            )
            key_list = ", ".join(keys)
            match = " AND ".join(f"s.{k} = m.{k}" for k in (*keys, "day"))
            # Identifiers are this migration's constants and the table's column names.
            op.execute(
                f"INSERT INTO {name} ({key_list}, {', '.join(counts)}) "  # noqa: S608
                f"SELECT {', '.join(f's.{c}' for c in (*keys, *counts))} FROM {source} AS s "
                f"JOIN (SELECT {key_list}, MAX(day) AS day FROM {source} GROUP BY {key_list}) "
                f"AS m ON {match}"
            )


def downgrade() -> None:
    for family in FAMILIES:
        for level in LEVELS:
            op.drop_table(f"rollup_{family}_{level}_latest")

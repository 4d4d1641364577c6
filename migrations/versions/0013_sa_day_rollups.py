"""Rollups counted by Johannesburg day.

Until this revision the rollups bucketed each share, review and lead by its UTC calendar day,
so an event between 22:00 and 24:00 UTC (00:00–02:00 in South Africa) counted on the day
before the one the business counts it on. ``data.sqlfuncs.day_of`` now takes the South African
day; this migration recomputes every rollup with it (a full rebuild, which also resets the
query caches through the rollup version counters). Nothing changes in the schema.

The rebuild is the application's own ``data.rollups.rebuild`` (as in 0002), which writes every
rollup table the release declares; a release that adds rollup tables after 0013 must create
them before this step runs or repeat the rebuild in its own migration. A downgrade leaves the
rollups in South African days; an older release would keep counting new events in UTC days
until it rebuilds (``flask --app app demo-data`` does).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    has_data = any(
        bind.execute(sa.text(f"SELECT 1 FROM {table} LIMIT 1")).first()  # noqa: S608
        for table in ("lead", "lead_share", "review")
    )
    if has_data:
        from data.rollups import rebuild

        rebuild(bind)


def downgrade() -> None:
    """Nothing to undo in the schema (see the module docstring about the day bucketing)."""

"""A partial index of the call recordings still kept (issue 15's performance).

Retention's "recordings" rule (``data/erasure/retention.py``, also the compliance monitor's
"kept past retention") asks for calls before a cut-off whose ``recording_ref`` is set. Every
recording older than the period is cleared by the sweep, so those are a few thousand of the
calls, yet without this index both databases read every call before the cut-off (80 ms on
PostgreSQL, 300 ms on SQLite at 1M leads). Only the kept recordings are in it, so it stays
small and costs a write only when a call with a recording is stored or cleared.

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEPT = sa.text("recording_ref IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_interaction_recording_kept",
        "interaction",
        ["at"],
        sqlite_where=_KEPT,
        postgresql_where=_KEPT,
    )


def downgrade() -> None:
    op.drop_index("ix_interaction_recording_kept", table_name="interaction")

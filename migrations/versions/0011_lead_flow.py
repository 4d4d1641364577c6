"""Lead flow rollups (issue 16): per creation day, how far leads got and their transitions.

Tables ``rollup_flow_{level}`` (step counts and time histograms per day and key) and
``rollup_flow_trans_{level}`` (status transitions), described in
``data/rollups/lead_flow.py``. They are derived data: created empty here and filled by the
full rebuild (``data.rollups.rebuild``, run by the demo builder) and day by day by the session
hooks as leads are written; an upgraded database is filled at the end of this migration.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of data.rollups.lead_flow's constants as of this revision.
_STEPS = ("leads", "shared", "contacted", "quoted", "hired", "completed", "reviewed")
_HISTOGRAMS = (*(f"h_{s}" for s in _STEPS[1:]), "h_first_contact", "h_to_hire")
_BUCKETS = 12
_COUNTS = (*_STEPS, "prospective", *(f"{h}_{i}" for h in _HISTOGRAMS for i in range(_BUCKETS)))
_SINGLE = {
    "trade": ("trade_id",),
    "province": ("province",),
    "channel": ("channel",),
    "service": ("service_type_id",),
    "site": ("source_site",),
}
_FLOW_LEVELS = {
    "all": (),
    **_SINGLE,
    "trade_channel": ("trade_id", "channel"),
    "province_channel": ("province", "channel"),
    "trade_province": ("trade_id", "province"),
    "trade_province_channel": ("trade_id", "province", "channel"),
    "full": ("trade_id", "province", "channel", "service_type_id", "source_site"),
}
_TRANSITION_LEVELS = {"all": (), **_SINGLE, "trade_province": ("trade_id", "province")}
_TYPES = {
    "trade_id": sa.Integer,
    "service_type_id": sa.Integer,
    "province": lambda: sa.String(40),
    "channel": lambda: sa.String(20),
    "source_site": lambda: sa.String(60),
    "from_status": lambda: sa.String(20),
    "to_status": lambda: sa.String(20),
}


def _create(name: str, keys: Sequence[str], counts: Sequence[str]) -> None:
    op.create_table(
        name,
        sa.Column("day", sa.Date(), nullable=False),
        *(sa.Column(k, _TYPES[k](), nullable=False) for k in keys),
        *(sa.Column(c, sa.Integer(), nullable=False) for c in counts),
        sa.PrimaryKeyConstraint("day", *keys),
        sqlite_with_rowid=False,
    )


def upgrade() -> None:
    # the operations list's "shared with a prospective partner", newest first
    op.create_index(
        "ix_lead_share_prospective_shared", "lead_share", ["partner_was_prospective", "shared_at"]
    )
    for level, keys in _FLOW_LEVELS.items():
        _create(f"rollup_flow_{level}", keys, _COUNTS)
    for level, keys in _TRANSITION_LEVELS.items():
        _create(f"rollup_flow_trans_{level}", (*keys, "from_status", "to_status"), ("n",))
    # Fill them from the leads of an upgraded database (a new one has none). The counting
    # query is the application's (data.rollups.lead_flow): it reads only base tables that
    # exist at this revision.
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM lead LIMIT 1")).first() is not None:
        from data.rollups.lead_flow import rebuild_lead_flow

        rebuild_lead_flow(bind)


def downgrade() -> None:
    op.drop_index("ix_lead_share_prospective_shared", table_name="lead_share")
    for level in _TRANSITION_LEVELS:
        op.drop_table(f"rollup_flow_trans_{level}")
    for level in _FLOW_LEVELS:
        op.drop_table(f"rollup_flow_{level}")

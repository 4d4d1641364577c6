"""Consent rollup (issue 15): ``consent_day``, ``consent_population_day`` and
``consent_rollup_state`` (``data/consent/models.py``, ``data/consent/rollup.py``).

Also four indexes for the compliance rules (``data/compliance``). Derived data: created empty
here. An empty state table means "not built": the first read of
the consent page builds the rollup from ``consent_event`` and the subject tables (the demo
builder builds it right after loading), so an upgraded database needs no data step.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = (
    ("ix_consent_event_purpose_granted_at", "consent_event", ("purpose", "granted", "at")),
    ("ix_interaction_purpose_at", "interaction", ("purpose", "at")),
    ("ix_interaction_recorded_at", "interaction", ("recorded", "at")),
    ("ix_homeowner_created_at", "homeowner", ("created_at",)),
)


def upgrade() -> None:
    op.create_table(
        "consent_day",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("subject_type", sa.String(20), primary_key=True),
        sa.Column("purpose", sa.String(30), primary_key=True),
        sa.Column("channel", sa.String(20), primary_key=True),
        sa.Column("site", sa.String(60), primary_key=True),
        sa.Column("opt_ins", sa.Integer(), nullable=False),
        sa.Column("opt_outs", sa.Integer(), nullable=False),
        sa.Column("granted_delta", sa.Integer(), nullable=False),
        sa.Column("withdrawn_delta", sa.Integer(), nullable=False),
    )
    op.create_table(
        "consent_population_day",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("subject_type", sa.String(20), primary_key=True),
        sa.Column("site", sa.String(60), primary_key=True),
        sa.Column("delta", sa.Integer(), nullable=False),
    )
    op.create_table(
        "consent_rollup_state",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("built_version", sa.Integer(), nullable=False),
    )

    # The compliance rules' look-ups (data/consent/models.py, COMPLIANCE_INDEXES).
    for name, table, columns in _INDEXES:
        op.create_index(name, table, list(columns))


def downgrade() -> None:
    for name, table, _columns in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_table("consent_rollup_state")
    op.drop_table("consent_population_day")
    op.drop_table("consent_day")

"""Tables with a homeowner dimension (age band, gender, property type) read the cube too.

* ``aggregate_cell`` gets copies of its homeowner's birth year, gender and property type: the
  cube's upkeep needs the values a person was counted under, to take them off again when they
  change (a correction of the homeowner row). An erased homeowner has no rows any more (the
  erasure deletes them and takes their contributions off the cube; so far they were kept and
  subtracted whenever a table was read).
* ``aggregate_cube`` gets the 85 combinations with a homeowner key
  (``data.aggregates.cells.HOMEOWNER_COMBOS``).

Both are rebuilt from the base tables by the application's own
``data.aggregates.cube_rebuild.rebuild`` (as the demo build does; 0022 filled the cube so too).

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COPIES = (
    ("birth_year", sa.SmallInteger()),
    ("gender", sa.String(length=10)),
    ("property_type", sa.String(length=20)),
)
#: The combinations of lead keys only (0022) are the cube's first 37.
_LEAD_COMBOS = 37


def upgrade() -> None:
    with op.batch_alter_table("aggregate_cell") as batch:
        for name, kind in _COPIES:
            batch.add_column(sa.Column(name, kind, nullable=True))
    from data.aggregates.cube_rebuild import rebuild

    rebuild(op.get_bind())


def downgrade() -> None:
    op.execute(sa.text(f"DELETE FROM aggregate_cube WHERE combo >= {_LEAD_COMBOS}"))
    with op.batch_alter_table("aggregate_cell") as batch:
        for name, _ in reversed(_COPIES):
            batch.drop_column(name)

"""The retention sweep's speed at 1M leads (issue 13): GIN word indexes without a pending
list, and a partial index that finds the erasure's placeholder homeowner.

* PostgreSQL: the residue scan's GIN indexes (``data.erasure.search_index``) are set to
  ``fastupdate = off`` and their pending lists flushed. Every GIN search reads the whole
  pending list, and a sweep's batch searches thousands of phrases right after writing the
  rows it erased: 220 pending pages on ``homeowner`` made a batch's searches of it 3× slower.
  ``data.erasure.coverage.ensure`` builds the indexes after the migrations (and the demo
  loader rebuilds them from their definitions), so on a new database they do not exist yet
  here and are made with the setting by ``search_index.create_statements``.
* Both: ``ix_homeowner_placeholder``, the homeowner rows of the one anonymous placeholder
  (``data.erasure.execute.placeholder_homeowner``), which every erasure looks up: without it,
  a read of every homeowner (0.3 s on PostgreSQL, 0.8 s on SQLite at 1M leads, cold).

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from data.erasure import search_index

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PLACEHOLDER = sa.text("source_site = 'erased-placeholder'")


def _gin_indexes() -> list[str]:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return []
    names = [search_index.gin_name(t) for t in search_index.SEARCHED]
    found = bind.execute(
        sa.text(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
            "AND indexname = ANY(:names) ORDER BY indexname"
        ),
        {"names": names},
    )
    return list(found.scalars())


def upgrade() -> None:
    for name in _gin_indexes():
        op.execute(f"ALTER INDEX {search_index.quote(name)} SET (fastupdate = off)")
        op.execute(
            sa.text("SELECT gin_clean_pending_list(CAST(:name AS regclass))").bindparams(name=name)
        )
    op.create_index(
        "ix_homeowner_placeholder",
        "homeowner",
        ["id"],
        sqlite_where=_PLACEHOLDER,
        postgresql_where=_PLACEHOLDER,
    )


def downgrade() -> None:
    op.drop_index("ix_homeowner_placeholder", table_name="homeowner")
    for name in _gin_indexes():
        op.execute(f"ALTER INDEX {search_index.quote(name)} RESET (fastupdate)")

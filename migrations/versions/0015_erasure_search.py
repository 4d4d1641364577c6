"""The residue scan's indexes (issue 13): the code vocabulary's table and, on PostgreSQL, the
function its triggers call.

The per-table parts (FTS5 tables or GIN indexes over the free-text tables, vocabulary triggers
on the code-only tables) are derived from the models and built by
``data.erasure.coverage.ensure``, which ``data.db.upgrade_database`` runs once the schema is
at its heads: later migrations add columns and tables they must cover. Downgrading removes
them all.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from data.erasure import search_index, vocabulary

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    for statement in vocabulary.SCHEMA_SQLITE if sqlite else vocabulary.SCHEMA_POSTGRESQL:
        op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    present = set(sa.inspect(bind).get_table_names())
    metadata = sa.MetaData()
    tables = [sa.Table(n, metadata) for n in sorted(present)]
    words = [t for t in tables if t.name in search_index.SEARCHED]
    for statement in search_index.drop_statements(dialect, words):
        op.execute(statement)
    for statement in vocabulary.drop_statements(dialect, tables):
        op.execute(statement)
    op.execute(f"DROP TABLE IF EXISTS {vocabulary.VOCABULARY}")
    if dialect != "sqlite":
        op.execute("DROP FUNCTION IF EXISTS search_vocabulary_add()")

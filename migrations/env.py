"""Alembic environment: runs on the engine handed over by ``data.db.alembic_config``.

Migrations are run from Python (``data.db.upgrade_database``) rather than the ``alembic`` CLI, so
the application, the CLI commands and the tests all share one engine configuration. For ad-hoc
use, ``alembic`` falls back to ``DATABASE_URL`` (or the embedded demo database).
"""

from __future__ import annotations

from alembic import context

from data.db import configured_database_url, make_engine
from data.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or make_engine(configured_database_url())
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()

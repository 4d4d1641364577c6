"""Alembic environment: runs on the engine handed over by ``data.db.alembic_config``.

Migrations are run from Python (``data.db.upgrade_database``) rather than the ``alembic`` CLI, so
the application, the CLI commands and the tests all share one engine configuration. For ad-hoc
use, ``alembic`` falls back to ``DATABASE_URL`` (or the embedded demo database).

``target_metadata`` comes from :func:`data.schema.load_all_models`, which imports every module
that declares tables (core, privacy desk, rollups): with ``data.models`` alone, autogenerate
would see the rollup and privacy tables as unknown and propose dropping them. The comparison
options are the drift test's (``data.schema.COMPARE_OPTIONS``), so both judge alike.
"""

from __future__ import annotations

from alembic import context

from data.db import configured_database_url, make_engine
from data.schema import COMPARE_OPTIONS, load_all_models

config = context.config
target_metadata = load_all_models()


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or make_engine(configured_database_url())
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            **COMPARE_OPTIONS,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()

"""The models and the migrations describe the same schema, on SQLite and on PostgreSQL.

The schema is only ever created by the migrations (``data.db.upgrade_database``), while the
application queries through the models. If the two drift apart (a model column without a
migration, an index a migration creates but no model declares), the application can fail on a
real database while ``alembic revision --autogenerate`` proposes surprising changes. This test
migrates a fresh database of the suite's kind (``TEST_DATABASE_URL`` when set, else SQLite) and
asks Alembic's own comparison, with the options ``migrations/env.py`` uses, for differences:
there must be none.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Engine, MetaData, String, inspect, text

from data.db import make_engine, upgrade_database
from data.erasure.search_index import is_derived
from data.schema import COMPARE_OPTIONS, TABLE_MODULES, load_all_models
from tests.scratch_db import scratch_database

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# SQLite cannot reflect expression indexes (``ix_homeowner_name_lower``, on lower-cased names),
# so SQLAlchemy and Alembic skip comparing it there and say so; PostgreSQL compares it.
# test_every_declared_index_exists_by_name covers it on SQLite by name instead.
pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:Skipped unsupported reflection of expression-based index ix_homeowner_name_lower"
    ),
    pytest.mark.filterwarnings(
        "ignore:autogenerate skipping metadata-specified expression-based index "
        "'ix_homeowner_name_lower'"
    ),
]


@pytest.fixture(scope="module")
def migrated(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A fresh database beside the suite's, built by the project's migrations only.

    On PostgreSQL a scratch database named after the suite's (``<name>_schema_drift``) so that
    two suites on one server do not share it; on SQLite a new file.
    """
    folder = tmp_path_factory.mktemp("drift")
    with scratch_database(database_url, "schema_drift", folder / "drift.db") as url:
        engine = make_engine(url)
        upgrade_database(engine)
        yield engine
        engine.dispose()


def schema_diff(engine: Engine, metadata: MetaData) -> list[Any]:
    """What ``alembic revision --autogenerate`` would write to turn the database into the
    models (an empty list when they agree)."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts=dict(COMPARE_OPTIONS))
        return compare_metadata(context, metadata)


def test_models_match_the_migrated_schema(migrated: Engine) -> None:
    assert schema_diff(migrated, load_all_models()) == []


def test_load_all_models_alone_knows_every_migrated_table(migrated: Engine) -> None:
    """In a fresh interpreter (this one has imported half the project already), the metadata of
    :func:`load_all_models` holds every table the migrations create: what ``env.py`` sees."""
    script = "from data.schema import load_all_models; print(*sorted(load_all_models().tables))"
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    migrated_tables = {
        t
        for t in inspect(migrated).get_table_names()
        if not is_derived(t)  # the scan's index
    } - {"alembic_version"}
    assert set(result.stdout.split()) == migrated_tables
    assert "data.rollups" in TABLE_MODULES and "data.privacy.models" in TABLE_MODULES


def test_every_declared_index_exists_by_name(migrated: Engine) -> None:
    """Every index the models declare exists, read from the catalogue itself: this also sees
    the expression index that reflection skips on SQLite."""
    if migrated.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'index'"
    else:
        query = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
    with migrated.connect() as conn:
        existing = set(conn.execute(text(query)).scalars())
    declared = {i.name for t in load_all_models().tables.values() for i in t.indexes}
    assert declared - existing == set()


def _copy(metadata: MetaData) -> MetaData:
    """A copy of the models' metadata that a test may change without touching the real one."""
    copy = MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(copy)
    return copy


def test_a_model_column_without_a_migration_is_drift(migrated: Engine) -> None:
    """The comparison is not blind: a column only the model has is reported."""
    models = _copy(load_all_models())
    models.tables["homeowner"].append_column(Column("drift_probe", String(40)))
    added = [(d[2], d[3].name) for d in schema_diff(migrated, models) if d[0] == "add_column"]
    assert ("homeowner", "drift_probe") in added


def test_a_table_the_models_forget_is_drift(migrated: Engine) -> None:
    """Without the rollup module (env.py's old metadata), its tables look like tables to drop."""
    models = _copy(load_all_models())
    models.remove(models.tables["rollup_state"])
    removed = [d[1].name for d in schema_diff(migrated, models) if d[0] == "remove_table"]
    assert "rollup_state" in removed

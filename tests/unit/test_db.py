"""Database configuration errors are one clear line; migrations go up and down cleanly."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from data.audit import MAINTENANCE_OPTION
from data.db import (
    DatabaseConfigError,
    downgrade_database,
    make_engine,
    parse_url,
    schema_is_current,
    upgrade_database,
)
from data.models import Base


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "not a valid database URL"),
        ("mysql://u@h/db", "unsupported database"),
        ("postgresql+psycopg://postgres@127.0.0.1:1/nothing", "cannot connect"),
    ],
)
def test_bad_urls_raise_one_line_errors(url, message):
    with pytest.raises(DatabaseConfigError, match=message) as info:
        make_engine(url)
    assert "\n" not in str(info.value)


def test_password_is_hidden_in_connection_errors():
    with pytest.raises(DatabaseConfigError) as info:
        make_engine("postgresql+psycopg://user:hunter2@127.0.0.1:1/x")
    assert "hunter2" not in str(info.value)


def test_plain_postgresql_url_uses_psycopg3():
    assert parse_url("postgresql://u@h/db").drivername == "postgresql+psycopg"


def test_migrations_up_down_up(tmp_path, database_url):
    """Full cycle on a scratch database of the same kind as the suite's."""
    if database_url.startswith("postgresql"):
        admin = make_engine(database_url, check=True).execution_options(
            isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS pod_migration_check"))
            conn.execute(text("CREATE DATABASE pod_migration_check"))
        admin.dispose()
        url = database_url.rsplit("/", 1)[0] + "/pod_migration_check"
    else:
        url = f"sqlite:///{tmp_path / 'migrations.db'}"
    engine = make_engine(url)
    upgrade_database(engine)
    assert schema_is_current(engine)
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    downgrade_database(engine)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade_database(engine)
    assert schema_is_current(engine)
    engine.dispose()


def test_audit_log_refuses_update_and_delete_on_postgresql(db):
    if db.dialect.name != "postgresql":
        pytest.skip("the trigger exists on PostgreSQL only")
    with db.begin() as conn:
        conn.execute(text("INSERT INTO audit_log (at, actor, action) VALUES (now(), 't', 'x')"))
    for statement in ("UPDATE audit_log SET actor = 'y'", "DELETE FROM audit_log"):
        # past the application's own guard (as a migration may go), the trigger refuses
        with pytest.raises(Exception, match="append-only"), db.begin() as conn:
            conn.execution_options(**{MAINTENANCE_OPTION: True}).execute(text(statement))

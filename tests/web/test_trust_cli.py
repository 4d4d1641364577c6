"""The trust commands (issue 12, point 4): ``audit-verify``, ``demo-data``'s refusal to erase a
real database, and ``db-roles``' least-privilege role on PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from data import audit, db_roles
from data.audit import MAINTENANCE_OPTION
from data.db import make_engine, session_scope, upgrade_database
from data.models import User
from data.users import create_user
from tests.web.test_cli import flask


@pytest.fixture
def scratch(tmp_path):
    """A migrated SQLite file of its own (the commands erase or break what they are given)."""
    url = f"sqlite:///{tmp_path / 'scratch.db'}"
    engine = make_engine(url)
    upgrade_database(engine)
    yield engine, {"DATABASE_URL": url, "INSTANCE_PATH": str(tmp_path)}
    engine.dispose()


def test_audit_verify_passes_then_names_the_edited_entry(scratch):
    engine, env = scratch
    for i in range(3):
        with session_scope(engine) as s:
            audit.record(s, "admin", "user.create", "user", i)
    ok = flask("audit-verify", env=env)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "audit log intact: 3 entries verified"
    with engine.begin() as conn:
        conn.execution_options(**{MAINTENANCE_OPTION: True})
        second = conn.scalar(text("SELECT id FROM audit_log ORDER BY id LIMIT 1 OFFSET 1"))
        conn.execute(text(f"UPDATE audit_log SET actor = 'mallory' WHERE id = {second}"))
    engine.dispose()
    broken = flask("audit-verify", env=env)
    assert broken.returncode == 1
    assert broken.stderr.strip() == (
        f"Error: audit log broken at entry {second}: its content does not match its hash "
        "(1 entries hold)"
    )


def test_demo_data_refuses_a_database_with_real_accounts(scratch):
    engine, env = scratch
    with session_scope(engine) as s:
        create_user(s, "thandi", "a-long-password", "admin", actor="test")
    engine.dispose()  # the build needs the file to itself
    result = flask("demo-data", "--leads", "500", env=env)
    assert result.returncode == 1
    assert "not demo data" in result.stderr and "--force" in result.stderr
    with session_scope(engine) as s:
        assert s.scalar(select(User.username)) == "thandi"  # nothing was erased
    engine.dispose()
    forced = flask("demo-data", "--leads", "500", "--force", env=env)
    assert forced.returncode == 0, forced.stderr
    with session_scope(engine) as s:
        assert s.scalar(select(User.id).where(User.username == "thandi")) is None


def test_demo_data_builds_on_a_new_database_and_rebuilds_a_demo_one(scratch):
    engine, env = scratch
    engine.dispose()
    first = flask("demo-data", "--leads", "500", env=env)
    assert first.returncode == 0, first.stderr
    with session_scope(engine) as s:
        create_user(s, "thandi", "a-long-password", "admin", actor="test")
    engine.dispose()
    # a demo database stays a demo database, extra accounts or not
    assert flask("demo-data", "--leads", "500", env=env).returncode == 0


def test_db_roles_is_for_postgresql_only(scratch):
    _, env = scratch
    result = flask("db-roles", "pod_app", env=env)
    assert result.returncode == 1
    assert result.stderr.strip() == "Error: db-roles is for PostgreSQL (SQLite has no roles)"


def test_grant_statements_keep_the_audit_log_append_only():
    assert db_roles.grant_statements("pod_app", ["lead", "audit_log"], "ops") == [
        'GRANT CONNECT, TEMPORARY ON DATABASE "ops" TO "pod_app"',
        'GRANT USAGE ON SCHEMA public TO "pod_app"',
        'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "pod_app"',
        'REVOKE ALL ON "audit_log" FROM "pod_app"',
        'GRANT SELECT, INSERT ON "audit_log" TO "pod_app"',
        'REVOKE ALL ON "lead" FROM "pod_app"',
        'GRANT SELECT, INSERT, UPDATE, DELETE ON "lead" TO "pod_app"',
    ]
    with pytest.raises(db_roles.RoleSetupError):
        db_roles.grant_statements('app"; DROP TABLE lead; --', [], "ops")


def test_the_app_role_can_append_but_not_wipe(db, database_url):
    """PostgreSQL: as the role ``db-roles`` sets up, the app still logs, but DELETE, TRUNCATE
    and switching the trigger off are refused by the database (the app's own guard is
    bypassed with the maintenance option, to test the database alone)."""
    if db.dialect.name != "postgresql":
        pytest.skip("roles are PostgreSQL's")
    role = f"pod_trust_app_{uuid.uuid4().hex[:8]}"
    db_roles.apply(db, role)
    app_engine = make_engine(
        make_url(database_url).set(username=role).render_as_string(hide_password=False),
        check=False,
    )
    try:
        try:
            with session_scope(app_engine) as s:
                audit.record(s, "admin", "login")
        except OperationalError:
            pytest.skip("the server does not let a new role log in without a password")
        for statement in (
            "DELETE FROM audit_log",
            "TRUNCATE audit_log",
            "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
        ):
            with pytest.raises(DBAPIError), app_engine.begin() as conn:
                conn.execution_options(**{MAINTENANCE_OPTION: True})
                conn.execute(text(statement))
        with session_scope(db) as s:
            assert s.scalar(select(audit.AuditLog.actor)) == "admin"
    finally:
        app_engine.dispose()
        with db.begin() as conn:
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))


def test_create_user_needs_twelve_characters(scratch):
    _, env = scratch
    short = flask(
        "create-user",
        "zanele",
        "--role",
        "admin",
        "--password-stdin",
        env=env,
        stdin="elevenchars\n",
    )
    assert short.returncode == 1
    assert short.stderr.strip() == "Error: The password must be at least 12 characters long."
    ok = flask(
        "create-user",
        "zanele",
        "--role",
        "admin",
        "--password-stdin",
        env=env,
        stdin="twelve-chars\n",
    )
    assert ok.returncode == 0, ok.stderr

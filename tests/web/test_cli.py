"""The flask commands as a user runs them: clear one-line errors, no tracebacks."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import select

from data.db import session_scope
from data.models import Trade, User
from tests.conftest import PROJECT_ROOT


def flask(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_malformed_database_url_is_one_line(tmp_path):
    result = flask("init-db", env={"DATABASE_URL": "nonsense", "INSTANCE_PATH": str(tmp_path)})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "Error: DATABASE_URL is not a valid database URL (expected e.g. "
        "postgresql+psycopg://user@host:5432/db or sqlite:///path.db)"
    ]


def test_unreachable_database_is_one_line(tmp_path):
    url = "postgresql+psycopg://postgres@127.0.0.1:1/none"
    result = flask("init-db", env={"DATABASE_URL": url, "INSTANCE_PATH": str(tmp_path)})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "cannot connect" in result.stderr


def test_create_user_from_stdin(db, database_url, tmp_path):
    env = {"DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path)}
    result = flask(
        "create-user",
        "zanele",
        "--role",
        "privacy_officer",
        "--password-stdin",
        env=env,
        stdin="long-password\n",
    )
    assert result.returncode == 0, result.stderr
    with session_scope(db) as s:
        user = s.scalar(select(User).where(User.username == "zanele"))
    assert user is not None and user.role == "privacy_officer"
    again = flask(
        "create-user",
        "zanele",
        "--role",
        "admin",
        "--password-stdin",
        env=env,
        stdin="long-password\n",
    )
    assert again.returncode == 1 and "already exists" in again.stderr
    assert "Traceback" not in again.stderr


def test_create_user_rejects_unknown_role(db, database_url, tmp_path):
    env = {"DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path)}
    result = flask("create-user", "x", "--role", "root", "--password-stdin", env=env, stdin="pw\n")
    assert result.returncode == 2 and "Invalid value for '--role'" in result.stderr


def test_rollups_warm_brings_every_offered_filter_to_today(db, database_url, tmp_path):
    """The nightly job: everything, each trade and each province on today's day; a second run
    finds nothing to do."""
    from data import rollups
    from data.db import read_connection
    from data.timeutil import today

    env = {"DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path)}
    first = flask("rollups-warm", env=env)
    assert first.returncode == 0, first.stderr
    with read_connection(db) as conn:
        trades = conn.execute(select(Trade.id)).all()
        assert rollups.stored_day(conn) == today()
        assert rollups.stored_day(conn, None, "Gauteng") == today()
    assert first.stdout.startswith(f"{1 + len(trades) + 9} filter(s) brought to {today()}")
    second = flask("rollups-warm", env=env)
    assert second.returncode == 0 and second.stdout.startswith("0 filter(s)")

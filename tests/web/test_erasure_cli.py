"""``flask --app app erase`` as a user runs it, and the kill test: a real erasure process killed
inside its transaction leaves the database exactly as it was (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from data.db import session_scope
from data.erasure.execute import PAUSE_ENV
from data.models import Homeowner, PrivacyRequest
from data.schema import load_all_models
from tests.conftest import PROJECT_ROOT
from tests.privacy_support import make_crowded_world, make_staff, verified_request


@pytest.fixture
def erasable(db):
    with session_scope(db) as s:
        staff, world = make_staff(s), make_crowded_world(s)
    rid, _ = verified_request(
        db,
        staff.officer,
        type="erasure",
        subject_type="homeowner",
        subject_id=world.subject.id,
    )
    return staff, world, rid


def env_for(database_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(tmp_path),
        "SUPPRESSION_KEY": "cli-test-key",
        **extra,
    }


def flask(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=PROJECT_ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
    )


def everything(db) -> dict[str, list]:
    with db.connect() as conn:
        return {
            t.name: sorted(tuple(str(v) for v in r) for r in conn.execute(select(t)))
            for t in load_all_models().sorted_tables
        }


def test_dry_run_prints_the_preview_and_changes_nothing(db, database_url, tmp_path, erasable):
    _, _, rid = erasable
    before = everything(db)
    result = flask("erase", "--request", str(rid), "--dry-run", env=env_for(database_url, tmp_path))
    assert result.returncode == 0, result.stderr
    assert "consent_event: 3 rows deleted" in result.stdout
    assert "lead: 2 rows kept de-identified; cleared: suburb, description" in result.stdout
    assert "partners to tell afterwards: 2" in result.stdout and "Partner 1" in result.stdout
    assert everything(db) == before


def test_a_refusal_is_one_error_line(db, database_url, tmp_path, erasable):
    env = env_for(database_url, tmp_path)
    result = flask("erase", "--request", "999999", "--yes", env=env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == ["Error: There is no privacy request #999999."]


def test_without_yes_the_request_number_must_be_typed(db, database_url, tmp_path, erasable):
    _, world, rid = erasable
    env = env_for(database_url, tmp_path)
    wrong = flask("erase", "--request", str(rid), env=env, stdin="12345\n")
    assert wrong.returncode == 1 and "Error: not confirmed" in wrong.stderr
    right = flask("erase", "--request", str(rid), env=env, stdin=f"{rid}\n")
    assert right.returncode == 0, right.stderr
    assert "residue scan of" in right.stdout and "nothing found" in right.stdout
    with session_scope(db) as s:
        assert s.get(Homeowner, world.subject.id).email is None
        assert s.get(PrivacyRequest, rid).status == "completed"
    again = flask("erase", "--request", str(rid), "--yes", env=env)
    assert again.returncode == 1
    assert again.stderr.strip().splitlines() == [
        "Error: This erasure was already carried out; its receipt is on the request."
    ]


def test_killing_the_process_inside_the_transaction_leaves_everything_as_before(
    db, database_url, tmp_path, erasable
):
    _, world, rid = erasable
    before = everything(db)
    marker = tmp_path / "paused"
    env = env_for(database_url, tmp_path, **{PAUSE_ENV: str(marker)})
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "erase", "--request", str(rid), "--yes"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the erasure never reached its pause"
            time.sleep(0.1)
        os.kill(process.pid, signal.SIGKILL)  # every statement ran; the commit did not
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
    assert everything(db) == before
    with session_scope(db) as s:
        assert s.get(Homeowner, world.subject.id).email == "thandi@example.co.za"

"""The retention sweep's run row (``data.erasure.sweep_runs``): one live run at a time, progress
any page can read, a stop flag any page can set, and a dead run that does not block forever."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest

from data.erasure import sweep_runs

T0 = datetime(2026, 6, 1, 8, 0)  # 10:00 in Johannesburg


def test_a_run_reports_progress_that_any_reader_sees(db):
    assert sweep_runs.current(db) is None
    run = sweep_runs.begin(db, "alice", now=T0)
    sweep_runs.report(db, run, "homeowners", 200, 800, now=T0 + timedelta(seconds=30))
    seen = sweep_runs.current(db)
    assert seen is not None and seen.id == run and seen.running
    assert (seen.rule, seen.handled, seen.total, seen.percent) == ("homeowners", 200, 800, 25)
    assert seen.describe() == (
        "Running: 200 / 800 (homeowners), started by alice at 2026-06-01 10:00 SAST."
    )


def test_a_second_sweep_is_refused_while_one_runs_and_allowed_after_it_ends(db):
    run = sweep_runs.begin(db, "alice", now=T0)
    with pytest.raises(sweep_runs.SweepRunning, match=r"already running.*started by alice"):
        sweep_runs.begin(db, "bob", now=T0 + timedelta(minutes=1))
    sweep_runs.finish(db, run, "done", {"done": {"homeowners": 3}}, now=T0 + timedelta(minutes=2))
    ended = sweep_runs.current(db)
    assert ended is not None and (ended.state, ended.running, ended.percent) == ("done", False, 100)
    assert ended.summary == {"done": {"homeowners": 3}}
    assert sweep_runs.begin(db, "bob", now=T0 + timedelta(minutes=3)) != run


def test_stop_is_a_flag_the_job_reads_before_its_next_batch(db):
    assert sweep_runs.request_stop(db) is False  # nothing running
    run = sweep_runs.begin(db, "alice", now=T0)
    assert sweep_runs.stop_requested(db, run) is False
    assert sweep_runs.request_stop(db) is True
    assert sweep_runs.stop_requested(db, run) is True
    assert "stopping after this batch" in sweep_runs.current(db).describe()


def test_a_silent_run_is_taken_as_dead_after_five_minutes(db):
    dead = sweep_runs.begin(db, "alice", now=T0)
    sweep_runs.report(db, dead, "recordings", 10, 50, now=T0 + timedelta(minutes=1))
    with pytest.raises(sweep_runs.SweepRunning):
        sweep_runs.begin(db, "bob", now=T0 + timedelta(minutes=5, seconds=59))
    fresh = sweep_runs.begin(db, "bob", now=T0 + timedelta(minutes=6, seconds=1))
    assert fresh != dead and sweep_runs.current(db).started_by == "bob"
    with db.connect() as conn:
        state = conn.execute(
            sweep_runs.retention_run.select().where(sweep_runs.retention_run.c.id == dead)
        ).one()
    assert (state.state, state.live, state.handled) == ("interrupted", None, 10)


def test_two_officers_pressing_run_at_once_start_one_sweep(db):
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def press(who: str) -> None:
        barrier.wait()
        try:
            sweep_runs.begin(db, who, now=T0)
            outcomes.append("started")
        except sweep_runs.SweepRunning:
            outcomes.append("refused")
        except Exception as exc:  # SQLite: the loser may find the database locked
            outcomes.append(f"error: {exc}")

    threads = [threading.Thread(target=press, args=(w,)) for w in ("alice", "bob")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["refused", "started"]


def test_only_final_states_close_a_run(db):
    run = sweep_runs.begin(db, "alice", now=T0)
    with pytest.raises(ValueError, match="not a final state"):
        sweep_runs.finish(db, run, "running")

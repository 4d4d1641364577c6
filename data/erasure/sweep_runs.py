"""The retention sweep's progress, in the database, so that every page can show it and stop it.

Why the database
----------------
The sweep runs as a background job: in a disk-cache process on one machine, or in a Celery
worker when ``REDIS_URL`` is set, while the page that started it is served by one gunicorn
worker among several. Progress sent through the starting page's callback reached that page
only; an officer who opened ``/retention`` elsewhere (or reloaded) saw nothing, and could start
a second sweep beside the first. So each sweep is a row of ``retention_run``: the job writes its
progress there after every batch, any page polls the latest row (:func:`current`), Stop sets a
flag the job reads before its next batch (:func:`stop_requested`), and at most one row is live.

One live run
------------
``live`` is 1 while a run is running and NULL afterwards; a unique index on it lets at most one
running row exist, on SQLite and PostgreSQL alike, so two officers pressing Run at once get one
sweep and one clear refusal (:class:`SweepRunning`). A job killed without finishing leaves its
row live; once it has not reported for :data:`STALE_AFTER` it is marked ``interrupted`` and a
new sweep may start (the batches it finished are kept: each batch is its own transaction).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Engine,
    Index,
    Integer,
    String,
    Table,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from data.models import Base
from data.timeutil import sa_text, utcnow

#: A running sweep reports after every batch; one silent for this long is taken as dead.
STALE_AFTER = timedelta(minutes=5)
STATES = ("running", "done", "stopped", "failed", "interrupted")

retention_run = Table(
    "retention_run",
    Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("started_by", String(80), nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Column("state", String(12), nullable=False),
    Column("live", Integer),  # 1 while running, else NULL: the unique index allows one
    Column("rule", String(40)),
    Column("handled", Integer, nullable=False, default=0),
    Column("total", Integer, nullable=False, default=0),
    Column("stop_requested", Boolean, nullable=False, default=False),
    Column("summary", JSON),
    Index("ux_retention_run_live", "live", unique=True),
)


class SweepRunning(Exception):
    """Another sweep is running: say who started it and how far it is."""


@dataclass(frozen=True)
class Run:
    id: int
    started_by: str
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    state: str
    rule: str | None
    handled: int
    total: int
    stop_requested: bool
    summary: dict[str, Any] | None

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def percent(self) -> int:
        if self.total <= 0:
            return 0 if self.running else 100
        return min(100, round(100 * self.handled / self.total))

    def describe(self) -> str:
        """One line for the page: who, when, how far, and how it ended."""
        start = f"started by {self.started_by} at {sa_text(self.started_at)}"
        if self.running:
            doing = f" ({self.rule})" if self.rule else ""
            stopping = "; stopping after this batch" if self.stop_requested else ""
            return f"Running: {self.handled:,} / {self.total:,}{doing}, {start}{stopping}."
        ended = f" at {sa_text(self.finished_at)}" if self.finished_at else ""
        return f"Last sweep {self.state}{ended} ({start}): {self.handled:,} handled."


def _row_to_run(row: Any) -> Run:
    return Run(
        row.id,
        row.started_by,
        row.started_at,
        row.updated_at,
        row.finished_at,
        row.state,
        row.rule,
        int(row.handled or 0),
        int(row.total or 0),
        bool(row.stop_requested),
        row.summary,
    )


def current(engine: Engine) -> Run | None:
    """The live run, else the latest one; None before the first sweep."""
    with engine.connect() as conn:
        row = conn.execute(
            select(retention_run).order_by(retention_run.c.id.desc()).limit(1)
        ).first()
    return None if row is None else _row_to_run(row)


def begin(engine: Engine, started_by: str, now: datetime | None = None) -> int:
    """Open a run (its id), after marking a silent one ``interrupted``; raises
    :class:`SweepRunning` while another runs."""
    now = now or utcnow()
    with engine.begin() as conn:
        conn.execute(
            update(retention_run)
            .where(retention_run.c.live == 1, retention_run.c.updated_at < now - STALE_AFTER)
            .values(live=None, state="interrupted", finished_at=now)
        )
    try:
        with engine.begin() as conn:
            return int(
                conn.execute(
                    insert(retention_run)
                    .values(
                        started_by=started_by,
                        started_at=now,
                        updated_at=now,
                        state="running",
                        live=1,
                        handled=0,
                        total=0,
                        stop_requested=False,
                    )
                    .returning(retention_run.c.id)
                ).scalar_one()
            )
    except IntegrityError:
        running = current(engine)
        detail = f" {running.describe()}" if running is not None else ""
        raise SweepRunning(f"A sweep is already running.{detail}") from None


def report(
    engine: Engine, run_id: int, rule: str, handled: int, total: int, now: datetime | None = None
) -> None:
    """The job's progress after a batch (its own short transaction)."""
    with engine.begin() as conn:
        conn.execute(
            update(retention_run)
            .where(retention_run.c.id == run_id)
            .values(rule=rule, handled=handled, total=total, updated_at=now or utcnow())
        )


def stop_requested(engine: Engine, run_id: int) -> bool:
    with engine.connect() as conn:
        flag = conn.execute(
            select(retention_run.c.stop_requested).where(retention_run.c.id == run_id)
        ).scalar()
    return bool(flag)


def request_stop(engine: Engine) -> bool:
    """Ask the live run to stop after its current batch; False when none is running."""
    with engine.begin() as conn:
        result = conn.execute(
            update(retention_run).where(retention_run.c.live == 1).values(stop_requested=True)
        )
    return bool(result.rowcount)


def finish(
    engine: Engine,
    run_id: int,
    state: str,
    summary: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> None:
    """Close the run: ``done``, ``stopped`` or ``failed``, with the counts it reached."""
    if state not in STATES or state == "running":
        raise ValueError(f"not a final state: {state!r}")
    now = now or utcnow()
    with engine.begin() as conn:
        conn.execute(
            update(retention_run)
            .where(retention_run.c.id == run_id)
            .values(state=state, live=None, finished_at=now, updated_at=now, summary=summary)
        )

"""Bulk loading of column-oriented numpy data into SQLite and PostgreSQL, in parallel.

The demo generator produces whole tables as numpy columns; turning them into ORM objects would
cost minutes per million rows. Tables are handed to :class:`ParallelLoader`, which loads them in
forked worker processes (the data reaches them copy-on-write, never serialised) while the parent
goes on generating the next tables:

* SQLite (:mod:`data.demo.bulk_sqlite`) allows one writer per file, so each worker fills a
  private SQLite file with the same DDL (``executemany`` of Python values made by ``tolist`` in
  C; indexes built after the rows, by sorting once), and the parent copies it in with ``INSERT
  INTO main.t SELECT * FROM src.t``, which SQLite's transfer optimisation turns into a raw copy
  of records and index entries.
* PostgreSQL (:mod:`data.demo.bulk_postgres`): each worker truncates its tables and fills them
  with ``COPY ... (FORMAT binary, FREEZE)`` on its own connection, then rebuilds their secondary
  indexes (dropped by the parent when the job was planned). Binary tuples are assembled by numpy
  for a whole chunk at once, so no Python runs per row and the server parses no text. Foreign
  keys are dropped at the start and re-added and validated at the end: one join per key instead
  of one trigger call per row.

Column kinds (see :func:`column_kind`): integer arrays, masked integer arrays (NULLs), bool
arrays, float arrays (NaN is NULL), ``datetime64[s]`` arrays (NaT is NULL), :class:`Cat` (codes
into a small tuple of labels), and lists of ``str | None``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine

CHUNK_ROWS = 200_000


@dataclass(frozen=True)
class Cat:
    """A text column drawn from a small vocabulary: ``labels[codes[i]]`` (a None label is NULL).

    Rendering the vocabulary once and indexing it is much cheaper than a string per row.
    """

    codes: np.ndarray
    labels: tuple[str | None, ...]

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, key: slice) -> Cat:
        return Cat(self.codes[key], self.labels)


Column = np.ndarray | Cat | list


@dataclass
class TableData:
    """One table's rows as named columns of equal length, in insert order."""

    name: str
    columns: dict[str, Column]

    def __post_init__(self) -> None:
        lengths = {name: len(col) for name, col in self.columns.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"{self.name}: columns differ in length: {lengths}")

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0


def column_kind(col: Column) -> str:
    if isinstance(col, Cat):
        return "cat"
    if isinstance(col, list):
        return "text"
    if isinstance(col, np.ma.MaskedArray):
        return "nullable_int"
    if col.dtype == np.bool_:
        return "bool"
    if np.issubdtype(col.dtype, np.integer):
        return "int"
    if np.issubdtype(col.dtype, np.floating):
        return "float"
    if np.issubdtype(col.dtype, np.datetime64):
        return "datetime"
    if col.dtype == object:
        return "text"
    raise TypeError(f"unsupported column dtype {col.dtype}")


# --- parallel loading -----------------------------------------------------------------------


@dataclass
class LoadStats:
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def chunks(table: TableData) -> Iterator[list[Column]]:
    total = len(table)
    for lo in range(0, total, CHUNK_ROWS):
        hi = min(total, lo + CHUNK_ROWS)
        yield [c[lo:hi] for c in table.columns.values()]


@dataclass
class Job:
    """Tables loaded together by one worker, and what the backend needs to know about them."""

    number: int
    tables: list[TableData]
    spec: dict[str, Any] = field(default_factory=dict)
    pid: int | None = None
    started: float = 0.0

    @property
    def label(self) -> str:
        return ", ".join(t.name for t in self.tables)

    @property
    def rows(self) -> int:
        return sum(len(t) for t in self.tables)


class Backend:
    """Database-specific steps; ``run_job`` runs in a worker process, the rest in the parent."""

    def __init__(self, engine: Engine, workdir: Path) -> None:
        self.engine = engine
        self.workdir = workdir

    def prepare(self) -> None: ...

    def plan(self, job: Job) -> None: ...

    def run_job(self, job: Job) -> None:
        raise NotImplementedError

    def merge(self, job: Job) -> None: ...

    def finish(self, stats: LoadStats) -> None: ...

    def close(self) -> None: ...


class ParallelLoader:
    """Loads submitted jobs in forked worker processes, at most ``workers`` at a time.

    Generation of later tables continues in the parent while earlier ones load. A worker gets
    its tables through ``fork`` (copy-on-write, no serialisation) and reports through a small
    result file; a failure in any worker stops the load with that worker's traceback. Without
    ``os.fork`` (or with ``workers=0``) jobs run in-process, one after another.
    """

    def __init__(
        self,
        engine: Engine,
        progress: Callable[[str], None],
        started: float,
        workers: int | None = None,
    ) -> None:
        self.progress = progress
        self.started = started
        if workers is None:
            workers = min(2, os.cpu_count() or 1)
        self.workers = workers if hasattr(os, "fork") else 0
        self.stats = LoadStats()
        self._engine = engine
        self._running: list[Job] = []
        self._queue: list[Job] = []
        self._count = 0

    def elapsed(self) -> str:
        return f"{time.perf_counter() - self.started:6.1f} s"

    def __enter__(self) -> ParallelLoader:
        name = self._engine.dialect.name
        database = self._engine.url.database if name == "sqlite" else None
        parent = Path(database).resolve().parent if database and database != ":memory:" else None
        self._workdir = Path(tempfile.mkdtemp(prefix=".demo-load-", dir=parent))
        # imported here: each backend's module builds on this one's Backend and Job
        if name == "sqlite":
            from data.demo.bulk_sqlite import SQLiteBackend

            self.backend: Backend = SQLiteBackend(self._engine, self._workdir)
        elif name == "postgresql":
            from data.demo.bulk_postgres import PostgresBackend

            self.backend = PostgresBackend(self._engine, self._workdir)
        else:
            raise ValueError(f"no bulk loader for {name}")
        self.backend.prepare()
        return self

    def submit(self, *tables: TableData) -> None:
        """Queue tables to be loaded together by one worker; starts it when a slot is free."""
        self._count += 1
        job = Job(self._count, list(tables))
        self.backend.plan(job)
        self._queue.append(job)
        self._pump(block=False)

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                while self._queue or self._running:
                    self._pump(block=True)
                self.backend.finish(self.stats)
        except BaseException:
            self._kill()
            raise
        finally:
            if exc_type is not None:
                self._kill()
            self.backend.close()
            shutil.rmtree(self._workdir, ignore_errors=True)

    def _pump(self, *, block: bool) -> None:
        """Reap finished workers and start queued jobs in free slots; with ``block``, return
        only once a job has finished or nothing is running. Our own children are polled by pid
        (never ``os.wait()``, which could reap a child that belongs to someone else)."""
        while True:
            done = []
            for job in list(self._running):
                pid, status = os.waitpid(job.pid or 0, os.WNOHANG)
                if pid:
                    self._running.remove(job)
                    done.append((job, status))
            # the freed slots are filled before merging (a merge builds word indexes: seconds)
            while self._queue and len(self._running) < max(self.workers, 1):
                self._start(self._queue.pop(0))
            for job, status in done:
                self._finished(job, status)
            if not block or done or not self._running:
                return
            time.sleep(0.05)

    def _start(self, job: Job) -> None:
        job.started = time.perf_counter()
        self.progress(f"  loading {job.label}: {job.rows:,} rows  [{self.elapsed()}]")
        if self.workers == 0:
            self.backend.run_job(job)
            self._finished(job, 0)
            return
        result = self._workdir / f"job-{job.number}.err"
        pid = os.fork()
        if pid == 0:  # the worker: load, report, and leave without running parent cleanup
            code = 1
            try:
                self.backend.run_job(job)
                code = 0
            except BaseException:
                result.write_text(traceback.format_exc())
            finally:
                os._exit(code)
        job.pid = pid
        self._running.append(job)

    def _finished(self, job: Job, status: int) -> None:
        """Merge a job whose worker has exited (``status`` 0: in-process, it succeeded)."""
        if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
            report = self._workdir / f"job-{job.number}.err"
            detail = report.read_text() if report.exists() else f"exit status {status}"
            raise RuntimeError(f"loading {job.label} failed:\n{detail}")
        merging = time.perf_counter()
        self.backend.merge(job)
        now = time.perf_counter()
        for table in job.tables:
            self.stats.rows[table.name] = len(table)
        self.stats.seconds[job.label] = now - job.started
        merged = f", merged in {now - merging:.1f} s" if now - merging > 0.05 else ""
        self.progress(
            f"  {job.label}: {job.rows:,} rows loaded in {now - job.started:.1f} s{merged}"
            f"  [{self.elapsed()}]"
        )

    def _kill(self) -> None:
        for job in self._running:
            if job.pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(job.pid, signal.SIGTERM)
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(job.pid, 0)
        self._running.clear()
        self._queue.clear()

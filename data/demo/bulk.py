"""Bulk loading of column-oriented numpy data into SQLite and PostgreSQL.

The demo generator produces whole tables as numpy columns; turning them into ORM objects would
cost minutes per million rows. Instead each loader converts a chunk of columns at a time:

* SQLite: Python values per column (``tolist`` is done in C), ``executemany`` inside one
  transaction with foreign-key checks and journalling off for the load.
* PostgreSQL: ``COPY ... FROM STDIN`` in text format. Every field is rendered into a fixed-width
  byte matrix (NUL-padded) by numpy, and the NUL padding is squeezed out in one pass, so no
  Python code runs per row. Foreign keys are dropped and re-added (re-adding validates them with
  one join per key instead of one trigger call per row).

On both, the secondary indexes that Alembic created are dropped before a table is loaded and
re-created from their own definitions afterwards: building an index by sorting once is several
times faster than maintaining it row by row.

Column kinds (see :func:`column_kind`): integer arrays, masked integer arrays (NULLs), bool
arrays, float arrays (NaN is NULL; written with two decimals), ``datetime64[s]`` arrays (NaT is
NULL), :class:`Cat` (codes into a small tuple of labels), and lists of ``str | None``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import sqlite3
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from sqlalchemy import Engine

CHUNK_ROWS = 200_000
_TEXT_SPECIALS = re.compile(r"[\\\t\n\r]")
_TEXT_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NULL = b"\\N"


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


# --- datetimes ------------------------------------------------------------------------------

_TIME_OF_DAY: dict[bool, np.ndarray] = {}


def _time_of_day_table(micro: bool) -> np.ndarray:
    """`` HH:MM:SS`` (plus ``.000000`` for SQLite) for every second of a day, as bytes."""
    if micro not in _TIME_OF_DAY:
        suffix = ".000000" if micro else ""
        _TIME_OF_DAY[micro] = np.array(
            [
                f" {h:02d}:{m:02d}:{s:02d}{suffix}"
                for h in range(24)
                for m in range(60)
                for s in range(60)
            ],
            dtype="S16" if micro else "S9",
        )
    return _TIME_OF_DAY[micro]


def datetime_bytes(values: np.ndarray, *, micro: bool) -> tuple[np.ndarray, np.ndarray]:
    """Render ``datetime64`` values as fixed-width bytes ``YYYY-MM-DD HH:MM:SS[.000000]``.

    Day and time-of-day strings come from lookup tables (a few hundred days, 86,400 seconds),
    which is ~10x faster than ``np.datetime_as_string``. Returns (S19/S26 array, NaT mask).
    """
    nat = np.isnat(values)
    secs = values.astype("datetime64[s]").astype(np.int64)
    if nat.any():
        secs = secs.copy()
        secs[nat] = secs[~nat][0] if (~nat).any() else 0
    days = np.floor_divide(secs, 86_400)
    first = int(days.min()) if len(days) else 0
    last = int(days.max()) if len(days) else 0
    day_table = np.datetime_as_string(np.arange(first, last + 1).astype("datetime64[D]")).astype(
        "S10"
    )
    width = 26 if micro else 19
    out = np.empty(len(values), dtype=[("d", "S10"), ("t", f"S{width - 10}")])
    out["d"] = day_table[days - first]
    out["t"] = _time_of_day_table(micro)[secs - days * 86_400]
    return out.view(f"S{width}"), nat


# --- SQLite values --------------------------------------------------------------------------


def _with_nulls(values: list, mask: np.ndarray) -> list:
    if not mask.any():
        return values
    obj = np.array(values, dtype=object)
    obj[mask] = None
    return obj.tolist()


def sqlite_values(col: Column) -> list:
    """A column chunk as Python values the sqlite3 module binds directly."""
    kind = column_kind(col)
    if kind == "int":
        return col.tolist()
    if kind == "bool":
        return col.astype(np.int8).tolist()
    if kind == "nullable_int":
        return _with_nulls(col.data.tolist(), np.ma.getmaskarray(col))
    if kind == "float":
        return _with_nulls(col.tolist(), np.isnan(col))
    if kind == "datetime":
        text, nat = datetime_bytes(col, micro=True)
        return _with_nulls(text.astype("U26").tolist(), nat)
    if kind == "cat":
        return np.array(col.labels, dtype=object)[col.codes].tolist()
    return list(col)


# --- PostgreSQL COPY text -------------------------------------------------------------------

_DIGITS4 = np.array([f"{i:04d}" for i in range(10_000)], dtype="S4").view(np.uint8).reshape(-1, 4)


def _int_matrix(values: np.ndarray, width: int | None = None) -> np.ndarray:
    """Zero-padded decimal digits of non-negative integers (PostgreSQL accepts leading zeros)."""
    v = values.astype(np.int64)
    if len(v) and v.min() < 0:
        raise ValueError("COPY encoder handles non-negative integers only")
    if width is None:
        top = int(v.max()) if len(v) else 0
        width = max(1, len(str(top)))
    groups = (width + 3) // 4
    out = np.empty((len(v), groups * 4), dtype=np.uint8)
    for g in range(groups - 1, -1, -1):
        out[:, g * 4 : g * 4 + 4] = _DIGITS4[v % 10_000]
        v = v // 10_000
    return out[:, groups * 4 - width :] if groups * 4 > width else out


def _null_rows(matrix: np.ndarray, mask: np.ndarray) -> np.ndarray:
    if mask.any():
        if matrix.shape[1] < 2:
            matrix = np.hstack([matrix, np.zeros((len(matrix), 2 - matrix.shape[1]), np.uint8)])
        matrix[mask] = 0
        matrix[mask, 0:2] = np.frombuffer(_NULL, dtype=np.uint8)
    return matrix


def _bytes_matrix(values: np.ndarray) -> np.ndarray:
    """An ``S<n>`` array as an (rows, n) uint8 matrix (NUL padding included)."""
    width = values.dtype.itemsize
    if width == 0:
        return np.zeros((len(values), 1), dtype=np.uint8)
    return np.ascontiguousarray(values).view(np.uint8).reshape(len(values), width)


def _escape_text(value: str) -> str:
    return value.translate(_TEXT_ESCAPES) if _TEXT_SPECIALS.search(value) else value


def copy_matrix(col: Column) -> np.ndarray:
    """A column chunk as an (rows, width) uint8 matrix of COPY text fields, NUL-padded."""
    kind = column_kind(col)
    if kind == "int":
        return _int_matrix(col)
    if kind == "bool":
        return np.where(col, ord("t"), ord("f")).astype(np.uint8).reshape(-1, 1)
    if kind == "nullable_int":
        mask = np.ma.getmaskarray(col)
        return _null_rows(_int_matrix(np.where(mask, 0, col.data)), mask)
    if kind == "float":
        mask = np.isnan(col)
        cents = np.rint(np.where(mask, 0.0, col) * 100).astype(np.int64)
        whole = _int_matrix(cents // 100)
        dot = np.full((len(col), 1), ord("."), dtype=np.uint8)
        return _null_rows(np.hstack([whole, dot, _int_matrix(cents % 100, 2)]), mask)
    if kind == "datetime":
        text, nat = datetime_bytes(col, micro=False)
        return _null_rows(_bytes_matrix(text).copy(), nat)
    if kind == "cat":
        labels = [_NULL if x is None else _escape_text(x).encode() for x in col.labels]
        table = _bytes_matrix(np.array(labels, dtype="S"))
        return table[col.codes]
    strings = list(col)
    joined = "".join(s for s in strings if s)
    if _TEXT_SPECIALS.search(joined):
        strings = [None if s is None else _escape_text(s) for s in strings]
    encoded = [_NULL if s is None else s.encode() for s in strings]
    return _bytes_matrix(np.array(encoded, dtype="S"))


def copy_payload(columns: Sequence[Column]) -> bytes:
    """Tab-separated, newline-terminated COPY text for a chunk of rows."""
    parts = [copy_matrix(col) for col in columns]
    rows = len(parts[0])
    width = sum(p.shape[1] for p in parts) + len(parts)
    buffer = np.zeros((rows, width), dtype=np.uint8)
    at = 0
    for i, part in enumerate(parts):
        buffer[:, at : at + part.shape[1]] = part
        at += part.shape[1]
        buffer[:, at] = ord("\n") if i == len(parts) - 1 else ord("\t")
        at += 1
    flat = buffer.reshape(-1)
    return flat[flat != 0].tobytes()


# --- parallel loading -----------------------------------------------------------------------


@dataclass
class LoadStats:
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _chunks(table: TableData) -> Iterator[list[Column]]:
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


class SQLiteBackend(Backend):
    """Workers fill private SQLite files (same DDL, indexes built by sorting once); the parent
    copies each table in with ``INSERT INTO main.t SELECT * FROM src.t``.

    With identical schemas, an empty destination and foreign keys off, SQLite's transfer
    optimisation copies records and index entries without decoding them, so the parent's share
    of the work is small and the Python-heavy ``executemany`` runs on several cores at once.
    The main file's journal is kept in memory during the load (an error still rolls back);
    WAL mode is restored afterwards.
    """

    def prepare(self) -> None:
        self.engine.dispose()  # no idle pooled connection may block the journal-mode change
        self._raw = self.engine.raw_connection()
        con = self._raw.driver_connection
        self._isolation = con.isolation_level
        con.isolation_level = None
        for pragma in (
            "PRAGMA foreign_keys=OFF",
            "PRAGMA journal_mode=MEMORY",
            "PRAGMA synchronous=OFF",
            "PRAGMA cache_size=-200000",
        ):
            con.execute(pragma)

    def plan(self, job: Job) -> None:
        con = self._raw.driver_connection
        ddl = {}
        for table in job.tables:
            rows = con.execute(
                "SELECT type, sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL "
                "ORDER BY type = 'index', name",
                (table.name,),
            ).fetchall()
            if not rows or rows[0][0] != "table":
                raise ValueError(f"table {table.name!r} is not in the schema")
            ddl[table.name] = [sql for _type, sql in rows]
        job.spec = {"path": str(self.workdir / f"job-{job.number}.db"), "ddl": ddl}

    def run_job(self, job: Job) -> None:
        con = sqlite3.connect(job.spec["path"], isolation_level=None)
        for pragma in (
            "PRAGMA journal_mode=OFF",
            "PRAGMA synchronous=OFF",
            "PRAGMA cache_size=-200000",
            "PRAGMA temp_store=MEMORY",
        ):
            con.execute(pragma)
        con.execute("BEGIN")
        for table in job.tables:
            create_table, *create_indexes = job.spec["ddl"][table.name]
            con.execute(create_table)
            names = list(table.columns)
            sql = (
                f"INSERT INTO {_quote(table.name)} ({', '.join(_quote(n) for n in names)}) "
                f"VALUES ({', '.join('?' for _ in names)})"
            )
            for columns in _chunks(table):
                con.executemany(sql, zip(*[sqlite_values(c) for c in columns]))
            for statement in create_indexes:
                con.execute(statement)
        con.execute("COMMIT")
        con.close()

    def merge(self, job: Job) -> None:
        con = self._raw.driver_connection
        con.execute("ATTACH DATABASE ? AS demo_load", (job.spec["path"],))
        try:
            con.execute("BEGIN")
            for table in job.tables:
                name = _quote(table.name)
                con.execute(f"INSERT INTO main.{name} SELECT * FROM demo_load.{name}")
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        finally:
            con.execute("DETACH DATABASE demo_load")
        Path(job.spec["path"]).unlink()

    def finish(self, stats: LoadStats) -> None:
        began = time.perf_counter()
        self._raw.driver_connection.execute("ANALYZE")
        stats.seconds["analyze"] = time.perf_counter() - began

    def close(self) -> None:
        con = self._raw.driver_connection
        try:
            if con.in_transaction:
                con.execute("ROLLBACK")
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            con.execute("PRAGMA foreign_keys=ON")
            con.isolation_level = self._isolation
        finally:
            self._raw.close()
            self.engine.dispose()


class PostgresBackend(Backend):
    """Workers ``TRUNCATE`` and ``COPY ... FREEZE`` their tables on their own connections and
    rebuild those tables' indexes; the parent drops foreign keys first and re-adds them at the
    end (``NOT VALID``, then validated two at a time), resets sequences and analyses.

    ``FREEZE`` (allowed because the table was truncated in the same transaction) writes the rows
    already frozen, so the first reads after the load do not rewrite every page.
    """

    def _connect(self) -> psycopg.Connection:
        args, kwargs = self.engine.dialect.create_connect_args(self.engine.url)
        return psycopg.connect(*args, **kwargs)

    def prepare(self) -> None:
        self._conn = self._connect()
        self._conn.autocommit = True
        self._loaded: list[tuple[str, bool]] = []
        self._foreign_keys = self._conn.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE contype = 'f' "
            "AND connamespace = current_schema()::regnamespace ORDER BY 1, 2"
        ).fetchall()
        with self._conn.transaction():
            for table, name, _definition in self._foreign_keys:
                self._conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT {_quote(name)}")

    def plan(self, job: Job) -> None:
        indexes = {}
        with self._conn.transaction():
            for table in job.tables:
                self._loaded.append((table.name, "id" in table.columns))
                rows = self._conn.execute(
                    "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) "
                    "FROM pg_index i WHERE i.indrelid = %s::regclass AND NOT EXISTS "
                    "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1",
                    (_quote(table.name),),
                ).fetchall()
                for name, _definition in rows:
                    self._conn.execute(f"DROP INDEX {name}")
                indexes[table.name] = [definition for _name, definition in rows]
        job.spec = {"indexes": indexes}

    def run_job(self, job: Job) -> None:
        with self._connect() as conn:
            conn.execute("SET synchronous_commit = off")
            conn.execute("SET maintenance_work_mem = '256MB'")
            for table in job.tables:
                name = _quote(table.name)
                conn.execute(f"TRUNCATE {name}")
                cols = ", ".join(_quote(n) for n in table.columns)
                with conn.cursor().copy(f"COPY {name} ({cols}) FROM STDIN WITH (FREEZE)") as copy:
                    for columns in _chunks(table):
                        copy.write(copy_payload(columns))
                for statement in job.spec["indexes"][table.name]:
                    conn.execute(statement)
            conn.commit()

    def finish(self, stats: LoadStats) -> None:
        began = time.perf_counter()
        with self._conn.transaction():
            for table, name, definition in self._foreign_keys:
                self._conn.execute(
                    f"ALTER TABLE {table} ADD CONSTRAINT {_quote(name)} {definition} NOT VALID"
                )
        self._in_parallel(
            [f"ALTER TABLE {t} VALIDATE CONSTRAINT {_quote(n)}" for t, n, _d in self._foreign_keys]
        )
        stats.seconds["foreign_keys"] = time.perf_counter() - began
        for table, has_id in self._loaded:
            if not has_id:
                continue
            sequence = self._conn.execute(
                "SELECT pg_get_serial_sequence(%s, 'id')", (_quote(table),)
            ).fetchone()[0]
            if sequence:
                self._conn.execute(
                    f"SELECT setval(%s, COALESCE((SELECT MAX(id) FROM {_quote(table)}), 0) + 1,"
                    " false)",
                    (sequence,),
                )
        began = time.perf_counter()
        self._in_parallel([f"ANALYZE {_quote(t)}" for t, _ in self._loaded])
        stats.seconds["analyze"] = time.perf_counter() - began

    def _in_parallel(self, statements: list[str], connections: int = 2) -> None:
        """Run independent statements on a few connections at once (the server does the work)."""

        def run(batch: list[str]) -> None:
            with self._connect() as conn:
                conn.autocommit = True
                for statement in batch:
                    conn.execute(statement)

        batches = [statements[i::connections] for i in range(connections)]
        with ThreadPoolExecutor(connections) as pool:
            for future in [pool.submit(run, b) for b in batches if b]:
                future.result()

    def close(self) -> None:
        self._conn.close()


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
        self._workdir = Path(tempfile.mkdtemp(prefix="demo-load-", dir=parent))
        if name == "sqlite":
            self.backend: Backend = SQLiteBackend(self._engine, self._workdir)
        elif name == "postgresql":
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
            finished = False
            for job in list(self._running):
                pid, status = os.waitpid(job.pid or 0, os.WNOHANG)
                if pid:
                    self._finished(job, status)
                    finished = True
            while self._queue and len(self._running) < max(self.workers, 1):
                self._start(self._queue.pop(0))
            if not block or finished or not self._running:
                return
            time.sleep(0.05)

    def _start(self, job: Job) -> None:
        job.started = time.perf_counter()
        self.progress(f"  loading {job.label}: {job.rows:,} rows  [{self.elapsed()}]")
        if self.workers == 0:
            self.backend.run_job(job)
            self._finished(job, 0, in_process=True)
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

    def _finished(self, job: Job, status: int, *, in_process: bool = False) -> None:
        if not in_process:
            self._running.remove(job)
            if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
                report = self._workdir / f"job-{job.number}.err"
                detail = report.read_text() if report.exists() else f"exit status {status}"
                raise RuntimeError(f"loading {job.label} failed:\n{detail}")
        self.backend.merge(job)
        seconds = time.perf_counter() - job.started
        for table in job.tables:
            self.stats.rows[table.name] = len(table)
        self.stats.seconds[job.label] = seconds
        self.progress(
            f"  {job.label}: {job.rows:,} rows loaded in {seconds:.1f} s  [{self.elapsed()}]"
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

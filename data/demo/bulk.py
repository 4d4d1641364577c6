"""Bulk loading of column-oriented numpy data into SQLite and PostgreSQL, in parallel.

The demo generator produces whole tables as numpy columns; turning them into ORM objects would
cost minutes per million rows. Tables are handed to :class:`ParallelLoader`, which loads them in
forked worker processes (the data reaches them copy-on-write, never serialised) while the parent
goes on generating the next tables:

* SQLite allows one writer per file, so each worker fills a private SQLite file with the same
  DDL (``executemany`` of Python values made by ``tolist`` in C; indexes built after the rows,
  by sorting once), and the parent copies it in with ``INSERT INTO main.t SELECT * FROM src.t``,
  which SQLite's transfer optimisation turns into a raw copy of records and index entries.
* PostgreSQL: each worker truncates its tables and fills them with ``COPY ... (FORMAT binary,
  FREEZE)`` on its own connection, then rebuilds their secondary indexes (dropped by the parent
  when the job was planned). Binary tuples are assembled by numpy for a whole chunk at once, so no
  Python runs per row and the server parses no text. Foreign keys are dropped at the start and
  re-added and validated at the end: one join per key instead of one trigger call per row.

Column kinds (see :func:`column_kind`): integer arrays, masked integer arrays (NULLs), bool
arrays, float arrays (NaN is NULL), ``datetime64[s]`` arrays (NaT is NULL), :class:`Cat` (codes
into a small tuple of labels), and lists of ``str | None``.
"""

from __future__ import annotations

import contextlib
import os
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
from sqlalchemy import Engine, Table

from data.erasure import coverage, search_index, vocabulary
from data.schema import load_all_models

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


# --- SQLite values --------------------------------------------------------------------------

_TIME_OF_DAY: list[np.ndarray] = []


def _time_of_day_table() -> np.ndarray:
    """`` HH:MM:SS.000000`` for every second of a day, as bytes (built once)."""
    if not _TIME_OF_DAY:
        _TIME_OF_DAY.append(
            np.array(
                [
                    f" {h:02d}:{m:02d}:{s:02d}.000000"
                    for h in range(24)
                    for m in range(60)
                    for s in range(60)
                ],
                dtype="S16",
            )
        )
    return _TIME_OF_DAY[0]


def sqlite_datetimes(values: np.ndarray) -> list[str | None]:
    """``datetime64`` values as SQLAlchemy stores them on SQLite: ``YYYY-MM-DD HH:MM:SS.000000``.

    The same text as the ORM writes, so that comparisons with bound datetimes (which SQLite
    makes as strings) behave identically. Day and time-of-day parts come from lookup tables,
    about ten times faster than ``np.datetime_as_string``.
    """
    nat = np.isnat(values)
    secs = values.astype("datetime64[s]").astype(np.int64)
    if nat.any():
        secs = np.where(nat, secs[~nat][0] if (~nat).any() else 0, secs)
    days = np.floor_divide(secs, 86_400)
    first = int(days.min()) if len(days) else 0
    last = int(days.max()) if len(days) else 0
    day_table = np.datetime_as_string(np.arange(first, last + 1).astype("datetime64[D]"))
    out = np.empty(len(values), dtype=[("d", "S10"), ("t", "S16")])
    out["d"] = day_table.astype("S10")[days - first]
    out["t"] = _time_of_day_table()[secs - days * 86_400]
    return _with_nulls(out.view("S26").astype("U26").tolist(), nat)


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
        return sqlite_datetimes(col)
    if kind == "cat":
        return np.array(col.labels, dtype=object)[col.codes].tolist()
    return list(col)


# --- PostgreSQL binary COPY -----------------------------------------------------------------

COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8  # signature, flags, extension length
COPY_TRAILER = b"\xff\xff"
_PG_EPOCH = 946_684_800  # 2000-01-01T00:00:00 in Unix seconds: PostgreSQL's timestamp zero
_PG_INTS = {"int2": ">i2", "int4": ">i4", "int8": ">i8"}
_PG_TEXT = ("varchar", "text", "bpchar")


@dataclass(frozen=True)
class PgType:
    """A column's PostgreSQL type as binary COPY must spell it (``numeric`` needs its scale)."""

    name: str
    scale: int = 0


def _bytes_matrix(values: np.ndarray) -> np.ndarray:
    """An ``S<n>`` array as an (rows, n) uint8 matrix (NUL padding included)."""
    width = values.dtype.itemsize
    if width == 0:
        return np.zeros((len(values), 1), dtype=np.uint8)
    return np.ascontiguousarray(values).view(np.uint8).reshape(len(values), width)


def _big_endian(values: np.ndarray, dtype: str) -> np.ndarray:
    return np.ascontiguousarray(values.astype(dtype)).view(np.uint8).reshape(len(values), -1)


def _text_field(col: Column) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(col, Cat):
        labels = [b"" if x is None else x.encode() for x in col.labels]
        table = _bytes_matrix(np.array(labels, dtype="S"))
        lengths = np.array(
            [-1 if x is None else len(b) for x, b in zip(col.labels, labels, strict=True)],
            dtype=np.int32,
        )
        return table[col.codes], lengths[col.codes]
    encoded = [b"" if s is None else s.encode() for s in col]
    lengths = np.fromiter(
        (-1 if s is None else len(b) for s, b in zip(col, encoded, strict=True)),
        dtype=np.int32,
        count=len(encoded),
    )
    return _bytes_matrix(np.array(encoded, dtype="S")), lengths


def _numeric_field(values: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """NUMERIC in PostgreSQL's base-10,000 binary form: three integer digit groups (values
    below 10^12) and one fractional group; the server strips the leading zero groups."""
    null = np.isnan(values)
    if scale > 4:
        raise ValueError("numeric scale above 4 is not supported by the demo loader")
    scaled = np.rint(np.where(null, 0.0, values) * 10**scale).astype(np.int64)
    sign = np.where(scaled < 0, 0x4000, 0)
    whole, frac = np.divmod(np.abs(scaled), 10**scale)
    if len(whole) and whole.max() >= 10**12:
        raise ValueError("numeric value too large for the demo loader")
    header = np.empty((len(values), 4), dtype=np.int64)
    header[:, 0], header[:, 1], header[:, 2], header[:, 3] = 4, 2, sign, scale
    digits = np.stack(
        [whole // 10**8, (whole // 10**4) % 10**4, whole % 10**4, frac * 10 ** (4 - scale)],
        axis=1,
    )
    data = _big_endian(np.hstack([header, digits]).reshape(-1), ">i2").reshape(len(values), 16)
    return data, np.where(null, -1, 16).astype(np.int32)


def binary_field(col: Column, pg_type: PgType) -> tuple[np.ndarray, np.ndarray]:
    """A column chunk as (rows × width bytes, byte length per row with -1 for NULL)."""
    kind = column_kind(col)
    n = len(col)
    null = np.zeros(n, dtype=bool)
    if pg_type.name in _PG_TEXT:
        if kind not in ("text", "cat"):
            raise TypeError(f"{kind} column for a {pg_type.name} field")
        return _text_field(col)
    if pg_type.name in _PG_INTS:
        if kind == "nullable_int":
            null = np.ma.getmaskarray(col)
            col = col.filled(0)
        elif kind not in ("int", "bool"):
            raise TypeError(f"{kind} column for an integer field")
        data = _big_endian(np.asarray(col), _PG_INTS[pg_type.name])
    elif pg_type.name == "bool":
        data = np.asarray(col, dtype=np.uint8).reshape(n, 1)
    elif pg_type.name == "timestamp":
        null = np.isnat(col)
        seconds = np.where(null, _PG_EPOCH, col.astype("datetime64[s]").astype(np.int64))
        data = _big_endian((seconds - _PG_EPOCH) * 1_000_000, ">i8")
    elif pg_type.name == "numeric":
        return _numeric_field(np.asarray(col, dtype=float), pg_type.scale)
    else:
        raise TypeError(f"no binary COPY encoder for PostgreSQL type {pg_type.name}")
    return data, np.where(null, -1, data.shape[1]).astype(np.int32)


def copy_binary_rows(columns: Sequence[Column], types: Sequence[PgType]) -> bytes:
    """Binary COPY tuples for a chunk of rows (without the stream's signature and trailer).

    Every row is first laid out at a fixed width, with a keep-mask that drops the data bytes of
    NULLs and the padding of shorter texts; one boolean index then packs all rows at once.
    """
    fields = [binary_field(c, t) for c, t in zip(columns, types, strict=True)]
    n = len(fields[0][1])
    width = 2 + sum(4 + data.shape[1] for data, _ in fields)
    buffer = np.empty((n, width), dtype=np.uint8)
    keep = np.ones((n, width), dtype=bool)
    buffer[:, 0:2] = np.frombuffer(len(fields).to_bytes(2, "big"), dtype=np.uint8)
    at = 2
    for data, length in fields:
        buffer[:, at : at + 4] = _big_endian(length, ">i4")
        w = data.shape[1]
        buffer[:, at + 4 : at + 4 + w] = data
        keep[:, at + 4 : at + 4 + w] = np.arange(w)[None, :] < np.maximum(length, 0)[:, None]
        at += 4 + w
    return buffer[keep].tobytes()


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


#: A private scratch file (a loading job's, the derived tables' worker's): thrown away if
#: anything fails, so no journal and no flushes to disk.
SCRATCH_PRAGMAS = (
    "PRAGMA journal_mode=OFF",
    "PRAGMA synchronous=OFF",
    "PRAGMA cache_size=-200000",
    "PRAGMA temp_store=MEMORY",
)


def sqlite_table_ddl(con: sqlite3.Connection, name: str) -> list[str]:
    """The table's ``CREATE TABLE`` then its ``CREATE INDEX`` statements, as the database has
    them: a scratch file made with the same DDL lets SQLite copy raw records between the two
    (its transfer optimisation). Not its triggers."""
    rows = con.execute(
        "SELECT type, sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL "
        "AND type IN ('table', 'index') ORDER BY type = 'index', name",
        (name,),
    ).fetchall()
    if not rows or rows[0][0] != "table":
        raise ValueError(f"table {name!r} is not in the schema")
    return [sql for _type, sql in rows]


def copy_in(
    con: sqlite3.Connection,
    path: str,
    alias: str,
    names: Sequence[str],
    replace: bool = False,
    statistics: bool = False,
) -> None:
    """Copy these tables' rows from the scratch file ``path`` into the database, in one
    transaction (``replace``: their rows are deleted first). ``con`` is in autocommit mode.
    Same DDL on both sides lets SQLite copy raw records (:func:`sqlite_table_ddl`).
    ``statistics``: their rows of ``sqlite_stat1`` too (the file's ``ANALYZE``; both sides
    must have that table), in force once the schema is read again."""
    con.execute(f"ATTACH DATABASE ? AS {alias}", (path,))
    try:
        con.execute("BEGIN")
        for name in names:
            quoted = _quote(name)
            if replace:
                con.execute(f"DELETE FROM main.{quoted}")  # noqa: S608
            con.execute(f"INSERT INTO main.{quoted} SELECT * FROM {alias}.{quoted}")  # noqa: S608
        if statistics:
            marks = ", ".join("?" for _ in names)
            con.execute(f"DELETE FROM main.sqlite_stat1 WHERE tbl IN ({marks})", names)  # noqa: S608
            con.execute(
                f"INSERT INTO main.sqlite_stat1 SELECT * FROM {alias}.sqlite_stat1 "  # noqa: S608
                f"WHERE tbl IN ({marks})",
                names,
            )
        con.execute("COMMIT")
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
    finally:
        con.execute(f"DETACH DATABASE {alias}")


def search_tables(con: sqlite3.Connection) -> list[Table]:
    """The tables that have a word index in this SQLite database (a migrated one: all of
    :data:`search_index.SEARCHED`)."""
    names = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    tables = load_all_models().tables
    return [tables[n] for n in search_index.SEARCHED if search_index.fts_name(n) in names]


class SQLiteBackend(Backend):
    """Workers fill private SQLite files (same DDL, indexes built by sorting once); the parent
    copies each table in with ``INSERT INTO main.t SELECT * FROM src.t``.

    With identical schemas, an empty destination and foreign keys off, SQLite's transfer
    optimisation copies records and index entries without decoding them, so the parent's share
    of the work is small and the Python-heavy ``executemany`` runs on several cores at once.
    The main file's journal is kept in memory during the load (an error still rolls back);
    WAL mode is restored afterwards.

    Each worker also analyses its tables in its file, and the merge copies their rows of
    ``sqlite_stat1`` (the same data and indexes give the same statistics; ``ANALYZE
    sqlite_master`` at the end loads them), and a table's word index is built as soon as the
    table is in: both used to run after the last table, on one core, for ~25 s at 1M leads,
    while the other sat idle.
    """

    def prepare(self) -> None:
        database = self.engine.url.database
        self._file = bool(database) and database != ":memory:"
        if self._file:  # no idle pooled connection may block the journal-mode change
            self.engine.dispose()
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
        # The erasure scan's word indexes and code vocabularies: their triggers would index row
        # by row (and stop the transfer optimisation); dropped here, built once in finish().
        self._searched = search_tables(con)
        for statement in search_index.drop_statements("sqlite", self._searched):
            con.execute(statement)
        self._indexed: set[str] = set()  # tables whose word index is built again
        self._analysed: set[str] = set()  # tables whose statistics came from their worker
        self._index_seconds = 0.0
        if not con.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone():
            con.execute("ANALYZE")  # creates sqlite_stat1 (a fresh schema: every table empty)
        for statement in vocabulary.drop_statements("sqlite", coverage.vocabulary_tables()):
            con.execute(statement)

    def plan(self, job: Job) -> None:
        con = self._raw.driver_connection
        ddl = {}
        for table in job.tables:
            ddl[table.name] = sqlite_table_ddl(con, table.name)
        job.spec = {"path": str(self.workdir / f"job-{job.number}.db"), "ddl": ddl}

    def run_job(self, job: Job) -> None:
        con = sqlite3.connect(job.spec["path"], isolation_level=None)
        for pragma in SCRATCH_PRAGMAS:
            con.execute(pragma)
        con.execute("BEGIN")
        for table in job.tables:
            create_table, *create_indexes = job.spec["ddl"][table.name]
            con.execute(create_table)
            names = list(table.columns)
            # Identifiers come from the schema and are quoted; values are bound.
            sql = (
                f"INSERT INTO {_quote(table.name)} ({', '.join(_quote(n) for n in names)}) "  # noqa: S608
                f"VALUES ({', '.join('?' for _ in names)})"
            )
            for columns in _chunks(table):
                con.executemany(sql, zip(*[sqlite_values(c) for c in columns], strict=True))
            for statement in create_indexes:
                con.execute(statement)
            con.execute(f"ANALYZE {_quote(table.name)}")
        con.execute("COMMIT")
        con.close()

    def merge(self, job: Job) -> None:
        con = self._raw.driver_connection
        names = [t.name for t in job.tables]
        copy_in(con, job.spec["path"], "demo_load", names, statistics=True)
        Path(job.spec["path"]).unlink()
        self._analysed.update(names)
        began = time.perf_counter()
        for table in self._searched:
            if table.name in names:
                for statement in search_index.create_statements("sqlite", [table]):
                    con.execute(statement)
                self._indexed.add(table.name)
        self._index_seconds += time.perf_counter() - began

    def finish(self, stats: LoadStats) -> None:
        con = self._raw.driver_connection
        began = time.perf_counter()
        rest = [t for t in self._searched if t.name not in self._indexed]  # tables never loaded
        for statement in search_index.create_statements("sqlite", rest):
            con.execute(statement)
        if self._searched:  # a migrated schema: the code vocabularies too
            tables = coverage.vocabulary_tables()
            for statement in vocabulary.create_statements("sqlite", tables):
                con.execute(statement)
        stats.seconds["search_index"] = self._index_seconds + time.perf_counter() - began
        began = time.perf_counter()
        names = con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%'"
            " AND name NOT LIKE 'sqlite_%'"
        ).fetchall()
        for (name,) in names:  # the rest: the word indexes' own tables, the vocabulary, …
            if name not in self._analysed:
                con.execute(f"ANALYZE {_quote(name)}")
        con.execute("ANALYZE sqlite_master")  # the statistics copied in, read again
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
            if self._file:
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
        indexes, types = {}, {}
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
                found = {
                    name: PgType(type_name, (modifier - 4) & 0xFFFF if modifier > 0 else 0)
                    for name, type_name, modifier in self._conn.execute(
                        "SELECT a.attname, t.typname, a.atttypmod FROM pg_attribute a "
                        "JOIN pg_type t ON t.oid = a.atttypid WHERE a.attrelid = %s::regclass "
                        "AND a.attnum > 0 AND NOT a.attisdropped",
                        (_quote(table.name),),
                    )
                }
                types[table.name] = [found[name] for name in table.columns]
        job.spec = {"indexes": indexes, "types": types}

    def run_job(self, job: Job) -> None:
        with self._connect() as conn:
            conn.execute("SET synchronous_commit = off")
            conn.execute("SET maintenance_work_mem = '256MB'")
            for table in job.tables:
                name = _quote(table.name)
                conn.execute(f"TRUNCATE {name}")
                cols = ", ".join(_quote(n) for n in table.columns)
                types = job.spec["types"][table.name]
                statement = f"COPY {name} ({cols}) FROM STDIN WITH (FORMAT binary, FREEZE)"
                with conn.cursor().copy(statement) as copy:
                    copy.write(COPY_SIGNATURE)
                    for columns in _chunks(table):
                        copy.write(copy_binary_rows(columns, types))
                    copy.write(COPY_TRAILER)
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
                    f"SELECT setval(%s, COALESCE((SELECT MAX(id) FROM {_quote(table)}), 0) + 1,"  # noqa: S608
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
        self._workdir = Path(tempfile.mkdtemp(prefix=".demo-load-", dir=parent))
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

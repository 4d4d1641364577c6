"""The SQLite side of the demo's bulk loader (:class:`data.demo.bulk.ParallelLoader`): values
as Python objects made in C by ``tolist``, private files filled by the workers and copied in
with SQLite's transfer optimisation, the word indexes and statistics after each table."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sqlalchemy import Table

from data.demo.bulk import (
    Backend,
    Column,
    Job,
    LoadStats,
    chunks,
    column_kind,
)
from data.erasure import coverage, search_index, vocabulary
from data.schema import load_all_models

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
            quoted = search_index.quote(name)
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
            columns_sql = ", ".join(search_index.quote(n) for n in names)
            sql = (
                f"INSERT INTO {search_index.quote(table.name)} ({columns_sql}) "  # noqa: S608
                f"VALUES ({', '.join('?' for _ in names)})"
            )
            for columns in chunks(table):
                con.executemany(sql, zip(*[sqlite_values(c) for c in columns], strict=True))
            for statement in create_indexes:
                con.execute(statement)
            con.execute(f"ANALYZE {search_index.quote(table.name)}")
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
                con.execute(f"ANALYZE {search_index.quote(name)}")
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

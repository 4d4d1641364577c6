"""After the bulk load: every derived table (the partner rollups, the lead flow, the consent
rollup, the aggregate cells) rebuilt from the base tables, in two halves side by side, then
(PostgreSQL) vacuumed and analysed.

Why: bulk loads bypass the session hooks that keep those tables current, so the demo build
recomputes them, and at 1M leads that took most of the build on one core while the other sat
idle: each rebuild is a series of ``INSERT … SELECT`` statements that SQLite runs in the
process and PostgreSQL in the one server process of a connection. The partner rollups
(:func:`data.rollups.rebuild_partner_rollups`) with the consent rollup, and the lead flow with
the aggregate cells, read only the base tables, write disjoint tables and cost about the same,
so the two halves run at once:

* PostgreSQL: each half on its own connection, in its own transaction.
* SQLite (one writer per file): the parent writes the partner rollups into the database while
  a forked worker writes the other half into a private file, reading the base tables through
  ``ATTACH`` (read-only; in WAL mode it reads a snapshot while the parent writes). The parent
  then copies the worker's tables in with ``INSERT INTO main.t SELECT * FROM w.t``, which
  SQLite's transfer optimisation turns into a copy of raw records (same DDL, empty table).

The code columns of these tables are recorded in ``search_vocabulary`` by triggers
(:mod:`data.erasure.vocabulary`); on SQLite that is a trigger call per row written (millions at
1M leads), so, as the bulk loader does for the base tables, the triggers are dropped for the
rebuild and made again afterwards, recording the values then present (a ``SELECT DISTINCT``
per column). A failed rebuild leaves them dropped: the demo build then empties the schema.

With ``workers=0``, without ``os.fork`` or on an in-memory SQLite database the parts run
in-process one after the other. Either way the statements are the same, so the rows are too
(``tests/unit/test_demo.py`` compares a build with a sequential rebuild).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Connection, Engine, Table, create_engine, text
from sqlalchemy.pool import NullPool

from data.aggregates.cells import aggregate_cell, aggregate_cube
from data.aggregates.cube_rebuild import rebuild as rebuild_aggregate_cells
from data.consent.models import ConsentDay, ConsentPopulationDay, ConsentRollupState
from data.consent.rollup import rebuild as rebuild_consent_rollup
from data.demo.bulk_sqlite import SCRATCH_PRAGMAS, copy_in, sqlite_table_ddl
from data.erasure import search_index, vocabulary
from data.rollups import ALL_TABLES, rebuild_partner_rollups
from data.rollups.lead_flow import FLOW_TABLES, TRANSITION_TABLES, rebuild_lead_flow
from data.rollups.tables import rollup_preset_day, rollup_state

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Part:
    """One rebuild and the tables it writes (all of them: a worker's file holds only these)."""

    name: str
    rebuild: Callable[[Connection], None]
    tables: tuple[Table, ...]


#: Run by the parent, in the database itself.
IN_PLACE = (
    Part(
        "partner rollups and lead days",
        rebuild_partner_rollups,
        (*ALL_TABLES, rollup_preset_day, rollup_state),
    ),
    Part(
        "consent rollup",
        rebuild_consent_rollup,
        (ConsentDay.__table__, ConsentPopulationDay.__table__, ConsentRollupState.__table__),
    ),
)
#: Run beside it (SQLite: by a worker, into a private file). The halves are balanced by
#: their cost at 1M leads on SQLite: partner rollups 78 s + consent 16 s against lead flow
#: 57 s + aggregate cells 42 s.
ASIDE = (
    Part("lead flow", rebuild_lead_flow, (*FLOW_TABLES.values(), *TRANSITION_TABLES.values())),
    Part("aggregate cells", rebuild_aggregate_cells, (aggregate_cell, aggregate_cube)),
)
_SOURCE = "demo_source"  # the database, as a worker's connection attaches it
_WORKER = "demo_derived"  # a worker's file, as the parent attaches it to copy it in


def rebuild_derived(
    engine: Engine, progress: Progress, workers: int | None = None
) -> dict[str, float]:
    """Rebuild every derived table from the base tables; returns the seconds of each part
    (parts running side by side overlap) and of the vocabulary's triggers."""
    dialect = engine.dialect.name
    with engine.begin() as conn:
        covered = vocabulary.covered(conn)
        watched = [t for part in (*IN_PLACE, *ASIDE) for t in part.tables if t.name in covered]
        for statement in vocabulary.drop_statements(dialect, watched):
            conn.execute(text(statement))
    seconds = _rebuild(engine, progress, workers)
    began = time.perf_counter()
    with engine.begin() as conn:
        for statement in vocabulary.create_statements(dialect, watched):
            conn.execute(text(statement))
    seconds["vocabulary"] = time.perf_counter() - began
    if dialect == "postgresql":
        began = time.perf_counter()
        _vacuum(engine, [t.name for part in (*IN_PLACE, *ASIDE) for t in part.tables])
        seconds["vacuum"] = time.perf_counter() - began
    return seconds


def _vacuum(engine: Engine, names: Sequence[str]) -> None:
    """``VACUUM (ANALYZE)`` the rebuilt tables, on two connections at once.

    The pages read them by index-only scans, which visit the table for every row until a
    vacuum has marked its pages all-visible, and the planner needs their statistics.
    Autovacuum would get there in time (it was off on the machine these figures come from);
    without it the consent coverage read fetched all 27 000 of its rows from the table at 1M
    leads (54 ms against 36 ms after, busy). 15 s at 1M on one connection.
    """

    def run(batch: Sequence[str]) -> None:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for name in batch:
                conn.execute(text(f"VACUUM (ANALYZE) {search_index.quote(name)}"))

    with ThreadPoolExecutor(2) as pool:
        for future in [pool.submit(run, names[i::2]) for i in range(2)]:
            future.result()


def _rebuild(engine: Engine, progress: Progress, workers: int | None) -> dict[str, float]:
    """The parts one after the other, or the two halves at once (see the module's doc)."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    in_memory = database is not None and (not database or database == ":memory:")
    if workers == 0 or in_memory or (database is not None and not hasattr(os, "fork")):
        return _run(engine, (*IN_PLACE, *ASIDE), progress)
    if database is not None:
        return _sqlite_side_by_side(engine, Path(database).resolve(), progress)
    with ThreadPoolExecutor(2) as pool:
        halves = [pool.submit(_run, engine, parts, progress) for parts in (IN_PLACE, ASIDE)]
        return {name: s for half in halves for name, s in half.result().items()}


def _run(engine: Engine, parts: Sequence[Part], progress: Progress) -> dict[str, float]:
    """Each part in a transaction of its own, one after the other."""
    seconds = {}
    for part in parts:
        began = time.perf_counter()
        with engine.begin() as conn:
            part.rebuild(conn)
        seconds[part.name] = time.perf_counter() - began
        progress(f"  {part.name} rebuilt in {seconds[part.name]:.1f} s")
    return seconds


def _sqlite_side_by_side(engine: Engine, database: Path, progress: Progress) -> dict[str, float]:
    workdir = Path(tempfile.mkdtemp(prefix=".demo-derived-", dir=database.parent))
    path, report = workdir / "derived.db", workdir / "report.json"
    names = [t.name for part in ASIDE for t in part.tables]
    ddl = _ddl(engine, names)
    sys.stdout.flush()  # or the worker would print the parent's buffered lines again
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the worker: fill its file, report, leave without running parent cleanup
        code = 1
        try:
            report.write_text(json.dumps(_fill_private(path, database, ddl, names, progress)))
            code = 0
        except BaseException:
            report.write_text(json.dumps({"error": traceback.format_exc()}))
        finally:
            sys.stdout.flush()
            os._exit(code)
    try:
        seconds = _run(engine, IN_PLACE, progress)
        _, status = os.waitpid(pid, 0)
        pid = 0
        outcome = json.loads(report.read_text()) if report.exists() else {}
        if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
            detail = outcome.get("error", f"exit status {status}")
            raise RuntimeError(f"rebuilding {', '.join(p.name for p in ASIDE)} failed:\n{detail}")
        began = time.perf_counter()
        _copy_in(engine, path, names)
        seconds |= outcome | {"copied in": time.perf_counter() - began}
        progress(f"  {len(names)} tables copied in in {seconds['copied in']:.1f} s")
        return seconds
    finally:
        if pid:
            os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)
        shutil.rmtree(workdir, ignore_errors=True)


def _ddl(engine: Engine, names: Sequence[str]) -> list[str]:
    """The ``CREATE TABLE`` and ``CREATE INDEX`` statements of these tables, as the database
    has them (identical DDL is what lets SQLite copy raw records; not the triggers: the
    worker's file has none of the tables they write to)."""
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        statements = [sql for name in names for sql in sqlite_table_ddl(raw, name)]
    return statements


def _fill_private(
    path: Path, database: Path, ddl: Sequence[str], names: Sequence[str], progress: Progress
) -> dict[str, float]:
    """In the worker: the :data:`ASIDE` parts' tables in a private file, rebuilt from the base
    tables of ``database`` (attached read-only: unqualified names the file lacks resolve
    there, and a write to anything but the part's own tables fails)."""
    source = f"file:{quote(str(database))}?mode=ro"

    def connect() -> sqlite3.Connection:
        con = sqlite3.connect(f"file:{quote(str(path))}", uri=True)
        for pragma in SCRATCH_PRAGMAS:
            con.execute(pragma)
        con.execute(f"ATTACH DATABASE ? AS {_SOURCE}", (source,))
        # a pragma without a schema sets ``main`` only: the base tables need the cache and
        # the memory map the application's own connections have (``data.db``)
        con.execute(f"PRAGMA {_SOURCE}.cache_size=-200000")
        con.execute(f"PRAGMA {_SOURCE}.mmap_size=4294967296")
        return con

    engine = create_engine("sqlite://", creator=connect, poolclass=NullPool)
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        for statement in ddl:
            raw.execute(statement)
        for name in names:  # whatever they hold now, as the in-place rebuild would see it
            quoted = search_index.quote(name)
            raw.execute(f"INSERT INTO main.{quoted} SELECT * FROM {_SOURCE}.{quoted}")  # noqa: S608
    seconds = _run(engine, ASIDE, progress)
    engine.dispose()
    return seconds


def _copy_in(engine: Engine, path: Path, names: Sequence[str]) -> None:
    """Replace these tables' rows with the worker's, in one transaction."""
    raw = engine.raw_connection()
    try:
        con = raw.driver_connection
        isolation = con.isolation_level
        con.isolation_level = None
        try:
            copy_in(con, str(path), _WORKER, names, replace=True)
        finally:
            con.isolation_level = isolation
    finally:
        raw.close()

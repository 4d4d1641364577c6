"""The PostgreSQL side of the demo's bulk loader (:class:`data.demo.bulk.ParallelLoader`):
binary ``COPY`` rows assembled by numpy for a whole chunk at once, indexes rebuilt by the
workers, foreign keys re-added and validated at the end."""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import psycopg

from data.demo.bulk import (
    Backend,
    Cat,
    Column,
    Job,
    LoadStats,
    chunks,
    column_kind,
)
from data.erasure.search_index import quote

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
                self._conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}")

    def plan(self, job: Job) -> None:
        indexes, types = {}, {}
        with self._conn.transaction():
            for table in job.tables:
                self._loaded.append((table.name, "id" in table.columns))
                rows = self._conn.execute(
                    "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) "
                    "FROM pg_index i WHERE i.indrelid = %s::regclass AND NOT EXISTS "
                    "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1",
                    (quote(table.name),),
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
                        (quote(table.name),),
                    )
                }
                types[table.name] = [found[name] for name in table.columns]
        job.spec = {"indexes": indexes, "types": types}

    def run_job(self, job: Job) -> None:
        with self._connect() as conn:
            conn.execute("SET synchronous_commit = off")
            conn.execute("SET maintenance_work_mem = '256MB'")
            for table in job.tables:
                name = quote(table.name)
                conn.execute(f"TRUNCATE {name}")
                cols = ", ".join(quote(n) for n in table.columns)
                types = job.spec["types"][table.name]
                statement = f"COPY {name} ({cols}) FROM STDIN WITH (FORMAT binary, FREEZE)"
                with conn.cursor().copy(statement) as copy:
                    copy.write(COPY_SIGNATURE)
                    for columns in chunks(table):
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
                    f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition} NOT VALID"
                )
        self._in_parallel(
            [f"ALTER TABLE {t} VALIDATE CONSTRAINT {quote(n)}" for t, n, _d in self._foreign_keys]
        )
        stats.seconds["foreign_keys"] = time.perf_counter() - began
        for table, has_id in self._loaded:
            if not has_id:
                continue
            sequence = self._conn.execute(
                "SELECT pg_get_serial_sequence(%s, 'id')", (quote(table),)
            ).fetchone()[0]
            if sequence:
                self._conn.execute(
                    f"SELECT setval(%s, COALESCE((SELECT MAX(id) FROM {quote(table)}), 0) + 1,"  # noqa: S608
                    " false)",
                    (sequence,),
                )
        began = time.perf_counter()
        self._in_parallel([f"ANALYZE {quote(t)}" for t, _ in self._loaded])
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

"""Rebuilding ``aggregate_cube`` from every ``aggregate_cell`` row at once (bulk loads, the
demo build, migration 0022).

Why not the SQL the session hooks use (``cells.contributions``)? That is one window and one
``GROUP BY`` over every row per combination: 37 sorts of a million rows, 2.4 s each on SQLite
and ~1.2 s on PostgreSQL at 1M leads (90 s and 45 s for the cube). Here the rows are read
once (their codes computed in SQL by ``cells.cube_source``, so the categories are decided in
one place) and each combination is a sort of the people with several leads only (for the rest
``prev`` is :data:`~data.aggregates.cells.NO_PREVIOUS`) and one grouping of packed integer
keys. ``tests/unit/test_aggregate_cells.py`` checks that the rows the hooks keep equal this.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection, delete

from data.aggregates.cells import (
    COMBO_ID,
    COMBOS,
    CUBE_KEY,
    CUBE_KEYS,
    CUBE_SUMS,
    LEAD_KEYS,
    NO_PREVIOUS,
    SOURCE_SUMS,
    aggregate_cube,
    cube_source,
)
from data.aggregates.cells import rebuild as rebuild_cells
from data.sqlfuncs import fetch_tuples

#: Rows per ``INSERT`` batch.
BATCH = 50_000


def rebuild(conn: Connection) -> None:
    """``aggregate_cell`` from the base tables, then the cube from it."""
    rebuild_cells(conn)
    rebuild_cube(conn)


def rebuild_cube(conn: Connection, combos: Sequence[tuple[str, ...]] = COMBOS) -> None:
    """Replace these combinations' rows of the cube (all: a rebuild; migration 0023: the new
    ones) with what every ``aggregate_cell`` row contributes (idempotent)."""
    conn.execute(
        delete(aggregate_cube).where(aggregate_cube.c.combo.in_([COMBO_ID[c] for c in combos]))
    )
    # only the keys these combinations use (migration 0022 runs before 0023's columns exist)
    keys = [k for k in CUBE_KEYS if any(k in combo for combo in combos)]
    rows = fetch_tuples(conn.execute(cube_source(None, keys)))
    if not rows:
        return
    table = np.array(rows, dtype=np.int64)
    del rows
    names = ("h", "lead", "m", *keys, *SOURCE_SUMS, "single")
    col = {name: table[:, i] for i, name in enumerate(names)}
    several = np.flatnonzero(col["single"] == 0)
    several = several[np.lexsort((col["lead"][several], col["m"][several]))]
    ranked = {name: ranked_codes(col[name]) for name in (*keys, "m")}
    previous: dict[tuple[str, ...], RankedCodes] = {}
    for combo in combos:
        # a homeowner's codes are the same on all their rows, so the previous lead in a cell
        # of (lead keys + homeowner keys) is the previous one in the cell of the lead keys
        leads_part = tuple(k for k in combo if k in LEAD_KEYS)
        if leads_part not in previous:
            prev = previous_months(col, [col[k] for k in leads_part], several)
            previous[leads_part] = ranked_codes(prev)
        key, sums = group_sums(
            [*(ranked[k] for k in combo), ranked["m"], previous[leads_part]],
            [col[name] for name in SOURCE_SUMS],
        )
        padding = [np.zeros(len(sums[0]), dtype=np.int64)] * (3 - len(combo))
        codes = [*key[: len(combo)], *padding, *key[len(combo) :]]
        _write(conn, np.column_stack([np.full(len(sums[0]), COMBO_ID[combo]), *codes, *sums]))


#: Largest key space grouped by counting into an array (a sort above it).
DENSE_LIMIT = 1 << 23


@dataclass(frozen=True)
class RankedCodes:
    """An integer column as the rank of each row's value among the distinct values
    (``values[ranks]`` is the column), so that packed keys span only values that occur: the
    codes have sentinels such as 65 536 and ``prev`` is -1 or a month number near 24 300."""

    ranks: np.ndarray
    values: np.ndarray


def ranked_codes(column: np.ndarray) -> RankedCodes:
    """Ranks by a lookup table over the column's range (no sort) when it is small enough."""
    low = int(column.min())
    span = int(column.max()) - low + 1
    if span > DENSE_LIMIT:
        values, ranks = np.unique(column, return_inverse=True)
        return RankedCodes(ranks, values)
    seen = np.zeros(span, dtype=bool)
    seen[column - low] = True
    return RankedCodes((np.cumsum(seen) - 1)[column - low], np.flatnonzero(seen) + low)


def group_sums(
    keys: Sequence[RankedCodes], values: Sequence[np.ndarray]
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``SELECT keys…, COUNT(*), SUM(values)… GROUP BY keys…`` over integer columns, in key
    order: the distinct keys (one array per key) and the row count then each sum per group.

    Why not ``np.unique`` over stacked keys: 122 combinations of a million rows made that a
    third of the cube's rebuild (a stable sort each). The ranks are packed into one integer by
    arithmetic, and where the packed space is small (most combinations) the groups are
    counted with ``bincount`` into it, with no sort at all.
    """
    spans = [len(k.values) for k in keys]
    packed = keys[0].ranks
    for k, span in zip(keys[1:], spans[1:], strict=True):
        packed = packed * span + k.ranks
    size = int(np.prod(spans, dtype=object))
    if size <= DENSE_LIMIT:
        counts = np.bincount(packed, minlength=size)
        present = np.flatnonzero(counts)
        sums = [counts[present]] + [
            np.bincount(packed, weights=v, minlength=size)[present].astype(np.int64) for v in values
        ]
    else:
        present, inverse = np.unique(packed, return_inverse=True)
        sums = [np.bincount(inverse, minlength=len(present))] + [
            np.bincount(inverse, weights=v, minlength=len(present)).astype(np.int64) for v in values
        ]
    unpacked = np.unravel_index(present, spans)
    return [k.values[u] for k, u in zip(keys, unpacked, strict=True)], sums


def previous_months(
    col: dict[str, np.ndarray], keys: list[np.ndarray], several: np.ndarray
) -> np.ndarray:
    """Per row, the month of the same homeowner's previous lead with the same ``keys`` (in
    month, lead id order), else ``NO_PREVIOUS``; only the rows in ``several`` (sorted by
    month and lead id) can have one (also used by ``query._excluded_rows`` for the people a
    table subtracts). A stable sort by (homeowner, keys) packed into one integer keeps that
    order within each group."""
    prev = np.full(len(col["m"]), NO_PREVIOUS, dtype=np.int64)
    if len(several) < 2:
        return prev
    group = np.stack([col["h"][several], *(k[several] for k in keys)])
    low = group.min(axis=1, keepdims=True)
    packed = np.ravel_multi_index(tuple(group - low), tuple(np.ptp(group, axis=1) + 1))
    by_group = np.argsort(packed, kind="stable")
    order, groups = several[by_group], packed[by_group]
    follows = groups[1:] == groups[:-1]
    prev[order[1:][follows]] = col["m"][order[:-1][follows]]
    return prev


def _write(conn: Connection, values: np.ndarray) -> None:
    """Insert integer rows in the cube's column order: ``COPY`` on PostgreSQL (an
    ``executemany`` of 660 000 rows took 15 s there), batches of ``executemany`` on SQLite."""
    names = ", ".join(CUBE_KEY + CUBE_SUMS)
    if conn.dialect.name == "postgresql":
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {aggregate_cube.name} ({names}) FROM STDIN") as copy:
            for start in range(0, len(values), BATCH):
                lines = ("\t".join(map(str, r)) for r in values[start : start + BATCH].tolist())
                copy.write("\n".join(lines) + "\n")
        return
    marks = ", ".join("?" * len(CUBE_KEY + CUBE_SUMS))
    statement = f"INSERT INTO {aggregate_cube.name} ({names}) VALUES ({marks})"  # noqa: S608
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    for start in range(0, len(values), BATCH):
        cursor.executemany(statement, values[start : start + BATCH].tolist())

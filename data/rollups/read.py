"""Reading the rollups: totals per partner or per trade for any day ranges, in one statement.

The look-ups here cost one index seek per driving row and boundary day, whatever the length of
the period. :func:`period_counts_many` and :func:`period_counts` wrap them into DataFrames (and
offer the naive ``GROUP BY`` over the base tables as ``source="base"``); they are the entry point
for any page that counts shares or reviews over a period.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Date, bindparam, func, select, text

from data.rollups.counting import Family
from data.rollups.tables import LEVELS, VERSION, Scope, rollup_state
from data.sqlfuncs import fetch_tuples, tuples_of
from data.timeutil import as_date


def current_version(conn: Connection, name: str = VERSION) -> int:
    """A counter of ``rollup_state`` (default: the rollups' version; 0 before the first)."""
    value = conn.execute(select(rollup_state.c.value).where(rollup_state.c.name == name)).scalar()
    return int(value or 0)


def _driver(scope: Scope, params: dict[str, Any]) -> str:
    """The driving row set of a look-up as SQL text (values are bound parameters)."""
    keys = LEVELS[scope.level]
    where: list[str] = []
    if scope.level == "partner":
        sql = "SELECT p.id AS partner_id FROM partner AS p"
        pid = "p.id"
    else:
        cols = ", ".join(f"rk.{k}" for k in keys)
        sql = f"SELECT DISTINCT {cols} FROM rollup_key AS rk"  # noqa: S608 (constant names)
        pid = "rk.partner_id"
        if scope.vetting:
            sql += " JOIN partner AS p ON p.id = rk.partner_id"
        if scope.trade_ids is not None:
            where.append("rk.trade_id IN :trade_ids")
            params["trade_ids"] = list(scope.trade_ids) or [-1]
        if scope.province is not None:
            where.append("rk.province = :province")
            params["province"] = scope.province
    if scope.vetting:
        where.append("p.vetting_status IN :vetting")
        params["vetting"] = list(scope.vetting)
    if scope.partner_ids is not None:
        where.append(f"{pid} IN :partner_ids")
        params["partner_ids"] = list(scope.partner_ids) or [-1]
    return sql + (" WHERE " + " AND ".join(where) if where else "")


def _checked(family: Family, columns: Sequence[str] | None) -> list[str]:
    columns = list(columns or family.counts)
    unknown = set(columns) - set(family.counts)
    if unknown:
        raise ValueError(f"unknown rollup columns {sorted(unknown)}")
    return columns


def cum_at(
    conn: Connection,
    family: Family,
    day: date,
    scope: Scope,
    columns: Sequence[str] | None = None,
) -> list[Any]:
    """Running totals as of the end of ``day`` for each group of ``scope``: rows of
    ``(*scope.group_columns, *columns)``; groups with nothing up to that day are absent.

    One index seek per driving row, never a scan of the rollup: the join order is fixed
    with ``CROSS JOIN`` on SQLite (which never reorders it) and ``LATERAL … LIMIT 1`` on
    PostgreSQL.
    """
    columns = _checked(family, columns)
    keys = LEVELS[scope.level]
    table = family.tables[scope.level]
    params: dict[str, Any] = {"d": day}
    driver = _driver(scope, params)
    match = " AND ".join(f"x.{k} = k.{k}" for k in keys)
    # Identifiers below are this module's constants; every value is a bound parameter.
    if conn.dialect.name == "postgresql":
        body = (
            f"FROM k CROSS JOIN LATERAL (SELECT * FROM {table.name} AS x "  # noqa: S608
            f"WHERE {match} AND x.day <= :d ORDER BY x.day DESC LIMIT 1) AS c"
        )
    else:
        on = " AND ".join(f"c.{k} = k.{k}" for k in keys)
        body = (
            f"FROM k CROSS JOIN {table.name} AS c ON {on} AND c.day = "  # noqa: S608
            f"(SELECT MAX(x.day) FROM {table.name} AS x WHERE {match} AND x.day <= :d)"
        )
    if len(keys) == 1 and scope.group == "partner":
        select_list = "k.partner_id, " + ", ".join(f"c.{c}" for c in columns)
        tail = ""
    else:
        group = ", ".join(f"k.{g}" for g in scope.group_columns)
        select_list = group + ", " + ", ".join(f"SUM(c.{c})" for c in columns)
        tail = f" GROUP BY {group}"
    sql = f"WITH k AS MATERIALIZED ({driver}) SELECT {select_list} {body}{tail}"
    statement = text(sql).bindparams(bindparam("d", type_=Date))
    for name in ("vetting", "partner_ids", "trade_ids"):
        if name in params:
            statement = statement.bindparams(bindparam(name, expanding=True))
    return list(conn.execute(statement, params).all())


def range_totals(
    conn: Connection,
    family: Family,
    ranges: Sequence[tuple[date, date]],
    scope: Scope,
    columns: Sequence[str] | Sequence[Sequence[str]] | None = None,
    *,
    parts: int = 1,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Totals for several inclusive day ranges at once, per group of ``scope``.

    ``columns`` is one list for every range, or one list per range. Returns the group ids and,
    per range, an int64 array (groups × columns). Every distinct boundary day is looked up once,
    in one statement: one index seek per driving row and boundary (see :func:`cum_at`); the
    differences are taken in SQL so that one row per group comes back.

    ``parts > 1`` (PostgreSQL, one row per partner): the partners are split into that many
    sets, each looked up on its own connection at the same time, all reading the snapshot of
    ``conn``'s transaction (see :func:`_rows_in_parts`). Ignored elsewhere.
    """
    if columns and not isinstance(columns[0], str):
        per_range = [_checked(family, list(c)) for c in columns]  # type: ignore[arg-type]
    else:
        per_range = [_checked(family, columns)] * len(ranges)  # type: ignore[arg-type]
    keys = LEVELS[scope.level]
    table = family.tables[scope.level]
    params: dict[str, Any] = {}
    driver = _driver(scope, params)
    pg = conn.dialect.name == "postgresql"
    split = parts > 1 and pg and scope.group == "partner"
    if split:
        driver = f"SELECT * FROM ({driver}) AS d WHERE d.partner_id % :parts = :part"  # noqa: S608
    days: list[date] = []
    for start, end in ranges:
        for day in (start - timedelta(days=1), end):
            if day not in days:
                days.append(day)
    joins: list[str] = []
    match = " AND ".join(f"x.{k} = k.{k}" for k in keys)
    last_day = _last_day(conn, family)
    for i, day in enumerate(days):
        # Identifiers are this module's constants; every value is a bound parameter.
        if last_day is None or day >= last_day:  # each key's latest row: no search needed
            latest = family.latest[scope.level].name
            on = " AND ".join(f"c{i}.{k} = k.{k}" for k in keys)
            joins.append(f"LEFT JOIN {latest} AS c{i} ON {on}")
            continue
        params[f"d{i}"] = day
        if pg:
            joins.append(
                f"LEFT JOIN LATERAL (SELECT * FROM {table.name} AS x WHERE {match} "  # noqa: S608
                f"AND x.day <= :d{i} ORDER BY x.day DESC LIMIT 1) AS c{i} ON true"
            )
        else:
            on = " AND ".join(f"c{i}.{k} = k.{k}" for k in keys)
            joins.append(
                f"LEFT JOIN {table.name} AS c{i} ON {on} AND c{i}.day = "  # noqa: S608
                f"(SELECT MAX(x.day) FROM {table.name} AS x WHERE {match} AND x.day <= :d{i})"
            )
    grouped = len(keys) > 1 or scope.group != "partner"
    exprs: list[str] = []
    for (start, end), cols in zip(ranges, per_range, strict=True):
        hi = days.index(end)
        lo = days.index(start - timedelta(days=1))
        for col in cols:
            diff = f"COALESCE(c{hi}.{col}, 0) - COALESCE(c{lo}.{col}, 0)"
            exprs.append(f"SUM({diff})" if grouped else diff)
    group = ", ".join(f"k.{g}" for g in scope.group_columns)
    tail = f" GROUP BY {group}" if grouped else ""
    # LEFT JOINs keep the driving table as the outer loop on SQLite (it never reorders them).
    sql = (
        f"WITH k AS MATERIALIZED ({driver}) SELECT {group}, {', '.join(exprs)} "  # noqa: S608
        f"FROM k {' '.join(joins)}{tail}"
    )
    statement = text(sql).bindparams(
        *(bindparam(f"d{i}", type_=Date) for i in range(len(days)) if f"d{i}" in params)
    )
    for name in ("vetting", "partner_ids", "trade_ids"):
        if name in params:
            statement = statement.bindparams(bindparam(name, expanding=True))
    if split:
        rows = _rows_in_parts(conn, statement, params, parts)
    else:
        rows = fetch_tuples(conn.execute(statement, params))
    width = 1 + sum(len(c) for c in per_range)
    matrix = np.array(rows, dtype=np.int64).reshape(len(rows), width)
    out: list[np.ndarray] = []
    offset = 1
    for cols in per_range:
        out.append(matrix[:, offset : offset + len(cols)])
        offset += len(cols)
    return matrix[:, 0], out


def _last_day(conn: Connection, family: Family) -> date | None:
    """The last day with any data in ``family``'s rollups (every such day has a row in the
    per-trade daily totals, whose key starts with the day: one index read)."""
    value = conn.execute(select(func.max(family.trade_table.c.day))).scalar()
    return None if value is None else as_date(value)


_SNAPSHOT_ID = re.compile(r"[0-9A-F]+-[0-9A-F]+(-[0-9]+)?")


def _rows_in_parts(
    conn: Connection, statement: Any, params: dict[str, Any], parts: int
) -> list[tuple]:
    """Run ``statement`` once per part (``:part`` = 0 … ``parts`` − 1) on parallel connections.

    Why: each partner costs a few index probes, and PostgreSQL runs one statement on one core
    (it does not parallelise ``LATERAL`` look-ups), so at tens of thousands of partners the
    look-ups dominate; split by ``partner_id % parts`` they use every core. Every part imports
    the snapshot exported by ``conn``'s transaction, so all parts see exactly the same data
    (only committed data: callers pass parts only for read-only connections).
    """
    snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
    if not _SNAPSHOT_ID.fullmatch(str(snapshot)):  # it is interpolated below
        raise RuntimeError(f"unexpected snapshot id {snapshot!r}")

    def run(part: int) -> list[tuple]:
        with conn.engine.connect() as worker:
            worker.execution_options(isolation_level="REPEATABLE READ")
            worker.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            return fetch_tuples(worker.execute(statement, {**params, "parts": parts, "part": part}))

    with ThreadPoolExecutor(max_workers=parts) as pool:
        return [row for rows in pool.map(run, range(parts)) for row in rows]


def trade_totals(
    conn: Connection,
    family: Family,
    start: date,
    end: date,
    trade_ids: Sequence[int] | None = None,
    columns: Sequence[str] | None = None,
    province: str | None = None,
) -> list[Any]:
    """Totals per trade over all partners (in ``province`` when given) for the days
    ``start``..``end``: rows of ``(trade_id, *columns)`` from the per-trade (or per trade and
    province) daily table (a few thousand rows at most)."""
    columns = _checked(family, columns)
    t = family.trade_table if province is None else family.trade_province_table
    query = (
        select(t.c.trade_id, *(func.sum(t.c[c]).label(c) for c in columns))
        .where(t.c.day >= start, t.c.day <= end)
        .group_by(t.c.trade_id)
        .order_by(t.c.trade_id)
    )
    if province is not None:
        query = query.where(t.c.province == province)
    if trade_ids is not None:
        query = query.where(t.c.trade_id.in_(list(trade_ids)))
    return list(conn.execute(query).all())


# --- counts over a period as frames ---------------------------------------------------------


def period_counts_many(
    conn: Connection,
    family: Family,
    ranges: Sequence[tuple[date, date]],
    scope: Scope,
    columns: Sequence[str] | Sequence[Sequence[str]] | None = None,
    *,
    source: str = "rollup",
    parts: int = 1,
) -> list[pd.DataFrame]:
    """Counts of ``family`` for each inclusive day range, per group of ``scope``: one frame
    per range, indexed by the group column, without groups that have nothing. ``columns`` is
    one list for all ranges or one list per range; ``parts``: see
    :func:`range_totals`.

    ``source="rollup"``: one statement over the cumulative rollups for all ranges (one index
    seek per partner and boundary day); ``"base"``: ``GROUP BY`` over the base tables (the
    same result, much slower on large data).
    """
    if columns and not isinstance(columns[0], str):
        per_range = [list(c) for c in columns]
    else:
        per_range = [list(columns or family.counts)] * len(ranges)  # type: ignore[arg-type]
    (group,) = scope.group_columns
    if source == "base":
        out = []
        for (start, end), cols in zip(ranges, per_range, strict=True):
            query = family.deltas([group], start=start, end=end, scope=scope)
            rows = conn.execute(query).mappings().all()
            matrix = np.array(
                [(r[group], *(r[c] for c in cols)) for r in rows], dtype=np.int64
            ).reshape(len(rows), 1 + len(cols))
            out.append(_counts_frame(matrix[:, 0], matrix[:, 1:], group, cols))
        return out
    if source != "rollup":
        raise ValueError(f"unknown source {source!r}")
    if scope.uses_trade_totals:
        out = []
        for (start, end), cols in zip(ranges, per_range, strict=True):
            rows = trade_totals(conn, family, start, end, scope.trade_ids, cols, scope.province)
            matrix = np.array(tuples_of(rows), dtype=np.int64).reshape(len(rows), 1 + len(cols))
            out.append(_counts_frame(matrix[:, 0], matrix[:, 1:], group, cols))
        return out
    ids, values = range_totals(conn, family, ranges, scope, per_range, parts=parts)
    return [_counts_frame(ids, v, group, cols) for v, cols in zip(values, per_range, strict=True)]


def _counts_frame(
    ids: np.ndarray, values: np.ndarray, group: str, columns: Sequence[str]
) -> pd.DataFrame:
    keep = values.any(axis=1)
    frame = pd.DataFrame(values[keep], index=pd.Index(ids[keep], name=group), columns=columns)
    return frame.astype("int64")


def period_counts(
    conn: Connection,
    family: Family,
    start: date,
    end: date,
    scope: Scope,
    columns: Sequence[str] | None = None,
    *,
    source: str = "rollup",
) -> pd.DataFrame:
    """:func:`period_counts_many` for one range."""
    return period_counts_many(conn, family, [(start, end)], scope, columns, source=source)[0]

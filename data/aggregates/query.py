"""Every cell and every margin of a de-identified table, read from ``aggregate_cube``.

A cell's count of *distinct* homeowners is what the k rule judges, and distinct counts do not
add up in general (a homeowner with leads in two trades is one person in the trade total). The
cube (:mod:`data.aggregates.cells`) holds, for every combination of up to three lead and
homeowner dimensions, per category codes and month, the leads whose homeowner's previous lead
in the same cell was in a given month: a homeowner with leads in a cell during a period is
counted by the one whose previous lead is before the period (or before its month, quarter or
year). So each inner cell and each margin is a sum over the rows of its own combination
(:func:`cell_counts`), less what the people with a standing objection contributed (erased
people have no rows), computed in Python from their own ``aggregate_cell`` rows, read once per
table (:func:`_objecting_rows`). The age band is grouped from the birth-year code in SQL, for
the period's last year.

Dimensions a row sums over carry ``Total``.

Who is counted (:func:`excluded_ids`): homeowners not erased and with no objection to
processing on record (an objection request that was not denied, a duplicate or unverified),
decided at read time. :func:`eligible` and :func:`in_period` are the same rules over ``lead``
(the differentially private mode and the ledger read leads directly).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from functools import cache
from itertools import combinations
from operator import itemgetter
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import (
    BigInteger,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    cast,
    func,
    or_,
    select,
    union,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from data.aggregates.cells import (
    CELL_SOURCE,
    COMBO_ID,
    CUBE_KEYS,
    CUBE_SUMS,
    KEY_OF,
    NO_BIRTH_YEAR,
    SOURCE_SUMS,
    aggregate_cell,
    aggregate_cube,
    code_labels,
    cube_code,
    cube_source,
    flag,
    month_index,
)
from data.aggregates.cube_rebuild import previous_months
from data.aggregates.dimensions import DIMENSIONS, OTHER, TOTAL, Names, Period, time_label
from data.models import Homeowner, Lead, PrivacyRequest, ServiceType, Trade
from data.sqlfuncs import tuples_of
from data.timeutil import start_of

#: Objection requests that still stand (a denied, duplicate or unverified request does not).
OBJECTION_VOID = ("denied", "duplicate", "unverified")

Cell = tuple[str, ...]


class Counts(NamedTuple):
    """The additive quantities of one cell (a named tuple: a table makes up to ~11 000, and
    a frozen dataclass's constructor took ~10 ms a thousand)."""

    homeowners: int
    leads: int
    hires: int
    completed: int
    rating_sum: int
    reviews: int


def names(session: Session) -> Names:
    return Names(
        trades={int(i): str(n) for i, n in session.execute(select(Trade.id, Trade.name))},
        service_types={
            int(i): str(n) for i, n in session.execute(select(ServiceType.id, ServiceType.name))
        },
    )


def objecting_ids() -> Select:
    """Homeowners with a standing objection to processing."""
    return select(PrivacyRequest.subject_id).where(
        PrivacyRequest.type == "objection",
        PrivacyRequest.subject_type == "homeowner",
        PrivacyRequest.subject_id.is_not(None),
        PrivacyRequest.status.not_in(OBJECTION_VOID),
    )


def excluded_ids() -> Select:
    """Homeowners never counted: erased, or with a standing objection to processing. A small
    set, so the big scan filters leads by it without joining every homeowner."""
    erased = select(Homeowner.id).where(Homeowner.erased_at.is_not(None))
    return union(erased, objecting_ids())


def eligible() -> ColumnElement[bool]:
    """Leads whose homeowner may be counted (see :func:`excluded_ids`)."""
    return Lead.homeowner_id.not_in(excluded_ids())


def in_period(period: Period) -> ColumnElement[bool]:
    return and_(Lead.created_at >= start_of(period.first), Lead.created_at < start_of(period.end()))


#: The time levels and the months a bucket of each spans: a bucket starts where the month
#: index (``cells.month_index``) is a multiple of the span.
TIME_SPANS = {"month": 1, "quarter": 3, "year": 12}


@cache
def _time_label(key: str, index: int) -> str:
    """The label of the month with this ``cells.month_index`` at time level ``key``."""
    return time_label(key, f"{index // 12:04d}-{index % 12 + 1:02d}")


def _labels(key: str, vocab: Names) -> Mapping[int, str] | None:
    """A cube code's label in dimension ``key`` by code; None for a birth year, which comes
    back from SQL as its age band already (:func:`_category`)."""
    if key == "birth_year":
        return None
    if key == "trade":
        return vocab.trades
    if key == "service_type":
        return vocab.service_types
    return dict(enumerate(code_labels(key)))


def _category(key: str, code: ColumnElement[int], year: int) -> ColumnElement[Any]:
    """What a table groups a cube code column by: the code itself, but for a birth year the
    age band it falls in at the end of ``year`` (the dimension's own expression)."""
    if key != "birth_year":
        return code
    birth_year = func.nullif(code, NO_BIRTH_YEAR)
    at = date(year, 1, 1)
    return DIMENSIONS["age_band"].expression(
        Period(at, at), Names({}, {}), replace(CELL_SOURCE, birth_year=birth_year)
    )


@cache
def _cube_sums(
    combo: tuple[str, ...], span: int | None, year: int, sums: tuple[str, ...]
) -> Select:
    """One combination's cells over the months bound as ``first`` and ``last``
    (:func:`month_index`), per time bucket (``span`` months; ``None``: the whole period): the
    homeowners counted in the period (their previous lead in the cell is before it) and in the
    bucket (previous lead before the period or the bucket), and the additive ``sums`` the
    measure needs (each one more aggregate over every row read: a homeowners table with all
    five took twice as long on SQLite); age bands at the end of ``year``. Built once per
    argument: assembling it took ~15 ms of Python.

    Two steps: the rows are summed per code (and month) first, in the cube's key order, so
    SQLite groups them as it reads them without a sort; only those sums are then grouped by
    category (birth years into age bands) and bucket. Grouping the rows by age band at once
    took twice as long on SQLite (a sort of every row of the period)."""
    c = aggregate_cube.c
    first, last = bindparam("first", type_=Integer), bindparam("last", type_=Integer)
    codes = [c.c1, c.c2, c.c3]
    months = [] if span is None else [c.month]
    in_period = c.prev < first
    bucketed = [] if span is None else [or_(in_period, c.prev < _bucket(c.month, span))]
    per_code = (
        select(
            *codes,
            *months,
            func.sum(case((in_period, c.leads), else_=0)).label("in_period"),
            *(func.sum(case((b, c.leads), else_=0)).label("in_bucket") for b in bucketed),
            *(func.sum(c[name]).label(name) for name in sums),
        )
        .where(c.combo == COMBO_ID[combo], c.month >= first, c.month <= last)
        .group_by(*codes, *months)
        .subquery("per_code")
    )
    p = per_code.c
    keys = [_category(key, p[f"c{j + 1}"], year) for j, key in enumerate(combo)]
    buckets = [] if span is None else [_bucket(p.month, span)]
    return select(
        *(key.label(f"k{j}") for j, key in enumerate(keys)),
        *(b.label("bucket") for b in buckets),
        # whole numbers on both drivers (PostgreSQL's SUM of a bigint is a numeric), and 0s
        # from the one row that a sum over no rows without a GROUP BY gives
        *(
            cast(func.coalesce(func.sum(p[name]), 0), BigInteger)
            # without time buckets the bucket is the period: the same count, summed once
            for name in ("in_period", "in_period" if span is None else "in_bucket", *sums)
        ),
    ).group_by(*keys, *buckets)


def _bucket(month: Any, span: int) -> Any:
    """The first month (index) of the time bucket of ``span`` months that ``month`` is in (a
    column or an integer)."""
    return month if span == 1 else month - month % span


@cache
def _objecting_rows(year: int) -> Select:
    """The ``aggregate_cell`` rows of the people with a standing objection as the cube codes
    them (:func:`cells.cube_source`: homeowner, lead, month index, every key's code, the sums),
    plus the age band at the end of ``year`` (last), in homeowner, month and lead order. One
    statement for every table: their contributions to each combination are computed from
    these few rows in Python (:func:`_excluded_rows`). Per combination in SQL, the
    contributions' window and category codes were 8 statements a table, and ~0.4 s of Python
    to assemble and compile in each new process."""
    objecting = aggregate_cell.c.homeowner_id.in_(objecting_ids())
    age_band = _category("birth_year", cube_code("birth_year"), year)
    return (
        cube_source(objecting)
        .add_columns(age_band.label("age_band"))
        .order_by(aggregate_cell.c.homeowner_id, "m", aggregate_cell.c.lead_id)
    )


def _excluded_rows(
    rows: Sequence[tuple],
    at: Mapping[str, int],
    combo: tuple[str, ...],
    span: int | None,
    bounds: Mapping[str, int],
    sums: tuple[str, ...],
) -> list[tuple]:
    """What the objecting people's ``rows`` (:func:`_objecting_rows`; ``at``: each column's
    position by name) contribute to one combination's cells, one row per lead of the period,
    shaped like :func:`_cube_sums`' rows: the categories (codes; the age band for a birth
    year), the bucket, whether the lead counts its homeowner in the period and in the bucket,
    then the lead's ``sums``. The previous
    lead of the same homeowner in the same cell is found by the rebuild's own rule
    (``cube_rebuild.previous_months``)."""
    if not rows:
        return []
    codes = np.array([row[: at["age_band"]] for row in rows], dtype=np.int64)
    col = {name: codes[:, at[name]] for name in ("h", "lead", "m")}
    in_order = np.lexsort((col["lead"], col["m"]))
    prevs = previous_months(col, [codes[:, at[key]] for key in combo], in_order).tolist()
    shown = [at["age_band" if key == "birth_year" else key] for key in combo]
    # each sum's own value in a row: one lead, else the lead's column (cells.SOURCE_SUMS)
    own = dict(zip(CUBE_SUMS[1:], SOURCE_SUMS, strict=True))
    taken = [at[own[name]] if name in own else None for name in sums]
    first, last = bounds["first"], bounds["last"]
    out = []
    for row, prev in zip(rows, prevs, strict=True):
        month = row[at["m"]]
        if not first <= month <= last:
            continue
        in_period = prev < first
        in_bucket = in_period or (span is not None and prev < _bucket(month, span))
        bucket = () if span is None else (_bucket(month, span),)
        out.append(
            (
                *(row[i] for i in shown),
                *bucket,
                int(in_period),
                int(in_bucket),
                *(1 if i is None else row[i] for i in taken),
            )
        )
    return out


def cell_counts(
    session: Session,
    dims: Sequence[str],
    period: Period,
    vocab: Names,
    *,
    sums: Sequence[str] = CUBE_SUMS,
) -> dict[Cell, Counts]:
    """Counts of every cell and margin that has any lead, keyed by the cell's values
    (``Total`` where the row sums over a dimension). Cells absent from the result are empty.

    Read from ``aggregate_cube`` (:mod:`data.aggregates.cells`): each margin (and the inner
    cells) is one combination's rows, less what the people with a standing objection
    contributed to them (:func:`_excluded_rows`; erased people have no rows). Only the
    additive ``sums`` named are read (the others are 0): a table needs one or two."""
    wanted = tuple(name for name in CUBE_SUMS if name in sums)
    n = len(dims)
    times = [i for i, d in enumerate(dims) if d in TIME_SPANS]
    span = TIME_SPANS[dims[times[0]]] if times else None
    keyed = [i for i in range(n) if i not in times]
    bounds = {"first": month_index(period.first), "last": month_index(period.last)}
    objecting_query = _objecting_rows(period.last.year)
    objecting = tuples_of(session.execute(objecting_query))
    columns = {name: i for i, name in enumerate(objecting_query.selected_columns.keys())}
    totals: dict[Cell, list[int]] = {}
    for size in range(len(keyed) + 1):
        for kept in combinations(keyed, size):
            chosen = {KEY_OF[dims[i]] for i in kept}
            combo = tuple(k for k in CUBE_KEYS if k in chosen)
            at = [next(i for i in kept if KEY_OF[dims[i]] == k) for k in combo]
            year = period.last.year if "birth_year" in combo else 0
            labels = [(i, _labels(k, vocab)) for i, k in zip(at, combo, strict=True)]
            query = _cube_sums(combo, span, year, wanted)
            counted = tuples_of(session.execute(query, bounds))
            excluded = _excluded_rows(objecting, columns, combo, span, bounds, wanted)
            for sign, rows in ((1, counted), (-1, excluded)):
                for row in rows:
                    cell = [TOTAL] * n
                    for j, (i, names_of) in enumerate(labels):
                        cell[i] = row[j] if names_of is None else names_of.get(row[j], OTHER)
                    in_period, in_bucket, *additive = row[len(row) - 2 - len(wanted) :]
                    if sign < 0:
                        in_period, in_bucket = -in_period, -in_bucket
                        additive = [-v for v in additive]
                    _add(totals, tuple(cell), in_period, additive)
                    if times:
                        cell[times[0]] = _time_label(dims[times[0]], row[len(combo)])
                        _add(totals, tuple(cell), in_bucket, additive)
    # a cell with a lead in the period counts its homeowner (by their first lead there);
    # the sums not read are 0 (the last of each padded list)
    pick = itemgetter(0, *(1 + wanted.index(n) if n in wanted else -1 for n in CUBE_SUMS))
    return {cell: Counts._make(pick([*acc, 0])) for cell, acc in totals.items() if acc[0]}


def _add(sums: dict[Cell, list[int]], cell: Cell, homeowners: int, additive: list[int]) -> None:
    acc = sums.get(cell)
    if acc is None:
        sums[cell] = [homeowners, *additive]
        return
    acc[0] += homeowners
    for j, value in enumerate(additive, start=1):
        acc[j] += value


def population_ids(session: Session, period: Period) -> list[int]:
    """The homeowners a table over ``period`` counts, sorted (for the ledger's digest only;
    the ids never leave this function's caller)."""
    query = (
        select(Lead.homeowner_id)
        .where(in_period(period), eligible())
        .distinct()
        .order_by(Lead.homeowner_id)
    )
    return [int(r[0]) for r in tuples_of(session.execute(query))]


def population_difference(session: Session, a: Period, b: Period) -> int:
    """How many eligible homeowners are in exactly one of the two periods' populations."""
    start = min(a.first, b.first)
    end = max(a.end(), b.end())
    in_a = func.max(flag(in_period(a)))
    in_b = func.max(flag(in_period(b)))
    per_person = (
        select(in_a.label("a"), in_b.label("b"))
        .where(Lead.created_at >= start_of(start), Lead.created_at < start_of(end), eligible())
        .group_by(Lead.homeowner_id)
        .subquery()
    )
    query = select(func.count()).where(per_person.c.a != per_person.c.b)
    return int(session.execute(query).scalar_one())

"""Every cell and every margin of a de-identified table, read from ``aggregate_cube``.

A cell's count of *distinct* homeowners is what the k rule judges, and distinct counts do not
add up in general (a homeowner with leads in two trades is one person in the trade total). The
cube (:mod:`data.aggregates.cells`) holds, for every combination of up to three lead and
homeowner dimensions, per category codes and month, the leads whose homeowner's previous lead
in the same cell was in a given month: a homeowner with leads in a cell during a period is
counted by the one whose previous lead is before the period (or before its month, quarter or
year). So each inner cell and each margin is a sum over the rows of its own combination
(:func:`cell_counts`), less what the excluded people contributed, computed from their own
``aggregate_cell`` rows the same way. The age band is grouped from the birth-year code in SQL,
for the period's last year.

Dimensions a row sums over carry ``Total``.

Who is counted (:func:`excluded_ids`): homeowners not erased and with no objection to
processing on record (an objection request that was not denied, a duplicate or unverified),
decided at read time. :func:`eligible` and :func:`in_period` are the same rules over ``lead``
(the differentially private mode and the ledger read leads directly).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import cache
from itertools import combinations
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    union,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Subquery

from data.aggregates.cells import (
    CELL_SOURCE,
    COMBO_ID,
    CUBE_KEYS,
    KEY_OF,
    NO_BIRTH_YEAR,
    aggregate_cell,
    aggregate_cube,
    code_labels,
    contributions,
    cube_source,
    flag,
    month_index,
)
from data.aggregates.dimensions import DIMENSIONS, OTHER, TOTAL, Names, Period, time_label
from data.models import Homeowner, Lead, PrivacyRequest, ServiceType, Trade
from data.sqlfuncs import tuples_of
from data.timeutil import start_of

#: Objection requests that still stand (a denied, duplicate or unverified request does not).
OBJECTION_VOID = ("denied", "duplicate", "unverified")

Cell = tuple[str, ...]


@dataclass(frozen=True)
class Counts:
    """The additive quantities of one cell."""

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
def _cube_sums(combo: tuple[str, ...], span: int | None, objecting: bool, year: int) -> Select:
    """One combination's cells over the months bound as ``first`` and ``last``
    (:func:`month_index`), per time bucket (``span`` months; ``None``: the whole period): the
    homeowners counted in the period (their previous lead in the cell is before it) and in the
    bucket (previous lead before the period or the bucket), and the additive sums. Read from
    the cube, or (``objecting``) from the objecting people's contributions to it; age bands at
    the end of ``year``. Built once per argument: assembling it took ~15 ms of Python.

    Two steps: the rows are summed per code (and month) first, in the cube's key order, so
    SQLite groups them as it reads them without a sort; only those sums are then grouped by
    category (birth years into age bands) and bucket. Grouping the rows by age band at once
    took twice as long on SQLite (a sort of every row of the period)."""
    c = (_excluded_contributions(combo) if objecting else aggregate_cube).c
    first, last = bindparam("first", type_=Integer), bindparam("last", type_=Integer)
    codes = [c.c1, c.c2, c.c3]
    months = [] if span is None else [c.month]
    in_bucket = literal(False) if span is None else c.prev < _bucket(c.month, span)
    sums = ("leads", "hires", "completed", "rating_sum", "reviews")
    per_code = (
        select(
            *codes,
            *months,
            func.sum(case((c.prev < first, c.leads), else_=0)).label("in_period"),
            func.sum(case((or_(c.prev < first, in_bucket), c.leads), else_=0)).label("in_bucket"),
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
            for name in ("in_period", "in_bucket", *sums)
        ),
    ).group_by(*keys, *buckets)


def _bucket(month: ColumnElement[int], span: int) -> ColumnElement[int]:
    """The first month (index) of the time bucket of ``span`` months that ``month`` is in."""
    return month if span == 1 else month - month % span


@cache
def _excluded_contributions(combo: tuple[str, ...]) -> Subquery:
    """What the objecting people's ``aggregate_cell`` rows contribute to one combination of
    the cube (erased people have no rows: ``cells.source_rows``). Built once per combination:
    assembling it took ~5 ms of Python per margin."""
    excluded = aggregate_cell.c.homeowner_id.in_(objecting_ids())
    return contributions(cube_source(excluded, combo).cte("cube_source"), [combo]).subquery()


def cell_counts(
    session: Session,
    dims: Sequence[str],
    period: Period,
    vocab: Names,
    *,
    with_ratings: bool = False,
) -> dict[Cell, Counts]:
    """Counts of every cell and margin that has any lead, keyed by the cell's values
    (``Total`` where the row sums over a dimension). Cells absent from the result are empty.

    Read from ``aggregate_cube`` (:mod:`data.aggregates.cells`): each margin (and the inner
    cells) is one combination's rows, less what the excluded people (erased, objecting)
    contributed to them, computed from their ``aggregate_cell`` rows the same way the cube
    was. ``with_ratings`` is kept for callers; the ratings are precomputed per lead."""
    del with_ratings
    n = len(dims)
    times = [i for i, d in enumerate(dims) if d in TIME_SPANS]
    span = TIME_SPANS[dims[times[0]]] if times else None
    keyed = [i for i in range(n) if i not in times]
    bounds = {"first": month_index(period.first), "last": month_index(period.last)}
    sums: dict[Cell, list[int]] = {}
    for size in range(len(keyed) + 1):
        for kept in combinations(keyed, size):
            chosen = {KEY_OF[dims[i]] for i in kept}
            combo = tuple(k for k in CUBE_KEYS if k in chosen)
            at = [next(i for i in kept if KEY_OF[dims[i]] == k) for k in combo]
            year = period.last.year if "birth_year" in combo else 0
            labels = [(i, _labels(k, vocab)) for i, k in zip(at, combo, strict=True)]
            for sign, objecting in ((1, False), (-1, True)):
                query = _cube_sums(combo, span, objecting, year)
                for row in tuples_of(session.execute(query, bounds)):
                    cell = [TOTAL] * n
                    for j, (i, names_of) in enumerate(labels):
                        cell[i] = row[j] if names_of is None else names_of.get(row[j], OTHER)
                    in_period, in_bucket, *additive = row[-7:]
                    if sign < 0:
                        in_period, in_bucket = -in_period, -in_bucket
                        additive = [-v for v in additive]
                    _add(sums, tuple(cell), in_period, additive)
                    if times:
                        cell[times[0]] = _time_label(dims[times[0]], row[len(combo)])
                        _add(sums, tuple(cell), in_bucket, additive)
    return {cell: Counts(*acc) for cell, acc in sums.items() if acc[1]}


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

"""The one SQL statement behind a de-identified table: every cell and every margin at once.

A cell's count of *distinct* homeowners is what the k rule judges, and distinct counts do not
add up in general (a homeowner with leads in two trades is one person in the trade total). It
is read from ``aggregate_cell`` (:mod:`data.aggregates.cells`: one narrow precomputed row per
lead, with the months of the homeowner's previous and next lead), in one statement over one
materialised base of the period's eligible rows:

* the *inner* cells are grouped once, summing leads, hires, completed jobs, ratings and the
  homeowners who have only this one lead in the period (their previous lead is before it and
  the next after it). All of these add up, so every margin is the sum of the inner cells below
  it, done in Python over at most a few thousand rows;
* the homeowners with several leads in the period (about one in five at 1M leads) are counted
  distinct per cell of every subset of the dimensions: PostgreSQL with ``GROUPING SETS``,
  SQLite (which lacks them) with a ``UNION ALL`` of 2^d ``GROUP BY``s, over their distinct
  (cell, homeowner) pairs only. A cell's homeowners are the two parts added.

Tables of lead dimensions only are read from ``aggregate_cube`` instead (:func:`_cube_counts`):
each inner cell and margin is a sum over the rows of its own combination, less what the
excluded people contributed.

Dimensions a row sums over carry ``Total``.

Who is counted (:func:`excluded_ids`): homeowners not erased and with no objection to
processing on record (an objection request that was not denied, a duplicate or unverified),
decided at read time. The homeowner row is joined only when a homeowner dimension (age band,
gender, property type) is chosen. :func:`eligible` and :func:`in_period` are the same rules
over ``lead`` (the differentially private mode and the ledger read leads directly).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from itertools import combinations
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    tuple_,
    union,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Subquery

from data.aggregates.cells import (
    CELL_SOURCE,
    COMBO_ID,
    LEAD_KEYS,
    aggregate_cell,
    aggregate_cube,
    code_labels,
    contributions,
    cube_source,
    flag,
    month_index,
)
from data.aggregates.dimensions import (
    DIMENSIONS,
    HOMEOWNER_DIMENSIONS,
    OTHER,
    TOTAL,
    Names,
    Period,
    time_label,
)
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


def excluded_ids() -> Select:
    """Homeowners never counted: erased, or with a standing objection to processing. A small
    set, so the big scan filters leads by it without joining every homeowner."""
    erased = select(Homeowner.id).where(Homeowner.erased_at.is_not(None))
    objected = select(PrivacyRequest.subject_id).where(
        PrivacyRequest.type == "objection",
        PrivacyRequest.subject_type == "homeowner",
        PrivacyRequest.subject_id.is_not(None),
        PrivacyRequest.status.not_in(OBJECTION_VOID),
    )
    return union(erased, objected)


def eligible() -> ColumnElement[bool]:
    """Leads whose homeowner may be counted (see :func:`excluded_ids`)."""
    return Lead.homeowner_id.not_in(excluded_ids())


def in_period(period: Period) -> ColumnElement[bool]:
    return and_(Lead.created_at >= start_of(period.first), Lead.created_at < start_of(period.end()))


_INNER, _MULTI = 0, 1  # the two kinds of result row of :func:`cell_counts`' statement


def _alone_in(period: Period) -> ColumnElement[bool]:
    """Whether the homeowner has no other lead in ``period`` (the previous lead is older, the
    next one later): such a person counts once in exactly the cells their one lead is in."""
    months = period.months()
    cell = aggregate_cell.c
    return and_(
        or_(cell.prev_month.is_(None), cell.prev_month < months[0]),
        or_(cell.next_month.is_(None), cell.next_month > months[-1]),
    )


def _counting_query(dialect: str, dims: Sequence[str], period: Period, vocab: Names) -> Select:
    """One statement over one materialised base (the period's eligible rows): the inner cells'
    additive sums (``_INNER`` rows), and the distinct homeowners with more than one lead in the
    period per cell of every subset of the dimensions (``_MULTI`` rows)."""
    cell = aggregate_cell.c
    columns = [
        DIMENSIONS[k].expression(period, vocab, CELL_SOURCE).label(f"d{i}")
        for i, k in enumerate(dims)
    ]
    base_query = select(
        *columns,
        cell.homeowner_id.label("h"),
        flag(_alone_in(period)).label("alone"),
        cell.hired.label("hired"),
        cell.completed.label("done"),
        cell.rating_sum.label("rs"),
        cell.reviews.label("rn"),
    ).select_from(aggregate_cell)
    if any(d in HOMEOWNER_DIMENSIONS for d in dims):  # only then is each homeowner read
        base_query = base_query.join(Homeowner, Homeowner.id == cell.homeowner_id)
    months = period.months()
    base = (
        base_query.where(
            cell.month >= months[0],
            cell.month <= months[-1],
            cell.homeowner_id.not_in(excluded_ids()),
        )
        .cte("agg_base")
        .prefix_with("MATERIALIZED")
    )
    n = len(dims)
    dim_cols = [base.c[f"d{i}"] for i in range(n)]
    inner = select(
        literal(_INNER).label("kind"),
        *dim_cols,
        func.sum(base.c.alone),
        func.count(),
        func.sum(base.c.hired),
        func.sum(base.c.done),
        func.sum(base.c.rs),
        func.sum(base.c.rn),
    ).group_by(*dim_cols)
    zeros = [literal(0, Integer)] * 5
    # the people with several leads in the period, once per inner cell they are in
    several = (
        select(*dim_cols, base.c.h)
        .where(base.c.alone == 0)
        .distinct()
        .cte("agg_several")
        .prefix_with("MATERIALIZED")
    )
    several_cols = [several.c[f"d{i}"] for i in range(n)]
    distinct = func.count(func.distinct(several.c.h))
    subsets = [kept for size in range(n, -1, -1) for kept in combinations(range(n), size)]
    if dialect == "postgresql":
        # one pass: GROUPING SETS (a dimension summed over comes back NULL; no dimension
        # expression is ever NULL, they map missing values to "Not stated")
        sets = func.grouping_sets(*(tuple_(*(several_cols[i] for i in kept)) for kept in subsets))
        multi = [
            select(
                literal(_MULTI),
                *(func.coalesce(c, TOTAL) for c in several_cols),
                distinct,
                *zeros,
            ).group_by(sets)
        ]
    else:  # SQLite lacks GROUPING SETS: one GROUP BY per subset
        multi = [
            select(
                literal(_MULTI),
                *(c if i in kept else literal(TOTAL) for i, c in enumerate(several_cols)),
                distinct,
                *zeros,
            ).group_by(*(several_cols[i] for i in kept))
            for kept in subsets
        ]
    return union_all(inner, *multi)


#: The time levels and the months a bucket of each spans: a bucket starts where the month
#: index (``cells.month_index``) is a multiple of the span.
TIME_SPANS = {"month": 1, "quarter": 3, "year": 12}


def _time_label(key: str, index: int) -> str:
    """The label of the month with this ``cells.month_index`` at time level ``key``."""
    return time_label(key, f"{index // 12:04d}-{index % 12 + 1:02d}")


def _code_label(key: str, code: int, vocab: Names) -> str:
    if key == "trade":
        return vocab.trades.get(code, OTHER)
    if key == "service_type":
        return vocab.service_types.get(code, OTHER)
    return code_labels(key)[code]


def _cube_sums(source: Any, combo: int, period: Period, span: int | None) -> Select:
    """One combination's cells over ``period``, per time bucket (``span`` months; ``None``: the
    whole period): the homeowners counted in the period (their previous lead in the cell is
    before it) and in the bucket (previous lead before the period or the bucket), and the
    additive sums. ``source`` is the cube or the excluded people's contributions to it."""
    c = source.c
    first, last = month_index(period.first), month_index(period.last)
    bucket = [] if span is None else [c.month if span == 1 else c.month - c.month % span]
    in_bucket = c.prev < bucket[0] if bucket else literal(False)
    return (
        select(
            c.c1,
            c.c2,
            c.c3,
            *(b.label("bucket") for b in bucket),
            func.sum(case((c.prev < first, c.leads), else_=0)),
            func.sum(case((or_(c.prev < first, in_bucket), c.leads), else_=0)),
            *(
                func.sum(c[name])
                for name in ("leads", "hires", "completed", "rating_sum", "reviews")
            ),
        )
        .where(c.combo == combo, c.month >= first, c.month <= last)
        .group_by(c.c1, c.c2, c.c3, *bucket)
    )


@cache
def _excluded_contributions(combo: tuple[str, ...]) -> Subquery:
    """What the excluded people's ``aggregate_cell`` rows contribute to one combination of the
    cube (built once per combination: assembling it took ~5 ms of Python per margin)."""
    excluded = aggregate_cell.c.homeowner_id.in_(excluded_ids())
    return contributions(cube_source(excluded).cte("cube_source"), [combo]).subquery()


def _cube_counts(
    session: Session, dims: Sequence[str], period: Period, vocab: Names
) -> dict[Cell, Counts]:
    """:func:`cell_counts` for tables of lead dimensions only, from ``aggregate_cube``: each
    margin (and the inner cells) is one combination's rows, less what the excluded people
    (erased, objecting) contributed to them, computed from their ``aggregate_cell`` rows the
    same way the cube was."""
    n = len(dims)
    times = [i for i, d in enumerate(dims) if d in TIME_SPANS]
    span = TIME_SPANS[dims[times[0]]] if times else None
    leads_at = [i for i in range(n) if i not in times]
    sums: dict[Cell, list[int]] = {}
    for size in range(len(leads_at) + 1):
        for kept in combinations(leads_at, size):
            combo = tuple(k for k in LEAD_KEYS if k in {dims[i] for i in kept})
            at = [dims.index(k) for k in combo]
            sources = ((1, aggregate_cube), (-1, _excluded_contributions(combo)))
            for sign, source in sources:
                query = _cube_sums(source, COMBO_ID[combo], period, span)
                for row in tuples_of(session.execute(query)):
                    cell = [TOTAL] * n
                    for j, i in enumerate(at):
                        cell[i] = _code_label(dims[i], int(row[j]), vocab)
                    in_period, in_bucket, *additive = (sign * int(v or 0) for v in row[-7:])
                    targets = [(tuple(cell), in_period)]
                    if times:
                        cell[times[0]] = _time_label(dims[times[0]], int(row[3]))
                        targets.append((tuple(cell), in_bucket))
                    for target, homeowners in targets:
                        acc = sums.setdefault(target, [0] * 6)
                        acc[0] += homeowners
                        for j, value in enumerate(additive):
                            acc[j + 1] += value
    return {cell: Counts(*acc) for cell, acc in sums.items() if acc[1]}


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

    Read from ``aggregate_cell`` (:mod:`data.aggregates.cells`). Leads, hires, completed jobs
    and ratings add up, so only the inner cells are grouped and the margins are their sums.
    Distinct homeowners add up too for the people with one lead in the period (most of them):
    they are summed the same way; only the others are counted distinct per cell and margin.
    ``with_ratings`` is kept for callers; the ratings are precomputed per lead."""
    del with_ratings
    if not any(d in HOMEOWNER_DIMENSIONS for d in dims):
        return _cube_counts(session, dims, period, vocab)
    n = len(dims)
    dialect = session.get_bind().dialect.name
    rows = tuples_of(session.execute(_counting_query(dialect, dims, period, vocab)))
    sums: dict[Cell, list[int]] = {}
    subsets = [kept for size in range(n, -1, -1) for kept in combinations(range(n), size)]
    for row in rows:
        key = tuple(str(v) for v in row[1 : n + 1])
        values = [int(v or 0) for v in row[n + 1 :]]
        if row[0] == _MULTI:
            sums.setdefault(key, [0] * 6)[0] += values[0]
            continue
        for kept in subsets:  # an inner cell adds to itself and to each margin above it
            target = tuple(v if i in kept else TOTAL for i, v in enumerate(key))
            acc = sums.setdefault(target, [0] * 6)
            for j, value in enumerate(values):
                acc[j] += value
    return {cell: Counts(*acc) for cell, acc in sums.items() if acc[1]}


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

"""The one SQL query behind a de-identified table: every cell and every margin at once.

A cell's count of *distinct* homeowners is what the k rule judges, and distinct counts do not
add up (a homeowner with leads in two trades is one person in the trade total), so the margins
cannot be summed in Python: each subset of the chosen dimensions is grouped on its own, over one
materialised base of the period's leads. PostgreSQL does it in one pass with ``GROUPING SETS``;
SQLite, which lacks them, gets the portable spelling (a ``UNION ALL`` of 2^d ``GROUP BY`` queries).
Dimensions a row sums over carry ``Total``.

Who is counted (:func:`excluded_ids`): homeowners not erased and with no objection to
processing on record (an objection request that was not denied, a duplicate or unverified).
The homeowner row is joined only when a homeowner dimension (age band, gender, property type)
is chosen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

from sqlalchemy import (
    Integer,
    Select,
    and_,
    case,
    func,
    literal,
    select,
    tuple_,
    union,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from data.aggregates.dimensions import (
    COMPLETED_STATUSES,
    DIMENSIONS,
    HIRED_STATUSES,
    HOMEOWNER_DIMENSIONS,
    TOTAL,
    Names,
    Period,
)
from data.models import Homeowner, Lead, PrivacyRequest, Review, ServiceType, Trade
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


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def cell_counts(
    session: Session,
    dims: Sequence[str],
    period: Period,
    vocab: Names,
    *,
    with_ratings: bool = False,
) -> dict[Cell, Counts]:
    """Counts of every cell and margin that has any lead, keyed by the cell's values
    (``Total`` where the row sums over a dimension). Cells absent from the result are empty."""
    columns = [DIMENSIONS[k].expression(period, vocab).label(f"d{i}") for i, k in enumerate(dims)]
    extra: list[ColumnElement] = []
    if with_ratings:
        published = and_(
            Review.lead_id == Lead.id,
            Review.author_side == "homeowner_about_partner",
            Review.moderation_status == "published",
        )
        extra = [
            select(func.coalesce(func.sum(Review.rating), 0))
            .where(published)
            .scalar_subquery()
            .label("rs"),
            select(func.count(Review.id)).where(published).scalar_subquery().label("rn"),
        ]
    else:
        extra = [literal(0, Integer).label("rs"), literal(0, Integer).label("rn")]
    base_query = select(
        *columns,
        Lead.homeowner_id.label("h"),
        _flag(Lead.status.in_(HIRED_STATUSES)).label("hired"),
        _flag(Lead.status.in_(COMPLETED_STATUSES)).label("done"),
        *extra,
    ).select_from(Lead)
    if any(d in HOMEOWNER_DIMENSIONS for d in dims):  # only then is each homeowner read
        base_query = base_query.join(Homeowner, Homeowner.id == Lead.homeowner_id)
    base = (
        base_query.where(in_period(period), eligible()).cte("agg_base").prefix_with("MATERIALIZED")
    )
    n = len(dims)
    subsets = [kept for size in range(n, -1, -1) for kept in combinations(range(n), size)]
    sums = (
        func.count(func.distinct(base.c.h)),
        func.count(),
        func.sum(base.c.hired),
        func.sum(base.c.done),
        func.sum(base.c.rs),
        func.sum(base.c.rn),
    )
    if session.get_bind().dialect.name == "postgresql":
        # one pass: PostgreSQL's GROUPING SETS (a dimension summed over comes back NULL; no
        # dimension expression is ever NULL, they map missing values to "Not stated")
        sets = func.grouping_sets(*(tuple_(*(base.c[f"d{i}"] for i in kept)) for kept in subsets))
        query = select(
            *(func.coalesce(base.c[f"d{i}"], TOTAL).label(f"d{i}") for i in range(n)), *sums
        ).group_by(sets)
    else:
        query = union_all(
            *(
                select(
                    *(
                        base.c[f"d{i}"] if i in kept else literal(TOTAL).label(f"d{i}")
                        for i in range(n)
                    ),
                    *sums,
                ).group_by(*(base.c[f"d{i}"] for i in kept))
                for kept in subsets
            )
        )
    rows = tuples_of(session.execute(query))
    out: dict[Cell, Counts] = {}
    for row in rows:
        h, leads, hires, done, rs, rn = (int(v or 0) for v in row[n:])
        if leads:  # an empty grand total comes back as one row of zeros
            out[tuple(str(v) for v in row[:n])] = Counts(h, leads, hires, done, rs, rn)
    return out


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
    in_a = func.max(_flag(in_period(a)))
    in_b = func.max(_flag(in_period(b)))
    per_person = (
        select(in_a.label("a"), in_b.label("b"))
        .where(Lead.created_at >= start_of(start), Lead.created_at < start_of(end), eligible())
        .group_by(Lead.homeowner_id)
        .subquery()
    )
    query = select(func.count()).where(per_person.c.a != per_person.c.b)
    return int(session.execute(query).scalar_one())

"""Differentially private counts (issue 14's optional mode; docs/aggregates.md, "Private mode").

What is protected: the presence or absence of any **one homeowner** with all their leads
(user-level, pure ε-differential privacy, "add/remove one person"). Whatever else an outsider
knows — earlier tables, exact exports, everyone else's data — a table released here changes
in probability by a factor of at most e^ε if one homeowner is added or left out.

How:

1. **Contribution bounding**, in SQL (:func:`bounded_counts`): each homeowner adds at most a
   fixed amount to the inner cells. ``homeowners``: each person counts once, in the cell of
   their first lead (lowest lead id) in the period, so the cells partition the people; for
   homeowner dimensions only (age band, gender, property type) that is exactly the person's
   cell, for lead dimensions (trade, month, …) it is the first lead's. ``leads``, ``hires``,
   ``completed``: the first :data:`LEAD_CAP` such leads of each homeowner. The L1 sensitivity
   of the vector of inner cells is then 1, resp. :data:`LEAD_CAP`, whatever the dimensions.
2. **Noise** from OpenDP (``make_laplace`` over integer vectors: the discrete Laplace
   mechanism, exact sampling, OS randomness), scale chosen by ``binary_search_param`` so that
   the measurement's own privacy map gives at most the ε asked for; the ε recorded is that map.
3. **Post-processing** (costs no privacy): negative noisy cells become 0, and every margin is
   the sum of the released inner cells it covers, so the table adds up exactly.

Every cell of the fixed layout is noised, empty ones too: under DP whether a cell is empty is
itself protected. k-suppression is *not* applied: a pattern of hidden cells chosen from the
true counts would leak them, and the noise replaces it (which is why an export in this mode
does not take part in the differencing check either: DP composes, the budget bounds it).
Shares and averages are refused in this mode, and so is base-5 rounding.

The budget: ε per export within [:data:`MIN_EPSILON`, :data:`MAX_EPSILON`] (default the
``aggregates.dp_epsilon`` setting), and a yearly budget for the **whole organisation**
(``aggregates.dp_budget_per_year``): privacy loss adds up per homeowner over every release,
whoever asked for it, so a per-user budget would multiply the loss by the number of users.
An export that would take the year's total over the budget is refused.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import product

import opendp.prelude as dp
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.aggregates.dimensions import (
    COMPLETED_STATUSES,
    DIMENSIONS,
    HIRED_STATUSES,
    HOMEOWNER_DIMENSIONS,
    MEASURES,
    TOTAL,
    BadSpec,
    Names,
)
from data.aggregates.ledger import epsilon_spent, lock_budget
from data.aggregates.query import eligible, in_period, names
from data.aggregates.table import MAX_CELLS, Refused, Spec, result_digest
from data.models import Homeowner, Lead, Setting
from data.sqlfuncs import tuples_of
from data.timeutil import sa_date, utcnow

MECHANISM = "discrete Laplace (OpenDP)"
EPSILON_SETTING = "aggregates.dp_epsilon"
BUDGET_SETTING = "aggregates.dp_budget_per_year"
DEFAULT_EPSILON = 0.5
DEFAULT_BUDGET = 2.0
MIN_EPSILON = 0.05  # below this the noise swamps every cell: a mistake, not a choice
MAX_EPSILON = 2.0  # above this the guarantee is too weak to be worth the name
#: Ceiling of the yearly budget: a larger (or broken) setting gives the default instead.
MAX_BUDGET = 10.0
#: Leads (hires, completed jobs) counted per homeowner: the L1 sensitivity of those measures.
LEAD_CAP = 3
#: Budget arithmetic on floats: a sum within this of the budget is within it.
TOLERANCE = 1e-9
RELEASED = "released"

dp.enable_features("contrib")  # OpenDP's measurement constructors are "contrib"


@dataclass(frozen=True)
class Budget:
    """The organisation's privacy budget for one (Johannesburg) calendar year."""

    year: int
    total: float
    spent: float

    @property
    def remaining(self) -> float:
        return max(0.0, self.total - self.spent)


@dataclass(frozen=True)
class Noise:
    """One draw of the mechanism: the noisy vector and what it cost."""

    values: list[int]
    epsilon: float  # OpenDP's privacy map at the sensitivity (≤ the ε asked for)
    scale: float
    sensitivity: int


@dataclass(frozen=True)
class PrivateTable:
    """A noisy table in the long form of ``table.AggregateTable`` (all cells ``released``)."""

    spec: Spec
    frame: pd.DataFrame
    noise: Noise
    budget: Budget  # after this table
    generated_at: datetime
    digest: str

    def lines(self) -> dict[str, str]:
        """The disclosure report (CSV ``#`` lines, the Excel report sheet)."""
        lines = report_lines(self.spec, self.noise.epsilon, self.budget)
        return {**lines, "noise scale": f"{self.noise.scale:.4g}", "cells": str(len(self.frame))}


def _setting(session: Session, key: str, default: float, high: float) -> float:
    """A positive float setting no larger than ``high``; anything else gives the default (a
    broken setting must never weaken the protection)."""
    raw = session.execute(select(Setting.value).where(Setting.key == key)).scalar()
    try:
        value = float(str(raw))
    except ValueError:
        return default
    return value if 0 < value <= high and math.isfinite(value) else default


def default_epsilon(session: Session) -> float:
    value = _setting(session, EPSILON_SETTING, DEFAULT_EPSILON, MAX_EPSILON)
    return value if value >= MIN_EPSILON else DEFAULT_EPSILON


def budget(session: Session, at: datetime) -> Budget:
    """The year's budget (setting) and what the ledger says was spent of it."""
    year = sa_date(at).year
    total = _setting(session, BUDGET_SETTING, DEFAULT_BUDGET, MAX_BUDGET)
    return Budget(year, total, epsilon_spent(session, year))


def check_epsilon(epsilon: float) -> float:
    """ε within the bounds, else :class:`BadSpec` (a user-facing sentence)."""
    if not (math.isfinite(epsilon) and MIN_EPSILON <= epsilon <= MAX_EPSILON):
        raise BadSpec(
            f"ε must be between {MIN_EPSILON:g} and {MAX_EPSILON:g} (got {str(epsilon)[:12]})."
        )
    return float(epsilon)


def check_private_spec(spec: Spec) -> None:
    """Only counts, without rounding, take the private mode (module docstring)."""
    if MEASURES[spec.measure].kind != "count":
        raise BadSpec(
            "Differentially private mode releases counts only (homeowners, leads, hires, "
            "completed jobs), not shares or averages."
        )
    if spec.rounded:
        raise BadSpec("Base-5 rounding does not apply in differentially private mode.")


def sensitivity(measure: str) -> int:
    """The L1 sensitivity of the inner cells after contribution bounding (one homeowner)."""
    return 1 if measure == "homeowners" else LEAD_CAP


def report_lines(spec: Spec, epsilon: float, year: Budget) -> dict[str, str]:
    """Mechanism, ε, sensitivity and the year's budget (the page shows them before any draw:
    ``epsilon`` is then the one asked for)."""
    bound = (
        "each homeowner counted once, in the cell of their first lead in the period"
        if spec.measure == "homeowners"
        else f"at most {LEAD_CAP} per homeowner (their first in the period)"
    )
    return {
        "dimensions": ", ".join(DIMENSIONS[d].label for d in spec.dims),
        "measure": MEASURES[spec.measure].label,
        "period": spec.period.label(),
        "mechanism": f"{MECHANISM}, pure ε-differential privacy per homeowner",
        "epsilon (this table)": f"{epsilon:.4g}",
        "sensitivity (L1, one homeowner)": str(sensitivity(spec.measure)),
        "contribution bound": bound,
        "k-suppression": "not applied: replaced by the noise",
        "margins": "sums of the released (noisy, non-negative) cells",
        f"privacy budget {year.year} (organisation)": (
            f"{year.total:g}; spent {year.spent:.4g}; remaining {year.remaining:.4g}"
        ),
    }


def inner_cells(spec: Spec, vocab: Names) -> list[tuple[str, ...]]:
    """Every inner cell of the fixed layout (never data-dependent), in layout order."""
    axes = [DIMENSIONS[d].values(spec.period, vocab) for d in spec.dims]
    cells = math.prod(len(a) + 1 for a in axes)
    if cells > MAX_CELLS:
        raise BadSpec(
            f"That table would have {cells:,} cells (at most {MAX_CELLS:,}): choose fewer or "
            "coarser dimensions or a shorter period."
        )
    return list(product(*axes))


def bounded_counts(session: Session, spec: Spec, vocab: Names) -> dict[tuple[str, ...], int]:
    """Inner-cell counts after contribution bounding (module docstring, 1.), in SQL: a
    window numbers each homeowner's qualifying leads by id; the first one (``homeowners``) or
    the first :data:`LEAD_CAP` are grouped by cell."""
    columns = [
        DIMENSIONS[k].expression(spec.period, vocab).label(f"d{i}") for i, k in enumerate(spec.dims)
    ]
    rank = func.row_number().over(partition_by=Lead.homeowner_id, order_by=Lead.id)
    query = select(*columns, rank.label("rn")).select_from(Lead)
    if any(d in HOMEOWNER_DIMENSIONS for d in spec.dims):
        query = query.join(Homeowner, Homeowner.id == Lead.homeowner_id)
    query = query.where(in_period(spec.period), eligible())
    if spec.measure == "hires":
        query = query.where(Lead.status.in_(HIRED_STATUSES))
    elif spec.measure == "completed":
        query = query.where(Lead.status.in_(COMPLETED_STATUSES))
    ranked = query.subquery("ranked")
    dims = [ranked.c[f"d{i}"] for i in range(len(spec.dims))]
    grouped = (
        select(*dims, func.count()).where(ranked.c.rn <= sensitivity(spec.measure)).group_by(*dims)
    )
    n = len(spec.dims)
    rows = tuples_of(session.execute(grouped))
    return {tuple(str(v) for v in row[:n]): int(row[n]) for row in rows}


def draw(true_counts: Sequence[int], sensitivity_l1: int, epsilon: float) -> Noise:
    """The OpenDP discrete Laplace measurement on the vector of counts, scaled so that its
    privacy map at ``sensitivity_l1`` is at most ``epsilon``."""
    space = dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int)
    scale = dp.binary_search_param(
        lambda s: dp.m.make_laplace(*space, scale=s), d_in=sensitivity_l1, d_out=epsilon
    )
    measurement = dp.m.make_laplace(*space, scale=scale)
    values = [int(v) for v in measurement([int(c) for c in true_counts])]
    return Noise(values, float(measurement.map(sensitivity_l1)), float(scale), sensitivity_l1)


def with_margins(
    spec: Spec, vocab: Names, cells: Sequence[tuple[str, ...]], values: Sequence[int]
) -> pd.DataFrame:
    """The long table: inner cells (negatives as 0) and every margin as their sum, in the
    order of the deterministic layout (``suppression.layout``: each axis's values, then
    ``Total``)."""
    n = len(spec.dims)
    sums: dict[tuple[str, ...], int] = {}
    for cell, value in zip(cells, values, strict=True):
        kept = max(0, value)
        for mask in product((False, True), repeat=n):
            key = tuple(TOTAL if m else v for v, m in zip(cell, mask, strict=True))
            sums[key] = sums.get(key, 0) + kept
    axes = [(*DIMENSIONS[d].values(spec.period, vocab), TOTAL) for d in spec.dims]
    rows = [(*c, sums.get(c, 0), RELEASED) for c in product(*axes)]
    frame = pd.DataFrame(rows, columns=[*spec.dims, "value", "status"])
    frame["value"] = frame["value"].astype("Int64")
    return frame


def build_private_table(
    session: Session, spec: Spec, epsilon: float, *, now: datetime | None = None
) -> PrivateTable:
    """Check the request and the year's budget (:class:`Refused` when it would be exceeded),
    then draw the noisy table. The caller records the ledger row in the same transaction
    (``ledger.record_export``), which holds the budget lock on PostgreSQL until commit."""
    check_private_spec(spec)
    epsilon = check_epsilon(epsilon)
    at = now or utcnow()
    lock_budget(session)
    before = budget(session, at)
    if before.spent + epsilon > before.total + TOLERANCE:
        raise Refused(
            f"Refused (privacy budget): ε = {epsilon:g} would take {before.year}'s spending to "
            f"{before.spent + epsilon:.4g}, over the organisation's yearly budget of "
            f"{before.total:g} ({before.remaining:.4g} remains). Ask for a smaller ε or wait "
            "for next year."
        )
    vocab = names(session)
    cells = inner_cells(spec, vocab)
    counts = bounded_counts(session, spec, vocab)
    noise = draw([counts.get(c, 0) for c in cells], sensitivity(spec.measure), epsilon)
    frame = with_margins(spec, vocab, cells, noise.values)
    after = Budget(before.year, before.total, before.spent + noise.epsilon)
    return PrivateTable(spec, frame, noise, after, at, result_digest(spec, frame))

"""A de-identified table: the cells, their disclosure status and the disclosure report.

:func:`build_table` is what the page, the file export and the command line all call, so that a
file holds exactly what the page showed. It runs the one SQL query (``query.cell_counts``),
applies the k rule and the complementary suppression (``suppression.suppress``), hides shares
and averages whose denominator is under k, optionally rounds counts to base 5, and returns an
:class:`AggregateTable`. Nothing in it identifies a person: values are counts, shares and
averages over fixed categories, and statuses never say which hidden cells were under k.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from data.aggregates.dimensions import (
    DIMENSIONS,
    MEASURES,
    TOTAL,
    BadSpec,
    Period,
    check_dimensions,
)
from data.aggregates.query import Counts, cell_counts, names
from data.aggregates.suppression import (
    COMPLEMENTARY,
    PRIMARY,
    RELEASED,
    layout,
    pinned_cells,
    suppress,
)
from data.models import Setting
from data.timeutil import utcnow

K_SETTING = "aggregates.k"
DEFAULT_K = 10
MIN_K = 5
ROUNDING_BASE = 5
#: Tables up to this many cells are audited after suppression by solving the linear system
#: (``suppression.pinned_cells``); larger ones rely on the hypercube construction's proof.
AUDIT_CELL_LIMIT = 1000
SUPPRESSED = "suppressed"
MAX_MONTHS = 120
#: Largest table (margins included) built at all: suppression time grows with the cells, and a
#: table this fine would be mostly hidden anyway.
MAX_CELLS = 20_000


class Refused(ValueError):
    """A request the disclosure rules refuse; ``str(exc)`` is a user-facing sentence."""


def configured_k(session: Session) -> int:
    """k from the ``aggregates.k`` setting; a missing, malformed or too small value gives the
    default (a broken setting must never lower the threshold)."""
    raw = session.execute(select(Setting.value).where(Setting.key == K_SETTING)).scalar()
    try:
        value = int(str(raw))
    except ValueError:
        return DEFAULT_K
    return value if value >= MIN_K else DEFAULT_K


@dataclass(frozen=True)
class Spec:
    """What was asked for: dimensions, measure, whole months, k and rounding."""

    dims: tuple[str, ...]
    measure: str
    period: Period
    k: int
    rounded: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "dims": list(self.dims),
            "measure": self.measure,
            "from": f"{self.period.first:%Y-%m}",
            "to": f"{self.period.last:%Y-%m}",
            "k": self.k,
            "rounded": self.rounded,
        }


def parse_month(raw: str, label: str) -> date:
    """``YYYY-MM`` → the first day of that month; anything else is a :class:`BadSpec`."""
    text = (raw or "").strip()
    try:
        year, month = text.split("-")
        if len(year) != 4 or len(month) != 2:
            raise ValueError
        return date(int(year), int(month), 1)
    except ValueError:
        raise BadSpec(f"{label} must be a month written YYYY-MM (got {text[:20]!r}).") from None


def make_spec(
    dims: Sequence[str],
    measure: str,
    first: date,
    last: date,
    k: int,
    *,
    rounded: bool = False,
) -> Spec:
    """A validated :class:`Spec`; raises :class:`BadSpec` or :class:`Refused` (k under 5)."""
    keys = check_dimensions(dims)
    if measure not in MEASURES:
        raise BadSpec(f"Unknown measure: {str(measure)[:40]!r}.")
    if k < MIN_K:
        raise Refused(f"k = {k} is refused: no table is released with k below {MIN_K}.")
    first, last = first.replace(day=1), last.replace(day=1)
    if last < first:
        raise BadSpec("The period ends before it starts.")
    period = Period(first, last)
    if len(period.months()) > MAX_MONTHS:
        raise BadSpec(f"The period is longer than {MAX_MONTHS // 12} years.")
    return Spec(keys, measure, period, k, rounded)


@dataclass(frozen=True)
class Report:
    """The disclosure report every view and file carries."""

    k: int
    cells: int
    primary: int
    complementary: int
    suppressed_share: float  # of the homeowners in inner cells, those in hidden inner cells
    generated_at: datetime
    audited: bool  # whether the suppression was checked by solving the linear system

    def lines(self, spec: Spec) -> dict[str, str]:
        """The report as header lines (CSV ``#`` lines, the Excel report sheet, the page)."""
        return {
            "dimensions": ", ".join(DIMENSIONS[d].label for d in spec.dims),
            "measure": MEASURES[spec.measure].label,
            "period": spec.period.label(),
            "k (minimum homeowners per released cell)": str(self.k),
            "cells": str(self.cells),
            "cells suppressed under k (primary)": str(self.primary),
            "cells suppressed to protect them (complementary)": str(self.complementary),
            "share of homeowners in suppressed cells": f"{self.suppressed_share:.1%}",
            "counts rounded to base 5": "yes" if spec.rounded else "no",
        }


@dataclass(frozen=True)
class AggregateTable:
    """The cells in long form (one column per dimension, ``value``, ``status``) plus the
    report. ``population`` is the grand total of distinct homeowners (for the ledger only)."""

    spec: Spec
    frame: pd.DataFrame
    report: Report
    population: int
    digest: str = field(default="")


#: The additive sums each measure reads (:func:`_value`, :func:`_denominator`); the homeowner
#: count, which every table's suppression judges, is always read.
_SUMS: dict[str, tuple[str, ...]] = {
    "homeowners": (),
    "leads": ("leads",),
    "hires": ("hires",),
    "completed": ("completed",),
    "share_hired": ("leads", "hires"),
    "avg_rating": ("rating_sum", "reviews"),
}


def _value(measure: str, c: Counts) -> float | int | None:
    if measure == "homeowners":
        return c.homeowners
    if measure == "leads":
        return c.leads
    if measure == "hires":
        return c.hires
    if measure == "completed":
        return c.completed
    if measure == "share_hired":
        return round(c.hires / c.leads, 4) if c.leads else None
    return round(c.rating_sum / c.reviews, 2) if c.reviews else None


def _denominator(measure: str, c: Counts) -> int | None:
    if measure == "share_hired":
        return c.leads
    if measure == "avg_rating":
        return c.reviews
    return None


def _round5(value: int) -> int:
    return int(ROUNDING_BASE * round(value / ROUNDING_BASE))


def build_table(session: Session, spec: Spec, *, now: datetime | None = None) -> AggregateTable:
    """The released table for ``spec`` (see the module docstring)."""
    vocab = names(session)
    cells = 1
    for d in spec.dims:
        cells *= len(DIMENSIONS[d].values(spec.period, vocab)) + 1
    if cells > MAX_CELLS:
        raise BadSpec(
            f"That table would have {cells:,} cells (at most {MAX_CELLS:,}): choose fewer or "
            "coarser dimensions (region rather than city, quarter rather than month) or a "
            "shorter period."
        )
    counts = cell_counts(session, spec.dims, spec.period, vocab, sums=_SUMS[spec.measure])
    values = [list(DIMENSIONS[d].values(spec.period, vocab)) for d in spec.dims]
    for j, seen in enumerate(zip(*counts, strict=True)):  # defensive: a value off the list
        known = {*values[j], TOTAL}  # still gets a row
        values[j].extend(v for v in dict.fromkeys(seen) if v not in known)
    homeowners = {cell: c.homeowners for cell, c in counts.items()}
    measure = MEASURES[spec.measure]
    thin = [
        cell
        for cell, c in counts.items()
        if measure.kind == "ratio" and (_denominator(spec.measure, c) or 0) < spec.k
    ]
    status = suppress(values, homeowners, spec.k, also_primary=thin)  # every cell, in order
    audited = len(status) <= AUDIT_CELL_LIMIT
    if audited:
        lay = layout(values)
        hidden = [lay.index[c] for c, s in status.items() if s != RELEASED]
        if pinned_cells(lay, hidden):  # cannot happen (hypercubes); refuse rather than leak
            raise Refused("The suppression could not be verified; the table is not released.")
    rows = []
    empty = Counts(0, 0, 0, 0, 0, 0)
    for cell in status:
        c = counts.get(cell, empty)
        if measure.kind == "ratio" and c.homeowners == 0:
            continue  # no share or average of nobody
        shown = status[cell] == RELEASED
        value = _value(spec.measure, c) if shown else None
        if shown and spec.rounded and measure.kind == "count" and value is not None:
            value = _round5(int(value))
        rows.append((*cell, value, RELEASED if shown else SUPPRESSED))
    frame = pd.DataFrame(rows, columns=[*spec.dims, "value", "status"])
    frame["value"] = frame["value"].astype("Float64" if measure.kind == "ratio" else "Int64")
    inner = [c for c in status if TOTAL not in c]
    total_inner = sum(homeowners.get(c, 0) for c in inner)
    hidden_inner = sum(homeowners.get(c, 0) for c in inner if status[c] != RELEASED)
    report = Report(
        k=spec.k,
        cells=len(frame),
        primary=sum(1 for s in status.values() if s == PRIMARY),
        complementary=sum(1 for s in status.values() if s == COMPLEMENTARY),
        suppressed_share=hidden_inner / total_inner if total_inner else 0.0,
        generated_at=now or utcnow(),
        audited=audited,
    )
    grand = counts.get(tuple(TOTAL for _ in spec.dims), empty).homeowners
    return AggregateTable(spec, frame, report, grand, result_digest(spec, frame))


def _plain_rows(frame: pd.DataFrame) -> list[list[object]]:
    """The frame's rows as lists, missing values as None and whole numbers as their decimal
    text: the digests have held them so since the ledger began (``json`` wrote numpy's
    integers through ``default=str``), so a digest recorded earlier can still be checked.
    Column by column through numpy: iterating the pandas arrays value by value took ~70 ms at
    8 000 cells."""
    columns = []
    for _, col in frame.items():
        values = col.to_numpy(dtype=object, na_value=None)
        if pd.api.types.is_integer_dtype(col.dtype):
            values = [None if v is None else str(v) for v in values]
        columns.append(values)
    return [list(row) for row in zip(*columns, strict=True)]


def result_digest(spec: Spec, frame: pd.DataFrame) -> str:
    """SHA-256 of the specification and the released long table (the ledger's proof of what
    left)."""
    payload = json.dumps(
        {"spec": spec.as_dict(), "rows": _plain_rows(frame)},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()

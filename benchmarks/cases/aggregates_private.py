"""Differentially private counts (``data.aggregates.private``): the same three-dimension
tables as ``aggregates.py``, over the last whole year, as an export builds them: budget check
(rolled back), contribution bounding in SQL (a window over the year's leads), OpenDP's noise
on every cell and the margins.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from benchmarks.cases import BenchContext, Case
from data.aggregates.private import build_private_table
from data.aggregates.table import make_spec

TABLES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("province", "age_band", "gender"), "homeowners"),
    (("region", "trade", "month"), "leads"),
    (("city", "property_type", "quarter"), "homeowners"),
)


def _table(ctx: BenchContext, dims: tuple[str, ...], measure: str):
    year = ctx.as_of.year - 1
    spec = make_spec(dims, measure, date(year, 1, 1), date(year, 12, 1), 10)

    def run() -> Any:
        with Session(ctx.engine) as session:
            try:
                return build_private_table(session, spec, 0.5)
            finally:
                session.rollback()

    return run


def cases(ctx: BenchContext) -> list[Case]:
    return [
        Case(
            f"aggregates_private.{measure}",
            " × ".join(dims) + ", last year, ε 0.5",
            _table(ctx, dims, measure),
        )
        for dims, measure in TABLES
    ]

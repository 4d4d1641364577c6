"""Differentially private counts (``data.aggregates.private``): the count tables of
``aggregates.py``, over the last whole year, as an export builds them: budget check (rolled
back), contribution bounding in SQL (a window over the year's leads), OpenDP's noise on every
cell and the margins.
"""

from __future__ import annotations

from benchmarks.cases import BenchContext, Case
from benchmarks.cases.aggregates import TABLES, last_year_table
from data.aggregates.dimensions import MEASURES
from data.aggregates.private import build_private_table


def cases(ctx: BenchContext) -> list[Case]:
    return [
        Case(
            f"aggregates_private.{measure}",
            " × ".join(dims) + ", last year, ε 0.5",
            last_year_table(
                ctx, dims, measure, lambda session, spec: build_private_table(session, spec, 0.5)
            ),
        )
        for dims, measure in TABLES
        if MEASURES[measure].kind == "count"
    ]

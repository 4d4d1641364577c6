"""De-identified aggregates (``data/aggregates``): three-dimension tables with margins and
suppression over the last whole year, as the page and the export build them (issue 14's target:
any such table ≤ 500 ms p95 at 1M leads). :data:`TABLES`: one case per kind of breakdown
(homeowner attributes only, lead attributes with months, city with a homeowner attribute, a
share and an average; the private mode's cases time the count ones too). :data:`WIDEST`: the
widest tables a year allows, where suppression and the cube's biggest combinations (city ×
trade × birth year) cost most: city × trade × month (11 232 cells with margins), × channel
(6 048) and × age band (7 776), and every homeowner attribute at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from benchmarks.cases import BenchContext, Case
from data.aggregates.table import Spec, build_table, make_spec

TABLES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("province", "age_band", "gender"), "homeowners"),
    (("region", "trade", "month"), "leads"),
    (("city", "property_type", "quarter"), "homeowners"),
    (("province", "service_type", "channel"), "share_hired"),
    (("province", "trade", "year"), "avg_rating"),
)
WIDEST: tuple[tuple[tuple[str, ...], str], ...] = (
    (("city", "trade", "month"), "homeowners"),
    (("city", "trade", "channel"), "homeowners"),
    (("city", "trade", "age_band"), "homeowners"),
    (("age_band", "gender", "property_type"), "share_hired"),
)


def last_year_table(
    ctx: BenchContext,
    dims: tuple[str, ...],
    measure: str,
    build: Callable[[Session, Spec], Any] = build_table,
) -> Callable[[], Any]:
    """One case: ``build`` the table of ``dims`` × ``measure`` over the last whole year (k 10),
    in a session rolled back afterwards (an export's ledger row is not kept)."""
    year = ctx.as_of.year - 1
    spec = make_spec(dims, measure, date(year, 1, 1), date(year, 12, 1), 10)

    def run() -> Any:
        with Session(ctx.engine) as session:
            try:
                return build(session, spec)
            finally:
                session.rollback()

    return run


def cases(ctx: BenchContext) -> list[Case]:
    return [
        Case(
            f"aggregates.{measure}",
            " × ".join(dims) + ", last year",
            last_year_table(ctx, dims, measure),
        )
        for dims, measure in (*TABLES, *WIDEST)
    ]

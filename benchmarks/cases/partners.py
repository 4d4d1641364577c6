"""Partner performance (``data/partners.py``): every query behind ``/partners`` and
``/partners/<id>``, cold (the page cache is cleared before each run), for the default view
(last 365 days), the last 90 days, one trade and one province.

* ``partners.table``: the ranking (it feeds the headline numbers, the scatter chart and the
  grid: one computation per view).
* ``partners.grid_first_page``: what the grid's first request costs cold (table + one page).
* ``partners.ratings_by_trade``: the data of the second chart.
* ``partner.*``: the detail page's functions for the partner with the most leads, and
  ``partner.page`` for all of them together.

The plain ``GROUP BY`` over the base tables that the rollups replace
(``partner_table(..., source="base")``) is not a case here: it is the slow path the rollups
exist to avoid, quoted in docs/partner-performance.md.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from benchmarks.cases import BenchContext, Case
from components.grid import GridRequest, serve_rows
from data import partner_detail as pdetail
from data import partners as pdata
from data.models import LeadShare
from data.query_cache import CACHE

VARIANTS = ("default", "90-day window", "one trade", "one province")


def variant_filters(ctx: BenchContext) -> dict[str, pdata.PartnerFilters]:
    end = ctx.as_of
    year = pdata.PartnerFilters(end - timedelta(days=364), end)
    return {
        "default": year,
        "90-day window": pdata.PartnerFilters(end - timedelta(days=89), end),
        "one trade": pdata.PartnerFilters(year.start, end, trade_id=ctx.trade_id),
        "one province": pdata.PartnerFilters(year.start, end, province=ctx.province),
    }


def busiest_partner(ctx: BenchContext) -> int:
    with ctx.engine.connect() as conn:
        return conn.execute(
            select(LeadShare.partner_id)
            .group_by(LeadShare.partner_id)
            .order_by(func.count().desc(), LeadShare.partner_id)
            .limit(1)
        ).scalar_one()


def _conn_case(ctx: BenchContext, name: str, label: str, function: Callable[..., Any]) -> Case:
    def run() -> Any:
        with ctx.engine.connect() as conn:
            return function(conn)

    return Case(name, label, run, CACHE.clear)


def cases(ctx: BenchContext) -> list[Case]:
    filters = variant_filters(ctx)
    pid = busiest_partner(ctx)
    with ctx.engine.connect() as conn:
        profile = pdetail.partner_profile(conn, pid)
        criteria = pdata.RiskCriteria.load(conn)
        tables = {label: pdata.partner_table(conn, f, criteria) for label, f in filters.items()}
    assert profile is not None
    out: list[Case] = []
    for label, f in filters.items():
        out.append(
            _conn_case(ctx, "partners.table", label, lambda c, f=f: pdata.partner_table(c, f))
        )

        def first_page(c: Any, f: pdata.PartnerFilters = f) -> Any:
            table = pdata.partner_table(c, f)
            request = GridRequest(0, 25, (("bayes_rating", True),))
            return serve_rows(table, request, columns=list(table.columns), tiebreak="partner_id")

        out.append(_conn_case(ctx, "partners.grid_first_page", label, first_page))
        out.append(
            _conn_case(
                ctx,
                "partners.ratings_by_trade",
                label,
                lambda c, t=tables[label]: pdata.ratings_by_trade(c, t),
            )
        )
    detail: dict[str, Callable[[Any, pdata.PartnerFilters], Any]] = {
        "partner.profile": lambda c, f: pdetail.partner_profile(c, pid),
        "partner.metrics": lambda c, f: pdetail.partner_metrics(c, pid, f, criteria),
        "partner.monthly_trend": lambda c, f: pdetail.monthly_trend(
            c, pid, f.end, trade_id=f.trade_id, province=f.province
        ),
        "partner.rating_breakdown": lambda c, f: pdetail.rating_breakdown(c, profile, f),
        "partner.funnel": lambda c, f: pdetail.funnel(c, profile, f),
        "partner.recent_reviews": lambda c, f: (
            pdetail.recent_reviews(c, pid, about_partner=True, until=f.end),
            pdetail.recent_reviews(c, pid, about_partner=False, until=f.end),
        ),
        "partner.disputes_and_flags": lambda c, f: pdetail.disputes_and_flags(c, pid, until=f.end),
        "partner.prospective_leads": lambda c, f: pdetail.prospective_leads(c, pid, until=f.end),
    }
    for label, f in filters.items():
        for name, function in detail.items():
            out.append(_conn_case(ctx, name, label, lambda c, fn=function, f=f: fn(c, f)))

        out.append(
            _conn_case(
                ctx, "partner.page", label, lambda c, f=f: pdetail.load_partner_view(c, pid, f)
            )
        )
    return out

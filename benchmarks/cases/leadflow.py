"""Lead flow (``data/leadflow/``): every query behind ``/leads``, cold, for the last 365 days
(the longest preset, the "default" variant here as on the partner pages), the last 90 days (the
page's own default), one trade and one province (each over 365 days).

Each case is one function of the data layer as the page calls it; ``leadflow.page`` is all of
them together (what one view of the page costs). The Sankey's base-table path (a channel,
service-type or source-site filter combined with another) is not a case: it is the slow path
the transition rollups avoid, quoted in the README.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection

from benchmarks.cases import BenchContext, Case
from data import leadflow as lf

Query = Callable[[Connection, lf.LeadFlowFilters], Any]


def variant_filters(ctx: BenchContext) -> dict[str, lf.LeadFlowFilters]:
    end = ctx.as_of
    year = lf.LeadFlowFilters(end - timedelta(days=364), end)
    return {
        "default": year,
        "90-day window": lf.LeadFlowFilters(end - timedelta(days=89), end),
        "one trade": lf.LeadFlowFilters(year.start, end, trade_id=ctx.trade_id),
        "one province": lf.LeadFlowFilters(year.start, end, province=ctx.province),
    }


def queries(ctx: BenchContext) -> dict[str, Query]:
    now = datetime.combine(ctx.as_of, time(12))
    since = ctx.as_of - timedelta(days=365)
    queries: dict[str, Query] = {
        "leadflow.lookups": lambda conn, f: lf.lookups(conn, since),
        "leadflow.headline": lf.headline,
        "leadflow.funnel": lf.funnel,
        "leadflow.transitions": lf.transitions,
        "leadflow.leads_over_time[channel]": lambda conn, f: lf.leads_over_time(conn, f, "channel"),
        "leadflow.leads_over_time[trade]": lambda conn, f: lf.leads_over_time(conn, f, "trade"),
        "leadflow.weekly_cohorts": lambda conn, f: lf.weekly_cohorts(conn, f, ctx.as_of),
        "leadflow.first_contact_distribution": lf.first_contact_distribution,
        "leadflow.contact_by_trade": lambda conn, f: lf.contact_by_trade(conn, f, {}),
        "leadflow.province_breakdown": lf.province_breakdown,
        "leadflow.operations_list": lambda conn, f: lf.operations_list(conn, f, now),
    }
    return queries


def cases(ctx: BenchContext) -> list[Case]:
    out: list[Case] = []
    every = queries(ctx)
    for label, filters in variant_filters(ctx).items():
        for name, query in every.items():

            def run(query: Query = query, filters: lf.LeadFlowFilters = filters) -> Any:
                with ctx.engine.connect() as conn:
                    return query(conn, filters)

            out.append(Case(name, label, run))

        def page(filters: lf.LeadFlowFilters = filters) -> None:
            with ctx.engine.connect() as conn:
                for query in every.values():
                    query(conn, filters)

        out.append(Case("leadflow.page", label, page))
    return out

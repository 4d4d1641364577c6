"""Lead-flow filters, and reading the rollup level that answers them.

The page filters by period (days of lead *creation*), trade, service type, province, channel
and source site, and may narrow everything to the leads that reached one funnel step (``step``,
the cross-filter of a click on the funnel). Each rollup level holds some of these dimensions;
:func:`flow_rows` reads the coarsest level that has every dimension a query filters or groups
by, so a query visits as few rows as its filters allow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Table, func, select

from data.models import LEAD_CHANNELS, Homeowner, Lead, ServiceType, Trade
from data.rollups.lead_flow import FLOW_LEVELS, FLOW_TABLES, STEPS
from data.sqlfuncs import tuples_of
from data.timeutil import start_of

STEP_LABELS: dict[str, str] = {
    "leads": "Created",
    "shared": "Shared",
    "contacted": "Contacted",
    "quoted": "Quoted",
    "hired": "Hired",
    "completed": "Completed",
    "reviewed": "Reviewed",
}
#: Time-series breakdowns: page name → rollup column.
BREAKDOWNS: dict[str, str] = {"channel": "channel", "trade": "trade_id", "province": "province"}


@dataclass(frozen=True)
class LeadFlowFilters:
    """Leads created on the days ``start``..``end`` (inclusive, South African days) matching
    every dimension given; ``step``: count only those that reached this funnel step."""

    start: date
    end: date
    trade_id: int | None = None
    service_type_id: int | None = None
    province: str | None = None
    channel: str | None = None
    source_site: str | None = None
    step: str = "leads"

    def __post_init__(self) -> None:
        if self.step not in STEPS:
            raise ValueError(f"unknown step {self.step!r}")
        if self.start > self.end:
            raise ValueError("start after end")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> LeadFlowFilters:
        """The same filters over the period of equal length just before."""
        end = self.start - timedelta(days=1)
        return replace(self, start=end - timedelta(days=self.days - 1), end=end)

    def dimensions(self) -> dict[str, Any]:
        """The dimension filters that are set, by rollup column."""
        values = {
            "trade_id": self.trade_id,
            "service_type_id": self.service_type_id,
            "province": self.province,
            "channel": self.channel,
            "source_site": self.source_site,
        }
        return {k: v for k, v in values.items() if v is not None}

    def lead_conditions(self) -> list[Any]:
        """The filters as conditions on ``lead`` (and ``homeowner`` for the source site), for
        queries on the base tables."""
        out: list[Any] = [
            Lead.created_at >= start_of(self.start),
            Lead.created_at < start_of(self.end + timedelta(days=1)),
        ]
        for key, value in self.dimensions().items():
            column = Homeowner.source_site if key == "source_site" else getattr(Lead, key)
            out.append(column == value)
        return out


def level_for(keys: Sequence[str], levels: dict[str, tuple[str, ...]] = FLOW_LEVELS) -> str | None:
    """The coarsest level holding every key (``None``: no level does)."""
    wanted = set(keys)
    for level, columns in levels.items():
        if wanted <= set(columns):
            return level
    return None


def flow_rows(
    conn: Connection,
    filters: LeadFlowFilters,
    counts: Sequence[str],
    group: Sequence[str] = (),
) -> pd.DataFrame:
    """``SUM`` of the rollup columns ``counts`` over the filters, grouped by ``group`` (rollup
    columns, ``day`` included): one statement on the coarsest level that can answer it."""
    level = level_for([*filters.dimensions(), *(g for g in group if g != "day")])
    assert level is not None  # the finest level has every dimension
    table: Table = FLOW_TABLES[level]
    where = [table.c.day >= filters.start, table.c.day <= filters.end]
    where += [table.c[k] == v for k, v in filters.dimensions().items()]
    keys = [table.c[g] for g in group]
    query = select(*keys, *(func.coalesce(func.sum(table.c[c]), 0) for c in counts)).where(*where)
    if keys:
        query = query.group_by(*keys)
    rows = tuples_of(conn.execute(query))
    # the counts as one integer block (a column-by-column conversion cost more than the query)
    width = len(group)
    values = np.array([r[width:] for r in rows], dtype=np.int64).reshape(len(rows), len(counts))
    frame = pd.DataFrame(values, columns=list(counts))
    for i, name in enumerate(group):
        frame.insert(i, name, [r[i] for r in rows])
    return frame


@dataclass(frozen=True)
class Lookups:
    """What the filters may take: trades (id, code, name), service types (id, code, name),
    channels and source sites (as stored)."""

    trades: tuple[tuple[int, str, str], ...]
    service_types: tuple[tuple[int, str, str], ...]
    channels: tuple[str, ...]
    source_sites: tuple[str, ...]

    def trade_names(self) -> dict[int, str]:
        return {t[0]: t[2] for t in self.trades}


def lookups(conn: Connection, since: date) -> Lookups:
    """The filter choices: trades and service types (small tables), and the source sites of
    the leads created since ``since`` (a bounded range of the finest rollup: no index on the
    homeowners' source site; the per-site level holds a few rows a day)."""
    trades = tuple(tuple(r) for r in conn.execute(select(Trade.id, Trade.code, Trade.name)))
    services = tuple(
        tuple(r) for r in conn.execute(select(ServiceType.id, ServiceType.code, ServiceType.name))
    )
    by_site = FLOW_TABLES["site"]
    sites = conn.execute(
        select(by_site.c.source_site)
        .where(by_site.c.day >= since)
        .distinct()
        .order_by(by_site.c.source_site)
    )
    return Lookups(
        trades=tuple(sorted(trades, key=lambda t: t[2])),  # type: ignore[arg-type]
        service_types=tuple(sorted(services, key=lambda t: t[0])),  # type: ignore[arg-type]
        channels=LEAD_CHANNELS,
        source_sites=tuple(s for s in sites.scalars() if s),
    )

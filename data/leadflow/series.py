"""Breakdowns of the leads created in a period: over time, by weekly cohort, by time to first
contact, by trade and by province, and their status transitions (the Sankey).

The rollups are read per day (at most a few thousand rows for the longest range); weeks and
months are summed from those days here, because SQLite and PostgreSQL name weeks differently
and the days are already South African days.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
from sqlalchemy import Connection, and_, func, select

from data.leadflow.filters import BREAKDOWNS, LeadFlowFilters, flow_rows, level_for
from data.leadflow.measures import bucket_label, share
from data.rollups.lead_flow import (
    N_BUCKETS,
    TIME_BOUNDS,
    TRANSITION_LEVELS,
    TRANSITION_TABLES,
    WINDOW_DAYS,
    transition_source,
)
from data.sqlfuncs import tuples_of
from data.timeutil import as_date

GRAINS = ("day", "week", "month")
MAX_POINTS = 5000  # what one chart may send to the browser
_WITHIN_1H = TIME_BOUNDS.index(60) + 1
_WITHIN_24H = TIME_BOUNDS.index(1440) + 1
_CONTACT = [f"h_first_contact_{i}" for i in range(N_BUCKETS)]


def auto_grain(days: int) -> str:
    """Daily up to three months, weekly up to two years, monthly beyond."""
    if days <= 92:
        return "day"
    if days <= 731:
        return "week"
    return "month"


def period_start(day: date, grain: str) -> date:
    """The first day of the day's week (Monday) or month; the day itself for ``day``."""
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def _points(days: int, grain: str) -> int:
    return {"day": days, "week": days // 7 + 2, "month": days // 28 + 2}[grain]


def leads_over_time(
    conn: Connection, filters: LeadFlowFilters, by: str = "channel", grain: str | None = None
) -> tuple[pd.DataFrame, str]:
    """Leads (or, with ``filters.step``, leads that reached the step) per period and value of
    ``by`` (``channel``, ``trade`` or ``province``): columns ``period``, ``key``, ``count``, and
    the grain used (``grain`` or the automatic one; made coarser when the chart would exceed
    :data:`MAX_POINTS`)."""
    if by not in BREAKDOWNS:
        raise ValueError(f"unknown breakdown {by!r}")
    if grain not in (None, *GRAINS):
        raise ValueError(f"unknown grain {grain!r}")
    column = BREAKDOWNS[by]
    rows = flow_rows(conn, filters, [filters.step], group=("day", column))
    rows = rows[rows[filters.step] > 0]
    series = max(rows[column].nunique(), 1)
    chosen = grain or auto_grain(filters.days)
    while _points(filters.days, chosen) * series > MAX_POINTS and chosen != "month":
        chosen = GRAINS[GRAINS.index(chosen) + 1]
    if rows.empty:
        return pd.DataFrame({"period": [], "key": [], "count": []}), chosen
    rows["period"] = [period_start(as_date(d), chosen) for d in rows["day"]]
    out = (
        rows.groupby(["period", column], as_index=False)[filters.step]
        .sum()
        .rename(columns={column: "key", filters.step: "count"})
        .sort_values(["period", "key"], ignore_index=True)
    )
    return out, chosen


def weekly_cohorts(conn: Connection, filters: LeadFlowFilters, today: date) -> pd.DataFrame:
    """Per week of creation (Monday): ``week``, ``leads``, ``hired`` (within 30 days of
    creation), ``hire_rate`` and ``provisional`` (the week's youngest leads are less than
    30 days old on ``today``, so more of them may still be hired)."""
    rows = flow_rows(conn, filters, ["leads", "hired"], group=("day",))
    if rows.empty:
        return pd.DataFrame(columns=["week", "leads", "hired", "hire_rate", "provisional"])
    rows["week"] = [period_start(as_date(d), "week") for d in rows["day"]]
    weeks = rows.groupby("week", as_index=False)[["leads", "hired"]].sum().sort_values("week")
    weeks["hire_rate"] = [share(h, n) for h, n in zip(weeks["hired"], weeks["leads"], strict=True)]
    last_day = [min(w + timedelta(days=6), filters.end) for w in weeks["week"]]
    weeks["provisional"] = [d + timedelta(days=WINDOW_DAYS) > today for d in last_day]
    return weeks.reset_index(drop=True)


def first_contact_distribution(conn: Connection, filters: LeadFlowFilters) -> pd.DataFrame:
    """Leads by time from creation to first contact: ``bucket`` (index), ``label``,
    ``leads``; leads never contacted within the window are not in it (their number is
    ``leads - contacted`` in the funnel)."""
    row = flow_rows(conn, filters, _CONTACT).iloc[0]
    return pd.DataFrame(
        {
            "bucket": range(N_BUCKETS),
            "label": [bucket_label(i) for i in range(N_BUCKETS)],
            "leads": [int(row[c]) for c in _CONTACT],
        }
    )


def contact_by_trade(
    conn: Connection, filters: LeadFlowFilters, trade_names: dict[int, str]
) -> pd.DataFrame:
    """Per trade: ``trade_id``, ``trade``, ``leads``, ``within_1h`` and ``within_24h`` (shares
    of the trade's leads contacted that soon after creation), sorted by the 24-hour share."""
    rows = flow_rows(conn, filters, ["leads", *_CONTACT], group=("trade_id",))
    within_1h = rows[_CONTACT[:_WITHIN_1H]].sum(axis=1)
    within_24h = rows[_CONTACT[:_WITHIN_24H]].sum(axis=1)
    out = pd.DataFrame(
        {
            "trade_id": rows["trade_id"].astype("int64"),
            "trade": [trade_names.get(int(t), str(t)) for t in rows["trade_id"]],
            "leads": rows["leads"],
            "within_1h": [share(a, n) for a, n in zip(within_1h, rows["leads"], strict=True)],
            "within_24h": [share(a, n) for a, n in zip(within_24h, rows["leads"], strict=True)],
        }
    )
    return out.sort_values(["within_24h", "trade"], ignore_index=True)


def province_breakdown(conn: Connection, filters: LeadFlowFilters) -> pd.DataFrame:
    """Per province: ``province``, ``leads`` (or leads that reached ``filters.step``),
    ``hired`` and ``hire_rate`` (of all the province's leads), most leads first."""
    columns = list(dict.fromkeys(["leads", "hired", filters.step]))
    rows = flow_rows(conn, filters, columns, group=("province",))
    out = pd.DataFrame(
        {
            "province": rows["province"],
            "count": rows[filters.step],
            "leads": rows["leads"],
            "hired": rows["hired"],
            "hire_rate": [share(h, n) for h, n in zip(rows["hired"], rows["leads"], strict=True)],
        }
    )
    return out.sort_values(["count", "province"], ascending=[False, True], ignore_index=True)


def transitions(conn: Connection, filters: LeadFlowFilters) -> pd.DataFrame:
    """Status transitions of the leads created in the period: ``source``, ``target``,
    ``count``, most frequent first; a lead's first status comes from ``START`` (kept: the
    chart sizes a status by what entered it, so the leads that went no further still count).
    Filters beyond trade and province are counted from the base tables."""
    dims = filters.dimensions()
    level = level_for(list(dims), TRANSITION_LEVELS)
    if level is not None:
        table = TRANSITION_TABLES[level]
        where = [table.c.day >= filters.start, table.c.day <= filters.end]
        where += [table.c[k] == v for k, v in dims.items()]
        query = (
            select(table.c.from_status, table.c.to_status, func.sum(table.c.n))
            .where(*where)
            .group_by(table.c.from_status, table.c.to_status)
        )
    else:
        counted = transition_source((), and_(*filters.lead_conditions())).subquery()
        query = select(counted.c.from_status, counted.c.to_status, counted.c.n)
    frame = pd.DataFrame(tuples_of(conn.execute(query)), columns=["source", "target", "count"])
    frame["count"] = frame["count"].astype("int64")
    return frame.sort_values(
        ["count", "source", "target"], ascending=[False, True, True], ignore_index=True
    )

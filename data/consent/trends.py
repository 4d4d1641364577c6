"""Opt-ins and opt-outs over time, and the analytics-tracking opt-out rate.

Definitions (docs/consent.md):

* An opt-in is a consent event that grants a purpose, an opt-out one that withdraws it; each
  event counts once, in the South African day (or month, for ranges over
  :data:`data.consent.filters.DAILY_UP_TO_DAYS` days) in which it happened, with the channel it
  came through (the event's ``source``: web form, cookie banner, email, phone, privacy request).
* The analytics opt-out rate of a period: analytics-tracking opt-outs ÷ all analytics-tracking
  decisions (opt-ins + opt-outs) recorded in that period — of the people who answered the
  tracking question in the period, the share who said no or changed their mind to no.

Summed from the consent rollup's daily rows (:mod:`data.consent.rollup`); the same counts
straight from the event log are :mod:`data.consent.base` (the test oracle).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Connection, String, cast, func, select

from data.consent.base import CHANGE_COLUMNS, RATE_COLUMNS, as_text, rate_frame
from data.consent.filters import ConsentFilters
from data.consent.models import ConsentDay
from data.consent.rollup import ensure_fresh

__all__ = ["CHANGE_COLUMNS", "RATE_COLUMNS", "analytics_opt_out_rate", "changes"]


def _period(f: ConsentFilters) -> Any:
    if not f.monthly:
        return ConsentDay.day.label("period")
    return (func.substr(cast(ConsentDay.day, String), 1, 7) + "-01").label("period")


def _conditions(f: ConsentFilters, purposes: tuple[str, ...]) -> list[Any]:
    conditions = [
        ConsentDay.day >= f.start,
        ConsentDay.day <= f.end,
        ConsentDay.subject_type.in_(f.subject_types),
        ConsentDay.purpose.in_(purposes),
    ]
    if f.source is not None:
        conditions.append(ConsentDay.site == f.source)
    return conditions


def changes(conn: Connection, f: ConsentFilters) -> pd.DataFrame:
    """Opt-ins and opt-outs per period, purpose and channel (only combinations that occur)."""
    if not f.subject_types:
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    ensure_fresh(conn)
    period = _period(f)
    ins, outs = func.sum(ConsentDay.opt_ins), func.sum(ConsentDay.opt_outs)
    query = (
        select(period, ConsentDay.purpose, ConsentDay.channel, ins, outs)
        .where(*_conditions(f, f.purposes))
        .group_by(period, ConsentDay.purpose, ConsentDay.channel)
        .having(ins + outs > 0)
        .order_by(period, ConsentDay.purpose, ConsentDay.channel)
    )
    rows = [(as_text(p), pu, ch, int(i), int(o)) for p, pu, ch, i, o in conn.execute(query)]
    return pd.DataFrame(rows, columns=CHANGE_COLUMNS)


def analytics_opt_out_rate(conn: Connection, f: ConsentFilters) -> pd.DataFrame:
    """Per period: analytics-tracking opt-ins, opt-outs, decisions and the opt-out rate. The
    purpose filter does not apply (this series is about one purpose)."""
    if not f.subject_types:
        return pd.DataFrame(columns=RATE_COLUMNS)
    ensure_fresh(conn)
    period = _period(f)
    ins, outs = func.sum(ConsentDay.opt_ins), func.sum(ConsentDay.opt_outs)
    query = (
        select(period, ins, outs)
        .where(*_conditions(f, ("analytics_tracking",)))
        .group_by(period)
        .having(ins + outs > 0)
        .order_by(period)
    )
    return rate_frame([tuple(r) for r in conn.execute(query)])

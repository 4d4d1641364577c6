"""Headline numbers (with the change against the previous period) and the funnel.

Both count the leads *created* in the period, each with the steps it reached within the 30-day
window (``data.rollups.lead_flow``), so the funnel's steps are nested and each share is of the
same set of leads.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection

from data.leadflow.filters import STEP_LABELS, LeadFlowFilters, flow_rows
from data.leadflow.measures import change, median_from_histogram, share
from data.rollups.lead_flow import FLAGS, N_BUCKETS, STEPS, TIME_BOUNDS

_WITHIN_1H = TIME_BOUNDS.index(60) + 1  # buckets 0.._WITHIN_1H-1 are ≤ 60 minutes
_WITHIN_24H = TIME_BOUNDS.index(1440) + 1


def _hist(name: str) -> list[str]:
    return [f"{name}_{i}" for i in range(N_BUCKETS)]


_HEADLINE_COLUMNS = (*FLAGS, *_hist("h_first_contact"), *_hist("h_to_hire"))


@dataclass(frozen=True)
class Numbers:
    """One period's headline numbers (shares are fractions; ``None``: no leads to divide)."""

    leads: int
    shared: float | None
    contacted_1h: float | None
    contacted_24h: float | None
    hire_rate: float | None
    completion_rate: float | None
    median_hire_minutes: float | None


@dataclass(frozen=True)
class Headline:
    current: Numbers
    previous: Numbers

    def changes(self) -> dict[str, float | None]:
        """Current minus previous, per number (shares in fractions, times in minutes)."""
        return {
            name: change(getattr(self.current, name), getattr(self.previous, name))
            for name in Numbers.__dataclass_fields__
        }


def _numbers(row: pd.Series) -> Numbers:
    leads = int(row["leads"])
    contact = [int(row[c]) for c in _hist("h_first_contact")]
    return Numbers(
        leads=leads,
        shared=share(row["shared"], leads),
        contacted_1h=share(sum(contact[:_WITHIN_1H]), leads),
        contacted_24h=share(sum(contact[:_WITHIN_24H]), leads),
        hire_rate=share(row["hired"], leads),
        completion_rate=share(row["completed"], row["hired"]),
        median_hire_minutes=median_from_histogram([int(row[c]) for c in _hist("h_to_hire")]),
    )


def headline(conn: Connection, filters: LeadFlowFilters) -> Headline:
    """Leads created, share shared with at least one partner, share contacted within 1 h and
    24 h of creation, hire rate (hired / created), completion rate (completed / hired) and
    median time from creation to hire, for the period and the one before."""
    current = flow_rows(conn, filters, _HEADLINE_COLUMNS).iloc[0]
    previous = flow_rows(conn, filters.previous(), _HEADLINE_COLUMNS).iloc[0]
    return Headline(_numbers(current), _numbers(previous))


def funnel(conn: Connection, filters: LeadFlowFilters) -> pd.DataFrame:
    """One row per step: ``step``, ``label``, ``count``, ``of_first`` and ``of_previous``
    (fractions or ``None``), ``median_minutes`` (time since the previous step; ``None`` for
    creation or when no lead reached the step)."""
    hist_columns = [c for s in STEPS[1:] for c in _hist(f"h_{s}")]
    row = flow_rows(conn, filters, [*STEPS, *hist_columns]).iloc[0]
    out = []
    first = int(row["leads"])
    previous: int | None = None
    for step in STEPS:
        count = int(row[step])
        median = (
            None
            if step == "leads"
            else median_from_histogram([int(row[c]) for c in _hist(f"h_{step}")])
        )
        out.append(
            {
                "step": step,
                "label": STEP_LABELS[step],
                "count": count,
                "of_first": share(count, first),
                "of_previous": share(count, previous) if previous is not None else None,
                "median_minutes": median,
            }
        )
        previous = count
    return pd.DataFrame(out)

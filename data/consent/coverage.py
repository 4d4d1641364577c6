"""Consent coverage: for each purpose, how many subjects granted it, withdrew it or were never
asked, at the end of the chosen range; and the same per homeowner source site.

Read from the consent rollup (:mod:`data.consent.rollup`): running sums of daily moves up to
the range's last day, so the cost does not grow with the event log. Definitions and the naive
version over the event log (the test oracle) are in :mod:`data.consent.base`; docs/consent.md.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, func, select

from data.consent.base import COVERAGE_COLUMNS, SOURCE_COLUMNS, coverage_frame, source_frame
from data.consent.filters import ConsentFilters
from data.consent.models import ConsentDay, ConsentPopulationDay
from data.consent.rollup import PARTNER_SITE, ensure_fresh

__all__ = ["COVERAGE_COLUMNS", "SOURCE_COLUMNS", "by_source_site", "coverage", "source_sites"]


def _site_filter(model, f: ConsentFilters) -> list:
    return [model.site == f.source] if f.source is not None else []


def coverage(conn: Connection, f: ConsentFilters) -> pd.DataFrame:
    """One row per (subject type, purpose): population, granted, withdrawn, never asked and
    their shares, at the end of the range."""
    ensure_fresh(conn)
    types = f.subject_types
    if not types:
        return coverage_frame([])
    population = dict(
        conn.execute(
            select(ConsentPopulationDay.subject_type, func.sum(ConsentPopulationDay.delta))
            .where(
                ConsentPopulationDay.day <= f.end,
                ConsentPopulationDay.subject_type.in_(types),
                *_site_filter(ConsentPopulationDay, f),
            )
            .group_by(ConsentPopulationDay.subject_type)
        ).all()
    )
    counted = {
        (st, p): (int(g or 0), int(w or 0))
        for st, p, g, w in conn.execute(
            select(
                ConsentDay.subject_type,
                ConsentDay.purpose,
                func.sum(ConsentDay.granted_delta),
                func.sum(ConsentDay.withdrawn_delta),
            )
            .where(
                ConsentDay.day <= f.end,
                ConsentDay.subject_type.in_(types),
                ConsentDay.purpose.in_(f.purposes),
                *_site_filter(ConsentDay, f),
            )
            .group_by(ConsentDay.subject_type, ConsentDay.purpose)
        )
    }
    rows = [
        (st, p, int(population.get(st) or 0), *counted.get((st, p), (0, 0)))
        for st in types
        for p in f.purposes
    ]
    return coverage_frame(rows)


def by_source_site(conn: Connection, f: ConsentFilters) -> pd.DataFrame:
    """Homeowners per source site and purpose: population, granted, withdrawn, granted share
    (at the end of the range). Empty when the filters leave homeowners out."""
    if "homeowner" not in f.subject_types:
        return pd.DataFrame(columns=SOURCE_COLUMNS)
    ensure_fresh(conn)
    sizes = {
        site: int(n or 0)
        for site, n in conn.execute(
            select(ConsentPopulationDay.site, func.sum(ConsentPopulationDay.delta))
            .where(
                ConsentPopulationDay.day <= f.end,
                ConsentPopulationDay.subject_type == "homeowner",
                *_site_filter(ConsentPopulationDay, f),
            )
            .group_by(ConsentPopulationDay.site)
        )
    }
    counted = {
        (site, p): (int(g or 0), int(w or 0))
        for site, p, g, w in conn.execute(
            select(
                ConsentDay.site,
                ConsentDay.purpose,
                func.sum(ConsentDay.granted_delta),
                func.sum(ConsentDay.withdrawn_delta),
            )
            .where(
                ConsentDay.day <= f.end,
                ConsentDay.subject_type == "homeowner",
                ConsentDay.purpose.in_(f.purposes),
                *_site_filter(ConsentDay, f),
            )
            .group_by(ConsentDay.site, ConsentDay.purpose)
        )
    }
    rows = [
        (site, purpose, size, *counted.get((site, purpose), (0, 0)))
        for site, size in sorted(sizes.items())
        if site != PARTNER_SITE
        for purpose in f.purposes
    ]
    return source_frame(rows)


def source_sites(conn: Connection) -> list[str]:
    """The homeowner source sites present (the source filter's choices)."""
    ensure_fresh(conn)
    query = (
        select(ConsentPopulationDay.site)
        .where(ConsentPopulationDay.subject_type == "homeowner")
        .distinct()
        .order_by(ConsentPopulationDay.site)
    )
    return [str(s) for s in conn.execute(query).scalars()]

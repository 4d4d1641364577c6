"""Coverage and trends computed straight from the event log: the naive way.

Kept as the test oracle for the rollup (``tests/unit/test_consent_data.py`` compares the two on
every fixture) and as the benchmark baseline; the page reads :mod:`data.consent.coverage` and
:mod:`data.consent.trends`, which sum :mod:`data.consent.rollup`'s daily table instead. The
definitions are the same (docs/consent.md):

* population at the end of day D: subjects created (partners: joined) by then and not erased
  by then; the erasure placeholder is not a person;
* granted / withdrawn: subjects whose current consent (:mod:`data.consent.current`) at the end
  of D is that (an erased subject has no events left, so it counts in neither);
* never asked: population − granted − withdrawn (not below 0);
* an opt-in / opt-out: a granting / withdrawing event, on its South African day.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Connection, func, or_, select

from data.consent.current import current_events
from data.consent.filters import ConsentFilters
from data.consent.rollup import PLACEHOLDER_SITE
from data.models import ConsentEvent, Homeowner, Partner
from data.sqlfuncs import count_where, day_of, month_start

COVERAGE_COLUMNS = [
    "subject_type",
    "purpose",
    "population",
    "granted",
    "withdrawn",
    "never_asked",
    "granted_share",
    "withdrawn_share",
    "never_asked_share",
]
SOURCE_COLUMNS = ["source_site", "purpose", "population", "granted", "withdrawn", "granted_share"]
CHANGE_COLUMNS = ["period", "purpose", "channel", "opt_ins", "opt_outs"]
RATE_COLUMNS = ["period", "opt_ins", "opt_outs", "decisions", "opt_out_rate"]


def shares(df: pd.DataFrame, counts: list[str]) -> pd.DataFrame:
    population = df["population"].where(df["population"] > 0)
    for name in counts:
        df[f"{name}_share"] = (df[name] / population).fillna(0.0)
    return df


def coverage_frame(rows: list[tuple]) -> pd.DataFrame:
    """(subject_type, purpose, population, granted, withdrawn) rows → the coverage table."""
    full = [(*r, max(r[2] - r[3] - r[4], 0)) for r in rows]
    df = pd.DataFrame(full, columns=COVERAGE_COLUMNS[:6])
    return shares(df, ["granted", "withdrawn", "never_asked"])[COVERAGE_COLUMNS]


def source_frame(rows: list[tuple]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=SOURCE_COLUMNS[:5])
    return shares(df, ["granted"])[SOURCE_COLUMNS]


def as_text(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def rate_frame(rows: list[tuple]) -> pd.DataFrame:
    """(period, opt_ins, opt_outs) rows → the analytics opt-out rate table."""
    out = []
    for period, ins, outs in rows:
        decisions = int(ins) + int(outs)
        out.append((as_text(period), int(ins), int(outs), decisions, int(outs) / decisions))
    return pd.DataFrame(out, columns=RATE_COLUMNS)


def _population(conn: Connection, subject_type: str, f: ConsentFilters) -> int:
    if subject_type == "homeowner":
        conditions = [
            Homeowner.created_at <= f.as_of,
            or_(Homeowner.erased_at.is_(None), Homeowner.erased_at > f.as_of),
            Homeowner.source_site != PLACEHOLDER_SITE,
        ]
        if f.source is not None:
            conditions.append(Homeowner.source_site == f.source)
        model: Any = Homeowner
    else:
        conditions = [
            Partner.joined_at <= f.as_of,
            or_(Partner.erased_at.is_(None), Partner.erased_at > f.as_of),
        ]
        model = Partner
    query = select(func.count()).select_from(model).where(*conditions)
    return int(conn.execute(query).scalar_one())


def coverage(conn: Connection, f: ConsentFilters) -> pd.DataFrame:
    rows: list[tuple] = []
    for subject_type in f.subject_types:
        total = _population(conn, subject_type, f)
        current = current_events(as_of=f.as_of, subject_type=subject_type, purposes=f.purposes)
        query = select(
            current.c.purpose,
            count_where(current.c.granted.is_(True)),
            count_where(current.c.granted.is_(False)),
        ).group_by(current.c.purpose)
        if f.source is not None:
            query = query.join(Homeowner, Homeowner.id == current.c.subject_id).where(
                Homeowner.source_site == f.source
            )
        counted = {p: (int(g or 0), int(w or 0)) for p, g, w in conn.execute(query)}
        rows += [(subject_type, p, total, *counted.get(p, (0, 0))) for p in f.purposes]
    return coverage_frame(rows)


def by_source_site(conn: Connection, f: ConsentFilters) -> pd.DataFrame:
    if "homeowner" not in f.subject_types:
        return pd.DataFrame(columns=SOURCE_COLUMNS)
    conditions = [
        Homeowner.created_at <= f.as_of,
        or_(Homeowner.erased_at.is_(None), Homeowner.erased_at > f.as_of),
        Homeowner.source_site != PLACEHOLDER_SITE,
    ]
    if f.source is not None:
        conditions.append(Homeowner.source_site == f.source)
    sizes = dict(
        conn.execute(
            select(Homeowner.source_site, func.count())
            .where(*conditions)
            .group_by(Homeowner.source_site)
        ).all()
    )
    current = current_events(as_of=f.as_of, subject_type="homeowner", purposes=f.purposes)
    query = (
        select(
            Homeowner.source_site,
            current.c.purpose,
            count_where(current.c.granted.is_(True)),
            count_where(current.c.granted.is_(False)),
        )
        .join(Homeowner, Homeowner.id == current.c.subject_id)
        .group_by(Homeowner.source_site, current.c.purpose)
    )
    counted = {(s, p): (int(g or 0), int(w or 0)) for s, p, g, w in conn.execute(query)}
    rows = [
        (site, purpose, int(size), *counted.get((site, purpose), (0, 0)))
        for site, size in sorted(sizes.items())
        for purpose in f.purposes
    ]
    return source_frame(rows)


def _events_in_range(f: ConsentFilters, purposes: tuple[str, ...]) -> list[Any]:
    conditions: list[Any] = [
        ConsentEvent.at >= f.start_at,
        ConsentEvent.at < f.end_before,
        ConsentEvent.purpose.in_(purposes),
        ConsentEvent.subject_type.in_(f.subject_types),
    ]
    if f.source is not None:
        sited = select(Homeowner.id).where(Homeowner.source_site == f.source)
        conditions.append(ConsentEvent.subject_id.in_(sited))
    return conditions


def _period(f: ConsentFilters) -> Any:
    bucket = month_start(ConsentEvent.at) if f.monthly else day_of(ConsentEvent.at)
    return bucket.label("period")


def changes(conn: Connection, f: ConsentFilters) -> pd.DataFrame:
    if not f.subject_types:
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    period = _period(f)
    query = (
        select(
            period,
            ConsentEvent.purpose,
            ConsentEvent.source,
            count_where(ConsentEvent.granted.is_(True)),
            count_where(ConsentEvent.granted.is_(False)),
        )
        .where(*_events_in_range(f, f.purposes))
        .group_by(period, ConsentEvent.purpose, ConsentEvent.source)
        .order_by(period, ConsentEvent.purpose, ConsentEvent.source)
    )
    rows = [(as_text(p), pu, ch, int(i), int(o)) for p, pu, ch, i, o in conn.execute(query)]
    return pd.DataFrame(rows, columns=CHANGE_COLUMNS)


def analytics_opt_out_rate(conn: Connection, f: ConsentFilters) -> pd.DataFrame:
    if not f.subject_types:
        return pd.DataFrame(columns=RATE_COLUMNS)
    period = _period(f)
    query = (
        select(
            period,
            count_where(ConsentEvent.granted.is_(True)),
            count_where(ConsentEvent.granted.is_(False)),
        )
        .where(*_events_in_range(f, ("analytics_tracking",)))
        .group_by(period)
        .order_by(period)
    )
    return rate_frame([tuple(r) for r in conn.execute(query)])

"""One partner's page (``/partners/<id>``): profile, its row of the ranking, trends, ratings
and funnel against its trade, response times, recent reviews, disputes and prospective-era leads.

The page loads everything through :func:`load_partner_view` (one call, one connection), as the
privacy request page does through ``data.privacy.request_view``; the functions it calls are
public so that tests and benchmarks can time and check each one. Every number uses the
ranking's definitions (``data.partners``) and reads the rollups (``data.rollups``). Homeowners
appear as initials and suburb only, and the payment card as its last four digits: nothing here
reads more than that.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, and_, select, true

from data.models import (
    Homeowner,
    Lead,
    LeadShare,
    Partner,
    PartnerArea,
    PartnerTrade,
    Review,
    ServiceType,
    Trade,
)
from data.partners import PartnerFilters, RiskCriteria, compute_table, gc_paused
from data.rollups import (
    ABOUT_PARTNER,
    HIST,
    REVIEWS,
    SHARES,
    SUB_RATINGS,
    Family,
    Scope,
    range_totals,
    trade_totals,
)
from data.stats import histogram_labels, ratios
from data.timeutil import sa_date, start_of

#: Rows in each "recent" table of the page.
RECENT_ROWS = 10
#: The monthly trend's length.
TREND_MONTHS = 12


@dataclass(frozen=True)
class PartnerProfile:
    """What the detail page shows about a partner. The payment token never leaves the
    database: only its last four digits are read."""

    id: int
    business_name: str
    contact_name: str | None
    email: str | None
    phone: str | None
    whatsapp_opt_in: bool
    website: str | None
    vetting_status: str
    joined_at: datetime
    payment_last4: str | None
    skills: str | None
    certifications: str | None
    working_preferences: str | None
    biography: str | None
    province: str | None
    city: str | None
    trades: tuple[str, ...] = ()
    trade_ids: tuple[int, ...] = ()
    areas: tuple[str, ...] = ()
    erased: bool = False


def partner_profile(conn: Connection, partner_id: int) -> PartnerProfile | None:
    """The partner's profile, or None when there is no such partner."""
    p = Partner.__table__.c
    row = (
        conn.execute(
            select(
                p.id,
                p.business_name,
                p.contact_name,
                p.email,
                p.phone,
                p.whatsapp_opt_in,
                p.website,
                p.vetting_status,
                p.joined_at,
                p.payment_last4,
                p.skills,
                p.certifications,
                p.working_preferences,
                p.biography,
                p.province,
                p.city,
                p.erased_at,
            ).where(p.id == partner_id)
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    trade_rows = conn.execute(
        select(Trade.id, Trade.name)
        .join(PartnerTrade, PartnerTrade.trade_id == Trade.id)
        .where(PartnerTrade.partner_id == partner_id)
        .order_by(Trade.name)
    ).all()
    area_rows = conn.execute(
        select(PartnerArea.province, PartnerArea.city)
        .where(PartnerArea.partner_id == partner_id)
        .order_by(PartnerArea.province, PartnerArea.city)
    ).all()
    areas = tuple(f"{city}, {prov}" if city else prov for prov, city in area_rows)
    values = {k: v for k, v in row.items() if k != "erased_at"}
    values["business_name"] = values["business_name"] or "(erased partner)"
    return PartnerProfile(
        **values,
        trades=tuple(name for _, name in trade_rows),
        trade_ids=tuple(tid for tid, _ in trade_rows),
        areas=areas,
        erased=row["erased_at"] is not None,
    )


def partner_metrics(
    conn: Connection,
    partner_id: int,
    filters: PartnerFilters,
    criteria: RiskCriteria | None = None,
    *,
    source: str = "rollup",
) -> dict[str, Any]:
    """The partner's row of the ranking table (same definitions), whatever its vetting status
    and review count. ``rank`` is left out: it only means something within the table."""
    criteria = criteria or RiskCriteria.load(conn)
    unfiltered = PartnerFilters(
        filters.start, filters.end, trade_id=filters.trade_id, province=filters.province
    )
    with gc_paused():
        table = compute_table(conn, unfiltered, criteria, source=source, partner_ids=[partner_id])
    if table.empty:
        raise LookupError(f"no partner {partner_id}")
    row = table.iloc[0].to_dict()
    row.pop("rank", None)
    return row


def _comparison_trades(profile: PartnerProfile, filters: PartnerFilters) -> tuple[int, ...]:
    if filters.trade_id is not None:
        return (filters.trade_id,)
    return profile.trade_ids


def monthly_trend(
    conn: Connection,
    partner_id: int,
    end: date,
    months: int = 12,
    *,
    trade_id: int | None = None,
    province: str | None = None,
) -> pd.DataFrame:
    """Per calendar month (the ``months`` months up to ``end``'s month, the last one up to
    ``end``): reviews, mean rating and leads shared, restricted to the trade and province
    filters like the page's other numbers. One rollup statement per family with a look-up per
    month boundary."""
    first = date(end.year, end.month, 1)
    for _ in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    bounds: list[tuple[date, date]] = []
    cursor = first
    while cursor <= end:
        nxt = (cursor + timedelta(days=32)).replace(day=1)
        bounds.append((cursor, min(nxt - timedelta(days=1), end)))
        cursor = nxt
    scope = Scope(
        partner_ids=(partner_id,),
        trade_ids=None if trade_id is None else (trade_id,),
        province=province,
    )

    def per_month(family: Family, cols: list[str]) -> np.ndarray:
        ids, values = range_totals(conn, family, bounds, scope, cols)
        if not len(ids):
            return np.zeros((len(bounds), len(cols)), dtype=np.int64)
        return np.array([v[0] for v in values], dtype=np.int64)

    reviews = per_month(REVIEWS, ["reviews", "rating_sum"])
    shares = per_month(SHARES, ["shares"])
    return pd.DataFrame(
        {
            "month": [b[0] for b in bounds],
            "reviews": reviews[:, 0],
            "mean_rating": ratios(reviews[:, 1], reviews[:, 0]),
            "shares": shares[:, 0],
        }
    )


def _own_scope(partner_id: int, filters: PartnerFilters) -> Scope:
    return Scope(
        partner_ids=(partner_id,),
        trade_ids=None if filters.trade_id is None else (filters.trade_id,),
        province=filters.province,
    )


def _own_totals(
    conn: Connection, family: Family, partner_id: int, filters: PartnerFilters, cols: list[str]
) -> dict[str, int]:
    """One partner's counts over the period (zeros without activity). Read with the array
    reader, not :func:`period_counts`: a one-row DataFrame costs more than the look-up."""
    period = [(filters.start, filters.end)]
    _, values = range_totals(conn, family, period, _own_scope(partner_id, filters), cols)
    sums = values[0].sum(axis=0) if len(values[0]) else np.zeros(len(cols), dtype=np.int64)
    return dict(zip(cols, (int(v) for v in sums), strict=True))


def _trade_totals(
    conn: Connection,
    family: Family,
    profile: PartnerProfile,
    filters: PartnerFilters,
    cols: list[str],
) -> dict[str, int]:
    """The comparison trades' counts over the period, all partners (in the filtered province),
    summed over the trades."""
    trade_ids = _comparison_trades(profile, filters)
    rows = trade_totals(conn, family, filters.start, filters.end, trade_ids, cols, filters.province)
    return {c: sum(int(row[i + 1] or 0) for row in rows) for i, c in enumerate(cols)}


def rating_breakdown(
    conn: Connection, profile: PartnerProfile, filters: PartnerFilters
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(stars, aspects): the count of 1–5 star reviews in the period, and the partner's mean
    overall and sub-ratings against the mean of its trade(s) (all partners)."""
    # Only the columns shown: the trade side sums a year of daily rows per column.
    aspect_cols = ["reviews", "rating_sum"] + [
        f"{n}_{x}" for n in SUB_RATINGS for x in ("sum", "n")
    ]
    own_row = _own_totals(
        conn, REVIEWS, profile.id, filters, [f"r{k}" for k in range(1, 6)] + aspect_cols
    )
    trade_row = _trade_totals(conn, REVIEWS, profile, filters, aspect_cols)
    stars = pd.DataFrame(
        {"stars": [1, 2, 3, 4, 5], "reviews": [own_row[f"r{k}"] for k in range(1, 6)]}
    )

    def mean(row: dict[str, int], total: str, n: str) -> float | None:
        return row[total] / row[n] if row[n] else None

    aspects = [("overall", "rating_sum", "reviews")] + [
        (name, f"{name}_sum", f"{name}_n") for name in SUB_RATINGS
    ]
    comparison = pd.DataFrame(
        {
            "aspect": [a for a, _, _ in aspects],
            "partner": [mean(own_row, s, n) for _, s, n in aspects],
            "partner_n": [own_row[n] for _, _, n in aspects],
            "trade": [mean(trade_row, s, n) for _, s, n in aspects],
            "trade_n": [trade_row[n] for _, _, n in aspects],
        }
    )
    return stars, comparison


FUNNEL_STEPS: tuple[tuple[str, str], ...] = (
    ("shares", "Shared"),
    ("contacted", "Contacted"),
    ("quoted", "Quoted"),
    ("hired", "Hired"),
    ("completed", "Completed"),
    ("reviewed", "Reviewed"),
)


def funnel(
    conn: Connection,
    profile: PartnerProfile,
    filters: PartnerFilters,
    own_counts: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """The partner's funnel for leads shared in the period, against its trade(s): count and
    share of shared leads reaching each step.

    ``own_counts``: the partner's counts for the same filters when the caller has them already
    (its :func:`partner_metrics` row holds every step), which saves a rollup read.
    """
    cols = [c for c, _ in FUNNEL_STEPS]
    if own_counts is not None:
        own = {c: int(own_counts[c]) for c in cols}
    else:
        own = _own_totals(conn, SHARES, profile.id, filters, cols)
    trade = _trade_totals(conn, SHARES, profile, filters, cols)
    return pd.DataFrame(
        {
            "step": [label for _, label in FUNNEL_STEPS],
            "partner": [own[c] for c in cols],
            "partner_share": [own[c] / own["shares"] if own["shares"] else None for c in cols],
            "trade": [trade[c] for c in cols],
            "trade_share": [trade[c] / trade["shares"] if trade["shares"] else None for c in cols],
        }
    )


def response_distribution(metrics: dict[str, Any]) -> pd.DataFrame:
    """Response-time histogram (contacted leads per bucket) from a metrics row."""
    return pd.DataFrame({"bucket": histogram_labels(), "leads": [int(metrics[h]) for h in HIST]})


def initials(first: str | None, last: str | None) -> str:
    """ "T. N." for Thandi Nkosi; "–" when the name is gone (erased)."""
    parts = [f"{n.strip()[0].upper()}." for n in (first, last) if n and n.strip()]
    return " ".join(parts) if parts else "–"


def _review_rows(conn: Connection, query: Any) -> pd.DataFrame:
    rows = conn.execute(query).mappings().all()
    out = [
        {
            "review_id": r["id"],
            "date": sa_date(r["created_at"]) if r["created_at"] else None,
            "rating": r["rating"],
            "quality": r["quality"],
            "timeliness": r["timeliness"],
            "value": r["value"],
            "communication": r["communication"],
            "comment": r["comment"],  # already the stored redacted form
            "homeowner": initials(r["first_name"], r["last_name"]),
            "suburb": r["suburb"] or "–",
            "status": r["moderation_status"],
            "dispute": bool(r["dispute"]),
            "lead_id": r["lead_id"],
        }
        for r in rows
    ]
    columns = [
        "review_id",
        "date",
        "rating",
        "quality",
        "timeliness",
        "value",
        "communication",
        "comment",
        "homeowner",
        "suburb",
        "status",
        "dispute",
        "lead_id",
    ]
    return pd.DataFrame(out, columns=columns)


def _review_query(partner_id: int, until: date) -> Any:
    r = Review.__table__.c
    h = Homeowner.__table__.c
    return (
        select(
            r.id,
            r.created_at,
            r.rating,
            r.quality,
            r.timeliness,
            r.value,
            r.communication,
            r.comment_redacted.label("comment"),  # the stored redacted form (data.free_text)
            r.moderation_status,
            r.dispute,
            r.lead_id,
            h.first_name,
            h.last_name,
            h.suburb,
        )
        .join(Homeowner.__table__, h.id == r.homeowner_id)
        .where(r.partner_id == partner_id, r.created_at < start_of(until) + _DAY)
        .order_by(r.created_at.desc(), r.id.desc())
    )


_DAY = timedelta(days=1)


def recent_reviews(
    conn: Connection, partner_id: int, *, about_partner: bool, until: date, limit: int = 10
) -> pd.DataFrame:
    """Latest reviews about the partner (by homeowners) or by the partner (about homeowners),
    up to ``until``. Homeowners appear as initials and suburb only; contact details typed into
    comments are removed."""
    side = ABOUT_PARTNER if about_partner else "partner_about_homeowner"
    query = _review_query(partner_id, until).where(Review.author_side == side).limit(limit)
    return _review_rows(conn, query)


def disputes_and_flags(
    conn: Connection, partner_id: int, *, until: date, limit: int = 10
) -> pd.DataFrame:
    """Latest disputed or flagged reviews about the partner."""
    query = (
        _review_query(partner_id, until)
        .where(
            Review.author_side == ABOUT_PARTNER,
            (Review.dispute.is_(True)) | (Review.moderation_status == "flagged"),
        )
        .limit(limit)
    )
    return _review_rows(conn, query)


def prospective_leads(
    conn: Connection, partner_id: int, *, until: date, limit: int = 20
) -> tuple[int, pd.DataFrame]:
    """Leads shared with the partner while it was still prospective (count, latest rows).
    Only the lead's trade, service, place and outcome: no homeowner and no description."""
    s = LeadShare.__table__.c
    where = and_(
        s.partner_id == partner_id,
        s.partner_was_prospective == true(),
        s.shared_at < start_of(until) + _DAY,
    )
    _, counts = range_totals(
        conn, SHARES, [(date(1900, 1, 2), until)], Scope(partner_ids=(partner_id,)), ["prospective"]
    )
    total = int(counts[0][0, 0]) if len(counts[0]) else 0
    rows = conn.execute(
        select(
            s.lead_id,
            s.shared_at,
            Trade.name.label("trade"),
            ServiceType.name.label("service"),
            Lead.city,
            Lead.province,
            s.response,
            s.outcome,
        )
        .join(Lead, Lead.id == s.lead_id)
        .join(Trade, Trade.id == Lead.trade_id)
        .join(ServiceType, ServiceType.id == Lead.service_type_id)
        .where(where)
        .order_by(s.shared_at.desc(), s.lead_id.desc())
        .limit(limit)
    ).all()
    columns = ["lead_id", "shared", "trade", "service", "city", "province", "response", "outcome"]
    df = pd.DataFrame([tuple(r) for r in rows], columns=columns)
    if not df.empty:
        df["shared"] = [sa_date(at) for at in pd.to_datetime(df["shared"])]
    return int(total), df


@dataclass(frozen=True)
class PartnerView:
    """Everything the partner page shows, read on one connection for one set of filters."""

    profile: PartnerProfile
    metrics: dict[str, Any]
    trend: pd.DataFrame
    stars: pd.DataFrame
    aspects: pd.DataFrame
    funnel: pd.DataFrame
    response: pd.DataFrame
    reviews_about: pd.DataFrame
    reviews_by: pd.DataFrame
    disputes: pd.DataFrame
    prospective_total: int
    prospective: pd.DataFrame


def load_partner_view(
    conn: Connection, partner_id: int, filters: PartnerFilters
) -> PartnerView | None:
    """The partner page's content, or None when there is no such partner."""
    profile = partner_profile(conn, partner_id)
    if profile is None:
        return None
    metrics = partner_metrics(conn, partner_id, filters)
    stars, aspects = rating_breakdown(conn, profile, filters)
    prospective_total, prospective = prospective_leads(conn, partner_id, until=filters.end)
    return PartnerView(
        profile=profile,
        metrics=metrics,
        trend=monthly_trend(
            conn,
            partner_id,
            filters.end,
            months=TREND_MONTHS,
            trade_id=filters.trade_id,
            province=filters.province,
        ),
        stars=stars,
        aspects=aspects,
        funnel=funnel(conn, profile, filters, own_counts=metrics),
        response=response_distribution(metrics),
        reviews_about=recent_reviews(
            conn, partner_id, about_partner=True, until=filters.end, limit=RECENT_ROWS
        ),
        reviews_by=recent_reviews(
            conn, partner_id, about_partner=False, until=filters.end, limit=RECENT_ROWS
        ),
        disputes=disputes_and_flags(conn, partner_id, until=filters.end, limit=RECENT_ROWS),
        prospective_total=prospective_total,
        prospective=prospective,
    )

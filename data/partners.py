"""Partner performance: the ranking table and its headline numbers.

The partner detail page's queries are in ``data.partner_detail``, the statistics in
``data.stats``, the result cache in ``data.query_cache``.

Every number comes from SQL aggregation. The counts behind a period are read from the
cumulative rollups (``data.rollups``: two index seeks per partner, whatever the period), or,
with ``source="base"``, computed by ``GROUP BY`` straight from ``lead_share``/``review`` — the
naive way, kept as the test oracle and the benchmark baseline. Python then only turns counts
into rates, intervals and flags, in one place (:func:`derive_metrics`), so the grid, the
headline numbers, the charts and the detail page share every definition.

Definitions (see also docs/domain.md, "Partner metrics", and docs/partner-performance.md):

* A share counts in the period of the day it was shared; its later steps (contact, quote, …)
  count with it, whenever they happened. Reviews count on the day they were written.
* Funnel steps are nested: a lead counts as quoted only if it was also contacted, hired only
  if quoted, completed only if hired, reviewed only if completed and reviewed by the homeowner.
* Rates: acceptance = accepted / shared; contact = contacted / shared; within 1 h / 24 h =
  contacted within that time / shared; quote = quoted / contacted; win = hired / quoted;
  completion = completed / hired; review = reviewed / completed; dispute = disputed reviews /
  all homeowner reviews. Each comes with its Wilson lower bound (z = 1.96).
* Rating: R = mean published rating in the period, v = published reviews in the period,
  C = mean rating of the partner's trade over the period (all partners, all provinces; the
  filtered trade when there is one, else the mean over the partner's registered trades),
  WR = v/(v+m)·R + m/(v+m)·C with m = 10. Fewer than 5 reviews in the 12 months up to the end
  of the period: "new" (no WR, no rank). No published review in the period (v = 0): no WR,
  no rank either (WR would be the prior alone). Rank: by WR, ties share the best rank.
* Median time to first contact: estimated from the response-time histogram by linear
  interpolation inside the bucket (exact bucket bounds at 1 h and 24 h).
* Rating trend: R in the period minus R in the previous period of the same length.

No Dash imports here; pages call these functions and never write SQL.
"""

from __future__ import annotations

import gc
import math
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, select

from data import rollups
from data.models import (
    Setting,
    Trade,
)
from data.partner_directory import load_directory
from data.query_cache import CACHE
from data.rollups import HIST, REVIEWS, SHARES, Scope, period_counts, period_counts_many
from data.sqlfuncs import tuples_of
from data.stats import (
    bayesian_ratings,
    median_from_histogram,
    medians_from_histograms,
    ratios,
    wilson_lower_bounds,
)

NEW_MIN_REVIEWS = 5  # fewer reviews than this in the 12 months (rollups.YEAR_DAYS): "new"
GRID_REVIEW_COLUMNS = ("reviews", "rating_sum", "all_reviews", "disputes")
#: From this many candidate partners on, the ranking's rollup look-ups run in PARALLEL_PARTS
#: parallel statements on PostgreSQL (data.rollups.range_totals); below it the extra
#: transactions cost about what they save (measured in docs/partner-performance.md).
PARALLEL_MIN_PARTNERS = 1_000
PARALLEL_PARTS = max(1, min(4, os.cpu_count() or 1))


# --- settings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RiskCriteria:
    """When a partner is flagged "at risk" (defaults from docs/domain.md; overridable in ``setting``
    under ``partner_risk.<field>``)."""

    min_rating: float = 3.5  # flagged when the mean rating R is below this …
    rating_min_reviews: int = 5  # … with at least this many reviews in the period
    min_contact_24h: float = 0.50  # flagged when fewer leads than this are contacted in 24 h
    max_dispute_rate: float = 0.10  # flagged when more reviews than this are disputes

    SETTING_PREFIX = "partner_risk."

    @classmethod
    def load(cls, conn: Connection) -> RiskCriteria:
        """Defaults overridden by valid ``setting`` rows (invalid values are ignored)."""
        rows = conn.execute(
            select(Setting.key, Setting.value).where(Setting.key.like(cls.SETTING_PREFIX + "%"))
        ).all()
        values: dict[str, Any] = {}
        types = {f.name: f.type for f in fields(cls)}
        for key, raw in rows:
            name = key.removeprefix(cls.SETTING_PREFIX)
            if name not in types:
                continue
            try:
                number = int(raw) if types[name] in ("int", int) else float(raw)
            except ValueError:
                continue
            if math.isfinite(number) and number >= 0:
                values[name] = number
        return cls(**values)


# --- filters ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartnerFilters:
    """The period (inclusive days) and the filters of the partner pages."""

    start: date
    end: date
    trade_id: int | None = None
    province: str | None = None
    vetting: tuple[str, ...] = ()
    min_reviews: int = 0

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise ValueError("start after end")

    def scope(self, partner_ids: Sequence[int] | None = None) -> Scope:
        return Scope(
            partner_ids=None if partner_ids is None else tuple(partner_ids),
            vetting=self.vetting if partner_ids is None else (),
            trade_ids=None if self.trade_id is None else (self.trade_id,),
            province=self.province,
        )


# --- the ranking table ------------------------------------------------------------------------

RATE_DEFS: tuple[tuple[str, str, str], ...] = (
    # (rate column, numerator, denominator)
    ("acceptance_rate", "accepted", "shares"),
    ("contact_rate", "contacted", "shares"),
    ("within_1h", "contacted_1h", "shares"),
    ("within_24h", "contacted_24h", "shares"),
    ("quote_rate", "quoted", "contacted"),
    ("win_rate", "hired", "quoted"),
    ("completion_rate", "completed", "hired"),
    ("review_rate", "reviewed", "completed"),
    ("dispute_rate", "disputes", "all_reviews"),
)


def lb_column(rate: str) -> str:
    """Name of the Wilson lower-bound column beside a rate column."""
    return rate.removesuffix("_rate") + "_lb"


TABLE_COLUMNS: tuple[str, ...] = (
    "partner_id",
    "business_name",
    "trades",
    "provinces",
    "vetting_status",
    "shares",
    "accepted",
    "contacted",
    "contacted_1h",
    "contacted_24h",
    "quoted",
    "hired",
    "completed",
    "reviewed",
    "prospective",
    *(c for rate, _, _ in RATE_DEFS for c in (rate, lb_column(rate))),
    "median_response_min",
    "reviews",
    "mean_rating",
    "prior_rating",
    "bayes_rating",
    "is_new",
    "reviews_12m",
    "rank",
    "prev_reviews",
    "prev_mean_rating",
    "rating_trend",
    "all_reviews",
    "disputes",
    "at_risk",
    "risk_reasons",
    *HIST,
)


def _counts_matrix(frame: pd.DataFrame, index: pd.Index, columns: Sequence[str]) -> np.ndarray:
    """``frame[columns]`` aligned to ``index`` (missing partners: zeros) as an int64 matrix."""
    if frame.empty:
        return np.zeros((len(index), len(columns)), dtype=np.int64)
    aligned = frame.reindex(index=index, columns=list(columns), fill_value=0)
    return aligned.fillna(0).to_numpy(dtype=np.int64)


def derive_metrics(
    base: pd.DataFrame,
    shares: pd.DataFrame,
    reviews: pd.DataFrame,
    prev_reviews: pd.DataFrame,
    reviews_12m: pd.Series,
    priors: pd.Series,
    criteria: RiskCriteria,
) -> pd.DataFrame:
    """Rates, intervals, ratings, rank and risk flags from per-partner counts.

    ``base`` is indexed by partner id (business name, trades, provinces, vetting status);
    count frames may lack partners (no activity: zeros). Pure numpy/pandas, no database:
    vectorised because it runs for every partner on every page load.
    """
    index = base.index
    cols: dict[str, Any] = {"partner_id": index.to_numpy()}
    for name in ("business_name", "trades", "provinces", "vetting_status"):
        cols[name] = base[name].to_numpy()
    share_m = _counts_matrix(shares, index, SHARES.counts)
    for j, name in enumerate(SHARES.counts):
        cols[name] = share_m[:, j]
    review_m = _counts_matrix(reviews, index, GRID_REVIEW_COLUMNS)
    for j, name in enumerate(GRID_REVIEW_COLUMNS):
        cols[name] = review_m[:, j]
    hist = share_m[:, [SHARES.counts.index(h) for h in HIST]]
    cols["contacted_1h"] = hist[:, : len(rollups.WITHIN_1H)].sum(axis=1)
    cols["contacted_24h"] = hist[:, : len(rollups.WITHIN_24H)].sum(axis=1)
    for rate, num, den in RATE_DEFS:
        cols[rate] = ratios(cols[num], cols[den])
        cols[lb_column(rate)] = wilson_lower_bounds(cols[num], cols[den])
    cols["median_response_min"] = medians_from_histograms(hist)
    v = cols["reviews"].astype(float)
    mean = ratios(cols["rating_sum"], cols["reviews"])
    prior = priors.reindex(index).to_numpy(dtype=float)
    bayes = bayesian_ratings(mean, v, prior)
    year = reviews_12m.reindex(index, fill_value=0).fillna(0).to_numpy(dtype=np.int64)
    is_new = year < NEW_MIN_REVIEWS
    # ranked only on reviews in the period: with v = 0, WR would be the prior alone
    bayes = np.where(is_new | (v == 0), np.nan, bayes)
    cols["mean_rating"] = mean
    cols["prior_rating"] = prior
    cols["bayes_rating"] = bayes
    cols["is_new"] = is_new
    cols["reviews_12m"] = year
    prev_m = _counts_matrix(prev_reviews, index, ("reviews", "rating_sum"))
    cols["prev_reviews"] = prev_m[:, 0]
    cols["prev_mean_rating"] = ratios(prev_m[:, 1], prev_m[:, 0])
    cols["rating_trend"] = mean - cols["prev_mean_rating"]
    df = pd.DataFrame(cols)
    df["rank"] = df["bayes_rating"].rank(method="min", ascending=False).astype("Int64")
    df["risk_reasons"] = _risk_texts(df, criteria)
    df["at_risk"] = df["risk_reasons"] != ""
    return df[list(TABLE_COLUMNS)]


def _risk_texts(df: pd.DataFrame, criteria: RiskCriteria) -> list[str]:
    """Risk reasons per row, formatted only for the rows that have one (a quarter of the
    partners in the demo: plain Python values, one call per flagged row)."""
    mean, v = df["mean_rating"].to_numpy(), df["reviews"].to_numpy()
    contact, dispute = df["within_24h"].to_numpy(), df["dispute_rate"].to_numpy()
    with np.errstate(invalid="ignore"):
        flagged = (
            ((v >= criteria.rating_min_reviews) & (mean < criteria.min_rating))
            | (contact < criteria.min_contact_24h)
            | (dispute > criteria.max_dispute_rate)
        )
    rows = np.flatnonzero(flagged)
    texts = [""] * len(df)
    for i, m, n, c, d in zip(
        rows.tolist(),
        mean[rows].tolist(),
        v[rows].tolist(),
        contact[rows].tolist(),
        dispute[rows].tolist(),
        strict=True,
    ):
        texts[i] = "; ".join(risk_reasons(m, n, c, d, criteria=criteria))
    return texts


def risk_reasons(
    mean_rating: float,
    reviews: int,
    within_24h: float,
    dispute_rate: float,
    *,
    criteria: RiskCriteria,
) -> list[str]:
    """Why a partner is at risk (empty: it is not). NaN means "no data": never a reason."""
    out: list[str] = []
    if (
        not _nan(mean_rating)
        and reviews >= criteria.rating_min_reviews
        and mean_rating < criteria.min_rating
    ):
        out.append(f"rating {mean_rating:.2f} < {criteria.min_rating:g} ({reviews} reviews)")
    if not _nan(within_24h) and within_24h < criteria.min_contact_24h:
        out.append(
            f"{within_24h * 100:.0f} % contacted within 24 h "
            f"(< {criteria.min_contact_24h * 100:.0f} %)"
        )
    if not _nan(dispute_rate) and dispute_rate > criteria.max_dispute_rate:
        out.append(
            f"dispute rate {dispute_rate * 100:.0f} % (> {criteria.max_dispute_rate * 100:.0f} %)"
        )
    return out


def _nan(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def trade_means(
    conn: Connection, start: date, end: date, *, source: str = "rollup"
) -> tuple[dict[int, float], float | None]:
    """Mean published rating per trade over the period (all partners and provinces), and the
    mean over all trades (used when a trade has no reviews)."""
    counts = period_counts(
        conn, REVIEWS, start, end, Scope(group="trade"), ["reviews", "rating_sum"], source=source
    )
    means = {
        int(tid): float(rating_sum) / float(n)
        for tid, n, rating_sum in zip(
            counts.index, counts["reviews"], counts["rating_sum"], strict=True
        )
        if n > 0
    }
    total = counts["reviews"].sum() if not counts.empty else 0
    overall = float(counts["rating_sum"].sum() / total) if total else None
    return means, overall


def _priors(
    partners: pd.DataFrame, filters: PartnerFilters, means: dict[int, float], overall: float | None
) -> pd.Series:
    """C per partner: the filtered trade's mean, else the mean of its registered trades' means
    (a trade without reviews, or a partner without trades, falls back to the overall mean)."""
    index = partners.index
    fallback = np.nan if overall is None else overall
    if filters.trade_id is not None:
        return pd.Series(means.get(filters.trade_id, fallback), index=index, dtype=float)
    prior_of: dict[tuple[int, ...], float] = {}  # a few dozen distinct trade sets
    values = []
    for trade_ids in partners["trade_ids"].tolist():
        prior = prior_of.get(trade_ids)
        if prior is None:
            known = [means.get(t, fallback) for t in trade_ids]
            prior = prior_of[trade_ids] = sum(known) / len(known) if known else fallback
        values.append(prior)
    return pd.Series(values, index=index, dtype=float)


_gc_lock = threading.Lock()
_gc_state = {"depth": 0, "was_enabled": True}


@contextmanager
def gc_paused() -> Iterator[None]:
    """Suspend Python's cyclic garbage collector while a table is computed.

    The computation allocates a few hundred thousand short-lived, acyclic objects (rows,
    numbers), which reference counting frees at once; but the allocations also trigger full
    collections that walk the whole heap of a web process (pandas, SQLAlchemy, Dash), which
    measured at 30–40 % of the time of a 5 000-partner table. Nested and concurrent uses are
    counted; the collector is re-enabled when the last one ends (if it was enabled before).
    """
    with _gc_lock:
        if _gc_state["depth"] == 0:
            _gc_state["was_enabled"] = gc.isenabled()
            gc.disable()
        _gc_state["depth"] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_state["depth"] -= 1
            if _gc_state["depth"] == 0 and _gc_state["was_enabled"]:
                gc.enable()


_RV_NAMES = {
    "rv_all": "all_reviews",
    "rv_published": "reviews",
    "rv_rating_sum": "rating_sum",
    "rv_disputes": "disputes",
}


def _ranking_counts(
    conn: Connection,
    filters: PartnerFilters,
    partners: pd.DataFrame,
    *,
    source: str,
    partner_ids: Sequence[int] | None,
) -> list[pd.DataFrame]:
    """Share counts over the period, published reviews and rating sum over the previous
    period, published reviews over the 12 months (:func:`rollups.ranking_ranges`).

    A standard period over everything, one trade or one province reads the per-partner preset
    rows (one row per partner); any other view looks the running totals up, in one statement:
    the share tables also hold the ranking's review numbers, so the ranges share their look-ups.
    """
    ranges = rollups.ranking_ranges(filters.start, filters.end)
    preset = rollups.preset_for(filters.start, filters.end)
    if (
        source == "rollup"
        and preset is not None
        and partner_ids is None
        and (filters.trade_id is None or filters.province is None)
        and rollups.ensure_presets(conn, filters.end, filters.trade_id, filters.province)
    ):
        found = rollups.preset_counts(conn, preset, filters.trade_id, filters.province)
        return [frame[frame.index.isin(partners.index)] for frame in found]
    columns = [list(c) for c in rollups.RANGE_COLUMNS]
    parts = PARALLEL_PARTS if len(partners) >= PARALLEL_MIN_PARTNERS else 1
    return period_counts_many(
        conn, SHARES, ranges, filters.scope(partner_ids), columns, source=source, parts=parts
    )


def compute_table(
    conn: Connection,
    filters: PartnerFilters,
    criteria: RiskCriteria,
    *,
    source: str,
    partner_ids: Sequence[int] | None = None,
) -> pd.DataFrame:
    """The ranking rows, uncached (see :func:`partner_table`); with ``partner_ids``, only those
    partners whatever their vetting status (the detail page's row of one partner)."""
    partners = load_directory(conn, filters.vetting, partner_ids)
    found = _ranking_counts(conn, filters, partners, source=source, partner_ids=partner_ids)
    shares = found[0]
    reviews = shares[list(rollups.SHARE_REVIEW_COUNTS)].rename(columns=_RV_NAMES)
    reviews = reviews[(reviews != 0).any(axis=1)]
    prev = found[1].rename(columns=_RV_NAMES)
    reviews_12m = found[2].rename(columns=_RV_NAMES)["reviews"]
    means, overall = trade_means(conn, filters.start, filters.end, source=source)
    if partner_ids is None and (filters.trade_id is not None or filters.province is not None):
        keep = np.ones(len(partners), dtype=bool)
        if filters.trade_id is not None:
            keep &= np.array([filters.trade_id in t for t in partners["trade_ids"]], dtype=bool)
        if filters.province is not None:
            keep &= np.array([filters.province in p for p in partners["province_list"]], dtype=bool)
        keep |= partners.index.isin(shares.index) | partners.index.isin(reviews.index)
        partners = partners[keep]
    priors = _priors(partners, filters, means, overall)
    table = derive_metrics(partners, shares, reviews, prev, reviews_12m, priors, criteria)
    if filters.min_reviews:
        table = table[table["reviews"] >= filters.min_reviews]
    order = table.sort_values(
        ["bayes_rating", "reviews", "partner_id"],
        ascending=[False, False, True],
        na_position="last",
        kind="mergesort",
    )
    return order.reset_index(drop=True)


def partner_table(
    conn: Connection,
    filters: PartnerFilters,
    criteria: RiskCriteria | None = None,
    *,
    source: str = "rollup",
    use_cache: bool = True,
) -> pd.DataFrame:
    """One row per partner for the period and filters (columns: :data:`TABLE_COLUMNS`),
    ordered by Bayesian rating (unranked partners last).

    Partners appear when they match the vetting filter and either serve the filtered trade and
    province or had activity there in the period; all counts are restricted to the filters.
    Cached per filters and rollup version (see :class:`QueryCache`). On PostgreSQL a large
    network is looked up on parallel connections sharing ``conn``'s snapshot, which sees only
    committed data: call it on a read-only connection (as the pages do), not inside a
    transaction that has just written shares or reviews.
    """
    criteria = criteria or RiskCriteria.load(conn)

    def compute() -> pd.DataFrame:
        with gc_paused():
            return compute_table(conn, filters, criteria, source=source)

    if not use_cache or source != "rollup":
        return compute()
    return CACHE.get_or_compute(conn, ("table", filters, criteria), compute)


# --- headline numbers -------------------------------------------------------------------------


@dataclass(frozen=True)
class Headline:
    """Totals over the filtered set of partners (rates pooled over all their leads)."""

    partners: int
    active_partners: int
    shares: int
    acceptance_rate: float | None
    contact_rate: float | None
    within_1h: float | None
    within_24h: float | None
    median_response_min: float | None
    reviews: int
    mean_rating: float | None
    rated_partners: int
    new_partners: int
    at_risk: int


def headline(table: pd.DataFrame) -> Headline:
    """Headline numbers from :func:`partner_table` rows (pure: no database)."""

    def ratio(num: str, den: str) -> float | None:
        d = float(table[den].sum())
        return float(table[num].sum()) / d if d else None

    hist = table[list(HIST)].sum().to_numpy() if not table.empty else np.zeros(len(HIST))
    reviews = int(table["reviews"].sum())
    rating_sum = float((table["mean_rating"].fillna(0) * table["reviews"]).sum())
    return Headline(
        partners=len(table),
        active_partners=int((table["shares"] > 0).sum()),
        shares=int(table["shares"].sum()),
        acceptance_rate=ratio("accepted", "shares"),
        contact_rate=ratio("contacted", "shares"),
        within_1h=ratio("contacted_1h", "shares"),
        within_24h=ratio("contacted_24h", "shares"),
        median_response_min=median_from_histogram(hist),
        reviews=reviews,
        mean_rating=rating_sum / reviews if reviews else None,
        rated_partners=int(table["bayes_rating"].notna().sum()),
        new_partners=int(table["is_new"].sum()),
        at_risk=int(table["at_risk"].sum()),
    )


def ratings_by_trade(
    conn: Connection, table: pd.DataFrame, trade_id: int | None = None
) -> pd.DataFrame:
    """(trade, partner_id, business_name, bayes_rating) for every ranked partner and each
    trade it is registered for (only ``trade_id`` when the view is filtered to one trade): the
    data of the "Bayesian ratings by trade" chart."""
    columns = ["trade", "partner_id", "business_name", "bayes_rating"]
    ranked_rows = table[table["bayes_rating"].notna()]
    ranked = dict(
        zip(
            ranked_rows["partner_id"].tolist(),
            zip(
                ranked_rows["business_name"].tolist(),
                ranked_rows["bayes_rating"].tolist(),
                strict=True,
            ),
            strict=True,
        )
    )
    if not ranked:
        return pd.DataFrame(columns=columns)
    # Registered trades from the (cached) partner directory, names from the dozen trades.
    names = dict(tuples_of(conn.execute(select(Trade.id, Trade.name))))
    directory = load_directory(conn)
    registered_trades = dict(
        zip(directory.index.tolist(), directory["trade_ids"].tolist(), strict=True)
    )
    out: list[tuple[str, int, str, float]] = []
    for pid, row in ranked.items():
        tids = registered_trades.get(pid, ())
        if trade_id is not None:
            tids = tuple(t for t in tids if t == trade_id)
        elif not tids:
            out.append(("(no trade)", pid, *row))
        out.extend((names.get(t, "?"), pid, *row) for t in tids)
    out.sort(key=lambda r: (r[0], -r[3]))
    return pd.DataFrame(out, columns=columns)


def trade_ratings(
    conn: Connection,
    filters: PartnerFilters,
    table: pd.DataFrame,
    trade_id: int | None = None,
    criteria: RiskCriteria | None = None,
) -> pd.DataFrame:
    """:func:`ratings_by_trade` of ``table``, the view's :func:`partner_table` for ``filters``
    and ``criteria``, cached on the same key and rollup version: every manager opening the
    same view used to rebuild it, a row per partner and registered trade (~10 ms at 1M
    leads, issue 17)."""
    criteria = criteria or RiskCriteria.load(conn)
    return CACHE.get_or_compute(
        conn,
        ("ratings_by_trade", filters, criteria, trade_id),
        lambda: ratings_by_trade(conn, table, trade_id),
    )


# --- reference lists --------------------------------------------------------------------------


@dataclass(frozen=True)
class TradeRef:
    id: int
    code: str
    name: str


def trades(conn: Connection) -> list[TradeRef]:
    """All trades, by name (for filter drop-downs and validating ``?trade=``)."""
    return [
        TradeRef(*row)
        for row in conn.execute(select(Trade.id, Trade.code, Trade.name).order_by(Trade.name))
    ]

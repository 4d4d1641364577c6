"""Partner performance: the ranking table, its headline numbers and the partner detail page.

Every number comes from SQL aggregation. The counts behind a period are read from the
cumulative rollups (``data/rollups.py``: two index seeks per partner, whatever the period), or,
with ``source="base"``, computed by ``GROUP BY`` straight from ``lead_share``/``review`` — the
naive way, kept as the test oracle and the benchmark baseline. Python then only turns counts
into rates, intervals and flags, in one place (:func:`derive_metrics`), so the grid, the
headline numbers, the charts and the detail page share every definition.

Definitions (see also the design's "Partner performance" and docs/partner-performance.md):

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
  of the period: "new" (no WR, no rank). Rank: by WR, ties share the best rank.
* Median time to first contact: estimated from the response-time histogram by linear
  interpolation inside the bucket (exact bucket bounds at 1 h and 24 h).
* Rating trend: R in the period minus R in the previous period of the same length.

No Dash imports here; pages call these functions and never write SQL.
"""

from __future__ import annotations

import gc
import math
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, CursorResult, and_, select, true

from data import rollups
from data.models import (
    Homeowner,
    Lead,
    LeadShare,
    Partner,
    PartnerArea,
    PartnerTrade,
    Review,
    ServiceType,
    Setting,
    Trade,
)
from data.rollups import HIST, RESPONSE_BOUNDS, REVIEWS, SHARES, SUB_RATINGS, Scope
from data.sqlfuncs import fetch_tuples

PRIOR_WEIGHT = 10  # m of the Bayesian average
NEW_MIN_REVIEWS = 5  # fewer reviews than this in NEW_WINDOW_DAYS: "new"
NEW_WINDOW_DAYS = 365
WILSON_Z = 1.96
GRID_REVIEW_COLUMNS = ("reviews", "rating_sum", "all_reviews", "disputes")
#: From this many candidate partners on, the ranking's rollup look-ups run in PARALLEL_PARTS
#: parallel statements on PostgreSQL (data.rollups.range_totals); below it the extra
#: transactions cost about what they save (measured in docs/partner-performance.md).
PARALLEL_MIN_PARTNERS = 1_000
PARALLEL_PARTS = max(1, min(4, os.cpu_count() or 1))


# --- settings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RiskCriteria:
    """When a partner is flagged "at risk" (the design's defaults; overridable in ``setting``
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

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> tuple[date, date]:
        """The period of the same length just before this one."""
        end = self.start - timedelta(days=1)
        return end - timedelta(days=self.days - 1), end

    def scope(self, partner_ids: Sequence[int] | None = None) -> Scope:
        return Scope(
            partner_ids=None if partner_ids is None else tuple(partner_ids),
            vetting=self.vetting if partner_ids is None else (),
            trade_ids=None if self.trade_id is None else (self.trade_id,),
            province=self.province,
        )


# --- statistics -------------------------------------------------------------------------------


def wilson_lower_bound(successes: float, n: float, z: float = WILSON_Z) -> float | None:
    """Lower bound of the Wilson score interval for a proportion (None when n = 0)."""
    if not n:
        return None
    p = min(max(successes / n, 0.0), 1.0)
    z2 = z * z
    centre = p + z2 / (2 * n)
    margin = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, (centre - margin) / (1 + z2 / n))


def bayesian_rating(
    mean: float | None, v: int, prior: float | None, m: int = PRIOR_WEIGHT
) -> float | None:
    """WR = v/(v+m)·R + m/(v+m)·C (R is ignored when v = 0)."""
    if prior is None:
        return mean if v else None
    if not v or mean is None:
        return prior
    return v / (v + m) * mean + m / (v + m) * prior


def bayesian_ratings(mean: np.ndarray, v: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Vectorised :func:`bayesian_rating` (NaN for None)."""
    with np.errstate(invalid="ignore"):
        weighted = v / (v + PRIOR_WEIGHT) * mean + PRIOR_WEIGHT / (v + PRIOR_WEIGHT) * prior
    bayes = np.where(v > 0, weighted, prior)
    return np.where(np.isnan(prior) & (v > 0), mean, bayes)


def median_from_histogram(counts: Sequence[float]) -> float | None:
    """Median minutes from response-time bucket counts, interpolating linearly inside the
    bucket; in the open last bucket the bucket's lower bound is returned."""
    total = float(sum(counts))
    if total <= 0:
        return None
    half = total / 2
    seen = 0.0
    lower = 0.0
    for i, count in enumerate(counts):
        upper = RESPONSE_BOUNDS[i] if i < len(RESPONSE_BOUNDS) else None
        if count and seen + count >= half:
            if upper is None:
                return lower
            return lower + (half - seen) / count * (upper - lower)
        seen += count
        lower = float(upper) if upper is not None else lower
    return lower


def histogram_labels() -> list[str]:
    """Readable bucket names: "≤ 5 min", "5–15 min", …, "> 7 d"."""

    def fmt(minutes: int) -> str:
        if minutes < 60:
            return f"{minutes} min"
        if minutes < 1440:
            return f"{minutes // 60} h"
        return f"{minutes // 1440} d"

    labels = [f"≤ {fmt(RESPONSE_BOUNDS[0])}"]
    for lo, hi in pairwise(RESPONSE_BOUNDS):
        labels.append(f"{fmt(lo)}–{fmt(hi)}")
    labels.append(f"> {fmt(RESPONSE_BOUNDS[-1])}")
    return labels


# --- counts over a period ---------------------------------------------------------------------


def period_counts_many(
    conn: Connection,
    family: rollups.Family,
    ranges: Sequence[tuple[date, date]],
    scope: Scope,
    columns: Sequence[str] | Sequence[Sequence[str]] | None = None,
    *,
    source: str = "rollup",
    parts: int = 1,
) -> list[pd.DataFrame]:
    """Counts of ``family`` for each inclusive day range, per group of ``scope``: one frame
    per range, indexed by the group column, without groups that have nothing. ``columns`` is
    one list for all ranges or one list per range; ``parts``: see
    :func:`data.rollups.range_totals`.

    ``source="rollup"``: one statement over the cumulative rollups for all ranges (one index
    seek per partner and boundary day); ``"base"``: ``GROUP BY`` over the base tables (the
    same result, much slower on large data).
    """
    if columns and not isinstance(columns[0], str):
        per_range = [list(c) for c in columns]
    else:
        per_range = [list(columns or family.counts)] * len(ranges)  # type: ignore[arg-type]
    (group,) = scope.group_columns
    if source == "base":
        out = []
        for (start, end), cols in zip(ranges, per_range, strict=True):
            query = family.deltas([group], start=start, end=end, scope=scope)
            rows = conn.execute(query).mappings().all()
            matrix = np.array(
                [(r[group], *(r[c] for c in cols)) for r in rows], dtype=np.int64
            ).reshape(len(rows), 1 + len(cols))
            out.append(_counts_frame(matrix[:, 0], matrix[:, 1:], group, cols))
        return out
    if source != "rollup":
        raise ValueError(f"unknown source {source!r}")
    if scope.uses_trade_totals:
        out = []
        for (start, end), cols in zip(ranges, per_range, strict=True):
            rows = rollups.trade_totals(
                conn, family, start, end, scope.trade_ids, cols, scope.province
            )
            matrix = np.array(_tuples(rows), dtype=np.int64).reshape(len(rows), 1 + len(cols))
            out.append(_counts_frame(matrix[:, 0], matrix[:, 1:], group, cols))
        return out
    ids, values = rollups.range_totals(conn, family, ranges, scope, per_range, parts=parts)
    return [_counts_frame(ids, v, group, cols) for v, cols in zip(values, per_range, strict=True)]


def _counts_frame(
    ids: np.ndarray, values: np.ndarray, group: str, columns: Sequence[str]
) -> pd.DataFrame:
    keep = values.any(axis=1)
    frame = pd.DataFrame(values[keep], index=pd.Index(ids[keep], name=group), columns=columns)
    return frame.astype("int64")


def period_counts(
    conn: Connection,
    family: rollups.Family,
    start: date,
    end: date,
    scope: Scope,
    columns: Sequence[str] | None = None,
    *,
    source: str = "rollup",
) -> pd.DataFrame:
    """:func:`period_counts_many` for one range."""
    return period_counts_many(conn, family, [(start, end)], scope, columns, source=source)[0]


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


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.full(len(num), np.nan)
    ok = den > 0
    out[ok] = num[ok] / den[ok]
    return out


def wilson_lower_bounds(successes: np.ndarray, n: np.ndarray, z: float = WILSON_Z) -> np.ndarray:
    """Vectorised :func:`wilson_lower_bound` (NaN where n = 0)."""
    out = np.full(len(n), np.nan)
    ok = n > 0
    k, m = successes[ok].astype(float), n[ok].astype(float)
    p = np.clip(k / m, 0.0, 1.0)
    z2 = z * z
    centre = p + z2 / (2 * m)
    margin = z * np.sqrt(p * (1 - p) / m + z2 / (4 * m * m))
    out[ok] = np.maximum(0.0, (centre - margin) / (1 + z2 / m))
    return out


def medians_from_histograms(hist: np.ndarray) -> np.ndarray:
    """Vectorised :func:`median_from_histogram` over rows of bucket counts."""
    rows = hist.shape[0]
    out = np.full(rows, np.nan)
    total = hist.sum(axis=1)
    ok = total > 0
    if not ok.any():
        return out
    h = hist[ok].astype(float)
    half = total[ok] / 2.0
    cum = np.cumsum(h, axis=1)
    bucket = np.argmax(cum >= half[:, None], axis=1)
    lowers = np.array([0.0, *RESPONSE_BOUNDS], dtype=float)
    uppers = np.array([*RESPONSE_BOUNDS, np.nan], dtype=float)
    seen = np.where(bucket > 0, cum[np.arange(len(bucket)), bucket - 1], 0.0)
    count = h[np.arange(len(bucket)), bucket]
    lo, hi = lowers[bucket], uppers[bucket]
    estimate = lo + (half - seen) / count * (hi - lo)
    out[ok] = np.where(np.isnan(hi), lo, estimate)
    return out


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
        cols[rate] = _ratio(cols[num], cols[den])
        cols[lb_column(rate)] = wilson_lower_bounds(cols[num], cols[den])
    cols["median_response_min"] = medians_from_histograms(hist)
    v = cols["reviews"].astype(float)
    mean = _ratio(cols["rating_sum"], cols["reviews"])
    prior = priors.reindex(index).to_numpy(dtype=float)
    bayes = bayesian_ratings(mean, v, prior)
    year = reviews_12m.reindex(index, fill_value=0).fillna(0).to_numpy(dtype=np.int64)
    is_new = year < NEW_MIN_REVIEWS
    bayes = np.where(is_new, np.nan, bayes)
    cols["mean_rating"] = mean
    cols["prior_rating"] = prior
    cols["bayes_rating"] = bayes
    cols["is_new"] = is_new
    cols["reviews_12m"] = year
    prev_m = _counts_matrix(prev_reviews, index, ("reviews", "rating_sum"))
    cols["prev_reviews"] = prev_m[:, 0]
    cols["prev_mean_rating"] = _ratio(prev_m[:, 1], prev_m[:, 0])
    cols["rating_trend"] = mean - cols["prev_mean_rating"]
    df = pd.DataFrame(cols)
    df["rank"] = df["bayes_rating"].rank(method="min", ascending=False).astype("Int64")
    df["risk_reasons"] = _risk_texts(df, criteria)
    df["at_risk"] = df["risk_reasons"] != ""
    return df[list(TABLE_COLUMNS)]


def _risk_texts(df: pd.DataFrame, criteria: RiskCriteria) -> list[str]:
    """Risk reasons per row, formatted only for the rows that have one."""
    mean, v = df["mean_rating"].to_numpy(), df["reviews"].to_numpy()
    contact, dispute = df["within_24h"].to_numpy(), df["dispute_rate"].to_numpy()
    with np.errstate(invalid="ignore"):
        flagged = (
            ((v >= criteria.rating_min_reviews) & (mean < criteria.min_rating))
            | (contact < criteria.min_contact_24h)
            | (dispute > criteria.max_dispute_rate)
        )
    texts = [""] * len(df)
    for i in np.flatnonzero(flagged):
        texts[i] = "; ".join(
            risk_reasons(
                float(mean[i]), int(v[i]), float(contact[i]), float(dispute[i]), criteria=criteria
            )
        )
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


def _tuples(result: Any) -> list[tuple]:
    """Plain tuples, fetched at once (iterating a result fetches row by row, and numpy and
    pandas probe SQLAlchemy ``Row`` objects slowly); a live result's rows come straight from
    the driver (:func:`data.sqlfuncs.fetch_tuples`: integer and text columns only)."""
    if isinstance(result, CursorResult):
        return fetch_tuples(result)
    return [tuple(row) for row in result]


@dataclass(frozen=True)
class _Base:
    """Candidate partners, indexed by id: name, vetting status, trades and provinces as text,
    and the registered trade ids and provinces as tuples (for priors and filters)."""

    partners: pd.DataFrame


def _partner_base(
    conn: Connection, filters: PartnerFilters, partner_ids: Sequence[int] | None = None
) -> _Base:
    """The partner directory: names and statuses, registered trades and served provinces.

    Three narrow reads (the trade links come from their primary-key index) grouped in Python:
    cheaper than aggregating strings in the database, which needs temporary B-trees.
    """
    query = select(Partner.id, Partner.business_name, Partner.vetting_status)
    links_q = select(PartnerTrade.partner_id, PartnerTrade.trade_id)
    areas_q = select(PartnerArea.partner_id, PartnerArea.province)
    if filters.vetting and partner_ids is None:
        query = query.where(Partner.vetting_status.in_(filters.vetting))
    if partner_ids is not None:
        query = query.where(Partner.id.in_(list(partner_ids)))
        links_q = links_q.where(PartnerTrade.partner_id.in_(list(partner_ids)))
        areas_q = areas_q.where(PartnerArea.partner_id.in_(list(partner_ids)))
    trade_names = dict(_tuples(conn.execute(select(Trade.id, Trade.name))))
    rows = _tuples(conn.execute(query))
    trade_ids: dict[int, list[int]] = {}
    for pid, tid in _tuples(conn.execute(links_q)):
        trade_ids.setdefault(pid, []).append(tid)
    provinces: dict[int, set[str]] = {}
    for pid, province in _tuples(conn.execute(areas_q)):
        provinces.setdefault(pid, set()).add(province)
    ids = [r[0] for r in rows]
    tids = [tuple(sorted(trade_ids.get(pid, ()))) for pid in ids]
    provs = [tuple(sorted(provinces.get(pid, ()))) for pid in ids]
    partners = pd.DataFrame(
        {
            "business_name": [r[1] if r[1] is not None else "(erased partner)" for r in rows],
            "vetting_status": [r[2] for r in rows],
            "trades": [", ".join(sorted(trade_names.get(t, "?") for t in ts)) for ts in tids],
            "provinces": [", ".join(p) for p in provs],
            "trade_ids": tids,
            "province_list": provs,
        },
        index=pd.Index(ids, name="partner_id"),
    )
    return _Base(partners)


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
    base: _Base, filters: PartnerFilters, means: dict[int, float], overall: float | None
) -> pd.Series:
    """C per partner: the filtered trade's mean, else the mean of its registered trades' means
    (a trade without reviews, or a partner without trades, falls back to the overall mean)."""
    index = base.partners.index
    fallback = np.nan if overall is None else overall
    if filters.trade_id is not None:
        return pd.Series(means.get(filters.trade_id, fallback), index=index, dtype=float)
    values = []
    for trade_ids in base.partners["trade_ids"]:
        known = [means.get(t, fallback) for t in trade_ids]
        values.append(sum(known) / len(known) if known else fallback)
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


def _compute_table(
    conn: Connection,
    filters: PartnerFilters,
    criteria: RiskCriteria,
    *,
    source: str,
    partner_ids: Sequence[int] | None = None,
) -> pd.DataFrame:
    base = _partner_base(conn, filters, partner_ids)
    scope = filters.scope(partner_ids)
    period = (filters.start, filters.end)
    year = (filters.end - timedelta(days=NEW_WINDOW_DAYS - 1), filters.end)
    ranges = [period, filters.previous()] + ([] if year == period else [year])
    # One statement: the share tables also hold the ranking's review numbers, so the period,
    # the previous period and the 12 months share their look-ups (3–4 boundaries per partner).
    columns = [list(SHARES.counts), ["rv_published", "rv_rating_sum"], ["rv_published"]]
    parts = PARALLEL_PARTS if len(base.partners) >= PARALLEL_MIN_PARTNERS else 1
    found = period_counts_many(
        conn, SHARES, ranges, scope, columns[: len(ranges)], source=source, parts=parts
    )
    shares = found[0]
    reviews = shares[list(rollups.SHARE_REVIEW_COUNTS)].rename(columns=_RV_NAMES)
    reviews = reviews[(reviews != 0).any(axis=1)]
    prev = found[1].rename(columns=_RV_NAMES)
    reviews_12m = (found[2] if len(found) > 2 else reviews).rename(columns=_RV_NAMES)["reviews"]
    means, overall = trade_means(conn, filters.start, filters.end, source=source)
    partners = base.partners
    if partner_ids is None and (filters.trade_id is not None or filters.province is not None):
        keep = np.ones(len(partners), dtype=bool)
        if filters.trade_id is not None:
            keep &= np.array([filters.trade_id in t for t in partners["trade_ids"]], dtype=bool)
        if filters.province is not None:
            keep &= np.array([filters.province in p for p in partners["province_list"]], dtype=bool)
        keep |= partners.index.isin(shares.index) | partners.index.isin(reviews.index)
        partners = partners[keep]
        base = _Base(partners)
    priors = _priors(base, filters, means, overall)
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
    ordered by Bayesian rating (new partners last).

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
            return _compute_table(conn, filters, criteria, source=source)

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
    query = select(PartnerTrade.partner_id, Trade.name).join(
        Trade, Trade.id == PartnerTrade.trade_id
    )
    if trade_id is not None:
        query = query.where(PartnerTrade.trade_id == trade_id)
    out: list[tuple[str, int, str, float]] = []
    registered: set[int] = set()
    for pid, trade in _tuples(conn.execute(query)):
        if pid in ranked:
            registered.add(pid)
            out.append((trade, pid, *ranked[pid]))
    if trade_id is None:
        out.extend(("(no trade)", pid, *ranked[pid]) for pid in ranked if pid not in registered)
    out.sort(key=lambda r: (r[0], -r[3]))
    return pd.DataFrame(out, columns=columns)


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


# --- the detail page --------------------------------------------------------------------------


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
        table = _compute_table(conn, unfiltered, criteria, source=source, partner_ids=[partner_id])
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

    def per_month(family: rollups.Family, cols: list[str]) -> np.ndarray:
        ids, values = rollups.range_totals(conn, family, bounds, scope, cols)
        if not len(ids):
            return np.zeros((len(bounds), len(cols)), dtype=np.int64)
        return np.array([v[0] for v in values], dtype=np.int64)

    reviews = per_month(REVIEWS, ["reviews", "rating_sum"])
    shares = per_month(SHARES, ["shares"])
    return pd.DataFrame(
        {
            "month": [b[0] for b in bounds],
            "reviews": reviews[:, 0],
            "mean_rating": _ratio(reviews[:, 1], reviews[:, 0]),
            "shares": shares[:, 0],
        }
    )


def rating_breakdown(
    conn: Connection, profile: PartnerProfile, filters: PartnerFilters
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(stars, aspects): the count of 1–5 star reviews in the period, and the partner's mean
    overall and sub-ratings against the mean of its trade(s) (all partners)."""
    own_scope = Scope(
        partner_ids=(profile.id,),
        trade_ids=None if filters.trade_id is None else (filters.trade_id,),
        province=filters.province,
    )
    own = period_counts(conn, REVIEWS, filters.start, filters.end, own_scope)
    own_row = own.sum() if not own.empty else pd.Series(0, index=list(REVIEWS.counts))
    trade_ids = _comparison_trades(profile, filters)
    trade_scope = Scope(trade_ids=trade_ids, province=filters.province, group="trade")
    trade = period_counts(conn, REVIEWS, filters.start, filters.end, trade_scope)
    trade_row = trade.sum() if not trade.empty else pd.Series(0, index=list(REVIEWS.counts))
    stars = pd.DataFrame(
        {"stars": [1, 2, 3, 4, 5], "reviews": [int(own_row[f"r{k}"]) for k in range(1, 6)]}
    )

    def mean(row: pd.Series, total: str, n: str) -> float | None:
        return float(row[total]) / float(row[n]) if row[n] else None

    aspects = [("overall", "rating_sum", "reviews")] + [
        (name, f"{name}_sum", f"{name}_n") for name in SUB_RATINGS
    ]
    comparison = pd.DataFrame(
        {
            "aspect": [a for a, _, _ in aspects],
            "partner": [mean(own_row, s, n) for _, s, n in aspects],
            "partner_n": [int(own_row[n]) for _, _, n in aspects],
            "trade": [mean(trade_row, s, n) for _, s, n in aspects],
            "trade_n": [int(trade_row[n]) for _, _, n in aspects],
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


def funnel(conn: Connection, profile: PartnerProfile, filters: PartnerFilters) -> pd.DataFrame:
    """The partner's funnel for leads shared in the period, against its trade(s): count and
    share of shared leads reaching each step."""
    cols = [c for c, _ in FUNNEL_STEPS]
    own_scope = Scope(
        partner_ids=(profile.id,),
        trade_ids=None if filters.trade_id is None else (filters.trade_id,),
        province=filters.province,
    )
    own = period_counts(conn, SHARES, filters.start, filters.end, own_scope, cols).sum()
    trade_scope = Scope(
        trade_ids=_comparison_trades(profile, filters), province=filters.province, group="trade"
    )
    trade = period_counts(conn, SHARES, filters.start, filters.end, trade_scope, cols).sum()
    own = own.reindex(cols, fill_value=0)
    trade = trade.reindex(cols, fill_value=0)
    return pd.DataFrame(
        {
            "step": [label for _, label in FUNNEL_STEPS],
            "partner": [int(own[c]) for c in cols],
            "partner_share": [(own[c] / own["shares"]) if own["shares"] else None for c in cols],
            "trade": [int(trade[c]) for c in cols],
            "trade_share": [
                (trade[c] / trade["shares"]) if trade["shares"] else None for c in cols
            ],
        }
    )


def response_distribution(metrics: dict[str, Any]) -> pd.DataFrame:
    """Response-time histogram (contacted leads per bucket) from a metrics row."""
    return pd.DataFrame({"bucket": histogram_labels(), "leads": [int(metrics[h]) for h in HIST]})


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_PHONE = re.compile(r"(?<!\w)(\+?\d[\d ()-]{7,}\d)(?!\w)")


def redact_contacts(value: str | None) -> str | None:
    """Remove e-mail addresses and phone numbers that people type into free text."""
    if not value:
        return value
    return _PHONE.sub("[number removed]", _EMAIL.sub("[email removed]", value))


def initials(first: str | None, last: str | None) -> str:
    """ "T. N." for Thandi Nkosi; "–" when the name is gone (erased)."""
    parts = [f"{n.strip()[0].upper()}." for n in (first, last) if n and n.strip()]
    return " ".join(parts) if parts else "–"


def _review_rows(conn: Connection, query: Any) -> pd.DataFrame:
    rows = conn.execute(query).mappings().all()
    out = [
        {
            "review_id": r["id"],
            "date": r["created_at"].date() if r["created_at"] else None,
            "rating": r["rating"],
            "quality": r["quality"],
            "timeliness": r["timeliness"],
            "value": r["value"],
            "communication": r["communication"],
            "comment": redact_contacts(r["comment"]),
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
            r.comment,
            r.moderation_status,
            r.dispute,
            r.lead_id,
            h.first_name,
            h.last_name,
            h.suburb,
        )
        .join(Homeowner.__table__, h.id == r.homeowner_id)
        .where(r.partner_id == partner_id, r.created_at < rollups._start_of(until) + _DAY)
        .order_by(r.created_at.desc(), r.id.desc())
    )


_DAY = timedelta(days=1)


def recent_reviews(
    conn: Connection, partner_id: int, *, about_partner: bool, until: date, limit: int = 10
) -> pd.DataFrame:
    """Latest reviews about the partner (by homeowners) or by the partner (about homeowners),
    up to ``until``. Homeowners appear as initials and suburb only; contact details typed into
    comments are removed."""
    side = rollups.ABOUT_PARTNER if about_partner else "partner_about_homeowner"
    query = _review_query(partner_id, until).where(Review.author_side == side).limit(limit)
    return _review_rows(conn, query)


def disputes_and_flags(
    conn: Connection, partner_id: int, *, until: date, limit: int = 10
) -> pd.DataFrame:
    """Latest disputed or flagged reviews about the partner."""
    query = (
        _review_query(partner_id, until)
        .where(
            Review.author_side == rollups.ABOUT_PARTNER,
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
        s.shared_at < rollups._start_of(until) + _DAY,
    )
    _, counts = rollups.range_totals(
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
        df["shared"] = pd.to_datetime(df["shared"]).dt.date
    return int(total), df


# --- caching ----------------------------------------------------------------------------------


@dataclass
class QueryCache:
    """A small LRU cache for page-level results, keyed on the filters *and* the rollup version.

    Every rollup change bumps the version (``data/rollups.py``), so a cached table is never
    served after the data under it changed, in this or any other process: the version is read
    from the database (one primary-key look-up) on every call. Entries also expire after
    ``ttl`` seconds, which bounds staleness of the partner names and trades (not versioned).
    """

    max_entries: int = 64
    ttl: float = 300.0
    enabled: bool = True
    _entries: OrderedDict[Hashable, tuple[float, Any]] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    hits: int = 0
    misses: int = 0

    def get_or_compute(self, conn: Connection, key: Hashable, compute: Callable[[], Any]) -> Any:
        if not self.enabled:
            return compute()
        full_key = (key, rollups.current_version(conn))
        now = time.monotonic()
        with self._lock:
            found = self._entries.get(full_key)
            if found and now - found[0] < self.ttl:
                self._entries.move_to_end(full_key)
                self.hits += 1
                return found[1]
        value = compute()
        with self._lock:
            self.misses += 1
            self._entries[full_key] = (now, value)
            self._entries.move_to_end(full_key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


CACHE = QueryCache()

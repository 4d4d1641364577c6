"""The statistics behind the partner numbers, with no database and no pandas in them.

Why a module of their own: the ranking, the detail page and the coming aggregates and lead-flow
pages must share one definition of each number. Each scalar function is the readable reference
definition; its vectorised twin (suffix ``s``) runs over every partner on every page load and is
tested against the scalar one.

* Wilson lower bound of a proportion (z = 1.96), so that 1 of 1 does not outrank 95 of 100.
* Bayesian rating WR = v/(v+m)·R + m/(v+m)·C with m = :data:`PRIOR_WEIGHT`: a partner's mean R
  over v reviews, pulled towards its trade's mean C while v is small.
* Median minutes to first contact from the response-time histogram (linear inside a bucket).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

import numpy as np

from data.rollups import RESPONSE_BOUNDS

PRIOR_WEIGHT = 10  # m of the Bayesian average
WILSON_Z = 1.96


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


def ratios(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` element-wise, NaN where the denominator is 0 (a rate of nothing)."""
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

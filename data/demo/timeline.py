"""The demo's clock: a fixed 24-month window before ``as_of`` and vectorised time helpers.

Every timestamp is a ``datetime64[s]`` array; NaT means "did not happen (yet)". Anything that
would fall on or after the end of the window is turned into NaT, so a generated database never
holds a date after ``as_of``: recent leads are simply still in progress.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np

from data.demo.vocab import GROWTH_PER_YEAR, HOUR_DEMAND, MONTH_DEMAND, WEEKDAY_DEMAND

NAT = np.datetime64("NaT", "s")
DAY = 86_400
WINDOW_DAYS = 730


def sigmoid(x: np.ndarray | float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


def seconds(values: np.ndarray) -> np.ndarray:
    """Float seconds as a ``timedelta64[s]`` array (rounded)."""
    return np.rint(values).astype(np.int64).astype("timedelta64[s]")


def lognormal_seconds(
    rng: np.random.Generator, median_s: np.ndarray | float, sigma: float, size: int
) -> np.ndarray:
    """Waiting times with the given median and spread: most are short, a few are very long."""
    return seconds(np.asarray(median_s, dtype=float) * np.exp(sigma * rng.standard_normal(size)))


def after(base: np.ndarray, delay: np.ndarray, happens: np.ndarray | None = None) -> np.ndarray:
    """``base + delay`` where ``happens`` (and base is set), else NaT."""
    out = base + delay
    if happens is not None:
        out = np.where(happens, out, NAT)
    return out


@dataclass(frozen=True)
class Window:
    """[start, end): the 24 months up to and including ``as_of``."""

    as_of: date
    start: np.datetime64
    end: np.datetime64

    @classmethod
    def before(cls, as_of: date, days: int = WINDOW_DAYS) -> Window:
        end = np.datetime64(datetime.combine(as_of + timedelta(days=1), time.min), "s")
        return cls(as_of, end - np.timedelta64(days * DAY, "s"), end)

    @property
    def days(self) -> int:
        return int((self.end - self.start) // np.timedelta64(DAY, "s"))

    def cap(self, values: np.ndarray) -> np.ndarray:
        """NaT for everything at or after the end of the window (NaT stays NaT)."""
        return np.where(values < self.end, values, NAT)

    def clamp_start(self, values: np.ndarray) -> np.ndarray:
        return np.maximum(values, self.start)

    def uniform(self, rng: np.random.Generator, lo: np.ndarray, size: int) -> np.ndarray:
        """A time uniformly between ``lo`` and the end of the window."""
        span = (self.end - lo).astype(np.int64)
        return lo + seconds(rng.random(size) * np.maximum(span - 1, 0))

    def month_index(self, values: np.ndarray) -> np.ndarray:
        """0-based month of the window (30.4-day months), clipped to 0..23."""
        days = (values - self.start).astype(np.int64) / DAY
        return np.clip((days / (self.days / 24)).astype(np.int64), 0, 23)

    def lead_times(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` sorted lead creation times with seasonality, weekly rhythm, growth and hours."""
        day0 = self.start.astype("datetime64[D]")
        days = day0 + np.arange(self.days)
        months = days.astype("datetime64[M]").astype(np.int64) % 12
        weekdays = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
        day_of_month = (days - days.astype("datetime64[M]")).astype(np.int64) + 1
        holiday = ((months == 11) & (day_of_month >= 16)) | ((months == 0) & (day_of_month <= 3))
        weight = (
            np.asarray(MONTH_DEMAND)[months]
            * np.asarray(WEEKDAY_DEMAND)[weekdays]
            * (1.0 + GROWTH_PER_YEAR * np.arange(self.days) / 365.0)
            * np.where(holiday, 0.55, 1.0)
        )
        day_index = rng.choice(self.days, size=n, p=weight / weight.sum())
        hours = np.asarray(HOUR_DEMAND)
        hour = rng.choice(24, size=n, p=hours / hours.sum())
        offset = day_index.astype(np.int64) * DAY + hour * 3600 + rng.integers(0, 3600, n)
        return np.sort(self.start + offset.astype("timedelta64[s]"))

    def as_datetime(self, value: np.datetime64) -> datetime:
        return value.astype("datetime64[s]").astype(datetime)


def first_per_group(
    group: np.ndarray, values: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """Earliest non-NaT value per group and the row holding it (NaT and -1 where none).

    Rows sorted by group (shares are, by lead) take a linear path; others are sorted first.
    """
    if len(group) and np.all(group[1:] >= group[:-1]):
        return _first_in_sorted_groups(group, values, n_groups)
    rows = np.flatnonzero(~np.isnat(values))
    order = rows[np.lexsort((values[rows].astype(np.int64), group[rows]))]
    g = group[order]
    first = order[np.r_[True, g[1:] != g[:-1]]] if len(order) else order
    out_values = np.full(n_groups, NAT)
    out_rows = np.full(n_groups, -1, dtype=np.int64)
    out_values[group[first]] = values[first]
    out_rows[group[first]] = first
    return out_values, out_rows


def _first_in_sorted_groups(
    group: np.ndarray, values: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray]:
    never = np.iinfo(np.int64).max
    ints = np.where(np.isnat(values), never, values.astype(np.int64))
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    lowest = np.minimum.reduceat(ints, starts)
    hit = np.flatnonzero(
        (ints == np.repeat(lowest, np.diff(np.r_[starts, len(ints)]))) & (ints != never)
    )
    first = hit[np.r_[True, group[hit][1:] != group[hit][:-1]]] if len(hit) else hit
    out_values = np.full(n_groups, NAT)
    out_rows = np.full(n_groups, -1, dtype=np.int64)
    out_values[group[first]] = values[first]
    out_rows[group[first]] = first
    return out_values, out_rows


def max_per_group(group: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Latest non-NaT value per group (NaT where none)."""
    ints = values.astype(np.int64)
    ints = np.where(np.isnat(values), np.iinfo(np.int64).min, ints)
    out = np.full(n_groups, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(out, group, ints)
    result = out.astype("datetime64[s]")
    result[out == np.iinfo(np.int64).min] = NAT
    return result

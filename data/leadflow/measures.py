"""Pure arithmetic of the lead-flow numbers: shares, changes and medians from histograms.

The rollups keep durations as histograms (bucket bounds in
``data.rollups.lead_flow.TIME_BOUNDS``), not as lists, so a median over a million leads costs a
dozen additions. The median is estimated by linear interpolation inside the bucket that holds
the middle lead: exact to within that bucket's width, and the docs say so.
"""

from __future__ import annotations

from collections.abc import Sequence

from data.rollups.lead_flow import TIME_BOUNDS


def share(part: float, whole: float) -> float | None:
    """``part / whole``, or ``None`` when there is nothing to divide by."""
    return part / whole if whole else None


def change(current: float | None, previous: float | None) -> float | None:
    """Current minus previous (``None`` when either is unknown)."""
    if current is None or previous is None:
        return None
    return current - previous


def bucket_edges(index: int) -> tuple[float, float | None]:
    """Lower and upper bound (minutes) of histogram bucket ``index`` (upper ``None``: open)."""
    lower = 0.0 if index == 0 else float(TIME_BOUNDS[index - 1])
    upper = float(TIME_BOUNDS[index]) if index < len(TIME_BOUNDS) else None
    return lower, upper


def median_from_histogram(counts: Sequence[int]) -> float | None:
    """The median duration in minutes, interpolated in the bucket holding the middle lead
    (``None`` for an empty histogram; the open last bucket gives its lower bound)."""
    total = sum(counts)
    if total <= 0:
        return None
    half = total / 2
    seen = 0
    for index, count in enumerate(counts):
        if count and seen + count >= half:
            lower, upper = bucket_edges(index)
            if upper is None:
                return lower
            return lower + (upper - lower) * (half - seen) / count
        seen += count
    return None  # unreachable: the counts add up to total


def bucket_label(index: int) -> str:
    """A reader's label for a bucket: "≤ 15 min", "1–4 h", "> 30 d"."""
    lower, upper = bucket_edges(index)
    if upper is None:
        return f"> {_duration(lower)}"
    if index == 0:
        return f"≤ {_duration(upper)}"
    return f"{_duration(lower)}–{_duration(upper)}"


def _duration(minutes: float) -> str:
    if minutes < 60:
        return f"{minutes:.0f} min"
    if minutes < 2880:
        return f"{minutes / 60:.0f} h"
    return f"{minutes / 1440:.0f} d"

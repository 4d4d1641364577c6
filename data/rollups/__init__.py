"""Cumulative daily rollups behind partner performance, and their maintenance.

Why cumulative, and why daily
-----------------------------
The partner pages ask, for every partner, "how many leads were shared with it between day A
and day B, how many were contacted within an hour, …" for arbitrary day ranges (last 30/90/365
days, this year, custom). A ``GROUP BY`` over ``lead_share`` costs O(shares in the range)
(≈0.7 s on SQLite at 1M leads), and plain monthly rollups still cost O(partners × months) and
need slow raw scans for the partial months at both ends of a day range.

So each rollup row holds *running totals*: for a partner (or a partner × trade, partner ×
province, partner × trade × province), the counts of everything up to and including ``day``.
Rows exist only for days on which something happened. Any range is then the difference of two
look-ups::

    counts(A..B) = cum(latest row with day <= B) - cum(latest row with day < A)

which costs two index seeks per partner, whatever the length of the range. There is one table
per filter combination ("level") so that a look-up never visits more rows than there are
partners: filtering by province in a partner × trade × province table would visit every trade
of every partner in the province. See docs/partner-performance.md for measurements and the
alternatives considered.

The package, by role
--------------------
* :mod:`data.rollups.tables`: what is counted, the tables, and :class:`Scope` (which rows a
  look-up covers and which level answers it).
* :mod:`data.rollups.counting`: the same counts straight from the base tables (``GROUP BY``),
  per :class:`Family` (shares, reviews): what the rebuild and the incremental refresh write,
  and the naive oracle the tests and benchmarks compare against.
* :mod:`data.rollups.maintain`: full rebuild after bulk loads, incremental refresh in the
  writer's transaction, the version counter, and :func:`install_session_hooks`, which
  ``data.db`` calls on the one session factory of the application (importing this package
  installs nothing).
* :mod:`data.rollups.read`: look-ups (:func:`cum_at`, :func:`range_totals`,
  :func:`trade_totals`) and the generic period readers (:func:`period_counts`,
  :func:`period_counts_many`) that the partner ranking, and any later page that counts shares
  or reviews over a period, read through.
* :mod:`data.rollups.presets`: the standard periods' per-partner totals, ready to read.
* :mod:`data.rollups.lead_days`: leads created per day (the home page's lead volume), recounted
  per touched day by the same session hooks.
* :mod:`data.rollups.lead_flow`: per creation day, how far leads got (funnel steps, time
  histograms) and their status transitions, at several filter levels (the lead-flow page,
  :mod:`data.leadflow`); recounted per touched creation day by the same hooks.

The names below are the package's public interface; import them from ``data.rollups``.
"""

from data.rollups.counting import ALL_TABLES, FAMILIES, REVIEWS, SHARES, Family
from data.rollups.lead_days import leads_between, recount_days, rollup_lead_day
from data.rollups.maintain import (
    SKIP_ROLLUPS,
    bump_version,
    install_session_hooks,
    rebuild,
    rebuild_all,
    rebuild_partner_rollups,
    refresh_partner,
    refresh_partners,
)
from data.rollups.presets import (
    PRESETS,
    RANGE_COLUMNS,
    YEAR_DAYS,
    ensure_presets,
    preset_counts,
    preset_for,
    preset_period,
    ranking_ranges,
    recompute_all_presets,
    recompute_presets,
    stored_day,
    warm_presets,
)
from data.rollups.read import (
    cum_at,
    current_version,
    period_counts,
    period_counts_many,
    range_totals,
    trade_totals,
)
from data.rollups.tables import (
    ABOUT_PARTNER,
    DIRECTORY,
    HIST,
    LEVELS,
    RESPONSE_BOUNDS,
    REVIEW_COUNTS,
    SHARE_COUNTS,
    SHARE_REVIEW_COUNTS,
    SUB_RATINGS,
    WITHIN_1H,
    WITHIN_24H,
    Scope,
)

__all__ = [
    "ABOUT_PARTNER",
    "ALL_TABLES",
    "DIRECTORY",
    "FAMILIES",
    "HIST",
    "LEVELS",
    "PRESETS",
    "RANGE_COLUMNS",
    "RESPONSE_BOUNDS",
    "REVIEWS",
    "REVIEW_COUNTS",
    "SHARES",
    "SHARE_COUNTS",
    "SHARE_REVIEW_COUNTS",
    "SKIP_ROLLUPS",
    "SUB_RATINGS",
    "WITHIN_1H",
    "WITHIN_24H",
    "YEAR_DAYS",
    "Family",
    "Scope",
    "bump_version",
    "cum_at",
    "current_version",
    "ensure_presets",
    "install_session_hooks",
    "leads_between",
    "period_counts",
    "period_counts_many",
    "preset_counts",
    "preset_for",
    "preset_period",
    "range_totals",
    "ranking_ranges",
    "rebuild",
    "rebuild_all",
    "rebuild_partner_rollups",
    "recompute_all_presets",
    "recompute_presets",
    "recount_days",
    "refresh_partner",
    "refresh_partners",
    "rollup_lead_day",
    "stored_day",
    "trade_totals",
    "warm_presets",
]

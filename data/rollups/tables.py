"""The rollup tables and what they count (see the package docstring for why they exist).

* ``rollup_{share,review}_{level}`` for the four levels of :data:`LEVELS`: running totals of
  shares by the day they were shared, and of homeowner reviews about partners by the day they
  were written (the province of a review is its lead's).
* ``rollup_{share,review}_trade_day``: plain daily totals per trade (all partners), summed over
  the period for trade averages (a dozen trades × days: tiny).
* ``rollup_{share,review}_trade_province_day``: the same per trade and province, for the
  trade comparison under a province filter.
* ``rollup_{share,review}_{level}_latest``: each key's last running totals, for period ends
  on or after the last day with data (no search).
* ``rollup_key``: every (partner, trade, province) with data: the driving table for filtered
  look-ups.
* ``rollup_state``: a version number bumped by every change, so caches know when to drop.

All of it is derived data: :func:`data.rollups.maintain.rebuild` recreates it from the base
tables. The tables live on ``Base.metadata`` so that migrations and schema checks see them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

from sqlalchemy import Column, Date, Index, Integer, LargeBinary, String, Table

from data.models import Base

# --- what is counted --------------------------------------------------------------------------

#: Upper bounds (minutes, inclusive) of the response-time histogram buckets; the last bucket
#: is open-ended. 60 and 1440 are bounds so that "within 1 h / 24 h" are exact sums of buckets.
RESPONSE_BOUNDS: tuple[int, ...] = (5, 15, 30, 60, 120, 240, 480, 960, 1440, 2880, 10080)
HIST: tuple[str, ...] = tuple(f"rt{i}" for i in range(len(RESPONSE_BOUNDS) + 1))
WITHIN_1H = HIST[: RESPONSE_BOUNDS.index(60) + 1]
WITHIN_24H = HIST[: RESPONSE_BOUNDS.index(1440) + 1]
# julianday() arithmetic on SQLite is off by ~1e-6 minutes; count a boundary as inside.
BOUND_SLACK = 1e-4

#: The homeowner-review numbers the ranking needs, also kept in the share tables (by the day
#: each review was written): one look-up per boundary then serves the whole grid row.
SHARE_REVIEW_COUNTS: tuple[str, ...] = ("rv_all", "rv_published", "rv_rating_sum", "rv_disputes")
#: Per share: 1 if it reached the step (funnel steps nested), or was prospective.
SHARE_FLAGS: tuple[str, ...] = (
    "shares",
    "accepted",
    "contacted",
    "quoted",
    "hired",
    "completed",
    "reviewed",
    "prospective",
)
SHARE_COUNTS: tuple[str, ...] = (*SHARE_FLAGS, *HIST, *SHARE_REVIEW_COUNTS)
SUB_RATINGS: tuple[str, ...] = ("quality", "timeliness", "value", "communication")
REVIEW_COUNTS: tuple[str, ...] = (
    "all_reviews",  # every homeowner review about the partner, any moderation status
    "reviews",  # published ones: the v of the Bayesian rating
    "rating_sum",
    "r1",
    "r2",
    "r3",
    "r4",
    "r5",
    *chain.from_iterable((f"{s}_sum", f"{s}_n") for s in SUB_RATINGS),
    "disputes",
    "flagged",
)
ABOUT_PARTNER = "homeowner_about_partner"

# --- tables -----------------------------------------------------------------------------------


LEVELS: dict[str, tuple[str, ...]] = {
    "partner": ("partner_id",),
    "partner_trade": ("partner_id", "trade_id"),
    "partner_province": ("partner_id", "province"),
    "partner_trade_province": ("partner_id", "trade_id", "province"),
}
DIM_KEY = LEVELS["partner_trade_province"]
_KEY_TYPES = {
    "partner_id": Integer,
    "trade_id": Integer,
    "province": lambda: String(40),
    "day": Date,
}


def _counts_table(name: str, keys: Sequence[str], counts: Sequence[str]) -> Table:
    """A rollup table: the key columns (in primary-key order) and one integer per count;
    clustered by the key on SQLite (``WITHOUT ROWID``)."""
    return Table(
        name,
        Base.metadata,
        *(Column(k, _KEY_TYPES[k](), primary_key=True) for k in keys),
        *(Column(c, Integer, nullable=False, default=0) for c in counts),
        sqlite_with_rowid=False,
    )


def _level_tables(family: str, counts: Sequence[str], suffix: str = "") -> dict[str, Table]:
    """Per level: running totals by key and day, or (``suffix="_latest"``) each key's last
    running totals (a copy of its last row): a period that ends on or after the last day with
    data reads its end there, one row per key, instead of searching each key's series."""
    day = () if suffix else ("day",)
    return {
        level: _counts_table(f"rollup_{family}_{level}{suffix}", (*keys, *day), counts)
        for level, keys in LEVELS.items()
    }


SHARE_TABLES = _level_tables("share", SHARE_COUNTS)
REVIEW_TABLES = _level_tables("review", REVIEW_COUNTS)
SHARE_LATEST = _level_tables("share", SHARE_COUNTS, "_latest")
REVIEW_LATEST = _level_tables("review", REVIEW_COUNTS, "_latest")
# Plain (not cumulative) daily totals over all partners: per trade (trade means and funnels),
# and per trade and province (the trade comparison under a province filter, which would
# otherwise visit every partner's series).
share_trade_day = _counts_table("rollup_share_trade_day", ("day", "trade_id"), SHARE_COUNTS)
review_trade_day = _counts_table("rollup_review_trade_day", ("day", "trade_id"), REVIEW_COUNTS)
_TRADE_PROVINCE_DAY = ("trade_id", "province", "day")
share_trade_province_day = _counts_table(
    "rollup_share_trade_province_day", _TRADE_PROVINCE_DAY, SHARE_COUNTS
)
review_trade_province_day = _counts_table(
    "rollup_review_trade_province_day", _TRADE_PROVINCE_DAY, REVIEW_COUNTS
)
rollup_key = Table(
    "rollup_key",
    Base.metadata,
    Column("partner_id", Integer, primary_key=True),
    Column("trade_id", Integer, primary_key=True),
    Column("province", String(40), primary_key=True),
    sqlite_with_rowid=False,
)
Index(
    "ix_rollup_key_trade_province",
    rollup_key.c.trade_id,
    rollup_key.c.province,
    rollup_key.c.partner_id,
)
Index("ix_rollup_key_province", rollup_key.c.province, rollup_key.c.partner_id)
#: The standard periods' totals per partner (see data.rollups.presets): the period's share
#: counts, the previous period's published reviews and rating sum, the year's published reviews,
#: stored as one little-endian int64 array per row (``counts``) in this order.
PRESET_COLUMNS: tuple[str, ...] = (
    *SHARE_COUNTS,
    "prev_rv_published",
    "prev_rv_rating_sum",
    "year_rv_published",
)
ALL_TRADES = 0  # a preset row's trade_id over every trade
ALL_PROVINCES = ""  # a preset row's province over every province
share_partner_preset = Table(
    "rollup_share_partner_preset",
    Base.metadata,
    Column("preset", String(8), primary_key=True),
    Column("trade_id", Integer, primary_key=True),
    Column("province", String(40), primary_key=True),
    Column("partner_id", Integer, primary_key=True),
    Column("counts", LargeBinary, nullable=False),
    sqlite_with_rowid=False,
)
rollup_preset_day = Table(
    "rollup_preset_day",
    Base.metadata,
    Column("trade_id", Integer, primary_key=True),
    Column("province", String(40), primary_key=True),
    Column("day", Date, nullable=False),
)
rollup_state = Table(
    "rollup_state",
    Base.metadata,
    Column("name", String(40), primary_key=True),
    Column("value", Integer, nullable=False),
)
VERSION = "version"
DIRECTORY = "directory"  # the partner directory's counter (data.partner_directory)
COUNTERS = (VERSION, DIRECTORY)


@dataclass(frozen=True)
class Scope:
    """Which rows a look-up covers and how they are grouped.

    ``partner_ids``/``vetting`` narrow the partners, ``trade_ids``/``province`` the dimensions
    (picking the rollup level), ``group`` is ``partner`` (one row per partner) or ``trade``
    (one row per trade, over all partners in scope).
    """

    partner_ids: tuple[int, ...] | None = None
    vetting: tuple[str, ...] = ()
    trade_ids: tuple[int, ...] | None = None
    province: str | None = None
    group: str = "partner"

    def __post_init__(self) -> None:
        if self.group not in ("partner", "trade"):
            raise ValueError(f"unknown group {self.group!r}")

    @property
    def level(self) -> str:
        """The rollup level that answers this scope with one driving row per group member."""
        if self.group == "trade" or (self.trade_ids is not None and self.province is not None):
            return "partner_trade_province" if self.province is not None else "partner_trade"
        if self.trade_ids is not None:
            return "partner_trade"
        if self.province is not None:
            return "partner_province"
        return "partner"

    @property
    def group_columns(self) -> tuple[str, ...]:
        return ("trade_id",) if self.group == "trade" else ("partner_id",)

    @property
    def uses_trade_totals(self) -> bool:
        """All partners of some or all trades (in one province or all): read the per-trade
        (or per trade and province) daily totals."""
        return self.group == "trade" and self.partner_ids is None and not self.vetting

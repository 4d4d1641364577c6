"""What the rollups count, straight from the base tables: one :class:`Family` per kind of
event (shares, reviews), with the ``GROUP BY`` that yields its per-day (or per-period) counts.

The rebuild and the incremental refresh write these counts into the rollup tables; the same
queries with a period are the naive computation the rollups are tested and benchmarked against.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, Table, and_, case, exists, func, literal, select, union_all
from sqlalchemy.sql.elements import ColumnElement

from data.models import Lead, LeadShare, Partner, Review
from data.rollups.lead_days import rollup_lead_day
from data.rollups.tables import (
    ABOUT_PARTNER,
    BOUND_SLACK,
    HIST,
    RESPONSE_BOUNDS,
    REVIEW_COUNTS,
    REVIEW_LATEST,
    REVIEW_TABLES,
    SHARE_COUNTS,
    SHARE_FLAGS,
    SHARE_LATEST,
    SHARE_REVIEW_COUNTS,
    SHARE_TABLES,
    SUB_RATINGS,
    Scope,
    review_trade_day,
    review_trade_province_day,
    rollup_key,
    share_partner_preset,
    share_trade_day,
    share_trade_province_day,
)
from data.sqlfuncs import count_where, day_of, minutes_between
from data.timeutil import start_of


@dataclass(frozen=True)
class Family:
    """One kind of event that is rolled up (shares or reviews): its tables and its SQL."""

    name: str
    counts: tuple[str, ...]
    tables: Mapping[str, Table]
    trade_table: Table
    trade_province_table: Table
    latest: Mapping[str, Table]

    def deltas(
        self,
        group: Sequence[str],
        *,
        start: date | None = None,
        end: date | None = None,
        scope: Scope | None = None,
    ) -> Select:
        """Per-group counts straight from the base tables for the days ``start``..``end`` and
        ``scope`` (``group`` ⊆ partner, trade, province, day). Also the "naive" computation
        the rollups are checked against."""
        review_where = _filters(Review.__table__.c, "review", start, end, scope)
        if self.name == "share":
            share_where = _filters(LeadShare.__table__.c, "share", start, end, scope)
            return _share_deltas(share_where, review_where, group)
        return _review_deltas(review_where, group)

    def all_tables(self) -> list[Table]:
        return [
            *self.tables.values(),
            *self.latest.values(),
            self.trade_table,
            self.trade_province_table,
        ]

    def totals_table(self, level: str) -> Table | None:
        """The all-partner daily totals kept beside a level (its keys without the partner)."""
        return {
            "partner_trade": self.trade_table,
            "partner_trade_province": self.trade_province_table,
        }.get(level)


def _share_deltas(
    where: Iterable[ColumnElement[bool]],
    review_where: Iterable[ColumnElement[bool]],
    group: Sequence[str],
) -> Select:
    s = LeadShare.__table__.c
    r = Review.__table__.c
    lead = Lead.__table__.c
    zero = literal(0)
    reviewed = exists().where(
        r.lead_id == s.lead_id, r.partner_id == s.partner_id, r.author_side == ABOUT_PARTNER
    )
    contacted = s.first_contact_at.is_not(None)
    quoted = and_(contacted, s.quoted_at.is_not(None))
    hired = and_(quoted, s.hired_at.is_not(None))
    completed = and_(hired, s.completed_at.is_not(None))
    # One row per share with the minutes computed once (a MATERIALIZED CTE stops SQLite from
    # inlining the expression into each of the twelve bucket sums).
    share_rows = select(
        s.partner_id,
        s.trade_id,
        s.province,
        day_of(s.shared_at).label("day"),
        literal(1).label("shares"),
        case((s.response == "accepted", 1), else_=0).label("accepted"),
        # Funnel steps are nested (a step counts only when every earlier one happened),
        # so each conditional rate stays within 0..1 even on inconsistent rows.
        case((contacted, 1), else_=0).label("contacted"),
        case((quoted, 1), else_=0).label("quoted"),
        case((hired, 1), else_=0).label("hired"),
        case((completed, 1), else_=0).label("completed"),
        case((and_(completed, reviewed), 1), else_=0).label("reviewed"),
        case((s.partner_was_prospective.is_(True), 1), else_=0).label("prospective"),
        case(
            (s.first_contact_at.is_(None), None),
            else_=minutes_between(s.shared_at, s.first_contact_at),
        ).label("minutes"),
        *(zero.label(c) for c in SHARE_REVIEW_COUNTS),
    ).where(*where)
    published = r.moderation_status == "published"
    review_rows = (
        select(
            r.partner_id,
            r.trade_id,
            lead.province,
            day_of(r.created_at).label("day"),
            *(zero.label(c) for c in SHARE_FLAGS),
            literal(None).label("minutes"),
            literal(1).label("rv_all"),
            case((published, 1), else_=0).label("rv_published"),
            case((published, r.rating), else_=0).label("rv_rating_sum"),
            case((r.dispute.is_(True), 1), else_=0).label("rv_disputes"),
        )
        .join_from(Review.__table__, Lead.__table__, lead.id == r.lead_id)
        .where(r.author_side == ABOUT_PARTNER, *review_where)
    )
    # One row per share (and per review) with the minutes computed once: a MATERIALIZED CTE
    # stops SQLite from inlining the expression into each of the twelve bucket sums.
    per_event = union_all(share_rows, review_rows).cte("per_event").prefix_with("MATERIALIZED")
    m = per_event.c
    buckets: list[ColumnElement[int]] = []
    lower: float | None = None
    for i, upper in enumerate((*RESPONSE_BOUNDS, None)):
        parts = [m.minutes.is_not(None)]
        if lower is not None:
            parts.append(m.minutes > lower + BOUND_SLACK)
        if upper is not None:
            parts.append(m.minutes <= upper + BOUND_SLACK)
        buckets.append(count_where(and_(*parts)).label(HIST[i]))
        lower = upper
    keys = [m[g].label(g) for g in group]
    return select(
        *keys,
        *(func.sum(m[c]).label(c) for c in SHARE_FLAGS),
        *buckets,
        *(func.sum(m[c]).label(c) for c in SHARE_REVIEW_COUNTS),
    ).group_by(*(m[g] for g in group))


def _review_deltas(where: Iterable[ColumnElement[bool]], group: Sequence[str]) -> Select:
    r = Review.__table__.c
    lead = Lead.__table__.c
    published = r.moderation_status == "published"
    groups = {
        "partner_id": r.partner_id,
        "trade_id": r.trade_id,
        "province": lead.province,
        "day": day_of(r.created_at),
    }
    keys = [groups[g].label(g) for g in group]
    subs: list[ColumnElement[int]] = []
    for name in SUB_RATINGS:
        col = r[name]
        given = and_(published, col.is_not(None))
        subs.append(func.sum(case((given, col), else_=0)).label(f"{name}_sum"))
        subs.append(count_where(given).label(f"{name}_n"))
    query = select(
        *keys,
        func.count().label("all_reviews"),
        count_where(published).label("reviews"),
        func.sum(case((published, r.rating), else_=0)).label("rating_sum"),
        *(count_where(and_(published, r.rating == k)).label(f"r{k}") for k in range(1, 6)),
        *subs,
        count_where(r.dispute.is_(True)).label("disputes"),
        count_where(r.moderation_status == "flagged").label("flagged"),
    ).where(r.author_side == ABOUT_PARTNER, *where)
    if "province" in group:
        query = query.join_from(Review.__table__, Lead.__table__, lead.id == r.lead_id)
    return query.group_by(*(groups[g] for g in group))


SHARES = Family(
    "share", SHARE_COUNTS, SHARE_TABLES, share_trade_day, share_trade_province_day, SHARE_LATEST
)
REVIEWS = Family(
    "review",
    REVIEW_COUNTS,
    REVIEW_TABLES,
    review_trade_day,
    review_trade_province_day,
    REVIEW_LATEST,
)
FAMILIES = (SHARES, REVIEWS)
ALL_TABLES = (
    *SHARES.all_tables(),
    *REVIEWS.all_tables(),
    rollup_key,
    rollup_lead_day,
    share_partner_preset,
)


_ONE_DAY = timedelta(days=1)


def _filters(
    table: Any, kind: str, start: date | None, end: date | None, scope: Scope | None
) -> list[ColumnElement[bool]]:
    """WHERE terms on ``lead_share`` (``kind="share"``) or ``review`` for a day range
    (inclusive) and a :class:`Scope`."""
    at = table.shared_at if kind == "share" else table.created_at
    terms: list[ColumnElement[bool]] = []
    if start is not None:
        terms.append(at >= start_of(start))
    if end is not None:
        terms.append(at < start_of(end) + _ONE_DAY)
    if scope is None:
        return terms
    if scope.partner_ids is not None:
        terms.append(table.partner_id.in_(list(scope.partner_ids)))
    if scope.vetting:
        terms.append(
            table.partner_id.in_(
                select(Partner.id).where(Partner.vetting_status.in_(list(scope.vetting)))
            )
        )
    if scope.trade_ids is not None:
        terms.append(table.trade_id.in_(list(scope.trade_ids)))
    if scope.province is not None:
        if kind == "share":
            terms.append(table.province == scope.province)
        else:
            terms.append(table.lead_id.in_(select(Lead.id).where(Lead.province == scope.province)))
    return terms

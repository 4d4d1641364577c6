"""Headline numbers against hand-built rows (boundaries of the 30-day windows included)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from data import overview
from data.db import read_connection, session_scope
from tests.factories import add_lead, add_privacy_request, add_review, add_share, base_rows

AS_OF = date(2026, 6, 30)
NOON = datetime(2026, 6, 30, 12)


@pytest.fixture
def rows(db):
    with session_scope(db) as s:
        return base_rows(s)


def test_lead_volume_windows_and_change(db, rows):
    with session_scope(db) as s:
        for days_ago in (0, 29, 30, 45, 59, 60, 90):
            add_lead(s, rows, created_at=NOON - timedelta(days=days_ago))
    with read_connection(db) as conn:
        volume = overview.lead_volume(conn, AS_OF)
    # current window: days 0..29 ago → 0, 29; previous: 30..59 → 30, 45, 59
    assert (volume.current, volume.previous) == (2, 3)
    assert volume.change == pytest.approx(-1 / 3)


def test_lead_volume_change_is_none_without_history(db, rows):
    with read_connection(db) as conn:
        volume = overview.lead_volume(conn, AS_OF)
    assert (volume.current, volume.previous, volume.change) == (0, 0, None)


def test_contact_within_24h_counts_only_complete_days(db, rows):
    with session_scope(db) as s:
        lead = add_lead(s, rows, created_at=NOON - timedelta(days=10))
        shared = NOON - timedelta(days=10)
        add_share(s, rows, lead, shared_at=shared, first_contact_at=shared + timedelta(hours=2))
        add_share(
            s,
            rows,
            lead,
            shared_at=shared,
            first_contact_at=shared + timedelta(hours=24),
            partner=rows.partners[1],
        )
        add_share(
            s,
            rows,
            lead,
            shared_at=shared,
            first_contact_at=shared + timedelta(hours=25),
            partner=rows.partners[2],
        )
        other = add_lead(s, rows, created_at=NOON - timedelta(days=3))
        add_share(s, rows, other, shared_at=NOON - timedelta(days=3), first_contact_at=None)
        today_lead = add_lead(s, rows, created_at=NOON)
        add_share(s, rows, today_lead, shared_at=NOON, first_contact_at=NOON)  # not complete yet
    with read_connection(db) as conn:
        contact = overview.contact_within_24h(conn, AS_OF)
    assert (contact.shares, contact.within_24h) == (4, 2)
    assert contact.share == pytest.approx(0.5)


def test_mean_partner_rating_uses_published_homeowner_reviews(db, rows):
    with session_scope(db) as s:
        lead = add_lead(s, rows, created_at=NOON - timedelta(days=20))
        add_review(s, rows, lead, rating=5, created_at=NOON - timedelta(days=5))
        add_review(s, rows, lead, rating=2, created_at=NOON - timedelta(days=89))
        add_review(
            s, rows, lead, rating=1, created_at=NOON - timedelta(days=5), moderation_status="hidden"
        )
        add_review(
            s,
            rows,
            lead,
            rating=1,
            created_at=NOON - timedelta(days=5),
            author_side="partner_about_homeowner",
        )
        add_review(s, rows, lead, rating=1, created_at=NOON - timedelta(days=91))
    with read_connection(db) as conn:
        rating = overview.mean_partner_rating(conn, AS_OF)
    assert rating.reviews == 2
    assert rating.mean == pytest.approx(3.5)


def test_privacy_queue_open_and_overdue(db, rows):
    with session_scope(db) as s:
        add_privacy_request(s, received_at=NOON - timedelta(days=40), status="received")
        add_privacy_request(s, received_at=NOON - timedelta(days=10), status="verifying")
        add_privacy_request(s, received_at=NOON - timedelta(days=40), status="completed")
    with read_connection(db) as conn:
        queue = overview.privacy_queue(conn, AS_OF)
    assert (queue.open, queue.overdue) == (2, 1)


def test_rollup_backed_numbers_equal_a_plain_group_by_over_the_base_tables(db, rows):
    """Two trades, two provinces, shares at the window's edges and contact delays either side
    of 24 hours, reviews of every kind: the home page's numbers against SQL written here."""
    from data.models import Trade
    from data.rollups import rebuild_all

    with session_scope(db) as s:
        other = Trade(code="electrical", name="Electrical")
        s.add(other)
        s.flush()
        window_start = datetime(2026, 5, 31)  # AS_OF − 30 days, midnight
        window_end = datetime(2026, 6, 30)  # AS_OF, midnight: excluded
        shared_times = [
            window_start - timedelta(seconds=1),
            window_start,
            window_start + timedelta(days=7, hours=5),
            window_end - timedelta(seconds=1),
            window_end,
        ]
        delays = [None, timedelta(minutes=1), timedelta(hours=24), timedelta(hours=24, minutes=1)]
        for i, shared in enumerate(shared_times):
            for j, delay in enumerate(delays):
                lead = add_lead(
                    s,
                    rows,
                    created_at=shared - timedelta(minutes=5),
                    trade_id=(other.id if (i + j) % 2 else rows.trade.id),
                    province=("Gauteng" if j % 2 else "Limpopo"),
                )
                contact = None if delay is None else shared + delay
                add_share(s, rows, lead, shared_at=shared, first_contact_at=contact)
                for k, (side, status) in enumerate(
                    [
                        ("homeowner_about_partner", "published"),
                        ("homeowner_about_partner", "hidden"),
                        ("partner_about_homeowner", "published"),
                    ]
                ):
                    add_review(
                        s,
                        rows,
                        lead,
                        rating=1 + (i + j + k) % 5,
                        created_at=datetime(2026, 4, 1) + timedelta(days=7 * i + j, hours=k),
                        author_side=side,
                        moderation_status=status,
                    )
    oracle_contact = """
        SELECT COUNT(*),
               SUM(CASE WHEN first_contact_at IS NOT NULL
                         AND first_contact_at <= shared_at + INTERVAL_24H THEN 1 ELSE 0 END)
        FROM lead_share
        WHERE shared_at >= :start AND shared_at < :end
    """
    oracle_rating = """
        SELECT COUNT(*), SUM(rating) FROM review
        WHERE author_side = 'homeowner_about_partner' AND moderation_status = 'published'
          AND created_at >= :start AND created_at < :end
    """
    from sqlalchemy import text

    pg = db.dialect.name == "postgresql"
    plus_24h = "interval '24 hours'" if pg else None
    contact_sql = (
        oracle_contact.replace("shared_at + INTERVAL_24H", f"shared_at + {plus_24h}")
        if pg
        else oracle_contact.replace(
            "first_contact_at <= shared_at + INTERVAL_24H",
            "julianday(first_contact_at) <= julianday(shared_at, '+1 day')",  # exact: integer ms
        )
    )
    for label in ("incremental", "rebuilt"):
        if label == "rebuilt":
            rebuild_all(db)
        with read_connection(db) as conn:
            shares, within = conn.execute(
                text(contact_sql), {"start": window_start, "end": window_end}
            ).one()
            reviews, total = conn.execute(
                text(oracle_rating),
                {"start": datetime(2026, 4, 2), "end": datetime(2026, 7, 1)},
            ).one()
            contact = overview.contact_within_24h(conn, AS_OF)
            rating = overview.mean_partner_rating(conn, AS_OF)
        # written out as well, so that a wrong oracle cannot agree with a wrong function:
        # 3 share times inside the window × 4 delays; 2 of the 4 delays are within 24 hours
        assert (shares, within) == (12, 6), label
        assert (contact.shares, contact.within_24h) == (shares, within), label
        assert rating.reviews == reviews, label
        assert rating.mean == pytest.approx(total / reviews), label

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

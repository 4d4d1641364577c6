"""The request clock and the masking of identifiers (pure functions, edges included)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from data.privacy.clock import (
    days_left_badge,
    due_date,
    is_deemed_refusal,
    unverified_cutoff,
)
from data.privacy.masking import initials, mask_email, mask_phone, masked_subject

TODAY = date(2026, 6, 1)


def due_in(days: int) -> datetime:
    return datetime(2026, 6, 1, 15, 30) + timedelta(days=days)


def test_due_date_is_thirty_days_after_receipt():
    assert due_date(datetime(2026, 1, 31, 9)) == datetime(2026, 3, 2, 9)


@pytest.mark.parametrize(
    ("days", "css", "label"),
    [
        (30, "days-green", "30 days left"),
        (10, "days-green", "10 days left"),
        (9, "days-amber", "9 days left"),
        (5, "days-amber", "5 days left"),
        (4, "days-red", "4 days left"),
        (1, "days-red", "1 day left"),
        (0, "days-red", "due today"),
        (-1, "days-overdue", "1 day overdue"),
        (-12, "days-overdue", "12 days overdue"),
    ],
)
def test_days_left_colouring(days, css, label):
    badge = days_left_badge(due_in(days), TODAY)
    assert (badge.days, badge.css_class, badge.label) == (days, css, label)


def test_deemed_refusal_is_an_open_access_request_past_its_due_date():
    assert is_deemed_refusal("access", "in_progress", due_in(-1), TODAY)
    assert not is_deemed_refusal("access", "in_progress", due_in(0), TODAY)
    assert not is_deemed_refusal("access", "completed", due_in(-5), TODAY)
    assert not is_deemed_refusal("objection", "received", due_in(-5), TODAY)


def test_unverified_cutoff():
    assert unverified_cutoff(datetime(2026, 6, 1, 12)) == datetime(2026, 5, 2, 12)


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("john@gmail.com", "j***@gmail.com"),
        ("J.Smith@Example.CO.ZA", "J***@example.co.za"),
        ("x@y.org", "x***@y.org"),
        ("not-an-email", "n***"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_email(value, masked):
    assert mask_email(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("+27820000101", "082 *** 0101"),
        ("082 000 0101", "082 *** 0101"),
        ("27-82-000-0101", "082 *** 0101"),
        ("+44 20 7946 0958", "442 *** 0958"),
        ("123", "***"),
        (None, ""),
    ],
)
def test_mask_phone(value, masked):
    assert mask_phone(value) == masked


def test_initials_and_subject_line():
    assert initials("thandi  nkosi") == "T. N."
    assert masked_subject("Thandi Nkosi", "thandi@x.co.za", "0820000101") == (
        "T. N. · t***@x.co.za · 082 *** 0101"
    )
    assert masked_subject(None, None, None) == "(no identifiers)"


# --- edges, with every expectation written out by hand -------------------------------------------

OPEN = ("received", "verifying", "in_progress")  # the rules' open statuses, spelt out
CLOSED = ("completed", "denied", "unverified", "duplicate")


@pytest.mark.parametrize("status", OPEN)
def test_every_open_status_of_an_overdue_access_request_is_a_deemed_refusal(status):
    assert is_deemed_refusal("access", status, due_in(-1), TODAY) is True
    assert is_deemed_refusal("access", status, due_in(-30), TODAY) is True
    assert is_deemed_refusal("access", status, due_in(0), TODAY) is False  # due today
    assert is_deemed_refusal("access", status, due_in(1), TODAY) is False


@pytest.mark.parametrize("status", CLOSED)
def test_no_closed_status_is_a_deemed_refusal(status):
    assert is_deemed_refusal("access", status, due_in(-1), TODAY) is False
    assert is_deemed_refusal("access", status, due_in(-30), TODAY) is False


@pytest.mark.parametrize(
    "request_type",
    ["correction", "objection", "service_opt_out", "analytics_opt_out", "erasure"],
)
@pytest.mark.parametrize("status", OPEN)
def test_only_access_requests_are_deemed_refusals(request_type, status):
    assert is_deemed_refusal(request_type, status, due_in(-1), TODAY) is False


@pytest.mark.parametrize(
    ("due_at", "today", "days", "label", "deemed"),
    [
        # due_at is stored in UTC; the due day is the day in Johannesburg (UTC+2):
        # 31 May 22:00 UTC is the first second of 1 June there, 1 June 21:59:59 UTC its last.
        (datetime(2026, 5, 31, 22, 0, 0), date(2026, 6, 1), 0, "due today", False),
        (datetime(2026, 6, 1, 21, 59, 59), date(2026, 6, 1), 0, "due today", False),
        # the next South African day, even for a request due in the last second of the day
        (datetime(2026, 6, 1, 21, 59, 59), date(2026, 6, 2), -1, "1 day overdue", True),
        (datetime(2026, 5, 31, 22, 0, 0), date(2026, 6, 2), -1, "1 day overdue", True),
        # the day before the due day
        (datetime(2026, 5, 31, 22, 0, 0), date(2026, 5, 31), 1, "1 day left", False),
    ],
)
def test_the_due_day_turns_over_at_midnight_in_johannesburg(due_at, today, days, label, deemed):
    badge = days_left_badge(due_at, today)
    assert (badge.days, badge.label) == (days, label)
    assert is_deemed_refusal("access", "received", due_at, today) is deemed


def test_due_days_are_south_african_days():
    """docs/domain.md §3: a request due at 22:30 UTC on 1 June is due at 00:30 on 2 June in
    Johannesburg, so on 2 June it is due today, not overdue (it was under UTC days)."""
    due = datetime(2026, 6, 1, 22, 30)  # 2 June 00:30 SAST
    badge = days_left_badge(due, date(2026, 6, 2))
    assert (badge.days, badge.label) == (0, "due today")
    assert is_deemed_refusal("access", "in_progress", due, date(2026, 6, 2)) is False


def test_today_is_the_day_in_johannesburg(monkeypatch):
    import data.timeutil as timeutil

    monkeypatch.setattr(timeutil, "utcnow", lambda: datetime(2026, 6, 1, 22, 30))
    assert timeutil.today() == date(2026, 6, 2)
    monkeypatch.setattr(timeutil, "utcnow", lambda: datetime(2026, 6, 1, 21, 59, 59))
    assert timeutil.today() == date(2026, 6, 1)


def test_due_date_keeps_the_time_of_receipt():
    assert due_date(datetime(2026, 5, 2, 23, 59, 59)) == datetime(2026, 6, 1, 23, 59, 59)
    assert due_date(datetime(2026, 12, 15, 0, 0, 0)) == datetime(2027, 1, 14, 0, 0, 0)


def test_days_left_colour_bands_at_their_edges():
    # UTC instants on either side of midnight in Johannesburg (22:00 UTC)
    assert days_left_badge(datetime(2026, 6, 10, 22, 0), TODAY).css_class == "days-green"  # 10
    assert days_left_badge(datetime(2026, 6, 10, 21, 59), TODAY).css_class == "days-amber"  # 9
    assert days_left_badge(datetime(2026, 6, 5, 22, 0), TODAY).css_class == "days-amber"  # 5
    assert days_left_badge(datetime(2026, 6, 5, 21, 59), TODAY).css_class == "days-red"  # 4

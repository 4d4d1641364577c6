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

"""Normalised identifiers (``data.identifiers``): one stored form per email and phone."""

from __future__ import annotations

import pytest

from data.identifiers import normalise_email, normalise_phone


def test_normalise_email_trims_and_lowercases() -> None:
    assert normalise_email("  Thabo.Nkosi@Gmail.COM \n") == "thabo.nkosi@gmail.com"


@pytest.mark.parametrize(
    "raw",
    [
        "082 123 4567",
        "0821234567",
        "082-123-4567",
        "(082) 123 4567",
        "+27 82 123 4567",
        "+27821234567",
        "27821234567",
        "0027 82 123 4567",
        "+27 (0)82 123 4567",
        " 082.123.4567 ",
    ],
)
def test_normalise_phone_accepts_south_african_forms(raw: str) -> None:
    assert normalise_phone(raw) == "+27821234567"


def test_normalise_phone_keeps_landlines() -> None:
    assert normalise_phone("011 555 0123") == "+27115550123"
    assert normalise_phone("+27 21 555 0123") == "+27215550123"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "12345",
        "082 123 456",  # too short
        "082 123 45678",  # too long
        "+44 20 7946 0958",  # not South African
        "092 123 4567",  # no such prefix
        "000 123 4567",
        "phone me",
        "821234567",  # no trunk or country prefix
    ],
)
def test_normalise_phone_rejects_other_numbers(raw: str) -> None:
    assert normalise_phone(raw) is None

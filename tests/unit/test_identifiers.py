"""Normalised identifiers (``data.identifiers``): one stored form per email and phone."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from data.do_not_contact import suppression_digest
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
        "092 123 4567",  # no such prefix
        "000 123 4567",
        "phone me",
    ],
)
def test_normalise_phone_rejects_other_numbers(raw: str) -> None:
    assert normalise_phone(raw) is None


# --- the library-based rules (issue 12, point 6): expected forms written out by hand ---------


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("08２１２３４５６７", "+27821234567"),  # full-width digits
        ("082\u2013123\u20134567", "+27821234567"),  # en dashes
        ("082\u2014123 4567", "+27821234567"),  # em dash
        ("082\u200b123\u200b4567", "+27821234567"),  # zero-width spaces
        ("\u0660\u0668\u0662 123 4567", "+27821234567"),  # Arabic-Indic digits
        ("011 555 0123", "+27115550123"),  # fixed line
        ("0800 123 456", "+27800123456"),  # toll-free
        ("0860 123 456", "+27860123456"),  # shared cost
        ("087 123 4567", "+27871234567"),  # VoIP
        ("+44 20 7946 0958", "+442079460958"),  # a foreign number given with its country code
        ("0044 20 7946 0958", "+442079460958"),
        ("821234567", "+27821234567"),  # the trunk 0 left out: still the national number
    ],
)
def test_phone_numbers_the_library_reads(raw: str, stored: str) -> None:
    assert normalise_phone(raw) == stored


@pytest.mark.parametrize(
    "raw",
    [
        "00821234567",  # 00 is the international prefix: +82 (Korea), and not a valid number
        "0900 123 456",  # premium rate: not a person's number
        "082 123 456",  # a short 08x service code, not a person's mobile
    ],
)
def test_phone_numbers_refused(raw: str) -> None:
    assert normalise_phone(raw) is None


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("thandi@münchen.de", "thandi@münchen.de"),
        ("thandi@xn--mnchen-3ya.de", "thandi@münchen.de"),  # punycode: the same address
        ("Thandi@MÜNCHEN.de", "thandi@münchen.de"),
        ("tha\u200bndi@example.com", "thandi@example.com"),  # a zero-width space, pasted
        ("ｔｈａｎｄｉ@example.com", "thandi@example.com"),  # full-width letters
    ],
)
def test_email_addresses_have_one_stored_form(raw: str, stored: str) -> None:
    assert normalise_email(raw) == stored


@pytest.mark.parametrize(
    "raw", ["thandi", "thandi@", "@example.com", "thandi @ example.com", "a@b", "a..b@example.com"]
)
def test_email_addresses_refused(raw: str) -> None:
    assert normalise_email(raw) is None


def test_two_spellings_of_one_number_give_one_digest() -> None:
    key = b"test-key"
    # HMAC-SHA256 of "phone:+27821234567" under b"test-key", by the standard library alone
    expected = hmac.new(key, b"phone:+27821234567", hashlib.sha256).hexdigest()
    for spelling in ("08２１２３４５６７", "+27 (0)82 123 4567", "082\u2013123\u20134567"):
        assert suppression_digest("phone", spelling, key) == expected
    email = hmac.new(key, "email:thandi@münchen.de".encode(), hashlib.sha256).hexdigest()
    assert suppression_digest("email", "THANDI@xn--mnchen-3ya.de", key) == email

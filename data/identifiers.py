"""Normalised email addresses and South African phone numbers: the one stored form of each.

Named ``identifiers`` (it used to live in ``data.suppression``) because normalising is about
recognising the same person's contact details however they were typed, and nothing else: intake
matching, corrections, masking, the demo data and the do-not-contact list all use it. The
do-not-contact list itself (keyed digests of these forms) is :mod:`data.do_not_contact`; the word
"suppression" is left to that list and to hiding small cells in de-identified aggregates.

Identifiers are normalised so that "082 123 4567" and "+27 82 123 4567" match, and so that the
``email`` and ``phone`` columns can be searched with an index look-up.
"""

from __future__ import annotations

import re

KINDS = ("email", "phone")

_PHONE_JUNK = re.compile(r"[\s\-().\u00a0/]")


def normalise_email(value: str) -> str:
    """Trimmed and lower-cased, as stored in the ``email`` columns."""
    return value.strip().lower()


def normalise_phone(value: str) -> str | None:
    """A South African number as E.164 ``+27XXXXXXXXX``, or None if it is not one.

    Accepts the national form (``082 123 4567``), ``+27``, ``27`` and ``0027`` prefixes, with
    spaces, dashes, dots, slashes or brackets, and the common ``+27 (0)82`` slip.
    """
    digits = _PHONE_JUNK.sub("", value.strip())
    if digits.startswith("+"):
        digits = digits[1:]
        if not digits.startswith("27"):
            return None
        national = digits[2:]
    elif digits.startswith("0027"):
        national = digits[4:]
    elif digits.startswith("27") and len(digits) in (11, 12):
        national = digits[2:]
    elif digits.startswith("0"):
        national = digits[1:]
    else:
        return None
    if national.startswith("0") and len(national) == 10:  # "+27 (0)82 ..." written out
        national = national[1:]
    if len(national) != 9 or not national.isdigit() or national[0] not in "12345678":
        return None
    return "+27" + national


def normalise(kind: str, value: str) -> str:
    """The stored form of an identifier of ``kind``; ValueError if it cannot be one."""
    if kind == "email":
        email = normalise_email(value)
        if "@" not in email:
            raise ValueError("not an email address")
        return email
    if kind == "phone":
        phone = normalise_phone(value)
        if phone is None:
            raise ValueError("not a South African phone number")
        return phone
    raise ValueError(f"unknown identifier kind {kind!r}; expected one of {KINDS}")

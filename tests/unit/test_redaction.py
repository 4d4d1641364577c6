"""Contact details and the person's own name removed from free text (issue 12, point 1).

The oracle is independent of ``data.redaction``: after redaction, the text folded to ASCII
letters and digits (Unicode digits to their values, everything else dropped, lower case) must
not contain any of the person's identifiers written out by hand below.
"""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from data.db import session_scope
from data.models import Homeowner, Review
from data.redaction import PHONE, detection_text, redact
from tests.factories import add_lead, add_review, base_rows

FIRST, LAST, STREET = "Thandi", "Nkosi", "12 Jacaranda Street"
# What must never survive: the national number's digits, the name, the street, the mailbox.
TRACES = ("832987217", "thandi", "nkosi", "jacaranda", "outlook")

HOSTILE = [
    "Reach me on cell0832987217",
    "083.298.7217",
    "083 298 7217",
    "083-298-7217",
    "083\u2013298\u20137217",  # en dashes
    "083\u2014298\u20147217",  # em dashes
    "083\u2212298\u22127217",  # minus signs
    "+27 83 298 7217",
    "+27(0)83 298 7217",
    "0027 83 298 7217",
    "27832987217",
    "\uff10\uff18\uff13\uff12\uff19\uff18\uff17\uff12\uff11\uff17",  # full-width digits
    "\u0660\u0668\u0663\u0662\u0669\u0668\u0667\u0662\u0661\u0667",  # Arabic-Indic digits
    "083\u200b298\u200b7217",  # zero-width spaces
    "(083) 298 7217",
    "083/298/7217",
    "call083 298 7217now",
    "whatsapp:+27832987217",
    "0 8 3 2 9 8 7 2 1 7",
    "083 298 72 17",
    "+27-83-298-7217",
    "mail thandi.nkosi@outlook.com",
    "thandi.nkosi @ outlook.com",
    "thandi.nkosi (at) outlook (dot) com",
    "thandi.nkosi [at] outlook [dot] com",
    "thandi.nkosi at outlook dot com",
    "THANDI.NKOSI@OUTLOOK.COM",
    "thandi.nkosi\uff20outlook.com",  # full-width @
    "thandi{at}outlook{dot}com",
    "thandi_nkosi+jobs@outlook.co.za",
    "thandi.nkosi@out\u200blook.com",  # a zero-width space inside the host
    "thandi\u200b.nkosi@outlook.com",  # and inside the local part
    "thandi.nkosi\u00ad@outlook.com",  # a soft hyphen
    "Regards, Thandi",
    "Mrs NKOSI was happy",
    "nkosi's kitchen is done",
    "come to 12 Jacaranda Street",
    "come to 12 jacaranda   street",
    "Thandi Nkosi, 083 298 7217, thandi.nkosi@outlook.com",
    "zero eight three two nine eight seven two one seven",
    "Zero Eight Three, two nine eight, seven two one seven",
    "083 two nine eight 7217",
    "oh-eight-three-two-nine-eight-seven-two-one-seven",
]

# Number words, folded to digits by the oracle (written here, independent of data.redaction).
WORD_DIGITS = {
    "zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip


def _folded(text: str) -> str:
    for word, digit in WORD_DIGITS.items():
        text = re.sub(rf"\b{word}\b", digit, text, flags=re.IGNORECASE)
    out = []
    for ch in text:
        if unicodedata.category(ch) == "Nd":
            out.append(str(unicodedata.digit(ch)))
        elif ch.isascii() and ch.isalnum():
            out.append(ch.lower())
        else:
            folded = unicodedata.normalize("NFKC", ch)
            out.append(folded.lower() if folded.isascii() and folded.isalnum() else "")
    return "".join(out)


def test_the_fixture_is_hostile_enough():
    assert len(HOSTILE) >= 30
    assert all(any(t in _folded(s) for t in TRACES) for s in HOSTILE)


@pytest.mark.parametrize("text", HOSTILE)
def test_no_identifier_survives(text):
    cleaned = redact(text, first_name=FIRST, last_name=LAST, street=STREET)
    assert not [t for t in TRACES if t in _folded(cleaned)], cleaned
    assert redact(cleaned, first_name=FIRST, last_name=LAST, street=STREET) == cleaned


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Reach me on cell0832987217 or 083.298.7217 / thandi @ outlook.com",
            "Reach me on cell[phone removed] or [phone removed] / [email removed]",
        ),
        ("Regards, Thandi Nkosi", "Regards, [name removed] [name removed]"),
        ("write to jabu\u200b.mokoena@out\u2060look.com", "write to [email removed]"),
        ("Regards, Thandi\u200bNkosi", "Regards, [name removed] [name removed]"),
        ("Quote was R2500 for job 2 of 3 on 2026-11-30 10:00", None),
        ("Great service at the house, arrived at 9", None),
        ("Thandeka did the tiling", None),  # another name that starts alike
        ("Call zero eight two double five, five zero one zero one", "Call [phone removed]"),
        ("Two or three quotes; one for five thousand, the other two for nine", None),
        ("Job one, two, three, four and five done on 1 2 2026", None),
    ],
)
def test_exact_results_and_what_is_left_alone(text, expected):
    result = redact(text, first_name=FIRST, last_name=LAST, street=STREET)
    assert result == (text if expected is None else expected)


def test_the_stored_twin_is_written_with_the_row_and_follows_a_name_correction(db):
    with session_scope(db) as s:
        rows = base_rows(s, partners=1)
        rows.homeowner.street = STREET
        lead = add_lead(s, rows)
        add_review(s, rows, lead, comment="Thandi here: 083 298 7217, ask for Zodwa")
    with session_scope(db) as s:
        assert s.scalar(select(Review.comment_redacted)) == (
            "[name removed] here: [phone removed], ask for Zodwa"
        )
    with session_scope(db) as s:
        s.scalars(select(Homeowner)).one().first_name = "Zodwa"  # a correction
    with session_scope(db) as s:
        # the new spelling and the old one are both removed
        assert s.scalar(select(Review.comment_redacted)) == (
            "[name removed] here: [phone removed], ask for [name removed]"
        )


@given(st.text(max_size=60))
@settings(max_examples=300, deadline=None)
def test_detection_text_maps_each_character_on_its_own(text: str) -> None:
    """The translation table gives, per character, what the phone matcher should see: a digit
    for any decimal digit, ``-`` for any dash, a space for any letter, the character itself
    (or its one-character NFKC form) otherwise; never a change of length."""
    expected = []
    for ch in text:
        if ch in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d":
            expected.append("-")
        elif unicodedata.category(ch) == "Nd":
            expected.append(str(unicodedata.digit(ch)))
        elif ch.isalpha():
            expected.append(" ")
        else:
            folded = unicodedata.normalize("NFKC", ch)
            expected.append(folded if len(folded) == 1 else ch)
    assert detection_text(text) == "".join(expected)
    assert detection_text(text + text) == "".join(expected) * 2  # the same from the cache


def test_format_characters_inside_an_email_or_a_phone_number() -> None:
    assert redact("mail thandi@out\u200blook.com now") == "mail [email removed] now"
    assert redact("call 083\u00ad298\u200d7217") == f"call {PHONE}"

"""Normalised email addresses and phone numbers: the one stored form of each.

Named ``identifiers`` (it used to live in ``data.suppression``) because normalising is about
recognising the same person's contact details however they were typed, and nothing else: intake
matching, corrections, masking, the demo data and the do-not-contact list all use it. The
do-not-contact list itself (keyed digests of these forms) is :mod:`data.do_not_contact`; the word
"suppression" is left to that list and to hiding small cells in de-identified aggregates.

The parsing is done by the libraries made for it, not by hand (hand-written rules were wrong at
the edges: full-width digits, ``00`` international prefixes, en dashes, punycode domains):

* phones: Google's libphonenumber (``phonenumbers``), with South Africa (``ZA``) as the region
  a number without a country code belongs to. Accepted kinds (:data:`ACCEPTED_PHONE_TYPES`):
  mobile, fixed line, toll-free (0800), shared-cost (0860/0861) and VoIP (087); premium-rate
  (0900), pagers and personal numbers are not a person's contact number and are refused, and
  so are South African numbers of other than nine digits after the trunk 0 (the metadata also
  admits short 08x service codes, which in a contact field are typos). A
  foreign number is accepted when written with its country code (``+44 20 …``, ``0044 20 …``)
  and valid there. The stored form is E.164 (``+27821234567``).
* emails: ``email-validator`` (syntax only, no DNS look-up: deliverability is not our business
  and the check must work offline). The stored form is the library's normalised address,
  lower-cased, with an internationalised domain in Unicode, so ``thandi@münchen.de`` and
  ``thandi@xn--mnchen-3ya.de`` are one address.

Before either, the text is NFKC-normalised (full-width digits become ASCII) and invisible
format characters (zero-width spaces and joiners, soft hyphens, direction marks) are removed:
they come from copy and paste, and left in they would make an identifier that never matches.
"""

from __future__ import annotations

import unicodedata

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import PhoneNumberFormat, PhoneNumberType

KINDS = ("email", "phone")
REGION = "ZA"
ACCEPTED_PHONE_TYPES = frozenset(
    {
        PhoneNumberType.MOBILE,
        PhoneNumberType.FIXED_LINE,
        PhoneNumberType.FIXED_LINE_OR_MOBILE,
        PhoneNumberType.TOLL_FREE,
        PhoneNumberType.SHARED_COST,
        PhoneNumberType.VOIP,
    }
)
MAX_INPUT = 254
SA_COUNTRY_CODE = 27


def clean_text(value: str) -> str:
    """NFKC form without invisible format characters (Unicode category Cf), trimmed."""
    text = unicodedata.normalize("NFKC", value)
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf").strip()


def normalise_email(value: str) -> str | None:
    """The stored form of an email address, or None when it is not a valid one."""
    text = clean_text(value or "")
    if not text or len(text) > MAX_INPUT:
        return None
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return None
    return result.normalized.lower()


def parse_phone(value: str) -> phonenumbers.PhoneNumber | None:
    """A valid number of an accepted kind, read with South Africa as the default region."""
    text = clean_text(value or "")
    if not text or len(text) > 40:
        return None
    try:
        number = phonenumbers.parse(text, REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    if phonenumbers.number_type(number) not in ACCEPTED_PHONE_TYPES:
        return None
    if number.country_code == SA_COUNTRY_CODE and len(str(number.national_number)) != 9:
        return None  # the metadata admits short 08x service codes; a person's number has nine
    return number


def normalise_phone(value: str) -> str | None:
    """A phone number in E.164 (``+27821234567``), or None if it is not an accepted one."""
    number = parse_phone(value)
    return None if number is None else phonenumbers.format_number(number, PhoneNumberFormat.E164)


def national_form(e164: str) -> str:
    """How a stored number is written for people: national for South African numbers
    (``082 123 4567``), international otherwise."""
    number = phonenumbers.parse(e164, REGION)
    style = (
        PhoneNumberFormat.NATIONAL
        if phonenumbers.region_code_for_number(number) == REGION
        else PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, style)


def normalise(kind: str, value: str) -> str:
    """The stored form of an identifier of ``kind``; ValueError if it cannot be one."""
    if kind == "email":
        email = normalise_email(value)
        if email is None:
            raise ValueError("not an email address")
        return email
    if kind == "phone":
        phone = normalise_phone(value)
        if phone is None:
            raise ValueError("not a phone number we accept")
        return phone
    raise ValueError(f"unknown identifier kind {kind!r}; expected one of {KINDS}")

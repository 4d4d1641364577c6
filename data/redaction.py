"""Contact details and names removed from free text, for roles that may not see people.

Homeowners type their phone number, email address and name into review comments, lead
descriptions and call notes, in every spelling (``cell0832987217``, ``083.298.7217``,
``thandi @ outlook.com``, ``thandi (at) gmail [dot] com``). Managers, marketing and a partner's
access package must never receive them. A pattern clean-up at display time missed separators,
glued words and spelled-out addresses, and never removed names, so the text is cleaned once,
when it is written or loaded, into a stored redacted form (``review.comment_redacted``,
``lead.description_redacted``, ``interaction.notes_redacted``), and only that form is read
for those roles (``data/roles.py``: ``see_people``).

:func:`redact` removes:

* phone numbers, found by libphonenumber's matcher (``phonenumbers.PhoneNumberMatcher``,
  region ``ZA``) on a copy of the text in which every character is mapped one-to-one to what
  the matcher understands (full-width and other Unicode digits to ASCII, Unicode dashes to
  ``-``, letters to spaces, so ``cell0832987217`` is read as
  ``    0832987217``); then, as a safety net, any run of nine or more digits with separators
  that starts like a phone number (``0``, ``+`` or ``27``);
* phone numbers spelled out in words, alone or mixed with digits (``zero eight three two nine
  eight seven two one seven``, ``083 two nine eight 7217``, ``double five``): a run of number
  words and digit groups holding nine digits or more;
* email addresses, also written as ``name @ host . com``, ``name (at) host [dot] com``,
  ``name at host dot com``, looked for in the text as a reader sees it: without the invisible
  format characters (zero-width spaces and joiners, soft hyphens) someone may type inside one;
  what is left of those characters then reads as a space, so they cannot glue or split a phone
  number or a name either;
* the homeowner's own first name, last name and street (whole words, any case), when given.

The replacement names what was removed (``[phone removed]``), so a reader still understands the
comment. :func:`redact` is idempotent: its output contains nothing it would remove again.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable

import phonenumbers

PHONE = "[phone removed]"
EMAIL = "[email removed]"
NAME = "[name removed]"
ADDRESS = "[address removed]"
REGION = "ZA"
MIN_DIGITS = 9

_DASHES = frozenset("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d")
_TLDS = r"(?:com|net|org|za|co|io|info|biz|africa|edu|gov|me|uk|de|nl|us|au|mail)"
_AT = r"(?:\s*@\s*|\s*[\(\[\{<]\s*at\s*[\)\]\}>]\s*|\s+at\s+)"
_DOT = r"(?:\s*\.\s*|\s*[\(\[\{<]\s*dot\s*[\)\]\}>]\s*|\s+dot\s+)"
_WORD = r"[\w+-]+"
# name (separated by dots) + "at" + host labels + a known top-level domain, in any spelling
_EMAIL = re.compile(
    rf"{_WORD}(?:\.{_WORD})*{_AT}{_WORD}(?:{_DOT}{_WORD})*{_DOT}{_TLDS}\b",
    re.IGNORECASE,
)
# what every spelling above contains (a cheap test before the expensive patterns)
_MAY_HOLD_EMAIL = re.compile(r"@|\bat\b", re.IGNORECASE)
# a plain address with any top-level domain
_PLAIN_EMAIL = re.compile(r"[\w.+-]+\s*@\s*[\w-]+(?:\s*\.\s*[\w-]+)+")
# a run of digits with the separators people use, nine digits or more (counted after)
_DIGIT_RUN = re.compile(r"\+?\d(?:[\s.\-/()]{0,3}\d)+")
# digits said in words; "double"/"triple" repeat the next one
_DIGIT_WORDS = ("zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight")
_DIGIT_WORDS += ("nine",)
_REPEATS = {"double": 1, "triple": 2}  # extra digits they add
_NUMBER_TOKEN = rf"(?:\b(?:{'|'.join(_DIGIT_WORDS + tuple(_REPEATS))})\b|\d+)"
_SPELLED_RUN = re.compile(rf"{_NUMBER_TOKEN}(?:[\s,.\-/()]{{1,3}}{_NUMBER_TOKEN})+", re.IGNORECASE)
_MAY_BE_SPELLED = re.compile(rf"\b(?:{'|'.join(_DIGIT_WORDS)})\b", re.IGNORECASE)


def _detection_char(ch: str) -> str:
    """What the phone matcher should see in place of ``ch`` (always one character)."""
    if ch in _DASHES:
        return "-"
    category = unicodedata.category(ch)
    if category == "Nd":
        return str(unicodedata.digit(ch))
    if ch.isalpha():
        return " "
    folded = unicodedata.normalize("NFKC", ch)
    return folded if len(folded) == 1 else ch


def _without_emails(text: str) -> str:
    """``text`` with its email addresses replaced, found in the text without format characters.

    The matches are found in the visible characters only and replaced in ``text`` itself, so an
    address with a zero-width space inside (``jabu.mokoena@out\u200blook.com``) goes whole."""
    if not _MAY_HOLD_EMAIL.search(text):
        return text
    if text.isascii():  # no format characters: nothing to look through
        visible, seen = list(range(len(text))), text
    else:
        visible = [i for i, ch in enumerate(text) if unicodedata.category(ch) != "Cf"]
        seen = "".join(text[i] for i in visible)
    spans = [
        (visible[m.start()], visible[m.end() - 1] + 1)
        for pattern in (_EMAIL, _PLAIN_EMAIL)
        for m in pattern.finditer(seen)
    ]
    return _replace(text, spans, EMAIL)


class _CharMap(dict[int, str]):
    """A ``str.translate`` table filled on demand from a rule per character (each result a
    string of at most one character), so that each character costs a look-up in C, not a
    Python call: the demo build redacts about a million texts (a per-character generator was
    a minute of its time at 1M leads)."""

    def __init__(self, rule: Callable[[str], str]) -> None:
        super().__init__()
        self._rule = rule

    def __missing__(self, code: int) -> str:
        value = self[code] = self._rule(chr(code))
        return value


_DETECTION = _CharMap(_detection_char)
_FORMAT_AS_SPACE = _CharMap(lambda ch: " " if unicodedata.category(ch) == "Cf" else ch)
_WITHOUT_DIGITS = _CharMap(lambda ch: "" if ch.isdigit() else ch)


def _digit_count(text: str) -> int:
    return len(text) - len(text.translate(_WITHOUT_DIGITS))


def detection_text(text: str) -> str:
    """``text`` mapped character by character for detection (same length, same offsets)."""
    return text.translate(_DETECTION)


def _spans_of_phones(seen: str) -> list[tuple[int, int]]:
    if _digit_count(seen) < 7:
        return []  # no number fits: spare the matcher (most comments)
    spans = [(m.start, m.end) for m in phonenumbers.PhoneNumberMatcher(seen, REGION)]
    for match in _DIGIT_RUN.finditer(seen):
        run = match.group()
        digits = sum(ch.isdigit() for ch in run)
        # the safety net: phone-shaped runs (a trunk 0, a + or 27), not dates or amounts
        if digits >= MIN_DIGITS and run.startswith(("+", "0", "27")):
            spans.append(match.span())
    return spans


def _spans_of_spelled_numbers(text: str) -> list[tuple[int, int]]:
    """Runs of number words (and digit groups among them) that say nine digits or more."""
    if len(_MAY_BE_SPELLED.findall(text)) < 2:
        return []  # most comments: nothing spelled out
    spans = []
    for match in _SPELLED_RUN.finditer(text):
        tokens = re.findall(r"[a-z]+|\d+", match.group().lower())
        if all(t.isdigit() for t in tokens):
            continue  # plain digits: the phone matcher's job
        digits = sum(len(t) if t.isdigit() else _REPEATS.get(t, 1) for t in tokens)
        if digits >= MIN_DIGITS:
            spans.append(match.span())
    return spans


def _replace(text: str, spans: Iterable[tuple[int, int]], token: str) -> str:
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in reversed(merged):
        text = text[:start] + token + text[end:]
    return text


def _words(value: str | None) -> list[str]:
    """The words of a name or street worth removing (two characters or more)."""
    if not value:
        return []
    return [w for w in re.split(r"[\s,]+", unicodedata.normalize("NFKC", value)) if len(w) >= 2]


def _remove_person(text: str, names: list[str], street: str | None) -> str:
    lowered = text.lower()
    street_text = unicodedata.normalize("NFKC", street or "").strip()
    street_words = street_text.split()
    if len(street_text) >= 4 and street_words[-1].lower() in lowered:
        pattern = r"\s+".join(re.escape(w) for w in street_words)
        text = re.sub(rf"(?<!\w){pattern}(?!\w)", ADDRESS, text, flags=re.IGNORECASE)
    for name in sorted(set(names), key=len, reverse=True):
        if name.lower() in lowered:  # a cheap test first: most texts hold no name
            text = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", NAME, text, flags=re.IGNORECASE)
    return text


def redact(
    text: str | None,
    *,
    first_name: str | None = None,
    last_name: str | None = None,
    street: str | None = None,
) -> str | None:
    """``text`` without phone numbers, email addresses and the person's own name and street."""
    if not text:
        return text
    # Emails first (their digits must not be half-taken as a phone), on NFKC text so that
    # full-width letters and "＠" are caught; NFKC can change lengths, so it replaces the text.
    without_emails = _without_emails(unicodedata.normalize("NFKC", text))
    cleaned = without_emails.translate(_FORMAT_AS_SPACE)
    cleaned = _replace(cleaned, _spans_of_spelled_numbers(cleaned), PHONE)
    cleaned = _replace(cleaned, _spans_of_phones(detection_text(cleaned)), PHONE)
    return _remove_person(cleaned, _words(first_name) + _words(last_name), street)

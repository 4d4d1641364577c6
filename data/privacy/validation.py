"""Server-side validation shared by every privacy form (intake, actions, disclosures).

Browsers cannot be trusted to have run any check, so each data function validates what it is
given and raises :class:`ValidationError` with one message per field; pages show the messages.
Free text is stored as typed (HTML and script included) and rendered inert by every view, so
validation only bounds its size and removes NUL characters (PostgreSQL refuses them in text).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime

from data.identifiers import normalise_email
from data.timeutil import sa_to_utc, utc_to_sa, utcnow

MAX_TEXT_BYTES = 100 * 1024
EARLIEST_DATE = date(2000, 1, 1)


class ValidationError(ValueError):
    """One or more fields are invalid; ``errors`` maps field name → message safe to show."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


class Errors:
    """Collects field errors so a form reports every problem at once, not the first only."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, message)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)


def clean_text(
    errors: Errors,
    field: str,
    value: object,
    *,
    required: bool = False,
    max_bytes: int = MAX_TEXT_BYTES,
    label: str | None = None,
    message: str | None = None,
) -> str | None:
    """Stripped text (None when empty); too long or missing when required is an error.

    ``message`` is the plain-words request shown when a required text is missing ("Write the
    text sent to the requester."); without it the message is built from the label."""
    label = label or field.replace("_", " ")
    if value is None:
        text = ""
    elif isinstance(value, str):
        text = value.replace("\x00", "").strip()
    else:
        errors.add(field, f"{label} must be text")
        return None
    if not text:
        if required:
            errors.add(field, message or f"{label} is required")
        return None
    if len(text.encode("utf-8")) > max_bytes:
        limit = f"{max_bytes // 1024} KB" if max_bytes >= 1024 else f"{max_bytes} bytes"
        errors.add(field, f"{label} is too long (at most {limit})")
        return None
    return text


def clean_choice(
    errors: Errors,
    field: str,
    value: object,
    choices: Iterable[str],
    *,
    required: bool = True,
    label: str | None = None,
    message: str | None = None,
) -> str | None:
    """One of ``choices``. ``message`` (e.g. "Choose how identity was checked.") replaces both
    the missing and the unknown-value message: to the officer both mean "pick from the list"."""
    label = label or field.replace("_", " ")
    options = tuple(choices)
    if value in (None, ""):
        if required:
            errors.add(field, message or f"{label} is required")
        return None
    if not isinstance(value, str) or value not in options:
        errors.add(field, message or f"{label} must be one of: {', '.join(options)}")
        return None
    return value


def looks_like_email(value: str) -> bool:
    """A valid address by ``email-validator``'s rules (``data.identifiers``; no DNS check)."""
    return normalise_email(value) is not None


def parse_datetime(value: object) -> datetime | None:
    """Accept ``YYYY-MM-DD``, ``YYYY-MM-DDTHH:MM[:SS]`` or ``YYYY-MM-DD HH:MM``; else None."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None, microsecond=0)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if not isinstance(value, str) or not value.strip() or len(value) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace(" ", "T", 1))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        return None
    return parsed.replace(microsecond=0)


def clean_past_datetime(
    errors: Errors,
    field: str,
    value: object,
    *,
    required: bool = True,
    now: datetime | None = None,
    not_before: datetime | None = None,
    label: str | None = None,
    message: str | None = None,
) -> datetime | None:
    """A date/time that is not in the future (and not absurdly old). ``message`` replaces the
    missing and the unreadable-date messages ("Enter the date the requester was told.")."""
    label = label or field.replace("_", " ")
    if value in (None, ""):
        if required:
            errors.add(field, message or f"{label} is required")
        return None
    parsed = parse_datetime(value)
    if parsed is None:
        errors.add(field, message or f"{label} must be a date (YYYY-MM-DD) or date and time")
        return None
    now = now or utcnow()
    if parsed > now:
        errors.add(field, f"{label} cannot be in the future")
        return None
    if parsed.date() < EARLIEST_DATE:
        errors.add(field, f"{label} is before {EARLIEST_DATE:%Y}")
        return None
    if not_before is not None and parsed < not_before:
        errors.add(field, f"{label} cannot be before {not_before:%Y-%m-%d %H:%M}")
        return None
    return parsed


def clean_staff_datetime(
    errors: Errors,
    field: str,
    value: object,
    *,
    now: datetime,
    label: str,
    message: str | None = None,
) -> datetime | None:
    """A date or time typed by staff, which they read as Johannesburg wall-clock time: checked
    as :func:`clean_past_datetime` against the time in Johannesburg, returned in UTC (how it is
    stored). A date alone is the start of that South African day."""
    local = clean_past_datetime(
        errors, field, value, now=utc_to_sa(now), label=label, message=message
    )
    return None if local is None else sa_to_utc(local)


def clean_int(
    errors: Errors,
    field: str,
    value: object,
    *,
    minimum: int,
    maximum: int,
    required: bool = True,
    label: str | None = None,
    message: str | None = None,
) -> int | None:
    """A whole number in ``minimum..maximum``. ``message`` replaces every failure message
    (missing, not a number, out of range) with one plain request that states the range, e.g.
    "Enter the number of days, from 1 to 30.": whatever went wrong, the fix is the same."""
    label = label or field.replace("_", " ")
    if value in (None, ""):
        if required:
            errors.add(field, message or f"{label} is required")
        return None
    if isinstance(value, bool):
        errors.add(field, message or f"{label} must be a whole number")
        return None
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        errors.add(field, message or f"{label} must be a whole number")
        return None
    if not minimum <= number <= maximum:
        errors.add(field, message or f"{label} must be between {minimum} and {maximum}")
        return None
    return number

"""Page filters in the URL query string: parse and validate them, and write them back.

Filters live in the query string so that a link reproduces a view and the browser's back button
restores the previous one. Everything in a query string is untrusted (anyone can edit a link),
so each parser either returns a valid value or raises :class:`BadQuery` with a message that can
be shown to the user as is (no echo of long input, no stack trace).

Pure functions, no Dash callbacks and no database: pages combine them with the values they
allow (trade codes, provinces, …) and pass the result to ``data/`` functions.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import parse_qsl, urlencode

MAX_QUERY_LENGTH = 2000
MAX_TEXT_LENGTH = 100
MAX_RANGE_DAYS = 3660  # ten years: longer ranges are almost always a typo (e.g. 1976 for 2026)
MAX_ID = 2**31 - 1  # INTEGER primary keys on both databases
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class BadQuery(ValueError):
    """An invalid filter value; ``str(exc)`` is a user-facing sentence."""


def _shown(value: str, limit: int = 40) -> str:
    """Echo a bad value safely: control characters removed and long values cut."""
    value = _CONTROL.sub("", value)
    return value if len(value) <= limit else value[: limit - 1] + "…"


# --- reading and writing query strings --------------------------------------------------------


def parse_search(search: str | None) -> dict[str, str]:
    """``'?a=1&b=2'`` → ``{'a': '1', 'b': '2'}`` (the last value of a repeated key wins)."""
    if not search:
        return {}
    if len(search) > MAX_QUERY_LENGTH:
        raise BadQuery("The address is too long to be a filter link.")
    return dict(parse_qsl(search.lstrip("?"), keep_blank_values=True))


def clean_params(params: Mapping[str, object]) -> dict[str, str]:
    """Normalise Dash layout keyword arguments (query-string values, possibly lists) to strings.

    Dash passes every query parameter as a keyword argument; repeated keys may arrive as lists.
    Keys that are not plain identifiers are dropped.
    """
    out: dict[str, str] = {}
    for key, value in params.items():
        if not isinstance(key, str) or not key.isidentifier():
            continue
        if isinstance(value, list | tuple):
            value = value[-1] if value else ""
        out[key] = "" if value is None else str(value)
    return out


def to_search(params: Mapping[str, object], defaults: Mapping[str, object] | None = None) -> str:
    """``{'a': 1, 'b': None}`` → ``'?a=1'``: empty values and values equal to their default are
    left out so that the shortest link describes the view; key order is kept."""
    defaults = defaults or {}
    kept = [
        (key, str(value))
        for key, value in params.items()
        if value not in (None, "") and str(value) != str(defaults.get(key, "\0"))
    ]
    return "?" + urlencode(kept) if kept else ""


# --- single values ----------------------------------------------------------------------------


def parse_choice(
    params: Mapping[str, str], key: str, choices: Collection[str], *, label: str
) -> str | None:
    """A value that must be one of ``choices`` (empty or missing → ``None``)."""
    raw = params.get(key, "").strip()
    if not raw:
        return None
    if raw not in choices:
        raise BadQuery(f"Unknown {label} “{_shown(raw)}”. Choose one from the list.")
    return raw


def parse_choices(
    params: Mapping[str, str], key: str, choices: Collection[str], *, label: str
) -> tuple[str, ...]:
    """A comma-separated list of values from ``choices`` (order kept, duplicates dropped)."""
    raw = params.get(key, "").strip()
    if not raw:
        return ()
    picked: list[str] = []
    for part in raw.split(","):
        part = part.strip()
        if part not in choices:
            raise BadQuery(f"Unknown {label} “{_shown(part)}”. Choose from the list.")
        if part not in picked:
            picked.append(part)
    return tuple(picked)


def parse_int(
    params: Mapping[str, str],
    key: str,
    *,
    label: str,
    minimum: int,
    maximum: int,
    default: int | None = None,
) -> int | None:
    """A whole number between ``minimum`` and ``maximum`` (empty or missing → ``default``)."""
    raw = params.get(key, "").strip()
    if not raw:
        return default
    if not re.fullmatch(r"\d{1,9}", raw):
        raise BadQuery(f"The {label} must be a whole number, not “{_shown(raw)}”.")
    value = int(raw)
    if not minimum <= value <= maximum:
        raise BadQuery(f"The {label} must be between {minimum} and {maximum}.")
    return value


def parse_text(
    params: Mapping[str, str], key: str, *, label: str, max_length: int = MAX_TEXT_LENGTH
) -> str:
    """Free text (a search box): control characters removed, length limited. The text is only
    ever used as data (a plain substring match), never as SQL or a regular expression."""
    raw = _CONTROL.sub("", params.get(key, "")).strip()
    if len(raw) > max_length:
        raise BadQuery(f"The {label} is too long (at most {max_length} characters).")
    return raw


MAX_SORT_COLUMNS = 3


def parse_sort(
    params: Mapping[str, str], key: str, columns: Mapping[str, str]
) -> tuple[tuple[str, bool], ...] | None:
    """A grid's sort: columns in order of precedence, comma-separated, each ``name``
    (ascending) or ``-name`` (descending), e.g. ``-shares,name``; every name one of ``columns``
    (field → header, for the message). Empty or missing → ``None``."""
    raw = params.get(key, "").strip()
    if not raw:
        return None
    sorts: list[tuple[str, bool]] = []
    for part in raw.split(","):
        part = part.strip()
        name = part.removeprefix("-")
        if name not in columns:
            raise BadQuery(
                f"The list cannot be sorted by “{_shown(part)}”. Click a column header to sort."
            )
        if any(name == seen for seen, _ in sorts):
            raise BadQuery(f"The address sorts the list by “{columns[name]}” twice.")
        sorts.append((name, part.startswith("-")))
    if len(sorts) > MAX_SORT_COLUMNS:
        raise BadQuery(f"The list can be sorted by at most {MAX_SORT_COLUMNS} columns at once.")
    return tuple(sorts)


def sort_param(sorts: Iterable[tuple[str, bool]] | None) -> str:
    """The inverse of :func:`parse_sort`: ``[("shares", True), ("name", False)]`` →
    ``"-shares,name"``."""
    return ",".join(("-" if desc else "") + name for name, desc in sorts or ())


def parse_id(raw: object, *, label: str) -> int:
    """A database id from a path segment such as ``/partners/<id>``."""
    text = str(raw).strip() if raw is not None else ""
    if not re.fullmatch(r"\d{1,10}", text) or not 1 <= int(text) <= MAX_ID:
        raise BadQuery(f"“{_shown(text)}” is not a valid {label} number.")
    return int(text)


# --- date ranges ------------------------------------------------------------------------------

PRESETS: dict[str, str] = {
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "365d": "Last 365 days",
    "ytd": "This year",
    "custom": "Custom range",
}
PRESET_DAYS = {"30d": 30, "90d": 90, "365d": 365}


@dataclass(frozen=True)
class DateRange:
    """An inclusive range of days and the preset that produced it."""

    start: date
    end: date
    preset: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> DateRange:
        """The range of the same length that ends the day before this one starts."""
        end = self.start - timedelta(days=1)
        return DateRange(end - timedelta(days=self.days - 1), end, "custom")

    def label(self) -> str:
        span = f"{self.start:%d %b %Y} – {self.end:%d %b %Y}"
        if self.preset == "custom":
            return span
        return f"{PRESETS[self.preset]} ({span})"

    def as_params(self) -> dict[str, str]:
        """Query parameters that reproduce the range (presets stay relative to today)."""
        if self.preset == "custom":
            return {"period": "custom", "from": self.start.isoformat(), "to": self.end.isoformat()}
        return {"period": self.preset}


def preset_range(preset: str, today: date) -> DateRange:
    """The range a preset stands for, ending today."""
    if preset == "ytd":
        return DateRange(date(today.year, 1, 1), today, preset)
    days = PRESET_DAYS[preset]
    return DateRange(today - timedelta(days=days - 1), today, preset)


def _parse_date(raw: str, label: str) -> date:
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        raise BadQuery(f"The {label} date “{_shown(raw)}” is not a date like 2026-01-31.") from None


def parse_date_range(
    params: Mapping[str, str],
    *,
    today: date,
    default_preset: str = "365d",
    max_days: int = MAX_RANGE_DAYS,
) -> DateRange:
    """``period`` (a preset) or ``from``/``to`` (ISO dates, inclusive) → a :class:`DateRange`.

    Reversed ranges and ranges longer than ``max_days`` are refused with a message.
    """
    preset = params.get("period", "").strip()
    raw_from, raw_to = params.get("from", "").strip(), params.get("to", "").strip()
    if not preset:
        preset = "custom" if (raw_from or raw_to) else default_preset
    if preset not in PRESETS:
        raise BadQuery(f"Unknown period “{_shown(preset)}”. Choose one from the list.")
    if preset != "custom":
        return preset_range(preset, today)
    if not raw_from or not raw_to:
        raise BadQuery("A custom period needs both a start and an end date.")
    start, end = _parse_date(raw_from, "start"), _parse_date(raw_to, "end")
    if start > end:
        raise BadQuery(
            f"The period starts on {start:%d %b %Y}, after it ends ({end:%d %b %Y}). "
            "Pick a start date before the end date."
        )
    span = DateRange(start, end, "custom")
    if span.days > max_days:
        raise BadQuery(
            f"The period spans {span.days:,} days; the longest allowed is "
            f"{max_days // 366} years. Pick a shorter range."
        )
    return span


def keep(params: Mapping[str, str], keys: Iterable[str]) -> dict[str, str]:
    """Only the given keys (e.g. to carry a page's filters over to a detail link)."""
    wanted = set(keys)
    return {k: v for k, v in params.items() if k in wanted}

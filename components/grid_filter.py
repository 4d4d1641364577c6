"""A grid's column filters in the address: read, validated and written back.

AG Grid describes its column filters as a *filter model*: per column, one condition
(``{"filterType": "text", "type": "contains", "filter": "gau"}``) or two joined by ``AND``/``OR``
(``{"filterType": "number", "operator": "OR", "conditions": [...]}``). A list page keeps that
model in its address (``?filter=`` holding compact JSON), so a link, a reload or Back shows the
list filtered as it was. The address is untrusted: :func:`parse_filter_param` accepts only the
shapes AG Grid itself produces for the page's columns, rebuilt key by key (nothing else of the
input is kept), or raises :class:`BadQuery` with a sentence for the page.

Pure: no Dash callbacks, no database.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from components.url_state import BadQuery

MAX_FILTER_TEXT = 100
MAX_CONDITIONS = 2  # AG Grid's simple filters join at most two conditions by default
NO_VALUE = frozenset({"blank", "notBlank"})
TEXT_TYPES = frozenset({"contains", "notContains", "equals", "notEqual", "startsWith", "endsWith"})
NUMBER_TYPES = frozenset(
    {"equals", "notEqual", "lessThan", "lessThanOrEqual", "greaterThan", "greaterThanOrEqual"}
)
UNREADABLE = "The column filters in the address could not be read."
INSTEAD = "Showing the list without column filters."


def _number(value: object) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadQuery(UNREADABLE)
    return value


def _condition(raw: object, kind: str) -> dict[str, Any]:
    """One condition, rebuilt from the keys AG Grid uses for ``kind`` (text or number)."""
    if not isinstance(raw, Mapping) or raw.get("filterType", kind) != kind:
        raise BadQuery(UNREADABLE)
    op = raw.get("type")
    out: dict[str, Any] = {"filterType": kind, "type": op}
    if op in NO_VALUE:
        return out
    if kind == "text" and op in TEXT_TYPES:
        text = raw.get("filter")
        if not isinstance(text, str) or not text or len(text) > MAX_FILTER_TEXT:
            raise BadQuery(UNREADABLE)
        return {**out, "filter": text}
    if kind == "number" and (op in NUMBER_TYPES or op == "inRange"):
        out["filter"] = _number(raw.get("filter"))
        if op == "inRange":
            out["filterTo"] = _number(raw.get("filterTo"))
        return out
    raise BadQuery(UNREADABLE)


def _column(raw: object) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise BadQuery(UNREADABLE)
    kind = raw.get("filterType")
    if kind not in ("text", "number"):
        raise BadQuery(UNREADABLE)
    if "conditions" not in raw:
        return _condition(raw, kind)
    conditions = raw.get("conditions")
    operator = raw.get("operator")
    if (
        not isinstance(conditions, list)
        or not 1 <= len(conditions) <= MAX_CONDITIONS
        or operator not in ("AND", "OR")
    ):
        raise BadQuery(UNREADABLE)
    return {
        "filterType": kind,
        "operator": operator,
        "conditions": [_condition(c, kind) for c in conditions],
    }


def clean_filter_model(raw: object, columns: Mapping[str, str]) -> dict[str, Any]:
    """A valid filter model over ``columns`` (field → header) rebuilt from ``raw``, or
    :class:`BadQuery` naming the first problem."""
    if not isinstance(raw, Mapping):
        raise BadQuery(UNREADABLE)
    model: dict[str, Any] = {}
    for field, spec in raw.items():
        if field not in columns:
            raise BadQuery("The address filters a column this list does not have.")
        model[field] = _column(spec)
    return model


def parse_filter_param(
    params: Mapping[str, str], key: str, columns: Mapping[str, str]
) -> dict[str, Any]:
    """The filter model in ``params[key]`` (empty or missing: no column filters)."""
    raw = params.get(key, "").strip()
    if not raw:
        return {}
    try:
        decoded = json.loads(raw)
    except ValueError:
        raise BadQuery(UNREADABLE) from None
    return clean_filter_model(decoded, columns)


def filter_param(model: Mapping[str, Any]) -> str:
    """The inverse of :func:`parse_filter_param`: compact JSON, columns in a stable order."""
    if not model:
        return ""
    return json.dumps(model, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def filter_of_request(raw: object, columns: Mapping[str, str]) -> dict[str, Any]:
    """The filter model of a grid request for links back to the list (none when malformed: the
    rows served already ignored what they could not read)."""
    try:
        return clean_filter_model(raw, columns)
    except BadQuery:
        return {}

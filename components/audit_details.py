"""The audit log's ``details`` as readable text: ``{"status": "received", "version": 2}`` becomes
``status: received · version: 2``.

The database keeps the JSON (exports carry it unchanged, for machines); people reading the
grid get key/value text. Values are codes, ids and counts (the audit log never holds personal
information), so they are shown as they are, with nested objects flattened by dotted keys.
"""

from __future__ import annotations

import json
from typing import Any

SEPARATOR = " · "


def _value(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value) if value else "none"
    return str(value)


def _pairs(details: dict[str, Any], prefix: str = "") -> list[str]:
    out: list[str] = []
    for key, value in details.items():
        name = f"{prefix}{str(key).replace('_', ' ')}"
        if isinstance(value, dict) and value:
            out += _pairs(value, f"{name}.")
        else:
            out.append(f"{name}: {_value(value if value != {} else None)}")
    return out


def readable_details(raw: str | None) -> str:
    """Key/value text of the stored JSON; text that is not a JSON object is shown as it is."""
    if not raw or raw == "null":
        return ""
    try:
        parsed = json.loads(raw)
    except ValueError:
        return raw
    if not isinstance(parsed, dict):
        return _value(parsed)
    return SEPARATOR.join(_pairs(parsed))

"""Refuse a malformed Dash callback body with a 4xx before Dash or a page callback sees it.

Dash trusts the body of ``/_dash-update-component``: deep nesting raised ``RecursionError``,
inputs that do not match the callback raised inside Dash, values of the wrong JSON type raised
``TypeError``/``AttributeError`` inside the page callbacks, all as HTTP 500 with a traceback
(issue 17). Everything here is a pure function of the parsed body and the callback's registered
signature, so it is tested without a server:

* the body is a JSON object no deeper than :data:`MAX_DEPTH` (the C decoder's own limit of
  about 1 000 levels surfaces as ``RecursionError``, refused too);
* ``output``, ``outputs``, ``inputs``, ``state`` and ``changedPropIds`` have Dash's shapes;
* the callback runs on the server (a clientside one has no server function);
* the inputs and state match the callback's, one for one: same ids and properties, a list for
  an ``ALL`` wildcard, the outputs as many as the callback has;
* each value has a JSON type its property can hold (:data:`PROPERTY_TYPES`: ``n_clicks`` is a
  count, ``pathname`` a string, ``value`` a scalar or a list of scalars, …). Properties not in
  the table (``data``, ``children``) hold any JSON; the page callbacks that read them parse
  them themselves.

The size limit is enforced before the body is read (``Content-Length`` above the limit: 413
at once; a chunked body: 413 as soon as it passes the limit while being read).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from ops import request_log

CALLBACK_PATH = "/_dash-update-component"

MAX_DEPTH = 200
#: Wildcards in a pattern-matching id (Dash serialises them as one-element lists).
WILDCARDS = (["ALL"], ["ALLSMALLER"], ["MATCH"])


class BadBody(ValueError):
    """The body cannot be a call of this app's callback; ``status`` is 400 or 413."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


# --- value types per property ------------------------------------------------------------------


def _is_count(value: Any) -> bool:
    return value is None or (type(value) is int and value >= 0)


def _is_path(value: Any) -> bool:
    """A location's path: always "/…" in a browser (Dash's router failed on anything else)."""
    return isinstance(value, str) and value.startswith("/")


def _is_text(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _is_scalar(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, str | int | bool)


def _is_value(value: Any) -> bool:
    """A form control's value: a scalar, or a flat list of scalars (multi-select, checklist)."""
    if isinstance(value, list):
        return all(_is_scalar(v) and v is not None for v in value)
    return _is_scalar(value)


def _is_object(value: Any) -> bool:
    return value is None or isinstance(value, dict)


def _is_rows(value: Any) -> bool:
    return value is None or (isinstance(value, list) and all(isinstance(v, dict) for v in value))


def _is_options(value: Any) -> bool:
    """A dropdown's or checklist's options: a list of option objects or plain values."""
    return value is None or (
        isinstance(value, list) and all(isinstance(v, dict) or _is_scalar(v) for v in value)
    )


def _is_flag(value: Any) -> bool:
    return value is None or isinstance(value, bool)


def _is_id(value: Any) -> bool:
    return isinstance(value, str | dict)


def _is_any(_value: Any) -> bool:
    return True


#: What each Input/State property may hold. ``tests/unit/test_callback_body.py`` fails when a
#: callback reads a property missing here, so every new one gets a decision.
PROPERTY_TYPES: Mapping[str, Callable[[Any], bool]] = {
    "n_clicks": _is_count,
    "n_intervals": _is_count,
    "n_submit": _is_count,
    "n_blur": _is_count,
    "pathname": _is_path,
    "search": _is_text,
    "hash": _is_text,
    "href": _is_text,
    "active_tab": _is_text,
    "start_date": _is_text,
    "end_date": _is_text,
    "date": _is_text,
    "value": _is_value,
    "getRowsRequest": _is_object,
    "paginationInfo": _is_object,
    "cellClicked": _is_object,
    "clickData": _is_object,
    "hoverData": _is_object,
    "selectedData": _is_object,
    "relayoutData": _is_object,
    "selectedRows": _is_rows,
    "options": _is_options,
    "is_open": _is_flag,
    "checked": _is_flag,
    "id": _is_id,
    "data": _is_any,
    "children": _is_any,
}


# --- parsing -----------------------------------------------------------------------------------


def read_json(request: Any) -> Any:
    """The parsed body of a Flask request, or :class:`BadBody` (413 past the size limit, 400
    when it is not JSON). The parse is cached on the request, so Dash does not redo it."""
    try:
        _read_chunked_within_limit(request)
        body = request.get_json(force=True, silent=False)
    except RequestEntityTooLarge:
        raise BadBody("body too large", 413) from None
    except RecursionError:
        raise BadBody("body nested too deeply") from None
    except HTTPException:
        raise BadBody("malformed callback request") from None
    return body


def _read_chunked_within_limit(request: Any) -> None:
    """A body without ``Content-Length`` (chunked, the server ends the stream): read at most one
    byte past the limit, so an endless body is cut off there with a 413. Werkzeug would stop
    at the limit and hand on a truncated body (a 400 for bad JSON, not a 413)."""
    limit = request.max_content_length
    environ = request.environ
    if limit is None or request.content_length is not None:
        return  # a declared length was checked against the limit before anything was read
    if "wsgi.input_terminated" not in environ:
        return  # Werkzeug gives such a body as empty
    data = environ["wsgi.input"].read(limit + 1)
    if len(data) > limit:
        raise RequestEntityTooLarge()
    request._cached_data = data  # what get_data() returns from now on


def depth_within(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` nests no deeper than ``limit`` containers (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return False
        stack.extend((child, depth + 1) for child in children)
    return True


# --- shape and signature -----------------------------------------------------------------------


def _declared_id(raw: str) -> str | dict:
    """A registered dependency id: a plain string, or a pattern-matching dict (JSON)."""
    if raw.startswith("{"):
        return json.loads(raw)
    return raw


def _is_wildcard(declared: str | dict, kind: tuple[list[str], ...]) -> bool:
    return isinstance(declared, dict) and any(v in kind for v in declared.values())


def _id_matches(declared: str | dict, sent: Any) -> bool:
    if isinstance(declared, str):
        return sent == declared
    if not isinstance(sent, dict) or set(sent) != set(declared):
        return False
    for key, want in declared.items():
        got = sent[key]
        if want in WILDCARDS:
            if not _is_scalar(got) or got is None:
                return False
        elif got != want:
            return False
    return True


def _check_item(declared: Mapping[str, str], item: Any, where: str) -> None:
    if not isinstance(item, dict) or not isinstance(item.get("property"), str):
        raise BadBody(f"{where}: each entry needs an id and a property")
    if item["property"] != declared["property"] or not _id_matches(
        _declared_id(declared["id"]), item.get("id")
    ):
        raise BadBody(f"{where} do not match the callback")
    check = PROPERTY_TYPES.get(item["property"], _is_any)
    if not check(item.get("value")):
        raise BadBody(f"{where}: wrong type for {item['property']}")


def _check_dependencies(declared: list[Mapping[str, str]], sent: Any, where: str) -> None:
    if sent is None:
        sent = []
    if not isinstance(sent, list) or len(sent) != len(declared):
        raise BadBody(f"{where} do not match the callback")
    for dependency, item in zip(declared, sent, strict=True):
        declared_id = _declared_id(dependency["id"])
        if _is_wildcard(declared_id, (["ALL"], ["ALLSMALLER"])):
            if not isinstance(item, list):
                raise BadBody(f"{where} do not match the callback")
            for one in item:
                _check_item(dependency, one, where)
        else:
            _check_item(dependency, item, where)


def _output_count(callback: Mapping[str, Any]) -> int:
    outputs = callback["output"]
    return len(outputs) if isinstance(outputs, list | tuple) else 1


def _check_outputs(callback: Mapping[str, Any], sent: Any) -> None:
    if callback.get("no_output"):
        return
    items = sent if isinstance(sent, list) else [sent]
    if isinstance(callback["output"], list | tuple) and not isinstance(sent, list):
        raise BadBody("outputs do not match the callback")
    if len(items) != _output_count(callback):
        raise BadBody("outputs do not match the callback")
    for item in items:
        # an ALL-wildcard output arrives as a list of concrete outputs
        entries = item if isinstance(item, list) else [item]
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("property"), str):
                raise BadBody("outputs: each entry needs an id and a property")
            if not _is_id(entry.get("id")):
                raise BadBody("outputs: each entry needs an id and a property")


def check_shape(body: Any) -> str:
    """The body's output key, after checking the parts every callback call has."""
    if not isinstance(body, dict) or not isinstance(body.get("output"), str):
        raise BadBody("malformed callback request")
    if not depth_within(body):
        raise BadBody("body nested too deeply")
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
        raise BadBody("changedPropIds must be a list of strings")
    return body["output"]


def check_signature(callback: Mapping[str, Any], body: Mapping[str, Any]) -> None:
    """The body calls ``callback`` as its registration says (ids, properties, counts, types)."""
    if callback.get("callback") is None:
        raise BadBody("a clientside callback runs in the browser, not on the server")
    _check_outputs(callback, body.get("outputs"))
    _check_dependencies(callback["inputs"], body.get("inputs"), "inputs")
    _check_dependencies(callback["state"], body.get("state"), "state")


def install(app: Flask, dash_app: Any) -> None:
    """Check every callback body against its callback's signature, right after the guard (which
    has parsed it, checked its shape and let the role run it)."""

    @app.before_request
    def callback_signature() -> Response | None:
        if request.path != CALLBACK_PATH or request.method != "POST":
            return None
        body = request.get_json(silent=True)  # parsed and cached by the guard
        callback = dash_app.callback_map.get(body["output"]) if isinstance(body, dict) else None
        if callback is None:  # the guard refuses these; never let one through unchecked
            reason = "malformed callback request"
        else:
            try:
                check_signature(callback, body)
                return None
            except BadBody as exc:
                reason = exc.reason
        request_log.note(reason)
        response = jsonify({"error": reason})
        response.status_code = 400
        return response

"""Per-request bookkeeping: a request id, the body-size limit, and one log line per request.

* **Request id**: the ``X-Request-ID`` header when a proxy sent a sane one (so the proxy's and
  the app's logs join), else a new one; echoed in the response.
* **Body size**: a declared ``Content-Length`` over ``MAX_CONTENT_LENGTH`` gets 413 before
  anything reads the body or loads the user (a chunked body is cut off at the same size while
  it is read: ``ops.callback_body``).
* **The request line** (logger ``ops.request``): method, path (never the query string, which
  can carry search terms) or, for a Dash callback, the output it asked for; the user's id when
  one was loaded (never the name); status; duration. INFO below 400, WARNING for 4xx and
  503, ERROR otherwise. Code that refuses a request says why with :func:`note`, and the
  reason goes on this same line, so a refused or failed request writes one line.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, request

logger = logging.getLogger("ops.request")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
MAX_CALLBACK_FIELD = 200


def note(reason: str) -> None:
    """Record why this request is refused or failed; it goes on the request's log line."""
    g.request_error = reason


def note_fault(fault_id: str) -> None:
    g.request_fault = fault_id


def note_callback(output: str) -> None:
    """The callback output a well-formed callback body asked for (the log never parses)."""
    g.callback_output = output[:MAX_CALLBACK_FIELD]


def _user_id() -> int | None:
    user = g.get("_login_user")  # only if this request loaded it: never load it here
    return getattr(user, "id", None)


def _level(status: int) -> int:
    if status < 400:
        return logging.INFO
    if status < 500 or status == 503:
        return logging.WARNING
    return logging.ERROR


def install(app: Flask) -> None:
    """Register the hooks; the first ``before_request`` of all, so timing covers everything."""

    def start() -> Response | None:
        g.request_started = time.perf_counter()
        sent = request.headers.get("X-Request-ID", "")
        g.request_id = sent if _REQUEST_ID.match(sent) else uuid.uuid4().hex
        limit = app.config.get("MAX_CONTENT_LENGTH")
        if limit and request.content_length and request.content_length > limit:
            note("body too large")
            response = Response('{"error": "request body too large"}', 413)
            response.mimetype = "application/json"
            response.headers["Connection"] = "close"  # the unread body is not drained
            return response
        return None

    app.before_request_funcs.setdefault(None, []).insert(0, start)

    @app.after_request
    def log_request(response: Response) -> Response:
        request_id = g.get("request_id")
        if request_id:
            response.headers["X-Request-ID"] = request_id
        started = g.get("request_started")
        duration = round((time.perf_counter() - started) * 1000, 1) if started else None
        logger.log(
            _level(response.status_code),
            "request",
            extra={
                "request_id": request_id,
                "method": request.method,
                "path": request.path[:MAX_CALLBACK_FIELD],
                "callback": g.get("callback_output"),
                "user_id": _user_id(),
                "status": response.status_code,
                "duration_ms": duration,
                "error": g.get("request_error"),
                "fault": g.get("request_fault"),
            },
        )
        return response

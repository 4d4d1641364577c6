"""What happens to an exception no view handled: 503 for an outage, 500 for a fault.

* A database outage (``ops.outage.is_outage``) is not a fault: 503 with the message, and the
  request's one log line names it (no traceback).
* An HTTP error (404, 405, 413, …) keeps Werkzeug's response.
* Anything else is a fault: 500 with a short message, and its traceback is logged **once** per
  distinct fault (same exception type raised from the same lines) in this process, under a
  fault id; each later occurrence only puts that id on its request line. A fault repeated by
  every request (a broken query) thus writes one traceback, not thousands.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import traceback

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from ops import outage, request_log

logger = logging.getLogger("ops.faults")
_seen: set[str] = set()
_lock = threading.Lock()
FAULT_MESSAGE = "Something went wrong on the server; it has been logged."


def fingerprint(exc: BaseException) -> str:
    """A short id for "this exception type from these lines" (not the message: it varies)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = "|".join(f"{f.filename}:{f.lineno}" for f in frames)
    return hashlib.sha256(f"{type(exc).__qualname__}|{where}".encode()).hexdigest()[:12]


def first_time(fault_id: str) -> bool:
    with _lock:
        if fault_id in _seen:
            return False
        _seen.add(fault_id)
        return True


def report(exc: BaseException) -> str:
    """Log a fault: its traceback the first time, its id on the request line every time."""
    fault_id = fingerprint(exc)
    request_log.note_fault(fault_id)
    request_log.note(type(exc).__name__)
    if first_time(fault_id):
        logger.error("fault %s", fault_id, exc_info=exc, extra={"fault": fault_id})
    return fault_id


def handle(exc: Exception) -> Response | HTTPException:
    if isinstance(exc, HTTPException):
        return exc
    if outage.is_outage(exc):
        request_log.note(f"database unreachable: {outage.reason(exc)}")
        return outage.response(outage.wants_json())
    fault_id = report(exc)
    if outage.wants_json():
        response = jsonify({"error": FAULT_MESSAGE, "fault": fault_id})
    else:
        response = Response(FAULT_MESSAGE, mimetype="text/plain")
    response.status_code = 500
    return response


def install(app: Flask) -> None:
    app.register_error_handler(Exception, handle)

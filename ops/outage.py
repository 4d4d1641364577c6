"""Database outages: recognise them, and answer 503 with a message instead of a 500.

While PostgreSQL restarts or is unreachable, every request that needs it fails with a
connection error. Those requests get **503** and the one sentence :data:`MESSAGE` (JSON for
callbacks and APIs, a small page that retries by itself for page loads), with ``Retry-After``;
the request log line names the outage (no traceback). The session is left as it was (the user
loader raises, it does not log anyone out), and the pool checks each connection before use
(``pool_pre_ping``), so the first request after the database is back succeeds.

Only connection failures count: a query error (a syntax error, a constraint, a statement
timeout) is a fault and is logged as one (``ops.faults``).
"""

from __future__ import annotations

from flask import Response, jsonify, request
from sqlalchemy.exc import DBAPIError

from data.db import DatabaseUnreachable

MESSAGE = "The database is not reachable, retrying."
RETRY_AFTER_SECONDS = 2
#: PostgreSQL SQLSTATEs that mean "no usable connection": class 08 (connection exception) and
#: the server shutting down or starting up.
_PG_UNAVAILABLE = ("08", "57P01", "57P02", "57P03")
#: SQLite messages that mean the file cannot be used right now (not a query error).
_SQLITE_UNAVAILABLE = ("unable to open database file", "disk i/o error", "database is locked")

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="{retry}">
<title>Database not reachable · Partner Operations</title>
<link rel="stylesheet" href="/assets/01-bootstrap.min.css"></head>
<body class="bg-light"><main class="container mt-5" style="max-width: 560px">
<div class="alert alert-warning" role="alert" id="ops-outage">
<h1 class="h5">Database not reachable</h1><p class="mb-0">{message} This page reloads
itself every {retry} seconds; you stay signed in.</p></div></main></body></html>"""


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` means the database cannot be reached (rather than a failed query)."""
    if isinstance(exc, DatabaseUnreachable):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    module = type(orig).__module__ if orig is not None else ""
    if module.startswith("psycopg"):
        sqlstate = getattr(orig, "sqlstate", None)
        if sqlstate is None:  # failed to connect, or the connection broke: no server answer
            return type(orig).__name__ in ("OperationalError", "InterfaceError")
        return sqlstate.startswith(_PG_UNAVAILABLE)
    if module.startswith("sqlite3"):
        text = str(orig).lower()
        return any(marker in text for marker in _SQLITE_UNAVAILABLE)
    return False


def reason(exc: BaseException) -> str:
    """One short line for the log: the driver's first line, never SQL or parameters."""
    orig = getattr(exc, "orig", None) or exc
    first = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    return first[:200]


def response(wants_json: bool) -> Response:
    if wants_json:
        resp = jsonify({"error": MESSAGE})
    else:
        html = _PAGE.format(message=MESSAGE, retry=RETRY_AFTER_SECONDS)
        resp = Response(html, mimetype="text/html")
    resp.status_code = 503
    resp.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return resp


def wants_json() -> bool:
    """Callbacks, APIs and downloads get JSON; page loads and form posts get the HTML page."""
    if request.path.startswith(("/_dash-", "/api/", "/download/")):
        return True
    return request.accept_mimetypes.best == "application/json"

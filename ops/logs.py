"""Structured logs: one JSON object per line, on standard error.

Every line has ``time`` (UTC, ISO 8601), ``level``, ``logger`` and ``message``; lines written
while a request is being served also carry its ``request_id``. The request line
(``ops.request_log``) adds ``user_id``, ``path`` or ``callback``, ``status`` and
``duration_ms``. Nothing here ever formats a request body, a query string or a user name: the
fields are chosen by the code that logs, and a traceback appears only on a fault's first
occurrence (``ops.faults``).

``configure()`` is called by the web entry points (``python app.py``, ``gunicorn -c
gunicorn.conf.py``, whose ``logconfig_dict`` is :data:`LOGCONFIG`).
"""

from __future__ import annotations

import json
import logging
import logging.config
import traceback
from datetime import UTC, datetime
from typing import Any

from flask import g, has_request_context

#: Attributes a log call may pass in ``extra=`` that become JSON fields.
FIELDS = (
    "request_id",
    "user_id",
    "method",
    "path",
    "callback",
    "status",
    "duration_ms",
    "error",
    "fault",
)


class RequestIdFilter(logging.Filter):
    """Stamp every record made inside a request with the request's id."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id") and has_request_context():
            record.request_id = g.get("request_id")
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info and record.exc_info[1] is not None:
            entry["traceback"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(entry, default=str)


LOGCONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": RequestIdFilter}},
    "formatters": {"json": {"()": JsonFormatter}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id"],
            "stream": "ext://sys.stderr",
        }
    },
    "root": {"level": "INFO", "handlers": ["stderr"]},
    "loggers": {
        # the pool's INFO lines (pre-ping failed, connection invalidated) would add one line
        # per request during an outage; the request line already says it
        "sqlalchemy": {"level": "WARNING"},
        "werkzeug": {"level": "WARNING"},
        "alembic": {"level": "WARNING"},  # /healthz reads the schema version each time
        "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
        "gunicorn.access": {"level": "WARNING", "handlers": ["stderr"], "propagate": False},
    },
}


def configure() -> None:
    """Send every logger's lines to standard error as JSON (idempotent)."""
    logging.config.dictConfig(LOGCONFIG)

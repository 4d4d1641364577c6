"""``GET /healthz`` for a load balancer: public, no data, 200 when the app can serve.

Checks, each with a short timeout: the database answers ``SELECT 1``; its schema is at the
migrations' heads (an app started before ``init-db`` ran would fail on new tables); Redis
answers ``PING`` when ``REDIS_URL`` is set. The answer is JSON naming each check's state and
nothing else (no versions, no host names, no counts)::

    {"status": "ok", "database": "ok", "schema": "current", "redis": "not configured"}

Status 200 when every check passes, 503 otherwise (``"status": "unavailable"``).
"""

from __future__ import annotations

import os
from functools import cache

from flask import Flask, Response, jsonify
from sqlalchemy import Engine, text

from data.db import DatabaseConfigError, alembic_config, get_engine

HEALTH_PATH = "/healthz"
REDIS_TIMEOUT_SECONDS = 1.0


@cache
def migration_heads() -> frozenset[str]:
    """The migrations' heads (read from the files once per process)."""
    from alembic.script import ScriptDirectory

    return frozenset(ScriptDirectory.from_config(alembic_config(None)).get_heads())  # type: ignore[arg-type]


def database_state(engine: Engine) -> tuple[str, str]:
    """(database, schema): ``ok``/``unreachable`` and ``current``/``outdated``/``unknown``."""
    from alembic.runtime.migration import MigrationContext

    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = set(MigrationContext.configure(conn).get_current_heads())
    except Exception:  # any failure to talk to it is "unreachable" for a load balancer
        return "unreachable", "unknown"
    return "ok", "current" if current == migration_heads() else "outdated"


def redis_state(url: str | None) -> str:
    if not url:
        return "not configured"
    import redis

    client = redis.Redis.from_url(
        url,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
    )
    try:
        client.ping()
    except redis.RedisError:
        return "unreachable"
    finally:
        client.close()
    return "ok"


def health() -> tuple[dict[str, str], int]:
    try:
        database, schema = database_state(get_engine())
    except DatabaseConfigError:
        database, schema = "unreachable", "unknown"
    checks = {
        "database": database,
        "schema": schema,
        "redis": redis_state(os.environ.get("REDIS_URL")),
    }
    healthy = database == "ok" and schema == "current" and checks["redis"] != "unreachable"
    return {"status": "ok" if healthy else "unavailable", **checks}, 200 if healthy else 503


def install(app: Flask) -> None:
    @app.get(HEALTH_PATH)
    def healthz() -> Response:
        body, status = health()
        response = jsonify(body)
        response.status_code = status
        return response

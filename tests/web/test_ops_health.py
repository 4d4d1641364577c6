"""``GET /healthz`` (issue 17): public, JSON naming each check's state and nothing else."""

from __future__ import annotations

import pytest
import redis
from sqlalchemy import create_engine

from ops import health

TEST_REDIS = "redis://127.0.0.1:6379/15"


def redis_available() -> bool:
    try:
        return bool(redis.Redis.from_url(TEST_REDIS, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


def test_healthy_without_redis(dash_app, db, monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    response = dash_app.server.test_client().get("/healthz")  # anonymous: public
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "database": "ok",
        "schema": "current",
        "redis": "not configured",
    }
    assert response.headers["Cache-Control"] == "no-store"


def test_unreachable_redis_makes_it_unavailable(dash_app, db, monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens on port 1
    response = dash_app.server.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {
        "status": "unavailable",
        "database": "ok",
        "schema": "current",
        "redis": "unreachable",
    }


@pytest.mark.skipif(not redis_available(), reason="no Redis on 127.0.0.1:6379")
def test_reachable_redis(dash_app, db, monkeypatch):
    monkeypatch.setenv("REDIS_URL", TEST_REDIS)
    response = dash_app.server.test_client().get("/healthz")
    assert response.status_code == 200 and response.get_json()["redis"] == "ok"


def test_a_database_without_the_schema_is_outdated(tmp_path):
    empty = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    assert health.database_state(empty) == ("ok", "outdated")


def test_an_unreachable_database(tmp_path):
    nowhere = create_engine(
        "postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 1}
    )
    assert health.database_state(nowhere) == ("unreachable", "unknown")


def test_the_schema_state_of_the_test_database_is_current(engine):
    assert health.database_state(engine) == ("ok", "current")

"""The query cache shared between workers through Redis (issue 17), and unchanged without it.

Two :class:`QueryCache` objects stand for two gunicorn workers: what one computes, the other
serves; a rollup version bump is a miss for both; a Redis that does not answer is a miss, never
an error. Runs when Redis answers on 127.0.0.1:6379 (its db 14, this module's keys only).
"""

from __future__ import annotations

import logging

import pandas as pd
import pytest
import redis

from data.query_cache import QueryCache
from data.rollups import bump_version

URL = "redis://127.0.0.1:6379/14"


def redis_available() -> bool:
    try:
        return bool(redis.Redis.from_url(URL, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


class Counter:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> pd.DataFrame:
        self.calls += 1
        return pd.DataFrame({"partner": ["Alpha", "Bravo"], "rating": [4.5, 3.25]})


def test_without_redis_the_cache_is_in_process_and_returns_the_same_object(db, monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    cache = QueryCache()
    assert cache.redis_url is None
    compute = Counter()
    with db.connect() as conn:
        first = cache.get_or_compute(conn, ("table", 1), compute)
        again = cache.get_or_compute(conn, ("table", 1), compute)
    assert again is first and compute.calls == 1


@pytest.mark.skipif(not redis_available(), reason="no Redis on 127.0.0.1:6379")
def test_two_workers_share_results_and_a_version_bump_is_a_miss(db):
    worker_a, worker_b = QueryCache(redis_url=URL), QueryCache(redis_url=URL)
    worker_a.clear()
    compute = Counter()
    with db.connect() as conn:
        computed = worker_a.get_or_compute(conn, ("table", "march"), compute)
        served = worker_b.get_or_compute(conn, ("table", "march"), compute)
        assert compute.calls == 1 and worker_b.hits == 1
        pd.testing.assert_frame_equal(served, computed)
        worker_b.get_or_compute(conn, ("table", "april"), compute)  # other filters: a miss
        assert compute.calls == 2
    with db.begin() as conn:
        bump_version(conn)
    with db.connect() as conn:
        worker_b.get_or_compute(conn, ("table", "march"), compute)
        assert compute.calls == 3
        worker_a.get_or_compute(conn, ("table", "march"), compute)
        assert compute.calls == 3  # worker b's fresh result serves worker a
    worker_a.clear()
    with db.connect() as conn:
        worker_b.get_or_compute(conn, ("table", "march"), compute)
    assert compute.calls == 4


def test_an_unreachable_redis_is_a_miss_not_an_error(db, caplog):
    cache = QueryCache(redis_url="redis://127.0.0.1:1/0")  # nothing listens on port 1
    compute = Counter()
    with caplog.at_level(logging.WARNING), db.connect() as conn:
        for _ in range(3):
            assert len(cache.get_or_compute(conn, ("table", 1), compute)) == 2
    assert compute.calls == 3
    warnings = [r for r in caplog.records if r.name == "data.query_cache"]
    assert len(warnings) == 1  # once per failure streak, not once per request


def _in_threads(db, cache: QueryCache, keys: list, compute) -> list:
    """``cache.get_or_compute`` for each key at once, one thread and connection each."""
    import threading

    results: list = [None] * len(keys)

    def one(i: int) -> None:
        with db.connect() as conn:
            results[i] = cache.get_or_compute(conn, keys[i], compute)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(keys))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_concurrent_misses_of_one_key_compute_it_once(db, monkeypatch):
    """Eight threads ask for the same view at once: one computes, seven wait and share it."""
    import time

    monkeypatch.delenv("REDIS_URL", raising=False)
    compute = Counter()

    def slow() -> pd.DataFrame:
        time.sleep(0.3)
        return compute()

    results = _in_threads(db, QueryCache(), [("table", 7)] * 8, slow)
    assert compute.calls == 1
    assert all(r is results[0] for r in results) and results[0] is not None


def test_misses_of_different_keys_are_not_serialised(db, monkeypatch):
    """Two views computed at once each wait for the other inside their computation: if one
    key's computation blocked another's, the barrier would break instead."""
    import threading

    monkeypatch.delenv("REDIS_URL", raising=False)
    barrier = threading.Barrier(2, timeout=5)
    compute = Counter()

    def meet() -> pd.DataFrame:
        barrier.wait()
        return compute()

    results = _in_threads(db, QueryCache(), [("table", 1), ("table", 2)], meet)
    assert compute.calls == 2 and all(r is not None for r in results)

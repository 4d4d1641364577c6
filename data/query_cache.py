"""One cache for page-level results that are costly to compute (the partner ranking), safe
across processes because its keys include the rollup version.

Without ``REDIS_URL`` the cache lives in each process (an LRU of :attr:`QueryCache.max_entries`
entries, values returned as the very objects stored). With ``REDIS_URL`` set it is shared by
every worker on every machine through Flask-Caching's Redis backend (values pickled, keys under
:data:`KEY_PREFIX`), so a ranking computed by one worker serves all of them. If Redis fails,
the value is computed as if it were a miss (a warning is logged once per failure streak): a
cache outage never fails a request.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from data.rollups import current_version

logger = logging.getLogger(__name__)
#: Shared keys: the prefix names the value layout, so a deploy that changes it starts afresh.
KEY_PREFIX = "pod:query-cache:v1:"


def shared_key(full_key: Hashable) -> str:
    """A Redis key for (key, version): a digest of its ``repr`` (filters and criteria are
    frozen dataclasses of dates, numbers and strings, whose ``repr`` is stable across
    processes)."""
    return hashlib.sha256(repr(full_key).encode()).hexdigest()


def redis_backend(url: str, ttl: float) -> Any:
    """Flask-Caching's Redis backend on ``url`` (short timeouts: a slow Redis is a miss)."""
    import redis
    from flask_caching.backends.rediscache import RedisCache

    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=1.0)
    return RedisCache(host=client, key_prefix=KEY_PREFIX, default_timeout=int(ttl))


@dataclass
class QueryCache:
    """A cache for page-level results, keyed on the filters *and* the rollup version.

    Every rollup change bumps the version (:func:`data.rollups.bump_version`), so a cached
    table is never served after the data under it changed, in this or any other process: the
    version is read from the database (one primary-key look-up) on every call. Entries also
    expire after ``ttl`` seconds, which bounds staleness of the partner names and trades (not
    versioned). ``redis_url`` (default: ``REDIS_URL``) shares the entries between processes.

    Concurrent misses of one key in a process wait for the first to finish its computation and
    then share its value (``_flights``): when fifty managers open the same view at once, a
    worker ranks it once, not once per thread, which had held the view's p95 at 1.5 s under load.
    """

    max_entries: int = 64
    ttl: float = 300.0
    enabled: bool = True
    redis_url: str | None = field(default_factory=lambda: os.environ.get("REDIS_URL") or None)
    _entries: OrderedDict[Hashable, tuple[float, Any]] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _flights: dict[Hashable, threading.Lock] = field(default_factory=dict)
    _shared: Any = None
    _shared_failing: bool = False
    hits: int = 0
    misses: int = 0

    def get_or_compute(self, conn: Connection, key: Hashable, compute: Callable[[], Any]) -> Any:
        if not self.enabled:
            return compute()
        full_key = (key, current_version(conn))
        with self._lock:
            flight = self._flights.setdefault(full_key, threading.Lock())
        try:
            with flight:  # a thread that waited here finds the value the first one stored
                if self.redis_url:
                    return self._shared_get_or_compute(full_key, compute)
                found = self._local_get(full_key)
                if found is not None:
                    return found[0]
                value = compute()
                self.misses += 1
                self._store(full_key, value)
                return value
        finally:
            with self._lock:
                self._flights.pop(full_key, None)

    def put(self, conn: Connection, key: Hashable, value: Any) -> None:
        """Store ``value`` for ``key`` at the current version (a recount made in the
        background, :func:`data.compliance.monitor.monitor_counts`)."""
        if self.enabled:
            self._store((key, current_version(conn)), value)

    def _store(self, full_key: Hashable, value: Any) -> None:
        """Keep ``value`` in Redis when it is configured (a failure is logged, not raised),
        in this process otherwise."""
        if not self.redis_url:
            self._local_put(full_key, value)
            return
        import redis

        try:
            self._backend().set(shared_key(full_key), value, timeout=int(self.ttl))
        except redis.RedisError as exc:
            self._redis_failed(exc)

    def _local_get(self, full_key: Hashable) -> tuple[Any] | None:
        """``(value,)`` of a fresh entry, counted as a hit; None if there is none."""
        with self._lock:
            found = self._entries.get(full_key)
            if found and time.monotonic() - found[0] < self.ttl:
                self._entries.move_to_end(full_key)
                self.hits += 1
                return (found[1],)
        return None

    def _local_put(self, full_key: Hashable, value: Any) -> None:
        with self._lock:
            self._entries[full_key] = (time.monotonic(), value)
            self._entries.move_to_end(full_key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def _backend(self) -> Any:
        if self._shared is None:
            self._shared = redis_backend(self.redis_url or "", self.ttl)
        return self._shared

    def _redis_failed(self, exc: Exception) -> None:
        if not self._shared_failing:
            logger.warning("query cache: Redis unavailable, computing without it: %s", exc)
        self._shared_failing = True

    def _shared_get_or_compute(self, full_key: Hashable, compute: Callable[[], Any]) -> Any:
        import redis

        name = shared_key(full_key)
        try:
            found = self._backend().get(name)
            self._shared_failing = False
        except redis.RedisError as exc:
            self._redis_failed(exc)
            found = None
        if found is not None:
            self.hits += 1
            return found
        value = compute()
        self.misses += 1
        self._store(full_key, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
        if self.redis_url:
            import redis

            try:
                self._backend().clear()
            except redis.RedisError as exc:
                self._redis_failed(exc)


CACHE = QueryCache()
#: The compliance monitor's counts (:func:`data.compliance.monitor.monitor_counts`): the same
#: for every viewer and ~0.25 s of database CPU per view at 1M leads. Its inputs have no version
#: that every write bumps, so the short ``ttl`` bounds how stale a count may be.
MONITOR_CACHE = QueryCache(max_entries=16, ttl=60.0)


def clear_all() -> None:
    """Empty every cache (tests between databases, the browser benchmark between steps)."""
    CACHE.clear()
    MONITOR_CACHE.clear()

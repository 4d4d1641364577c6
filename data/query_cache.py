"""One process-wide cache for page-level results that are costly to compute (the partner
ranking), safe across processes because its keys include the rollup version.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from data.rollups import current_version


@dataclass
class QueryCache:
    """A small LRU cache for page-level results, keyed on the filters *and* the rollup version.

    Every rollup change bumps the version (:func:`data.rollups.bump_version`), so a cached
    table is never served after the data under it changed, in this or any other process: the
    version is read from the database (one primary-key look-up) on every call. Entries also
    expire after ``ttl`` seconds, which bounds staleness of the partner names and trades (not
    versioned).
    """

    max_entries: int = 64
    ttl: float = 300.0
    enabled: bool = True
    _entries: OrderedDict[Hashable, tuple[float, Any]] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    hits: int = 0
    misses: int = 0

    def get_or_compute(self, conn: Connection, key: Hashable, compute: Callable[[], Any]) -> Any:
        if not self.enabled:
            return compute()
        full_key = (key, current_version(conn))
        now = time.monotonic()
        with self._lock:
            found = self._entries.get(full_key)
            if found and now - found[0] < self.ttl:
                self._entries.move_to_end(full_key)
                self.hits += 1
                return found[1]
        value = compute()
        with self._lock:
            self.misses += 1
            self._entries[full_key] = (now, value)
            self._entries.move_to_end(full_key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


CACHE = QueryCache()

"""Benchmark cases: each module here exposes ``cases(ctx: BenchContext) -> list[Case]``.

``benchmarks/run.py`` discovers every module of this package (``pkgutil``), so adding a file
is all it takes to benchmark a new data-layer area. A case times one call as the console would
make it, cold: if the function keeps an application cache, pass ``reset`` to clear it before
every repetition (the reset is not timed).

The four filter variants the console offers are named in :data:`FILTERS`; :func:`filtered`
builds the variants a function supports from its signature.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Engine

FILTERS = ("default", "90-day window", "one trade", "one province")


@dataclass(frozen=True)
class BenchContext:
    """What a case needs: the database, its demo ``as_of`` date, and sample filter values."""

    engine: Engine
    as_of: date
    trade_id: int
    province: str
    leads: int


@dataclass(frozen=True)
class Case:
    name: str
    filter_label: str
    run: Callable[[], Any]
    reset: Callable[[], None] | None = None


def filter_arguments(ctx: BenchContext) -> dict[str, dict[str, Any]]:
    """Keyword arguments per filter label, for functions that take ``days``, ``trade_id`` or
    ``province``."""
    return {
        "default": {},
        "90-day window": {"days": 90},
        "one trade": {"trade_id": ctx.trade_id},
        "one province": {"province": ctx.province},
    }


def filtered(
    ctx: BenchContext,
    name: str,
    function: Callable[..., Any],
    *,
    reset: Callable[[], None] | None = None,
) -> list[Case]:
    """Cases for ``function(conn, as_of, **filters)``: every filter variant it accepts.

    Each call gets a fresh connection from the pool, as a request in the console would.
    """
    parameters = inspect.signature(function).parameters
    out = []
    for label, kwargs in filter_arguments(ctx).items():
        if not all(key in parameters for key in kwargs):
            continue

        def run(kwargs: dict[str, Any] = kwargs) -> Any:
            with ctx.engine.connect() as conn:
                return function(conn, ctx.as_of, **kwargs)

        out.append(Case(name, label, run, reset))
    return out

"""The manager that runs Dash background callbacks (the retention sweep), chosen once.

Why two
-------
* **Disk cache** (default, nothing to start): the job runs in a child process of the web
  process that received the click, and its progress is kept in a disk cache under the instance
  folder (``background-jobs/``), which every worker of one machine shares.
* **Celery on Redis** (when ``REDIS_URL`` is set): with several gunicorn workers the sweep runs
  in a Celery worker instead of a web process, and its progress is in Redis, so whichever web
  worker answers the page's polling can show it. Start the worker beside gunicorn::

      REDIS_URL=redis://127.0.0.1:6379/0 PYTHONPATH=. .venv/bin/celery \\
          -A components.background:worker_app worker --concurrency=1 --loglevel=INFO

  ``worker_app`` builds the Dash app first (the callbacks are the worker's tasks; checked by
  hand on 2026-11-30: the worker starts and lists the sweep's task). Run it from the project
  folder with the web processes' ``DATABASE_URL``, ``SECRET_KEY`` and ``SUPPRESSION_KEY``.

No database access here; the job itself opens its own engine (``pages/retention.py``).
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from dash import CeleryManager, DiskcacheManager

from data.db import instance_path

REDIS_ENV = "REDIS_URL"


@cache
def celery_app() -> Any:
    from celery import Celery

    url = os.environ[REDIS_ENV]
    return Celery("partner_ops_dashboard", broker=url, backend=url)


@cache
def manager() -> DiskcacheManager | CeleryManager:
    """Celery when ``REDIS_URL`` is set, else a disk cache (one per process, made on first use)."""
    if os.environ.get(REDIS_ENV):
        return CeleryManager(celery_app(), expire=3600)
    import diskcache

    folder = instance_path() / "background-jobs"
    return DiskcacheManager(diskcache.Cache(str(folder)), expire=3600)


def __getattr__(name: str) -> Any:
    """``celery -A components.background:worker_app``: the Dash app, then its Celery app."""
    if name == "worker_app":
        from app import create_dash

        create_dash()
        return celery_app()
    raise AttributeError(name)

"""The partner pages' callbacks, as the server runs them for a browser, cold.

The data-layer cases (``partners.py``) time the queries; a page also spends CPU turning their
results into components and figures and encoding them as JSON, which at 100 000 leads was most
of the detail page's time. These cases call the page modules' own functions in-process (not
over HTTP, so no network or Werkzeug in the numbers) inside a Flask request with a logged-in
manager, and encode the result with Dash's encoder, as its callback dispatch does:

* ``callbacks.partners_layout``: Dash's router rendering ``/partners`` (filter bar, the
  cards and charts pending, an empty grid);
* ``callbacks.partners_view``: the view callback that fills the cards and the two charts (when
  the page has one; before it, the layout computed them);
* ``callbacks.grid_first_page``: the grid's first ``getRowsRequest`` (25 rows, default order);
* ``callbacks.partner_detail``: the router rendering ``/partners/<id>`` for the partner with the
  most leads (all its queries, cards, five charts and four tables).

``reset`` clears the application cache (``data.query_cache.CACHE``) before every run, so each
run computes its view from the database, as the first visitor of a view does.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import cache
from typing import Any

from sqlalchemy import select

from benchmarks.cases import BenchContext, Case
from benchmarks.cases.partners import busiest_partner
from data.query_cache import CACHE

BENCH_USER = "manager"


def view_params(ctx: BenchContext) -> dict[str, dict[str, str]]:
    """The four views as query parameters, as explicit date ranges ending on the database's
    demo date (so an older database is read as it was built, not relative to today)."""
    end = ctx.as_of

    def last(days: int) -> dict[str, str]:
        start = end - timedelta(days=days - 1)
        return {"period": "custom", "from": start.isoformat(), "to": end.isoformat()}

    with ctx.engine.connect() as conn:
        from data.models import Trade

        trade = conn.execute(select(Trade.code).where(Trade.id == ctx.trade_id)).scalar_one()
    return {
        "default": last(365),
        "90-day window": last(90),
        "one trade": {**last(365), "trade": trade},
        "one province": {**last(365), "province": ctx.province},
    }


@cache
def dash_app_on(url: str) -> Any:
    """The application on the benchmark's database (pages register once per process)."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "benchmark-secret-key")
    from app import create_dash
    from data import db as dbmod

    dbmod.reset_engine_cache()
    return create_dash()


def login_user_for(username: str = BENCH_USER) -> Any:
    """Flask-Login's user object for an active account of the database (as auth.py loads it)."""
    from auth import LoginUser
    from data.db import session_scope
    from data.models import User
    from data.users import load_session_user

    with session_scope() as session:
        user_id = session.scalar(select(User.id).where(User.username == username))
        user = load_session_user(session, user_id) if user_id is not None else None
    if user is None:
        raise RuntimeError(f"no active user {username!r} in the benchmark database")
    return LoginUser(user)


@contextmanager
def logged_in(dash_app: Any, user: Any) -> Iterator[None]:
    """A Flask request context in which ``user`` is logged in (what guard.py and the pages read
    through Flask-Login's ``current_user``)."""
    from flask_login import login_user

    with dash_app.server.test_request_context("/_dash-update-component", method="POST"):
        login_user(user)
        yield


def page_renderer(dash_app: Any, module: str) -> Callable[..., str]:
    """What Dash's router callback does for a page: call its (guarded) layout with the path
    variables and query parameters, and encode the result as JSON."""
    import dash
    from dash._utils import to_json

    layout = dash.page_registry[module]["layout"]

    def render(**kwargs: str) -> str:
        return to_json(layout(**kwargs))

    return render


def cases(ctx: BenchContext) -> list[Case]:
    from dash._utils import to_json

    dash_app = dash_app_on(ctx.engine.url.render_as_string(hide_password=False))
    from pages import partners as partners_page

    partners_layout = page_renderer(dash_app, "pages.partners")
    detail_layout = page_renderer(dash_app, "pages.partner_detail")
    # dash.callback registers a function and returns it unchanged: call it like Dash does.
    show_view = getattr(partners_page, "show_view", None)  # cards and charts, when separate
    serve_page = partners_page.serve_page
    first_page = {"startRow": 0, "endRow": 25, "sortModel": [], "filterModel": {}}
    pid = str(busiest_partner(ctx))
    user = login_user_for()

    def logged(run: Callable[[], str]) -> Callable[[], str]:
        def wrapped() -> str:
            with logged_in(dash_app, user):
                return run()

        return wrapped

    runs: dict[str, Callable[[dict[str, str]], str]] = {
        "callbacks.partners_layout": lambda p: partners_layout(**p),
        "callbacks.grid_first_page": lambda p: to_json(serve_page(first_page, p)),
        "callbacks.partner_detail": lambda p: detail_layout(partner_id=pid, **p),
    }
    if show_view is not None:
        runs["callbacks.partners_view"] = lambda p: to_json(show_view(p))
    # A layout that fails renders a friendly message (guard.py): make sure the real page is
    # what gets timed.
    markers = {
        "callbacks.partners_layout": "partners-grid",
        "callbacks.grid_first_page": "rowData",
        "callbacks.partner_detail": "partner-detail-trend",
        "callbacks.partners_view": "partners-kpi-leads",
    }
    views = view_params(ctx)
    with logged_in(dash_app, user):
        for name, run in runs.items():
            if markers[name] not in run(views["default"]):
                raise RuntimeError(f"{name} did not render ({markers[name]} missing)")
    return [
        Case(name, label, logged(lambda run=run, p=params: run(p)), CACHE.clear)
        for label, params in views.items()
        for name, run in runs.items()
    ]

"""The consent page's reads (``data.consent``) and every compliance rule (``data.compliance``).

Page queries (coverage, source sites, opt-ins/outs, analytics rate, one person's history) are
held to the page target; the compliance rules to 500 ms each (issue 15). The filters are the
page's default (the last 90 days), a whole year (monthly buckets) and one purpose of one
subject type. ``consent.monitor_callback`` is the page's monitor callback
(``pages.consent.monitor``: the six rules counted by month, a chart and a table, as Dash
encodes them) for a logged-in manager, the way ``callbacks.py`` calls the partner pages.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from benchmarks.cases import BenchContext, Case
from benchmarks.cases.callbacks import dash_app_on, logged_in, login_user_for
from data.compliance.common import Window
from data.compliance.monitor import RULES, rule_query
from data.consent.coverage import by_source_site, coverage
from data.consent.current import consent_of
from data.consent.filters import ConsentFilters
from data.consent.trends import analytics_opt_out_rate, changes
from data.models import Homeowner
from data.timeutil import start_of, utcnow


def _with_conn(ctx: BenchContext, function, *args: Any):
    def run() -> Any:
        with ctx.engine.connect() as conn:
            return function(conn, *args)

    return run


def _rule(ctx: BenchContext, code: str, window: Window):
    def run() -> Any:
        with Session(ctx.engine) as session:
            return session.execute(rule_query(session, code, window)).all()

    return run


def cases(ctx: BenchContext) -> list[Case]:
    variants = {
        "last 90 days": ConsentFilters(ctx.as_of - timedelta(days=89), ctx.as_of),
        "one year": ConsentFilters(ctx.as_of - timedelta(days=364), ctx.as_of),
        "homeowners, marketing email": ConsentFilters(
            ctx.as_of - timedelta(days=89),
            ctx.as_of,
            subject_type="homeowner",
            purpose="marketing_email",
        ),
    }
    out: list[Case] = []
    for label, f in variants.items():
        out += [
            Case("consent.coverage", label, _with_conn(ctx, coverage, f)),
            Case("consent.by_source_site", label, _with_conn(ctx, by_source_site, f)),
            Case("consent.changes", label, _with_conn(ctx, changes, f)),
            Case("consent.analytics_rate", label, _with_conn(ctx, analytics_opt_out_rate, f)),
        ]
    with Session(ctx.engine) as session:
        someone = session.scalar(
            select(Homeowner.id).where(Homeowner.erased_at.is_(None)).order_by(Homeowner.id.desc())
        )

    def history() -> Any:
        with Session(ctx.engine) as session:
            return consent_of(session, "homeowner", someone or 1)

    out.append(Case("consent.person", "one homeowner", history))
    f = variants["last 90 days"]
    window = Window(start_of(f.start), f.end_before, utcnow())
    out += [Case(f"compliance.{rule.code}", "last 90 days", _rule(ctx, rule.code, window))
            for rule in RULES]  # fmt: skip
    out.append(Case("consent.monitor_callback", "last 90 days", _monitor_callback(ctx, window)))
    return out


def _monitor_callback(ctx: BenchContext, window: Window):
    """The monitor callback as the server runs it (its answer encoded by Dash's encoder)."""
    from dash._utils import to_json

    dash_app = dash_app_on(ctx.engine.url.render_as_string(hide_password=False))
    from pages.consent import monitor

    user = login_user_for()
    data = [window.start_at.isoformat(), window.end_before.isoformat()]

    def run() -> str:
        with logged_in(dash_app, user):
            body = to_json(monitor(data))
        if "consent-monitor-table" not in body:  # a failure renders a message: not timed
            raise RuntimeError("the monitor callback did not render")
        return body

    return run

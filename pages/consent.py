"""Consent (``/consent``): coverage per purpose, opt-ins and opt-outs over time, the analytics
opt-out rate, consent by source site, and the compliance monitor's counts.

Managers, privacy officers and admins. No person is named here, so the page and its three
callbacks (the filters into the address; the monitor's counts, drawn after the rest of the
page; one rule's violations as records, without their subjects or the numbers of homeowners
and requests) hold no email, phone, name or homeowner id for any role. People (lookup,
history, the violation lists with their people, the suppression list) are on ``/consent/people``
(``pages/consent_people.py``), whose component ids the guard reserves for privacy officers and
admins.

Filters live in the address (``components.consent_query``); changing a control writes the
address and Dash's router draws the page again from it. Numbers come from ``data.consent`` and
``data.compliance.monitor``; figures from ``components.consent_figures``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, callback, dcc, html

from components import messages
from components.consent_figures import (
    SUBJECT_LABELS,
    analytics_rate_chart,
    changes_chart,
    channel_chart,
    coverage_chart,
    source_site_chart,
    violations_chart,
)
from components.consent_query import ConsentQuery, parse_query, search_from_controls
from components.partner_figures import graph
from components.url_state import PRESETS, clean_params
from components.violation_list import violations_table
from data.compliance.common import Window
from data.compliance.monitor import RULE_BY_CODE, RULES, monitor_counts, violation_records
from data.consent import coverage as cov
from data.consent import trends
from data.db import read_connection, session_scope
from data.models import CONSENT_PURPOSES, SUBJECT_TYPES
from data.privacy.optouts import PURPOSE_LABELS
from data.timeutil import sa_text, today, utcnow
from guard import current_role_can

P = "consent"

dash.register_page(
    __name__,
    path="/consent",
    name="Consent",
    title="Consent · Partner Operations",
    allowed_roles=["admin", "manager", "privacy_officer"],
    id_prefix=P,
    nav_order=30,
)

RULE_LABELS = {r.code: r.label for r in RULES}


def _options(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"label": label, "value": value} for value, label in values.items()]


def _filter_bar(query: ConsentQuery, sites: list[str]) -> dbc.Row:
    preset = query.period.preset
    custom = preset == "custom"
    dropdown_style = {"minWidth": "180px"}
    return dbc.Row(
        [
            dbc.Col(
                [dbc.Label("Period", html_for=f"{P}-period", className="small mb-0"),
                 dcc.Dropdown(id=f"{P}-period", options=_options(dict(PRESETS)), value=preset,
                              clearable=False, style=dropdown_style)]
            ),
            dbc.Col(
                [dbc.Label("From", html_for=f"{P}-from", className="small mb-0"),
                 dbc.Input(id=f"{P}-from", type="date", value=query.period.start.isoformat(),
                           disabled=not custom, debounce=True, size="sm")]
            ),
            dbc.Col(
                [dbc.Label("To", html_for=f"{P}-to", className="small mb-0"),
                 dbc.Input(id=f"{P}-to", type="date", value=query.period.end.isoformat(),
                           disabled=not custom, debounce=True, size="sm")]
            ),
            dbc.Col(
                [dbc.Label("Subjects", html_for=f"{P}-subject", className="small mb-0"),
                 dcc.Dropdown(id=f"{P}-subject", value=query.subject, placeholder="Both",
                              options=_options({s: SUBJECT_LABELS[s] for s in SUBJECT_TYPES}),
                              style=dropdown_style)]
            ),
            dbc.Col(
                [dbc.Label("Purpose", html_for=f"{P}-purpose", className="small mb-0"),
                 dcc.Dropdown(id=f"{P}-purpose", value=query.purpose, placeholder="All",
                              options=_options({p: PURPOSE_LABELS[p] for p in CONSENT_PURPOSES}),
                              style={"minWidth": "220px"})]
            ),
            dbc.Col(
                [dbc.Label("Source site", html_for=f"{P}-source", className="small mb-0"),
                 dcc.Dropdown(id=f"{P}-source", value=query.source, placeholder="All sites",
                              options=_options({s: s for s in sites}), style=dropdown_style)]
            ),
        ],
        className="g-2 mb-3 align-items-end",
        id=f"{P}-filters",
    )  # fmt: skip


def _percent(share: float) -> str:
    return f"{share * 100:.1f}%"


def coverage_table(df: pd.DataFrame) -> Any:
    """Counts and shares per subject type and purpose (the charts' numbers, readable)."""
    if df.empty:
        return html.P("No purposes for these filters.", className="text-muted")
    head = html.Thead(html.Tr([html.Th(h) for h in (
        "subjects", "purpose", "population", "granted", "withdrawn", "never asked")]))  # fmt: skip
    body = html.Tbody(
        [
            html.Tr(
                [
                    html.Td(SUBJECT_LABELS.get(r.subject_type, r.subject_type)),
                    html.Td(PURPOSE_LABELS.get(r.purpose, r.purpose)),
                    html.Td(f"{r.population:,}"),
                    *(
                        html.Td(f"{getattr(r, s):,} ({_percent(getattr(r, s + '_share'))})")
                        for s in ("granted", "withdrawn", "never_asked")
                    ),
                ]
            )
            for r in df.itertuples()
        ]
    )
    return dbc.Table([head, body], size="sm", striped=True, className="small",
                     id=f"{P}-coverage-table")  # fmt: skip


def monitor_table(counts: pd.DataFrame) -> Any:
    totals = counts.groupby("rule")["violations"].sum().to_dict() if not counts.empty else {}
    rows = [
        html.Tr(
            [
                html.Td(rule.label),
                html.Td(f"{int(totals.get(rule.code, 0)):,}", id=f"{P}-monitor-{rule.code}"),
                html.Td("in the period" if rule.in_window else "now"),
            ]
        )
        for rule in RULES
    ]
    head = html.Thead(html.Tr([html.Th("rule"), html.Th("violations"), html.Th("counted")]))
    return dbc.Table([head, html.Tbody(rows)], size="sm", className="small",
                     id=f"{P}-monitor-table")  # fmt: skip


def _sites() -> list[str]:
    with read_connection() as conn:
        return cov.source_sites(conn)


def layout(**params: Any) -> html.Div:
    sites = _sites()
    query, problem = parse_query(clean_params(params), today=today(), sites=sites)
    f = query.filters()
    with read_connection() as conn:
        coverage = cov.coverage(conn, f)
        by_site = cov.by_source_site(conn, f)
        changes = trends.changes(conn, f)
        rate = trends.analytics_opt_out_rate(conn, f)
    people_link = (
        dcc.Link("People, violation lists and the suppression list →", href="/consent/people",
                 id=f"{P}-people-link", className="small")
        if current_role_can("see_people") else None
    )  # fmt: skip
    return html.Div(
        [
            dcc.Location(id=f"{P}-url", refresh="callback-nav"),
            html.H2("Consent", className="h4"),
            html.P(
                f"{query.period.label()}. Coverage is measured at the end of the period; "
                "opt-ins and opt-outs are counted in it.",
                className="text-muted small",
                id=f"{P}-period-label",
            ),
            _filter_bar(query, sites),
            messages.invalid_input(problem) if problem else None,
            dbc.Row(
                [
                    dbc.Col(graph(f"{P}-coverage-{s}", coverage_chart(coverage, s)), lg=6)
                    for s in f.subject_types
                ]
            ),
            coverage_table(coverage),
            dbc.Row(
                [
                    dbc.Col(graph(f"{P}-changes", changes_chart(changes)), lg=8),
                    dbc.Col(graph(f"{P}-channels", channel_chart(changes)), lg=4),
                ]
            ),
            dbc.Row(
                [
                    dbc.Col(graph(f"{P}-analytics-rate", analytics_rate_chart(rate)), lg=5),
                    dbc.Col(graph(f"{P}-sources", source_site_chart(by_site)), lg=7),
                ]
            ),
            html.H3("Compliance monitor", className="h5 mt-4", id=f"{P}-monitor"),
            html.P(
                "Where the data shows a broken promise. Rules about events count those in the "
                "period; retention and overdue requests count what stands now.",
                className="text-muted small",
            ),
            dcc.Store(
                id=f"{P}-monitor-window", data=[f.start_at.isoformat(), f.end_before.isoformat()]
            ),
            dcc.Loading(
                html.Div(
                    id=f"{P}-monitor-body",
                    className="small text-muted",
                    children="Counting violations…",
                ),
                type="default",
            ),
            _drill_down(),
            people_link,
        ],
        id=f"{P}-page",
    )


def _drill_down() -> html.Div:
    """One rule's violations as records (no person: ``violation_records``), on demand."""
    return html.Div(
        [
            dbc.Select(
                id=f"{P}-monitor-rule",
                options=[{"label": r.label, "value": r.code} for r in RULES],
                placeholder="List the violations of one rule…",
                size="sm",
                style={"maxWidth": "28rem"},
            ),
            dcc.Loading(html.Div(id=f"{P}-monitor-list", className="mt-2"), type="default"),
        ],
        className="mt-2",
    )


def _window(data: object) -> Window | None:
    """The period the layout put in the store, read back (the browser could send anything)."""
    if not (isinstance(data, list) and len(data) == 2 and all(isinstance(v, str) for v in data)):
        return None
    try:
        start_at, end_before = (datetime.fromisoformat(v) for v in data)
    except ValueError:
        return None
    if start_at.tzinfo is not None or end_before.tzinfo is not None or start_at >= end_before:
        return None
    return Window(start_at, end_before, utcnow())


@callback(Output(f"{P}-monitor-body", "children"), Input(f"{P}-monitor-window", "data"))
def monitor(data: object) -> Any:
    """The compliance monitor's counts, drawn after the page: the six rules take 0.3–0.8 s
    at 1M leads together (each within its 500 ms), which the rest of the page should not wait
    for. Counts only, like the layout."""
    window = _window(data)
    if window is None:
        return messages.invalid_input("The monitor's period could not be read.")
    with session_scope() as session:
        counts, counted_at = monitor_counts(session, window)
    return [
        graph(f"{P}-violations", violations_chart(counts, RULE_LABELS)),
        monitor_table(counts),
        html.P(
            f"Counted at {sa_text(counted_at)}; the counts are shared by everyone who opens this"
            " page for up to a minute.",
            id=f"{P}-monitor-counted-at",
            className="small text-muted mt-1",
        ),
    ]


@callback(
    Output(f"{P}-monitor-list", "children"),
    Input(f"{P}-monitor-rule", "value"),
    State(f"{P}-monitor-window", "data"),
    prevent_initial_call=True,
)
def monitor_list(code: object, data: object) -> Any:
    """The chosen rule's violations in the page's period: when, which record, what (the
    records of people by kind only; who they were is on the people page)."""
    window = _window(data)
    if window is None:
        return messages.invalid_input("The monitor's period could not be read.")
    if not isinstance(code, str) or code not in RULE_LABELS:
        return messages.invalid_input("Choose a rule from the list.")
    with session_scope() as session:
        found = violation_records(session, code, window)
    counted = "" if RULE_BY_CODE[code].in_window else " (counted now, whatever the period)"
    return [
        html.P(f"{len(found):,} shown, newest first{counted}.", className="small text-muted"),
        violations_table(found, f"{P}-monitor"),
    ]


@callback(
    Output(f"{P}-url", "search"),
    Input(f"{P}-period", "value"),
    Input(f"{P}-from", "value"),
    Input(f"{P}-to", "value"),
    Input(f"{P}-subject", "value"),
    Input(f"{P}-purpose", "value"),
    Input(f"{P}-source", "value"),
    prevent_initial_call=True,
)
def filters_to_address(*values: object) -> str:
    """The controls' values into the address (the router draws the page from it). Values are
    validated when the page renders, so a bad one shows a message there."""
    return search_from_controls(*values)

"""Lead flow (``/leads``): where leads come from, where they stall, and how fast partners respond.

Everything the page shows is in its address (``components/leadflow_query.py``): the filters,
the funnel step clicked (the rest of the page then counts only the leads that reached it), the
time series' breakdown and grain. A filter change or a click on a chart writes a new address
through ``leads-url`` and Dash's router draws the page from it, so Back, reload and a shared
link all give the same view. Clicks cross-filter: a funnel step sets ``step``, a bar of the
time series sets the breakdown's dimension (channel, trade or province), a province or a trade
bar sets that filter.

Every number comes from ``data/leadflow``; figures from ``components/leadflow_figures.py``;
this module holds layout and thin callbacks, and never writes SQL. Roles: manager and admin
(``allowed_roles``; the guard checks every callback by its ``leads-`` output ids).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, callback, dcc, html, no_update
from flask_login import current_user

from components import export_bar, messages
from components.grid import data_grid
from components.kpi import kpi_row
from components.leadflow_figures import (
    cohorts_figure,
    contact_by_trade_figure,
    contact_distribution_figure,
    funnel_figure,
    province_figure,
    sankey_figure,
    series_figure,
)
from components.leadflow_query import (
    BREAKDOWN_LABELS,
    GRAIN_LABELS,
    LeadFlowQuery,
    filter_bar,
    params_from_controls,
    parse_leadflow_query,
    safe_leadflow_query,
)
from components.leadflow_view import OPERATION_COLUMNS, headline_cards, operations_frame
from components.partner_figures import graph
from components.url_state import BadQuery, clean_params, to_search
from data import leadflow
from data.db import read_connection, session_scope
from data.export import LEAD_FLOW_OPERATIONS, export_table
from data.leadflow.filters import Lookups
from data.timeutil import today, utcnow
from guard import current_role, current_role_can

dash.register_page(
    __name__,
    path="/leads",
    name="Lead flow",
    title="Lead flow · Partner Operations",
    allowed_roles=["admin", "manager"],
    id_prefix="leads",
    nav_order=15,
)

SITE_LOOKBACK_DAYS = 365  # the source sites offered: those of leads created this recently


def _lookups() -> Lookups:
    with read_connection() as conn:
        return leadflow.lookups(conn, today() - timedelta(days=SITE_LOOKBACK_DAYS))


def _query(params: dict[str, str]) -> tuple[LeadFlowQuery, str | None, Lookups]:
    lookups = _lookups()
    query, problem = safe_leadflow_query(params, today=today(), lookups=lookups)
    return query, problem, lookups


def _stored(stored: object) -> tuple[LeadFlowQuery, Lookups]:
    """The view's query from the Store, validated again (the browser can change it)."""
    params = {str(k): str(v) for k, v in stored.items()} if isinstance(stored, dict) else {}
    query, _, lookups = _query(params)
    return query, lookups


# --- layout -------------------------------------------------------------------------------------


def layout(**kwargs: Any) -> html.Div:
    query, problem, lookups = _query(clean_params(kwargs))
    filters = query.filters(lookups)
    measure = "Leads" if query.step == "leads" else f"Leads that reached “{_step(query)}”"
    names = lookups.trade_names()
    with read_connection() as conn:
        head = leadflow.headline(conn, filters)
        funnel = leadflow.funnel(conn, filters)
        links = leadflow.transitions(conn, filters)
        series, grain = leadflow.leads_over_time(conn, filters, by=query.by, grain=query.grain)
        cohorts = leadflow.weekly_cohorts(conn, filters, today())
        dist = leadflow.first_contact_distribution(conn, filters)
        by_trade = leadflow.contact_by_trade(conn, filters, names)
        provinces = leadflow.province_breakdown(conn, filters)
        ops = leadflow.operations_list(conn, filters, utcnow())
    labels: dict[Any, str] = names if query.by == "trade" else {}
    return html.Div(
        [
            dcc.Location(id="leads-url", refresh="callback-nav"),
            dcc.Store(id="leads-query", data=query.params()),
            html.H2("Lead flow", className="page-title"),
            html.P(
                f"Leads created: {query.period.label()}. Steps count within 30 days of "
                "creation; days are South African days.",
                className="text-muted",
                id="leads-period-label",
            ),
            html.Div(messages.invalid_input(problem) if problem else None, id="leads-url-problem"),
            filter_bar(query, lookups),
            _selection_line(query),
            kpi_row(headline_cards(head, query.period.days)),
            dbc.Row(
                [
                    dbc.Col(graph("leads-funnel", funnel_figure(funnel, query.step)), lg=5),
                    dbc.Col(graph("leads-sankey", sankey_figure(links)), lg=7),
                ],
                className="g-3 mb-3",
            ),
            _series_controls(query, grain),
            graph(
                "leads-series",
                series_figure(series, grain, BREAKDOWN_LABELS[query.by], labels, measure),
            ),
            dbc.Row(
                [
                    dbc.Col(graph("leads-cohorts", cohorts_figure(cohorts)), lg=6),
                    dbc.Col(graph("leads-contact", contact_distribution_figure(dist)), lg=6),
                ],
                className="g-3 my-3",
            ),
            dbc.Row(
                [
                    dbc.Col(graph("leads-by-trade", contact_by_trade_figure(by_trade)), lg=6),
                    dbc.Col(graph("leads-provinces", province_figure(provinces, measure)), lg=6),
                ],
                className="g-3 mb-3",
            ),
            _operations(ops, query),
        ],
        id="leads-page",
    )


def _step(query: LeadFlowQuery) -> str:
    return leadflow.STEP_LABELS[query.step]


def _selection_line(query: LeadFlowQuery) -> html.Div:
    """What the funnel click selected, with a link that clears it."""
    if query.step == "leads":
        return html.Div(
            "Click a funnel step to count only the leads that reached it; click a bar to "
            "filter by it.",
            className="small text-muted mb-2",
            id="leads-selection",
        )
    cleared = to_search(query.with_changes(step="leads").params())
    return html.Div(
        [
            html.Span(f"Showing leads that reached “{_step(query)}” below the funnel. "),
            dcc.Link("Show all leads", href=f"/leads{cleared}", id="leads-clear-step"),
        ],
        className="small mb-2",
        id="leads-selection",
    )


def _series_controls(query: LeadFlowQuery, grain: str) -> dbc.Row:
    return dbc.Row(
        [
            dbc.Col(
                [
                    dbc.Label("Break down by", html_for="leads-by", className="small me-2"),
                    dbc.RadioItems(
                        id="leads-by",
                        options=[{"label": v, "value": k} for k, v in BREAKDOWN_LABELS.items()],
                        value=query.by,
                        inline=True,
                    ),
                ],
                md=6,
            ),
            dbc.Col(
                [
                    dbc.Label("Grain", html_for="leads-grain", className="small"),
                    dcc.Dropdown(
                        id="leads-grain",
                        options=[{"label": v, "value": k} for k, v in GRAIN_LABELS.items()],
                        value=query.grain or "",
                        clearable=False,
                    ),
                    html.Div(
                        f"Showing {grain}ly totals" if grain != "day" else "Showing daily totals",
                        className="small text-muted",
                        id="leads-grain-used",
                    ),
                ],
                md=3,
            ),
        ],
        className="g-2 mb-1",
    )


def _operations(ops: pd.DataFrame, query: LeadFlowQuery) -> html.Div:
    rows = operations_frame(ops).to_dict("records")
    can_export = current_role_can(LEAD_FLOW_OPERATIONS.capability)
    return html.Div(
        [
            html.H4("Operations", className="mt-3"),
            html.P(
                "Open leads nobody has contacted 24 hours after creation, and leads shared "
                "with partners still being vetted (the last 30 days within the filters).",
                className="small text-muted",
            ),
            export_bar.export_bar("leads", export_bar.CSV_ONLY) if can_export else None,
            data_grid(
                "leads-operations",
                OPERATION_COLUMNS,
                row_data=rows,
                height="420px",
                grid_options={"localeText": {"noRowsToShow": "Nothing needs attention."}},
            ),
        ]
    )


# --- callbacks ----------------------------------------------------------------------------------

_CLICK_TARGETS = {
    "leads-funnel": "step",
    "leads-provinces": "province",
    "leads-by-trade": "trade_id",
}


def _clicked(click: Any) -> Any:
    """``customdata[0]`` of the clicked point (``None`` when the payload is not one)."""
    try:
        value = click["points"][0]["customdata"][0]
    except (KeyError, IndexError, TypeError):
        return None
    return value if isinstance(value, str | int) and not isinstance(value, bool) else None


def _after_click(
    trigger: str, value: Any, query: LeadFlowQuery, lookups: Lookups
) -> dict[str, str]:
    """The address parameters after a click on a chart (validated by the caller)."""
    params = query.params()
    codes = {tid: code for tid, code, _ in lookups.trades}
    target = "by" if trigger == "leads-series" else _CLICK_TARGETS[trigger]
    if target == "step":
        params["step"] = "leads" if value == query.step else str(value)
    elif target == "trade_id" or (target == "by" and query.by == "trade"):
        params["trade"] = codes.get(value, "?") if isinstance(value, int) else "?"
    elif target == "province" or query.by == "province":
        params["province"] = str(value)
    else:
        params["channel"] = str(value)
    return params


@callback(
    Output("leads-url", "href"),
    Output("leads-filters-problem", "children"),
    Input("leads-period", "value"),
    Input("leads-from", "value"),
    Input("leads-to", "value"),
    Input("leads-trade", "value"),
    Input("leads-service", "value"),
    Input("leads-province", "value"),
    Input("leads-channel", "value"),
    Input("leads-site", "value"),
    Input("leads-by", "value"),
    Input("leads-grain", "value"),
    Input("leads-funnel", "clickData"),
    Input("leads-series", "clickData"),
    Input("leads-provinces", "clickData"),
    Input("leads-by-trade", "clickData"),
    State("leads-query", "data"),
    prevent_initial_call=True,
)
def apply(
    period: Any,
    start: Any,
    end: Any,
    trade: Any,
    service: Any,
    province: Any,
    channel: Any,
    site: Any,
    by: Any,
    grain: Any,
    funnel_click: Any,
    series_click: Any,
    province_click: Any,
    trade_click: Any,
    stored: Any,
) -> tuple[Any, Any]:
    """Write the new view into the address (the router then draws it); values that cannot be
    applied are explained under the filters and the view stays as it is."""
    query, lookups = _stored(stored)
    trigger = str(dash.ctx.triggered_id)
    clicks = {
        "leads-funnel": funnel_click,
        "leads-series": series_click,
        "leads-provinces": province_click,
        "leads-by-trade": trade_click,
    }
    if trigger in clicks:
        value = _clicked(clicks[trigger])
        if value is None:
            return no_update, None
        params = _after_click(trigger, value, query, lookups)
    else:
        shaped = params_from_controls(
            period=period, start=start, end=end, trade=trade, service=service,
            province=province, channel=channel, site=site, by=by, grain=grain,
        )  # fmt: skip
        if shaped is None:
            return no_update, "A custom period needs both a start and an end date."
        params = {**shaped, "step": query.step}
    try:
        new = parse_leadflow_query(params, today=today(), lookups=lookups)
    except BadQuery as exc:
        return no_update, dbc.Alert(str(exc), color="warning", className="py-1 px-2 mt-2 small")
    if new.params() == query.params():
        return no_update, None
    return f"/leads{new.search_string()}", None


@callback(
    *export_bar.outputs("leads"),
    *export_bar.inputs("leads", export_bar.CSV_ONLY),
    State("leads-query", "data"),
    prevent_initial_call=True,
    running=export_bar.running("leads", export_bar.CSV_ONLY),
)
def export(n_clicks: Any, stored: Any) -> tuple[Any, str]:
    """The operations list as CSV with the filters in the file; recorded in the audit log."""
    fmt = export_bar.clicked_format("leads", (n_clicks,), export_bar.CSV_ONLY)
    if not current_role_can(LEAD_FLOW_OPERATIONS.capability):
        return no_update, "Your role cannot export the operations list."
    query, lookups = _stored(stored)
    with read_connection() as conn:
        ops = leadflow.operations_list(conn, query.filters(lookups), utcnow())
    frame = operations_frame(ops).drop(columns=["href"])
    with session_scope() as session:
        file = export_table(
            session,
            LEAD_FLOW_OPERATIONS,
            frame,
            fmt=fmt,
            header=query.describe(lookups),
            spec=query.params(),
            actor=current_user.username,
            role=current_role(),
        )
    return export_bar.send(file), f"Exported {len(frame):,} rows.".replace(",", " ")

"""Partner performance (``/partners``): who stays on the network.

Filters live in the URL query string (see ``components/partner_query.py``): changing one writes
the query string through ``partners-url`` and Dash's router renders the page again from it, so
a link reproduces the view and the back button restores the previous one. The layout shows the
headline numbers and the two charts for the filtered set; the grid pages, sorts, filters and
searches on the server (AG Grid's infinite row model): the browser only ever receives the rows
it shows. Exports contain exactly the grid's rows, in its order and with its visible columns,
and carry the filters.

Every number comes from ``data/partners.py``; this module never writes SQL.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, callback, dcc, html, no_update
from flask_login import current_user

from components import messages
from components.grid import (
    column_chooser,
    data_grid,
    leaf_columns,
    parse_grid_request,
    quick_search,
    select_rows,
    serve_rows,
    visible_fields,
    with_visible_columns,
)
from components.kpi import alert_class, fmt_int, fmt_pct, kpi_card, kpi_row
from components.partner_figures import (
    format_minutes,
    graph,
    rating_vs_response,
    ratings_by_trade,
)
from components.partner_query import (
    PartnerQuery,
    filter_bar,
    query_from_controls,
    safe_partner_query,
)
from components.url_state import clean_params, to_search
from data import partners as pdata
from data.db import read_connection, session_scope
from data.export import PARTNER_TABLE, Format, export_table, sort_and_filter_lines
from data.timeutil import today
from guard import current_role, current_role_can

dash.register_page(
    __name__,
    path="/partners",
    name="Partners",
    title="Partner performance · Partner Operations",
    allowed_roles=["admin", "manager"],
    id_prefix="partners",
    nav_order=20,
)

PREFIX = "partners"
PAGE_SIZE = 25
SEARCH_COLUMNS = ("business_name", "trades", "provinces", "vetting_status")
LOCKED = ("business_name",)

PCT = {"function": "params.value == null ? '–' : d3.format('.0%')(params.value)"}
PCT1 = {"function": "params.value == null ? '–' : d3.format('.1%')(params.value)"}
NUM2 = {"function": "params.value == null ? '–' : d3.format('.2f')(params.value)"}
MINUTES = {
    "function": (
        "params.value == null ? '–' : params.value < 60 ? Math.round(params.value) + ' min' : "
        "params.value < 1440 ? (params.value / 60).toFixed(1) + ' h' : "
        "(params.value / 1440).toFixed(1) + ' d'"
    )
}
BAYES = {
    "function": (
        "params.data == null ? '' : params.data.is_new ? 'new (' + params.data.reviews_12m + "
        "' in 12 mo)' : params.value == null ? '–' : params.value.toFixed(2) + ' (v=' + "
        "params.data.reviews + ')'"
    )
}
TREND = {
    "function": (
        "params.value == null ? '–' : (params.value > 0 ? '▲ +' : params.value < 0 ? '▼ ' : '■ ')"
        " + params.value.toFixed(2)"
    )
}
RISK_STYLE = {
    "styleConditions": [
        {
            "condition": "params.data && params.data.at_risk",
            "style": {"color": "#b02a37", "fontWeight": 600},
        }
    ]
}
# Numbers sort high-to-low on the first click (best rating, most leads first).
NUMBER = {
    "filter": "agNumberColumnFilter",
    "type": "rightAligned",
    "sortingOrder": ["desc", "asc", None],
}
TEXT = {"filter": "agTextColumnFilter"}


def _rate_group(label: str, rate: str, tooltip: str) -> dict[str, Any]:
    lb = pdata.lb_column(rate)
    return {
        "headerName": label,
        "children": [
            {
                "field": rate,
                "headerName": "rate",
                "headerTooltip": f"{label}: {tooltip}",
                "valueFormatter": PCT,
                **NUMBER,
            },
            {
                "field": lb,
                "headerName": "≥ (95 %)",
                "headerTooltip": f"{label}: Wilson lower bound, 95 %",
                "valueFormatter": PCT,
                **NUMBER,
            },
        ],
    }


COLUMNS: list[dict[str, Any]] = [
    {
        "field": "business_name",
        "headerName": "Partner",
        "cellRenderer": "markdown",
        "pinned": "left",
        "lockVisible": True,
        "minWidth": 200,
        **TEXT,
    },
    {"field": "trades", "headerName": "Trades", **TEXT},
    {"field": "provinces", "headerName": "Provinces served", **TEXT},
    {"field": "vetting_status", "headerName": "Vetting", **TEXT},
    {"field": "shares", "headerName": "Leads", "headerTooltip": "Leads shared", **NUMBER},
    {
        "field": "acceptance_rate",
        "headerName": "Accepted",
        "headerTooltip": "Accepted / shared",
        "valueFormatter": PCT,
        **NUMBER,
    },
    {
        "field": "median_response_min",
        "headerName": "Median 1st contact",
        "headerTooltip": "Median time to first contact (from the response-time histogram)",
        "valueFormatter": MINUTES,
        **NUMBER,
    },
    {
        "field": "within_1h",
        "headerName": "≤ 1 h",
        "headerTooltip": "Contacted within 1 hour / shared",
        "valueFormatter": PCT,
        **NUMBER,
    },
    {
        "field": "within_24h",
        "headerName": "≤ 24 h",
        "headerTooltip": "Contacted within 24 hours / shared",
        "valueFormatter": PCT,
        **NUMBER,
    },
    _rate_group("Contact", "contact_rate", "contacted / shared"),
    _rate_group("Quote", "quote_rate", "quoted / contacted"),
    _rate_group("Win", "win_rate", "hired / quoted"),
    _rate_group("Completion", "completion_rate", "completed / hired"),
    {
        "field": "reviews",
        "headerName": "Reviews",
        "headerTooltip": "Published, in the period",
        **NUMBER,
    },
    {"field": "mean_rating", "headerName": "Mean rating", "valueFormatter": NUM2, **NUMBER},
    {
        "field": "bayes_rating",
        "headerName": "Bayesian rating",
        "headerTooltip": "WR = v/(v+10)·R + 10/(v+10)·C (trade mean); 'new' below 5 reviews "
        "in 12 months",
        "valueFormatter": BAYES,
        **NUMBER,
    },
    {"field": "rank", "headerName": "Rank", **NUMBER},
    {
        "field": "rating_trend",
        "headerName": "Trend",
        "headerTooltip": "Mean rating minus the previous period's",
        "valueFormatter": TREND,
        **NUMBER,
    },
    _rate_group("Disputes", "dispute_rate", "disputed / all homeowner reviews"),
    {
        "field": "risk_reasons",
        "headerName": "At risk",
        "headerTooltip": "Below the performance criteria, and why",
        "cellStyle": RISK_STYLE,
        "minWidth": 220,
        **TEXT,
    },
    {
        "field": "acceptance_lb",
        "headerName": "Accepted ≥ (95 %)",
        "valueFormatter": PCT,
        "hide": True,
        **NUMBER,
    },
    {
        "field": "review_rate",
        "headerName": "Review rate",
        "valueFormatter": PCT,
        "hide": True,
        **NUMBER,
    },
    {"field": "prospective", "headerName": "Leads while prospective", "hide": True, **NUMBER},
]
FIELDS = [c["field"] for c in leaf_columns(COLUMNS)]
# Sent with every row for the formatters, never shown as columns.
ROW_EXTRAS = ["partner_id", "is_new", "reviews_12m", "at_risk"]
EXPORT_HEADERS = {
    "business_name": "Partner",
    "trades": "Trades",
    "provinces": "Provinces served",
    "vetting_status": "Vetting status",
    "shares": "Leads shared",
    "acceptance_rate": "Accepted %",
    "acceptance_lb": "Accepted % (Wilson lower bound)",
    "median_response_min": "Median minutes to first contact",
    "within_1h": "Contacted within 1 h %",
    "within_24h": "Contacted within 24 h %",
    "contact_rate": "Contact rate %",
    "contact_lb": "Contact rate % (Wilson lower bound)",
    "quote_rate": "Quote rate %",
    "quote_lb": "Quote rate % (Wilson lower bound)",
    "win_rate": "Win rate %",
    "win_lb": "Win rate % (Wilson lower bound)",
    "completion_rate": "Completion rate %",
    "completion_lb": "Completion rate % (Wilson lower bound)",
    "reviews": "Reviews",
    "mean_rating": "Mean rating",
    "bayes_rating": "Bayesian rating",
    "rank": "Rank",
    "rating_trend": "Rating trend",
    "dispute_rate": "Dispute rate %",
    "dispute_lb": "Dispute rate % (Wilson lower bound)",
    "risk_reasons": "At risk",
    "review_rate": "Review rate %",
    "prospective": "Leads while prospective",
}
PERCENT_FIELDS = {
    f for f in EXPORT_HEADERS if f.endswith(("_rate", "_lb")) or f.startswith("within")
}


# --- helpers ----------------------------------------------------------------------------------


def _query(params: dict[str, str]) -> tuple[PartnerQuery, str | None, list[pdata.TradeRef]]:
    with read_connection() as conn:
        trades = pdata.trades(conn)
    query, problem = safe_partner_query(params, today=today(), trades=trades)
    return query, problem, trades


def _table(query: PartnerQuery) -> pd.DataFrame:
    with read_connection() as conn:
        return pdata.partner_table(conn, query.filters())


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>])")


def _link(name: str, partner_id: int, search: str) -> str:
    """A markdown link to the partner's page; the name is escaped (it is typed by outsiders)."""
    escaped = _MD_SPECIAL.sub(r"\\\1", name)
    return f"[{escaped}](/partners/{partner_id}{search})"


def _view_key(query: PartnerQuery) -> str:
    return hashlib.sha1(query.search_string().encode(), usedforsecurity=False).hexdigest()[:10]


def export_frame(rows: pd.DataFrame, fields: list[str]) -> pd.DataFrame:
    """The rows as a file shows them: the visible columns with readable headers, percentages
    as numbers with one decimal, "new" instead of a rating for new partners."""
    out = pd.DataFrame(index=rows.index)
    for field in fields:
        if field not in EXPORT_HEADERS:
            continue
        values = rows[field]
        if field in PERCENT_FIELDS:
            values = (values.astype(float) * 100).round(1)
        elif field in ("mean_rating", "rating_trend"):
            values = values.astype(float).round(2)
        elif field == "bayes_rating":
            values = [
                "new" if new else (None if pd.isna(v) else round(float(v), 2))
                for v, new in zip(rows["bayes_rating"], rows["is_new"], strict=True)
            ]
        elif field == "median_response_min":
            values = values.astype(float).round(0)
        out[EXPORT_HEADERS[field]] = list(values)
    return out.reset_index(drop=True)


# --- layout -----------------------------------------------------------------------------------


def _headline_cards(h: pdata.Headline) -> list[dbc.Col]:
    return [
        kpi_card(
            "Partners",
            fmt_int(h.partners),
            f"{fmt_int(h.at_risk)} at risk · {fmt_int(h.active_partners)} received leads",
            id_="partners-kpi-partners",
            note_class=alert_class(h.at_risk > 0),
        ),
        kpi_card(
            "Leads shared",
            fmt_int(h.shares),
            f"{fmt_pct(h.acceptance_rate)} accepted",
            id_="partners-kpi-leads",
        ),
        kpi_card(
            "Contacted within 24 h",
            fmt_pct(h.within_24h),
            f"{fmt_pct(h.within_1h)} within 1 h · median {format_minutes(h.median_response_min)}",
            id_="partners-kpi-contact",
        ),
        kpi_card(
            "Mean rating",
            "–" if h.mean_rating is None else f"{h.mean_rating:.2f} / 5",
            f"{fmt_int(h.reviews)} reviews · {fmt_int(h.new_partners)} partners new",
            id_="partners-kpi-rating",
        ),
    ]


def layout(**kwargs: Any) -> html.Div:
    params = clean_params(kwargs)
    query, problem, trades = _query(params)
    table = _table(query)
    with read_connection() as conn:
        by_trade = pdata.ratings_by_trade(conn, table, query.trade.id if query.trade else None)
    headline = pdata.headline(table)
    can_export = current_role_can(PARTNER_TABLE.capability)
    toolbar = dbc.Row(
        [
            dbc.Col(
                quick_search(
                    "partners-search", "Search partners, trades, provinces…", query.search
                ),
                md=4,
            ),
            dbc.Col(html.Span(id="partners-count", className="text-muted small"), className="pt-2"),
            dbc.Col(
                [
                    column_chooser("partners-columns", COLUMNS, locked=LOCKED),
                    *(
                        [
                            dbc.Button(
                                "Export CSV",
                                id="partners-export-csv",
                                size="sm",
                                color="secondary",
                                className="ms-2",
                            ),
                            dbc.Button(
                                "Export Excel",
                                id="partners-export-xlsx",
                                size="sm",
                                color="secondary",
                                className="ms-2",
                            ),
                        ]
                        if can_export
                        else []
                    ),
                    dcc.Download(id="partners-download"),
                ],
                className="text-end",
                md=5,
            ),
        ],
        className="g-2 mb-2 align-items-center",
    )
    return html.Div(
        [
            dcc.Location(id="partners-url", refresh="callback-nav"),
            dcc.Store(id="partners-query", data=query.params()),
            html.H2("Partner performance", className="page-title"),
            html.P(
                f"{query.period.label()}. Ratings are Bayesian averages (m = 10, prior = the "
                "trade's mean); partners with fewer than 5 reviews in 12 months are “new”.",
                className="text-muted",
                id="partners-period-label",
            ),
            messages.invalid_input(problem) if problem else None,
            filter_bar(PREFIX, query, trades),
            kpi_row(_headline_cards(headline)),
            dbc.Row(
                [
                    dbc.Col(
                        graph("partners-scatter", rating_vs_response(table)),
                        lg=7,
                    ),
                    dbc.Col(
                        graph("partners-by-trade", ratings_by_trade(by_trade)),
                        lg=5,
                    ),
                ],
                className="mb-3",
            ),
            toolbar,
            html.Div(id="partners-export-result", className="small mb-2"),
            # A new id per view makes React mount a fresh grid, whose first getRowsRequest
            # then asks for the new filters' rows.
            html.Div(
                data_grid(
                    "partners-grid",
                    COLUMNS,
                    server_side=True,
                    page_size=PAGE_SIZE,
                    height="720px",
                    grid_options={"tooltipShowDelay": 200, "suppressColumnVirtualisation": True},
                ),
                id=f"partners-gridbox-{_view_key(query)}",
            ),
        ],
        id="partners-page",
    )


# --- callbacks --------------------------------------------------------------------------------


@callback(
    Output("partners-url", "search"),
    Input("partners-period", "value"),
    Input("partners-from", "value"),
    Input("partners-to", "value"),
    Input("partners-trade", "value"),
    Input("partners-province", "value"),
    Input("partners-vetting", "value"),
    Input("partners-min-reviews", "value"),
    Input("partners-search", "value"),
    State("partners-query", "data"),
    prevent_initial_call=True,
)
def apply_filters(
    period: Any,
    start: Any,
    end: Any,
    trade: Any,
    province: Any,
    vetting: Any,
    min_reviews: Any,
    search: Any,
    current: Any,
) -> Any:
    """Write the filters into the URL; the router then renders the page for them."""
    params = query_from_controls(
        period=period,
        start=start,
        end=end,
        trade=trade,
        province=province,
        vetting=vetting,
        min_reviews=min_reviews,
        search=search,
    )
    if params is None:
        return no_update
    if isinstance(current, dict) and current == params:
        return no_update
    return to_search(params)


def _stored_query(stored: object) -> PartnerQuery:
    """The view's filters from the Store, validated again (the browser can change it)."""
    params = {str(k): str(v) for k, v in stored.items()} if isinstance(stored, dict) else {}
    return _query(params)[0]


@callback(
    Output("partners-grid", "getRowsResponse"),
    Output("partners-count", "children"),
    Input("partners-grid", "getRowsRequest"),
    State("partners-query", "data"),
    prevent_initial_call=True,
)
def serve_page(request: Any, stored: Any) -> tuple[dict[str, Any], str]:
    """One block of rows for the grid (sorted, filtered and searched on the server)."""
    query = _stored_query(stored)
    table = _table(query)
    grid = parse_grid_request(request)
    response = serve_rows(
        table,
        grid,
        columns=[*FIELDS, *ROW_EXTRAS],
        search=query.search,
        search_columns=SEARCH_COLUMNS,
        allowed=FIELDS,
        tiebreak="partner_id",
    )
    link_search = query.search_string()
    for row in response["rowData"]:
        row["business_name"] = _link(str(row["business_name"]), row["partner_id"], link_search)
    total = response["rowCount"]
    count = f"{total:,} partners".replace(",", " ")
    if query.search:
        count += f" matching “{query.search}”"
    if total == 0 and query.search:
        count = f"No partner matches “{query.search}”."
    return response, count


@callback(
    Output("partners-grid", "columnDefs"),
    Input("partners-columns", "value"),
)
def choose_columns(visible: Any) -> list[dict[str, Any]]:
    """Show the columns ticked in the column chooser."""
    chosen = [v for v in visible or [] if v in FIELDS] if isinstance(visible, list) else None
    return with_visible_columns(COLUMNS, chosen, locked=LOCKED)


@callback(
    Output("partners-download", "data"),
    Output("partners-export-result", "children"),
    Input("partners-export-csv", "n_clicks"),
    Input("partners-export-xlsx", "n_clicks"),
    State("partners-query", "data"),
    State("partners-grid", "getRowsRequest"),
    State("partners-columns", "value"),
    prevent_initial_call=True,
)
def export(
    csv_clicks: Any, xlsx_clicks: Any, stored: Any, request: Any, visible: Any
) -> tuple[Any, str]:
    """The grid as filtered, searched and sorted, in CSV or Excel, with the filters in the file;
    every export is recorded in the audit log."""
    formats: dict[str, Format] = {"partners-export-csv": "csv", "partners-export-xlsx": "xlsx"}
    fmt = formats.get(str(dash.ctx.triggered_id))
    if fmt is None or not (csv_clicks or xlsx_clicks):
        raise dash.exceptions.PreventUpdate
    if not current_role_can(PARTNER_TABLE.capability):
        return no_update, "Your role cannot export partner data."
    query = _stored_query(stored)
    grid = parse_grid_request(request)
    rows = select_rows(
        _table(query),
        grid,
        search=query.search,
        search_columns=SEARCH_COLUMNS,
        allowed=FIELDS,
        tiebreak="partner_id",
    )
    chosen = [v for v in visible if v in FIELDS] if isinstance(visible, list) else None
    fields = visible_fields(COLUMNS, chosen, locked=LOCKED)
    frame = export_frame(rows, fields)
    header = {
        **query.describe(),
        **sort_and_filter_lines(grid.sort_model, grid.filter_model, EXPORT_HEADERS),
    }
    with session_scope() as session:
        file = export_table(
            session,
            PARTNER_TABLE,
            frame,
            fmt=fmt,
            header=header,
            spec=query.params(),
            actor=current_user.username,
            role=current_role(),
        )
    data = dcc.send_bytes(file.content, file.filename, type=file.mime)
    return data, f"Exported {len(frame):,} partners.".replace(",", " ")

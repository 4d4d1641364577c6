"""Partner performance (``/partners``): who stays on the network.

Filters live in the URL query string (see ``components/partner_query.py``): changing one writes
the address through ``partners-url``, so a link reproduces the view and the back button
restores the previous one (Dash's router renders it from the address). A change made here
updates the page in place instead of having the router draw it anew (``components/in_place``):
the same charts are redrawn with the new figures and the same grid fetches its rows again.
Filter values that cannot be applied (a start date after the end date) are refused beside the
controls and the view stays as it was.

The layout carries the view's headline numbers and charts (drawn once, with the page; after a
filter change a callback recomputes them behind a loading overlay), and the grid pages, sorts,
filters and searches on the server (AG Grid's infinite row model): the browser only ever
receives the rows it shows. The grid opens by rank (best first,
unranked partners last); its sort and page are written into the address (replacing the
history entry, see ``components/partner_view.py``) and restored from it. The quick search and
the column filters narrow the list only, and say so; the line under the grid counts the list
against the cards' partner count. Exports contain exactly the grid's rows, in its order and
with its visible columns, and carry the filters.

Every number comes from ``data/partners.py``; this module never writes SQL.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

import dash
import pandas as pd
from dash import Input, Output, State, callback, clientside_callback, dcc, html, no_update
from flask_login import current_user

from components import export_bar, in_place, messages
from components.grid import (
    GridRequest,
    data_grid,
    follow_column_chooser,
    parse_grid_request,
    select_rows,
    serve_rows,
    visible_fields,
)
from components.grid_filter import filter_of_request, filter_param
from components.kpi import kpi_row
from components.partner_columns import (
    COLUMNS,
    EXPORT_HEADERS,
    FIELDS,
    HEADERS,
    LOCKED,
    PAGE_SIZE,
    ROW_EXTRAS,
    SEARCH_COLUMNS,
    export_frame,
)
from components.partner_figures import (
    Figure,
    graph_style,
    rating_vs_response,
    ratings_by_trade,
)
from components.partner_query import (
    DEFAULT_SORTS,
    FILTER_KEYS,
    PartnerQuery,
    controls_problem,
    filter_bar,
    query_from_controls,
    safe_partner_query,
)
from components.partner_view import (
    GRID_REFRESH_JS,
    LIST_STATE_JS,
    count_line,
    date_problem,
    headline_cards,
    loading,
    period_note,
    summary,
    toolbar,
)
from components.partner_view import controls_problem as controls_problem_line
from components.url_state import (
    MAX_SORT_COLUMNS,
    clean_params,
    parse_search,
    sort_param,
    to_search,
)
from data import partners as pdata
from data.db import read_connection, session_scope
from data.export import PARTNER_TABLE, export_table, sort_and_filter_lines
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

# --- helpers ----------------------------------------------------------------------------------


def _query(params: dict[str, str]) -> tuple[PartnerQuery, str | None, list[pdata.TradeRef]]:
    with read_connection() as conn:
        trades = pdata.trades(conn)
    query, problem = safe_partner_query(params, today=today(), trades=trades)
    return query, problem, trades


_view_locks: dict[pdata.PartnerFilters, threading.Lock] = {}
_view_locks_guard = threading.Lock()


def _table(query: PartnerQuery) -> pd.DataFrame:
    """The view's table. The cards and the grid ask for it at the same moment when a view
    opens: the second request waits for the first and takes its result from the cache instead
    of computing it again."""
    key = query.filters()
    with _view_locks_guard:
        if len(_view_locks) > 256:
            _view_locks.clear()  # an in-use lock dropped here only loses the sharing
        lock = _view_locks.setdefault(key, threading.Lock())
    with lock, read_connection() as conn:
        return pdata.partner_table(conn, key)


def _view_key(query: PartnerQuery) -> str:
    return hashlib.sha1(query.search_string().encode(), usedforsecurity=False).hexdigest()[:10]


def _grid_request(raw: object) -> GridRequest:
    """The grid's request; no order asked for means the default order (rank, best first)."""
    return parse_grid_request(raw).sorted_or(DEFAULT_SORTS)


def _list_sort(grid: GridRequest) -> tuple[tuple[str, bool], ...]:
    """The grid's sort as the address keeps it (columns it does not know are left out)."""
    sorts = tuple((c, d) for c, d in grid.sort_model if c in HEADERS)[:MAX_SORT_COLUMNS]
    return sorts or DEFAULT_SORTS


# --- layout -----------------------------------------------------------------------------------


def layout(**kwargs: Any) -> html.Div:
    params = clean_params(kwargs)
    query, problem, trades = _query(params)
    can_export = current_role_can(PARTNER_TABLE.capability)
    return html.Div(
        [
            dcc.Location(id="partners-url", refresh="callback-nav"),
            # the list's filters (the search included) and the view's (what the cards show)
            dcc.Store(id="partners-query", data=query.params()),
            dcc.Store(id="partners-view", data=query.params(with_search=False, with_list=False)),
            dcc.Store(id="partners-list-state"),
            dcc.Store(id="partners-grid-refresh"),
            html.H2("Partner performance", className="page-title"),
            html.P(period_note(query), className="text-muted", id="partners-period-label"),
            html.Div(
                messages.invalid_input(problem) if problem else None, id="partners-url-problem"
            ),
            filter_bar(PREFIX, query, trades, feedback=True),
            summary(*_view_parts(query)[:3]),
            toolbar(query.search, can_export),
            html.Div(export_bar.export_result("partners", "small"), className="mb-2"),
            # A view rendered by the router (Back, a link) gets a new grid under a new id, whose
            # first getRowsRequest asks for its rows (in the sort and on the page of the
            # address); a filter change refreshes the grid in place (GRID_REFRESH_JS).
            html.Div(
                loading(
                    "partners-grid-loading",
                    data_grid(
                        "partners-grid",
                        COLUMNS,
                        server_side=True,
                        page_size=PAGE_SIZE,
                        height="720px",
                        grid_options={
                            "tooltipShowDelay": 200,
                            "localeText": {
                                "noRowsToShow": "No partner matches the filters or the "
                                "search (see the line under the list)."
                            },
                        },
                        initial_sort=query.sort,
                        initial_filter=query.grid_filter,
                        initial_page=query.page,
                        column_size=None,  # fixed widths (components/partner_columns.py)
                    ),
                    {"partners-grid": "getRowsResponse"},
                    "Loading partners…",
                ),
                id=f"partners-gridbox-{_view_key(query)}",
            ),
            html.Div(id="partners-count", className="small mt-2", role="status"),
        ],
        id="partners-page",
    )


# --- callbacks --------------------------------------------------------------------------------


@callback(
    # the marker first: the router reads it when the new address arrives (components/in_place)
    Output(in_place.STORE_ID, "data", allow_duplicate=True),
    # the whole address, not only its query: the grid's sort and page replace the address
    # without telling partners-url, whose stale ``href`` would otherwise be pushed back
    Output("partners-url", "href"),
    Output("partners-query", "data"),
    Output("partners-view", "data"),
    Output("partners-filters-problem", "children"),
    Output("partners-from", "invalid"),
    Output("partners-to", "invalid"),
    Output("partners-url-problem", "children"),
    # the date fields show the period in force, editable only for a custom one
    Output("partners-from", "value"),
    Output("partners-to", "value"),
    Output("partners-from", "disabled"),
    Output("partners-to", "disabled"),
    Input("partners-period", "value"),
    Input("partners-from", "value"),
    Input("partners-to", "value"),
    Input("partners-trade", "value"),
    Input("partners-province", "value"),
    Input("partners-vetting", "value"),
    Input("partners-min-reviews", "value"),
    Input("partners-search", "value"),
    State("partners-query", "data"),
    State("partners-grid", "getRowsRequest"),
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
    request: Any,
) -> tuple[Any, ...]:
    """Write the filters into the address and update the page in place: the view's store
    (cards and charts, when the view changed) and the list's (the grid refreshes). Values that
    cannot be applied are explained beside the controls and the view stays as it is."""
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
    shown = _stored_query(current)
    unchanged = (no_update,) * 4
    if params is None:
        missing = "A custom period needs both a start and an end date."
        line = date_problem(missing, shown.period.label())
        return *unchanged, line, not start, not end, no_update, *unchanged
    trades = _trades()
    problem = controls_problem(params, today=today(), trades=trades)
    if problem is not None:
        message, dates = problem
        showing = shown.period.label()
        line = date_problem(message, showing) if dates else controls_problem_line(message, showing)
        return *unchanged, line, dates, dates, no_update, *unchanged
    stored = current if isinstance(current, dict) else {}
    if {k: v for k, v in stored.items() if k in FILTER_KEYS} == params:
        # (also when the router has just drawn the page: every control reports at once, and
        # Dash runs this callback because it writes the shell's marker)
        return *unchanged, None, False, False, no_update, *unchanged
    # a new view opens on its first page, in the list's current order and column filters
    grid = parse_grid_request(request) if request else None
    sort = _list_sort(grid) if grid else shown.sort
    columns = filter_of_request(grid.filter_model, HEADERS) if grid else shown.grid_filter
    search_ = to_search(
        {**params, "sort": sort_param(sort), "filter": filter_param(columns)},
        {"sort": sort_param(DEFAULT_SORTS)},
    )
    address = parse_search(search_)
    query = safe_partner_query(address, today=today(), trades=trades)[0]
    view = query.params(with_search=False, with_list=False)
    view_changed = view != shown.params(with_search=False, with_list=False)
    return (
        in_place.marker(__name__, address),
        f"/partners{search_}",
        query.params(),
        view if view_changed else no_update,
        None,
        False,
        False,
        None,
        query.period.start.isoformat(),
        query.period.end.isoformat(),
        query.period.preset != "custom",
        query.period.preset != "custom",
    )


def _trades() -> list[pdata.TradeRef]:
    with read_connection() as conn:
        return pdata.trades(conn)


def _stored_query(stored: object) -> PartnerQuery:
    """The view's filters from the Store, validated again (the browser can change it)."""
    params = {str(k): str(v) for k, v in stored.items()} if isinstance(stored, dict) else {}
    return _query(params)[0]


@callback(
    Output("partners-kpis", "children"),
    Output("partners-scatter", "figure"),
    Output("partners-by-trade", "figure"),
    Output("partners-by-trade", "style"),  # one row per trade: its height follows the filter
    Output("partners-period-label", "children"),
    Input("partners-view", "data"),
)
def show_view(stored: Any) -> tuple[Any, ...]:
    """Headline numbers and charts for the view after a filter change (every partner in it,
    whatever the list's search and column filters)."""
    query = _stored_query(stored)
    cards, scatter, by_trade = _view_parts(query)
    return kpi_row(cards), scatter, by_trade, graph_style(by_trade), period_note(query)


def _view_parts(query: PartnerQuery) -> tuple[list[Any], Figure, Figure]:
    """The view's headline cards and its two figures."""
    table = _table(query)
    with read_connection() as conn:
        by_trade = pdata.trade_ratings(
            conn, query.filters(), table, query.trade.id if query.trade else None
        )
    return (
        headline_cards(pdata.headline(table)),
        rating_vs_response(table),
        ratings_by_trade(by_trade),
    )


clientside_callback(
    GRID_REFRESH_JS,
    Output("partners-grid-refresh", "data"),
    Input("partners-query", "data"),
    prevent_initial_call=True,
)


@callback(
    Output("partners-grid", "getRowsResponse"),
    Output("partners-count", "children"),
    Input("partners-grid", "getRowsRequest"),
    State("partners-query", "data"),
    prevent_initial_call=True,
)
def serve_page(request: Any, stored: Any) -> tuple[dict[str, Any], Any]:
    """One block of rows for the grid (sorted, filtered and searched on the server), and the
    line that counts the list against the view."""
    query = _stored_query(stored)
    table = _table(query)
    grid = _grid_request(request)
    response = serve_rows(
        table,
        grid,
        columns=[*FIELDS, *ROW_EXTRAS],
        search=query.search,
        search_columns=SEARCH_COLUMNS,
        allowed=FIELDS,
        tiebreak="partner_id",
    )
    # the partner's page links back to this list as it is now (sort and page included)
    here = PartnerQuery(
        period=query.period,
        trade=query.trade,
        province=query.province,
        vetting=query.vetting,
        min_reviews=query.min_reviews,
        search=query.search,
        sort=_list_sort(grid),
        page=grid.page(PAGE_SIZE),
        grid_filter=filter_of_request(grid.filter_model, HEADERS),
    )
    link_search = here.search_string()
    for row in response["rowData"]:
        row["href"] = f"/partners/{row['partner_id']}{link_search}"
    filtered = [HEADERS[c] for c in grid.filtered_columns(FIELDS)]
    return response, count_line(response["rowCount"], len(table), query.search, filtered)


clientside_callback(
    LIST_STATE_JS,
    Output("partners-list-state", "data"),
    Input("partners-grid", "paginationInfo"),
    Input("partners-grid", "getRowsRequest"),
    prevent_initial_call=True,
)


follow_column_chooser("partners-columns", "partners-grid")


@callback(
    *export_bar.outputs("partners"),
    *export_bar.inputs("partners"),
    State("partners-query", "data"),
    State("partners-grid", "getRowsRequest"),
    State("partners-columns", "value"),
    prevent_initial_call=True,
    running=export_bar.running("partners"),
)
def export(
    csv_clicks: Any, xlsx_clicks: Any, stored: Any, request: Any, visible: Any
) -> tuple[Any, str]:
    """The grid as filtered, searched and sorted, in CSV or Excel, with the filters in the file;
    every export is recorded in the audit log."""
    fmt = export_bar.clicked_format("partners", (csv_clicks, xlsx_clicks))
    if not current_role_can(PARTNER_TABLE.capability):
        return no_update, "Your role cannot export partner data."
    query = _stored_query(stored)
    grid = _grid_request(request)
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
            spec=query.params(with_list=False),
            actor=current_user.username,
            role=current_role(),
        )
    return export_bar.send(file), f"Exported {len(frame):,} partners.".replace(",", " ")

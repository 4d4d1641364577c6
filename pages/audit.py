"""The audit log (``/audit``): every action by anyone, filterable, exportable.

Administrators and privacy officers read it; only administrators export it (``export_audit_log``
in ``data/roles.py``, checked again on the server in the export callback and in ``data.export``).
Nothing on this page writes to the log except the record of an export itself: the log is
append-only (``data.audit``; a PostgreSQL trigger refuses UPDATE and DELETE). Filters live in
the URL; the grid pages through the filtered entries on the server.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update
from flask_login import current_user

from components import export_bar, messages
from components.audit_details import readable_details
from components.grid import data_grid, parse_grid_request, to_records
from components.url_state import (
    PRESETS,
    BadQuery,
    clean_params,
    parse_date_range,
    parse_text,
    to_search,
)
from data import audit
from data.audit_queries import (
    ROW_CAP,
    AuditFilters,
    action_groups,
    audit_count,
    audit_entries,
    audit_facets,
    audit_page,
)
from data.db import read_connection, session_scope
from data.export import AUDIT_LOG, export_table
from data.timeutil import today
from guard import current_role, current_role_can

dash.register_page(
    __name__,
    path="/audit",
    name="Audit log",
    title="Audit log · Partner Operations",
    allowed_roles=["admin", "privacy_officer"],
    id_prefix="audit",
    nav_order=90,
)

# Newest first, paged in SQL: the filter bar filters, so the grid's own sort and column
# filters are off (they would need the whole filtered log in memory).
FIXED = {"sortable": False, "filter": False}
COLUMNS = [
    {"field": "at", "headerName": "Time (SAST)", "minWidth": 180, **FIXED},
    {"field": "actor", "headerName": "Actor", **FIXED},
    {"field": "action", "headerName": "Action", "minWidth": 220, **FIXED},
    {"field": "object_type", "headerName": "Object", **FIXED},
    {"field": "object_id", "headerName": "Object id", **FIXED},
    {"field": "details", "headerName": "Details", "minWidth": 380, **FIXED},
]
FIELDS = [c["field"] for c in COLUMNS]


def parse_filters(params: dict[str, str], day: date) -> AuditFilters:
    """Filters from the query string (or the page's store: both are untrusted)."""
    span = parse_date_range(params, today=day, default_preset="30d")
    return AuditFilters(
        start=span.start,
        end=span.end,
        actor=parse_text(params, "actor", label="actor", max_length=80) or None,
        action=parse_text(params, "action", label="action", max_length=60) or None,
        object_type=parse_text(params, "object_type", label="object type", max_length=40) or None,
        object_id=parse_text(params, "object_id", label="object id", max_length=40) or None,
    )


def _params(filters: AuditFilters, preset: str) -> dict[str, str]:
    out = {"period": preset}
    if preset == "custom":
        out.update({"from": filters.start.isoformat(), "to": filters.end.isoformat()})
    for key in ("actor", "action", "object_type", "object_id"):
        value = getattr(filters, key)
        if value:
            out[key] = value
    return out


def _dropdown(id_: str, values: list[str], value: str | None, placeholder: str) -> Any:
    return dcc.Dropdown(
        id=id_,
        options=[{"label": v, "value": v} for v in values],
        value=value,
        placeholder=placeholder,
    )


def layout(**query: str) -> html.Div:
    params = clean_params(query)
    day = today()
    problem = None
    try:
        filters = parse_filters(params, day)
        preset = params.get("period") or ("custom" if params.get("from") else "30d")
    except BadQuery as exc:
        problem = messages.invalid_input(f"{exc} Showing the last 30 days instead.")
        filters, preset = parse_filters({}, day), "30d"
    with read_connection() as conn:
        facets = audit_facets(conn)
        total = audit_count(conn, filters)
    can_export = current_role_can(AUDIT_LOG.capability)
    actions = action_groups(facets.actions) + facets.actions
    bar = html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(
                        dcc.Dropdown(
                            id="audit-period",
                            options=[{"label": v, "value": k} for k, v in PRESETS.items()],
                            value=preset,
                            clearable=False,
                        ),
                        md=2,
                    ),
                    dbc.Col(
                        dbc.Input(id="audit-from", type="date", value=filters.start.isoformat()),
                        md=2,
                    ),
                    dbc.Col(
                        dbc.Input(id="audit-to", type="date", value=filters.end.isoformat()), md=2
                    ),
                    dbc.Col(
                        _dropdown("audit-actor", facets.actors, filters.actor, "Any actor"), md=2
                    ),
                    dbc.Col(_dropdown("audit-action", actions, filters.action, "Any action"), md=2),
                    dbc.Col(
                        _dropdown(
                            "audit-object-type",
                            facets.object_types,
                            filters.object_type,
                            "Any object",
                        ),
                        md=1,
                    ),
                    dbc.Col(
                        dbc.Input(
                            id="audit-object-id",
                            value=filters.object_id or "",
                            placeholder="Object id",
                            maxLength=40,
                            debounce=True,
                        ),
                        md=1,
                    ),
                ],
                className="g-2",
            ),
            dbc.Button("Apply", id="audit-apply", color="primary", size="sm", className="mt-2"),
        ],
        className="filter-bar",
    )
    count = f"{total:,} entries".replace(",", " ")
    if total > ROW_CAP:
        count += f" (exports hold the newest {ROW_CAP:,})".replace(",", " ")
    export = (
        export_bar.export_bar("audit")
        if can_export
        else html.P(
            "Read-only: exports of the audit log are for administrators.",
            className="small text-muted",
            id="audit-read-only",
        )
    )
    return html.Div(
        [
            dcc.Location(id="audit-url", refresh="callback-nav"),
            dcc.Store(id="audit-filters", data=_params(filters, preset)),
            html.H2("Audit log", className="page-title"),
            html.P(
                "Every action in the console: logins, exports, downloads, privacy actions and "
                "user changes. Entries cannot be changed or deleted.",
                className="text-muted",
            ),
            problem,
            bar,
            html.Div(count, id="audit-count", className="mb-2"),
            export,
            data_grid("audit-grid", COLUMNS, server_side=True, page_size=50, height="640px"),
        ],
        id="audit-page",
    )


@callback(
    Output("audit-url", "search"),
    Input("audit-apply", "n_clicks"),
    State("audit-period", "value"),
    State("audit-from", "value"),
    State("audit-to", "value"),
    State("audit-actor", "value"),
    State("audit-action", "value"),
    State("audit-object-type", "value"),
    State("audit-object-id", "value"),
    prevent_initial_call=True,
)
def apply_filters(n_clicks, period, start, end, actor, action, object_type, object_id):
    if not n_clicks:
        raise dash.exceptions.PreventUpdate
    params: dict[str, Any] = {
        "period": period,
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
    }
    if period == "custom":
        params.update({"from": start, "to": end})
    safe = {k: v for k, v in params.items() if isinstance(v, str) and len(v) <= 80}
    return to_search(safe, defaults={"period": "30d"})


def _filters_from_store(raw: object) -> AuditFilters:
    params = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
    return parse_filters(params, today())


@callback(
    Output("audit-grid", "getRowsResponse"),
    Input("audit-grid", "getRowsRequest"),
    State("audit-filters", "data"),
    prevent_initial_call=True,
)
def serve_page(request, stored):
    try:
        filters = _filters_from_store(stored)
    except BadQuery:
        return {"rowData": [], "rowCount": 0}
    block = parse_grid_request(request)
    with read_connection() as conn:
        df = audit_page(conn, filters, block.start, block.end - block.start)
        total = audit_count(conn, filters)
    if not df.empty:
        df["details"] = df["details"].map(readable_details)
    if block.start == 0:  # once per opening or filter change, not per scrolled block
        audit.record_read(current_user.username, "audit.read", details={"rows_matching": total})
    return {"rowData": to_records(df[FIELDS]), "rowCount": total}


@callback(
    *export_bar.outputs("audit"),
    *export_bar.inputs("audit"),
    State("audit-filters", "data"),
    prevent_initial_call=True,
    running=export_bar.running("audit"),
)
def export(csv_clicks, xlsx_clicks, stored):
    """Admins only (privacy officers read the log but do not export it); the export is logged
    with its filters."""
    fmt = export_bar.clicked_format("audit", (csv_clicks, xlsx_clicks))
    if not current_role_can(AUDIT_LOG.capability):
        return no_update, "Only administrators can export the audit log."
    try:
        filters = _filters_from_store(stored)
    except BadQuery as exc:
        return no_update, str(exc)
    with read_connection() as conn:
        df = audit_entries(conn, filters, cap=ROW_CAP)
    with session_scope() as session:
        file = export_table(
            session,
            AUDIT_LOG,
            df,
            fmt=fmt,
            header=filters.describe(),
            actor=current_user.username,
            role=current_role(),
        )
    return export_bar.send(file), f"Exported {len(df)} entries."

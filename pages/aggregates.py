"""De-identified aggregates (``/aggregates``): counts and shares for marketing partners.

The only page marketing opens besides the overview, and nothing personal reaches it: every
number comes from ``data.aggregates`` (fixed categories, k rule, complementary suppression),
the chart from ``components.aggregate_figures`` and the pieces of the layout from
``components.aggregates_view``. The choice lives in the address: "Apply" writes it there and
the router draws the page anew; the export buttons send exactly the table shown, through the
ledger (differencing refusal) and the audit log. This module never writes SQL.
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update
from flask_login import current_user

from components import messages
from components.aggregate_figures import aggregate_chart
from components.aggregates_view import (
    Choice,
    choice_to_query,
    controls,
    default_choice,
    export_bar,
    query_to_choice,
    report_panel,
    table_grid,
)
from components.partner_figures import graph
from components.url_state import BadQuery, clean_params, to_search
from data.aggregates.dimensions import DIMENSIONS, MEASURES, BadSpec
from data.aggregates.exporting import crosstab, export_aggregates
from data.aggregates.table import Refused, Spec, build_table, configured_k, make_spec, parse_month
from data.db import session_scope
from data.export import ExportNotAllowed
from data.timeutil import today
from guard import current_role, current_role_can

dash.register_page(
    __name__,
    path="/aggregates",
    name="Aggregates",
    title="Aggregates · Partner Operations",
    allowed_roles=["admin", "marketing"],
    id_prefix="aggregates",
    nav_order=60,
)

CAPABILITY = "view_aggregates"
EXPORT_CAPABILITY = "export_aggregates"
DIM_LABELS = {k: d.label for k, d in DIMENSIONS.items()}
MEASURE_LABELS = {k: m.label for k, m in MEASURES.items()}


def _spec(choice: Choice, k: int) -> Spec:
    return make_spec(
        choice.dims,
        choice.measure,
        parse_month(choice.first, "From"),
        parse_month(choice.last, "To"),
        k,
        rounded=choice.rounded,
    )


def layout(**query: str) -> html.Div:
    if not current_role_can(CAPABILITY):  # the guard refused already; defence in depth
        return messages.forbidden()
    problem = None
    try:
        choice = query_to_choice(clean_params(query), today())
        with session_scope() as session:
            spec = _spec(choice, configured_k(session))
            table = build_table(session, spec)
    except (BadQuery, BadSpec, Refused) as exc:
        problem = messages.invalid_input(f"{exc} Showing the default table instead.")
        choice = default_choice(today())
        with session_scope() as session:
            spec = _spec(choice, configured_k(session))
            table = build_table(session, spec)
    labels = [DIM_LABELS[d] for d in spec.dims]
    measure = MEASURES[spec.measure]
    chart = aggregate_chart(table.frame, spec.dims, labels, measure.label, measure.kind)
    return html.Div(
        [
            dcc.Location(id="aggregates-url", refresh="callback-nav"),
            dcc.Store(id="aggregates-choice", data=choice_to_query(choice)),
            html.H2("De-identified aggregates", className="page-title"),
            html.P(
                f"Counts and shares over fixed categories. Every released cell covers at least "
                f"k = {spec.k} homeowners; smaller cells, and enough others that none can be "
                "worked out from the totals, are hidden. Erased homeowners and those who "
                "objected to processing are not counted.",
                className="text-muted",
            ),
            problem,
            controls(choice, DIM_LABELS, MEASURE_LABELS),
            dbc.Row(
                [
                    dbc.Col(table_grid(crosstab(table)), lg=7),
                    dbc.Col(graph("aggregates-chart", chart), lg=5),
                ],
                className="g-3 mt-2",
            ),
            export_bar() if current_role_can(EXPORT_CAPABILITY) else None,
            report_panel(
                table.report.lines(spec),
                f"{table.report.generated_at:%Y-%m-%d %H:%M} UTC",
                table.report.audited,
            ),
        ],
        id="aggregates-page",
    )


@callback(
    Output("aggregates-url", "search"),
    Output("aggregates-problem", "children"),
    Input("aggregates-apply", "n_clicks"),
    State("aggregates-dim-1", "value"),
    State("aggregates-dim-2", "value"),
    State("aggregates-dim-3", "value"),
    State("aggregates-measure", "value"),
    State("aggregates-from", "value"),
    State("aggregates-to", "value"),
    State("aggregates-round", "value"),
    prevent_initial_call=True,
)
def apply_choice(n_clicks, dim1, dim2, dim3, measure, first, last, rounded):
    """Check the choice and write it into the address (the router then draws the page)."""
    if not n_clicks:
        raise dash.exceptions.PreventUpdate
    if not current_role_can(CAPABILITY):
        return no_update, "Not allowed."
    dims = tuple(d for d in (dim1, dim2, dim3) if isinstance(d, str) and d)
    choice = Choice(dims, str(measure or ""), str(first or ""), str(last or ""), bool(rounded))
    try:
        _spec(choice, 10)  # validity only; k comes from the settings when the page draws
    except (BadSpec, Refused) as exc:
        return no_update, str(exc)
    return to_search(choice_to_query(choice)), ""


@callback(
    Output("aggregates-download", "data"),
    Output("aggregates-export-result", "children"),
    Input("aggregates-export-csv", "n_clicks"),
    Input("aggregates-export-xlsx", "n_clicks"),
    State("aggregates-choice", "data"),
    prevent_initial_call=True,
)
def export(csv_clicks, xlsx_clicks, stored):
    """The table on the page as a file: ledger, differencing refusal and audit entry."""
    fmt = {"aggregates-export-csv": "csv", "aggregates-export-xlsx": "xlsx"}.get(
        str(dash.ctx.triggered_id)
    )
    if fmt is None or not (csv_clicks or xlsx_clicks):
        raise dash.exceptions.PreventUpdate
    if not current_role_can(EXPORT_CAPABILITY):
        return no_update, "Not allowed to export aggregates."
    try:
        choice = query_to_choice(clean_params(stored if isinstance(stored, dict) else {}), today())
        with session_scope() as session:
            spec = _spec(choice, configured_k(session))
            file = export_aggregates(
                session, spec, fmt=fmt, actor=current_user.username, role=current_role()
            )
    except (BadQuery, BadSpec) as exc:
        return no_update, dbc.Alert(str(exc), color="warning", className="py-2")
    except Refused as exc:
        return no_update, dbc.Alert(str(exc), color="danger", id="aggregates-refused")
    except ExportNotAllowed:
        return no_update, "Not allowed to export aggregates."
    data = dcc.send_bytes(file.content, file.filename, type=file.mime)
    return data, f"Exported {file.filename}."

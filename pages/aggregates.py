"""De-identified aggregates (``/aggregates``): counts and shares for marketing partners.

The only page marketing opens besides the overview, and nothing personal reaches it: every
number comes from ``data.aggregates`` (fixed categories, k rule, complementary suppression),
the chart from ``components.aggregate_figures`` and the pieces of the layout from
``components.aggregates_view``. The choice lives in the address: "Apply" writes it there and
the router draws the page anew; the export buttons send exactly the table shown, through the
ledger (differencing refusal) and the audit log. In the differentially private mode
(``data.aggregates.private``) the page shows the report and the year's budget but no counts:
they are drawn once, into the exported file. This module never writes SQL.
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update
from flask_login import current_user

from components import export_bar, messages
from components.aggregate_figures import aggregate_chart
from components.aggregates_view import (
    Choice,
    choice_to_query,
    controls,
    default_choice,
    private_panel,
    query_to_choice,
    report_panel,
    table_grid,
)
from components.partner_figures import graph
from components.url_state import BadQuery, clean_params, to_search
from data.aggregates.dimensions import DIMENSIONS, MEASURES, BadSpec
from data.aggregates.exporting import crosstab, export_aggregates
from data.aggregates.private import (
    budget,
    check_epsilon,
    check_private_spec,
    default_epsilon,
    report_lines,
)
from data.aggregates.table import Refused, Spec, build_table, configured_k, make_spec, parse_month
from data.db import session_scope
from data.export import ExportNotAllowed
from data.timeutil import today, utcnow
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
PREFIX = "aggregates"


def _export_bar() -> html.Div:
    """Under the table: a refusal (differencing, budget) needs the room of an alert."""
    return export_bar.export_bar(PREFIX, result_class=export_bar.BELOW)


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


def _epsilon(choice: Choice) -> float | None:
    """The private mode's ε (None: exact counts); a :class:`BadSpec` when malformed, out of
    bounds, or asked for a share, an average or rounding."""
    if not choice.epsilon:
        return None
    try:
        value = float(choice.epsilon)
    except ValueError:
        raise BadSpec(f"ε must be a number (got {choice.epsilon[:12]!r}).") from None
    return check_epsilon(value)


def _private_view(spec: Spec, epsilon: float) -> list:
    with session_scope() as session:
        year = budget(session, utcnow())
    return [private_panel(report_lines(spec, epsilon, year), epsilon > year.remaining)]


def _exact_view(spec: Spec) -> list:
    """The k-suppressed table: cross-tab, chart, export buttons and the disclosure report."""
    with session_scope() as session:
        table = build_table(session, spec)
    labels = [DIM_LABELS[d] for d in spec.dims]
    measure = MEASURES[spec.measure]
    chart = aggregate_chart(table.frame, spec.dims, labels, measure.label, measure.kind)
    return [
        dbc.Row(
            [
                dbc.Col(table_grid(crosstab(table)), lg=7),
                dbc.Col(graph("aggregates-chart", chart), lg=5),
            ],
            className="g-3 mt-2",
        ),
        _export_bar() if current_role_can(EXPORT_CAPABILITY) else None,
        report_panel(
            table.report.lines(spec),
            f"{table.report.generated_at:%Y-%m-%d %H:%M} UTC",
            table.report.audited,
        ),
    ]


def _view(choice: Choice) -> list:
    """The table part of the page for a choice; raises when the choice is refused."""
    with session_scope() as session:
        spec = _spec(choice, configured_k(session))
    epsilon = _epsilon(choice)
    if epsilon is None:
        return _exact_view(spec)
    check_private_spec(spec)
    export = [_export_bar()] if current_role_can(EXPORT_CAPABILITY) else []
    return [*_private_view(spec, epsilon), *export]


def layout(**query: str) -> html.Div:
    if not current_role_can(CAPABILITY):  # the guard refused already; defence in depth
        return messages.forbidden()
    problem = None
    try:
        choice = query_to_choice(clean_params(query), today())
        view = _view(choice)
    except (BadQuery, BadSpec, Refused) as exc:
        problem = messages.invalid_input(f"{exc} Showing the default table instead.")
        choice = default_choice(today())
        view = _view(choice)
    with session_scope() as session:
        k, fallback_epsilon = configured_k(session), default_epsilon(session)
    return html.Div(
        [
            dcc.Location(id="aggregates-url", refresh="callback-nav"),
            dcc.Store(id="aggregates-choice", data=choice_to_query(choice)),
            html.H2("De-identified aggregates", className="page-title"),
            html.P(
                (
                    "Counts over fixed categories with noise from OpenDP (differential "
                    "privacy): no cell is hidden; the noise protects every homeowner. "
                    if choice.epsilon
                    else f"Counts and shares over fixed categories. Every released cell covers "
                    f"at least k = {k} homeowners; smaller cells, and enough others that none "
                    "can be worked out from the totals, are hidden. "
                )
                + "Erased homeowners and those who objected to processing are not counted.",
                className="text-muted",
            ),
            problem,
            controls(choice, DIM_LABELS, MEASURE_LABELS, fallback_epsilon),
            *view,
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
    State("aggregates-dp", "value"),
    State("aggregates-epsilon", "value"),
    prevent_initial_call=True,
)
def apply_choice(n_clicks, dim1, dim2, dim3, measure, first, last, rounded, private, epsilon):
    """Check the choice and write it into the address (the router then draws the page)."""
    if not n_clicks:
        raise dash.exceptions.PreventUpdate
    if not current_role_can(CAPABILITY):
        return no_update, "Not allowed."
    dims = tuple(d for d in (dim1, dim2, dim3) if isinstance(d, str) and d)
    chosen_epsilon = str(epsilon if epsilon is not None else "").strip()[:12] if private else ""
    if private and not chosen_epsilon:
        return no_update, "Give ε for differentially private counts."
    choice = Choice(
        dims,
        str(measure or ""),
        str(first or ""),
        str(last or ""),
        bool(rounded),
        chosen_epsilon,
    )
    try:
        spec = _spec(choice, 10)  # validity only; k comes from the settings when the page draws
        if _epsilon(choice) is not None:
            check_private_spec(spec)
    except (BadSpec, Refused) as exc:
        return no_update, str(exc)
    return to_search(choice_to_query(choice)), ""


@callback(
    *export_bar.outputs(PREFIX),
    *export_bar.inputs(PREFIX),
    State("aggregates-choice", "data"),
    prevent_initial_call=True,
    running=export_bar.running(PREFIX),
)
def export(csv_clicks, xlsx_clicks, stored):
    """The table on the page as a file: ledger, differencing refusal and audit entry."""
    fmt = export_bar.clicked_format(PREFIX, (csv_clicks, xlsx_clicks))
    if not current_role_can(EXPORT_CAPABILITY):
        return no_update, "Not allowed to export aggregates."
    try:
        choice = query_to_choice(clean_params(stored if isinstance(stored, dict) else {}), today())
        with session_scope() as session:
            spec = _spec(choice, configured_k(session))
            file = export_aggregates(
                session,
                spec,
                fmt=fmt,
                actor=current_user.username,
                role=current_role(),
                epsilon=_epsilon(choice),
            )
    except (BadQuery, BadSpec) as exc:
        return no_update, dbc.Alert(str(exc), color="warning", className="py-2")
    except Refused as exc:
        return no_update, dbc.Alert(str(exc), color="danger", id="aggregates-refused")
    except ExportNotAllowed:
        return no_update, "Not allowed to export aggregates."
    return export_bar.send(file), f"Exported {file.filename}."

"""Layout pieces of the aggregates page (pure: values in, Dash components out; no database).

The filters (dimensions, measure, months) live in the URL: :func:`params_to_query` and
:func:`query_to_params` translate between the address and the page's choices, with
``components.url_state`` doing the reading and writing. The table is a cross-tab in an AG Grid
with hidden cells shown as ``x`` on a grey ground; the disclosure report sits under it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from components.grid import data_grid

HIDDEN_MARK = "x"
DEFAULT_DIMS = ("province", "age_band")
DEFAULT_MEASURE = "homeowners"
HIDDEN_STYLE = {"backgroundColor": "#e9ecef", "color": "#6c757d", "fontStyle": "italic"}


@dataclass(frozen=True)
class Choice:
    """What the address asks for (not yet validated against the disclosure rules)."""

    dims: tuple[str, ...]
    measure: str
    first: str  # YYYY-MM
    last: str
    rounded: bool
    epsilon: str = ""  # differentially private mode with this ε; empty: exact counts


def default_choice(today: date) -> Choice:
    """Province × age band, homeowners, the whole of last year."""
    year = today.year - 1
    return Choice(DEFAULT_DIMS, DEFAULT_MEASURE, f"{year}-01", f"{year}-12", False)


def query_to_choice(params: Mapping[str, str], today: date) -> Choice:
    base = default_choice(today)
    dims = tuple(d.strip() for d in params.get("dims", "").split(",") if d.strip())
    return Choice(
        dims or base.dims,
        params.get("measure", "").strip() or base.measure,
        params.get("from", "").strip() or base.first,
        params.get("to", "").strip() or base.last,
        params.get("round", "") == "5",
        params.get("dp", "").strip(),
    )


def choice_to_query(choice: Choice) -> dict[str, str]:
    return {
        "dims": ",".join(choice.dims),
        "measure": choice.measure,
        "from": choice.first,
        "to": choice.last,
        "round": "5" if choice.rounded else "",
        "dp": choice.epsilon,
    }


def controls(
    choice: Choice,
    dimensions: Mapping[str, str],
    measures: Mapping[str, str],
    default_epsilon: float,
) -> html.Div:
    """Up to three dimension pickers, the measure, the months, base-5 rounding and the
    differentially private mode with its ε (``default_epsilon`` when the choice has none)."""
    dim_options = [{"label": label, "value": key} for key, label in dimensions.items()]
    picked = [*choice.dims, None, None][:3]
    pickers = [
        dbc.Col(
            dcc.Dropdown(
                id=f"aggregates-dim-{i + 1}",
                options=dim_options,
                value=value,
                clearable=i > 0,
                placeholder="(none)" if i else "Dimension",
            ),
            md=2,
        )
        for i, value in enumerate(picked)
    ]
    return html.Div(
        [
            dbc.Row(
                [
                    *pickers,
                    dbc.Col(
                        dcc.Dropdown(
                            id="aggregates-measure",
                            options=[{"label": v, "value": k} for k, v in measures.items()],
                            value=choice.measure,
                            clearable=False,
                        ),
                        md=2,
                    ),
                    dbc.Col(
                        dbc.Input(id="aggregates-from", type="month", value=choice.first), md=2
                    ),
                    dbc.Col(dbc.Input(id="aggregates-to", type="month", value=choice.last), md=2),
                ],
                className="g-2",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Checkbox(
                            id="aggregates-round",
                            label="Round counts to base 5",
                            value=choice.rounded,
                        ),
                        width="auto",
                    ),
                    dbc.Col(
                        dbc.Checkbox(
                            id="aggregates-dp",
                            label="Differentially private counts, ε =",
                            value=bool(choice.epsilon),
                        ),
                        width="auto",
                    ),
                    dbc.Col(
                        dbc.Input(
                            id="aggregates-epsilon",
                            type="number",
                            min=0,
                            step=0.05,
                            size="sm",
                            value=choice.epsilon or f"{default_epsilon:g}",
                            style={"width": "6rem"},
                        ),
                        width="auto",
                    ),
                    dbc.Col(
                        dbc.Button("Apply", id="aggregates-apply", color="primary", size="sm"),
                        width="auto",
                    ),
                    dbc.Col(html.Span(id="aggregates-problem", className="text-danger small")),
                ],
                className="g-2 mt-1 align-items-center",
            ),
        ],
        className="filter-bar",
    )


def table_grid(crosstab: pd.DataFrame) -> Any:
    """The cross-tab in a grid; fields are positional (category names may hold dots)."""
    fields = [f"c{i}" for i in range(len(crosstab.columns))]
    hidden = {"styleConditions": [{"condition": "params.value === 'x'", "style": HIDDEN_STYLE}]}
    columns = [
        # no type inference: a numeric column would show the hidden mark as "Invalid Number"
        {
            "field": f,
            "headerName": str(name),
            "cellStyle": hidden,
            "sortable": False,
            "cellDataType": False,
        }
        for f, name in zip(fields, crosstab.columns, strict=True)
    ]
    rows = [
        {f: ("" if pd.isna(v) else v) for f, v in zip(fields, record, strict=True)}
        for record in crosstab.itertuples(index=False)
    ]
    for r in rows:  # numbers as plain Python numbers (JSON)
        for f, v in r.items():
            if hasattr(v, "item"):
                r[f] = v.item()
    return data_grid(
        "aggregates-grid",
        columns,
        row_data=rows,
        page_size=100,
        height=f"{min(640, 90 + 42 * max(1, len(rows)))}px",
    )


def report_panel(lines: Mapping[str, str], generated: str, audited: bool) -> html.Div:
    """The disclosure report: k, suppressed cells, their share of the population, the time."""
    items = [html.Tr([html.Th(k, className="fw-normal"), html.Td(v)]) for k, v in lines.items()]
    items.append(html.Tr([html.Th("generated", className="fw-normal"), html.Td(generated)]))
    note = (
        "Checked by solving the linear system the margins give: no hidden value can be derived."
        if audited
        else "Large table: protected by construction (hypercube suppression)."
    )
    return html.Div(
        [
            html.H5("Disclosure report"),
            dbc.Table(html.Tbody(items), size="sm", className="w-auto", id="aggregates-report"),
            html.P(
                [
                    html.Span(HIDDEN_MARK, style=HIDDEN_STYLE, className="px-1"),
                    " = suppressed (fewer than k homeowners, or hidden so that such a cell cannot "
                    "be worked out). ",
                    note,
                ],
                className="small text-muted",
            ),
        ]
    )


def private_panel(lines: Mapping[str, str], over_budget: bool) -> html.Div:
    """The differentially private mode's report (mechanism, ε, the year's budget). The page
    shows no counts in this mode: every draw of noisy counts spends budget, so they are drawn
    once, into the exported file."""
    items = [html.Tr([html.Th(k, className="fw-normal"), html.Td(v)]) for k, v in lines.items()]
    return html.Div(
        [
            dbc.Alert(
                "Differentially private mode: the noisy counts are drawn when you export, and "
                "each export spends its ε from the organisation's yearly privacy budget. "
                "Viewing them here would spend it again, so the page shows none.",
                color="info",
                className="py-2",
            ),
            dbc.Alert(
                "ε is more than what remains of this year's budget: an export would be refused.",
                color="warning",
                className="py-2",
                id="aggregates-over-budget",
            )
            if over_budget
            else None,
            html.H5("Disclosure report"),
            dbc.Table(html.Tbody(items), size="sm", className="w-auto", id="aggregates-report"),
        ]
    )

"""The privacy queue page's pieces: the summary above the queue, the filter bar and the grid.

Pure layout from what ``data.privacy.queue`` returned (masked identifiers only).
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from components.grid import data_grid, to_records
from components.kpi import alert_class, fmt_int, kpi_card, kpi_row
from components.privacy_common import STATUS_LABELS, humanise, options, simple_table

STATUS_FILTER_LABELS = {
    "open": "Open (default)",
    "closed": "Closed",
    "all": "All",
    **STATUS_LABELS,
}

QUEUE_COLUMNS: list[dict[str, Any]] = [
    {
        "field": "link",
        "headerName": "Request",
        "cellRenderer": "markdown",
        "width": 110,
        "filter": False,
        "sortable": False,
    },
    {"field": "type", "headerName": "Type"},
    {"field": "subject", "headerName": "Subject (masked)", "minWidth": 260},
    {"field": "matched", "headerName": "Matched record"},
    {"field": "received", "headerName": "Received"},
    {"field": "due", "headerName": "Due"},
    {
        "field": "days_label",
        "headerName": "Days left",
        "cellClassRules": {
            "days-green": "params.data.days_class === 'days-green'",
            "days-amber": "params.data.days_class === 'days-amber'",
            "days-red": "params.data.days_class === 'days-red'",
            "days-overdue": "params.data.days_class === 'days-overdue'",
        },
    },
    {"field": "status", "headerName": "Status"},
    {"field": "assignee", "headerName": "Assignee"},
    {"field": "extended", "headerName": "Extended"},
    {"field": "deemed_refusal", "headerName": "Deemed refusal"},
]


def queue_grid(df: pd.DataFrame) -> Any:
    """The queue as an AG Grid (client-side: the queue is small and already filtered)."""
    return data_grid(
        "privacy-queue-grid",
        QUEUE_COLUMNS,
        row_data=queue_rows(df),
        row_id_field="id",
        height="560px",
    )


def queue_rows(df: pd.DataFrame) -> list[dict[str, Any]]:
    """The grid's rows (also sent alone when the live queue refreshes)."""
    rows = df.copy()
    rows["link"] = [f"[#{i}](/privacy/{i})" for i in rows["id"]]
    rows["type"] = rows["type"].map(humanise)
    rows["status"] = rows["status"].map(lambda s: STATUS_LABELS.get(s, humanise(s)))
    rows["extended"] = rows["extended"].map(lambda v: "yes" if v else "")
    rows["deemed_refusal"] = rows["deemed_refusal"].map(lambda v: "DEEMED REFUSAL" if v else "")
    return to_records(rows)


def summary_panel(summary: Any, today: Any) -> html.Div:
    """Open requests by type and age, median days to close, overdue and deemed refusals."""
    ages = summary.open_by_type_age.reset_index()
    ages = ages[ages["total"] > 0]
    age_rows = [{**row, "type": humanise(row["type"])} for row in ages.to_dict("records")]
    age_columns = [("type", "Type")] + [(c, c) for c in ages.columns if c not in ("type",)]
    medians = summary.median_days_to_close
    median_rows = [
        {**row, "type": humanise(row["type"])}
        for row in medians[medians["closed"] > 0].to_dict("records")
    ]
    refusals = [
        {**row, "id": dcc.Link(f"#{row['id']}", href=f"/privacy/{row['id']}")}
        for row in summary.deemed_refusals.to_dict("records")
    ]
    return html.Div(
        [
            kpi_row(
                [
                    kpi_card("Open requests", fmt_int(summary.open_total), id_="privacy-kpi-open"),
                    kpi_card(
                        "Overdue",
                        fmt_int(summary.overdue),
                        "past their due date",
                        id_="privacy-kpi-overdue",
                        note_class=alert_class(summary.overdue > 0),
                    ),
                    kpi_card(
                        "Deemed refusals",
                        fmt_int(len(summary.deemed_refusals)),
                        "open access requests past due (PAIA s58)",
                        id_="privacy-kpi-deemed",
                        note_class="text-danger" if len(summary.deemed_refusals) else "text-muted",
                    ),
                ]
            ),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Card(
                            [
                                dbc.CardHeader("Open requests by type and age"),
                                dbc.CardBody(
                                    simple_table(
                                        age_rows,
                                        age_columns,
                                        id_="privacy-summary-ages",
                                        empty="No open requests.",
                                    )
                                ),
                            ],
                            className="h-100 shadow-sm",
                        ),
                        lg=6,
                        className="mb-3",
                    ),
                    dbc.Col(
                        dbc.Card(
                            [
                                dbc.CardHeader("Median days to close, last 12 months"),
                                dbc.CardBody(
                                    simple_table(
                                        median_rows,
                                        [
                                            ("type", "Type"),
                                            ("closed", "Closed"),
                                            ("median_days", "Median days"),
                                        ],
                                        id_="privacy-summary-medians",
                                        empty="Nothing closed in the last 12 months.",
                                    )
                                ),
                            ],
                            className="h-100 shadow-sm",
                        ),
                        lg=6,
                        className="mb-3",
                    ),
                ]
            ),
            dbc.Card(
                [
                    dbc.CardHeader("Deemed refusals: open access requests past their due date"),
                    dbc.CardBody(
                        simple_table(
                            refusals,
                            [
                                ("id", "Request"),
                                ("subject", "Subject (masked)"),
                                ("received", "Received"),
                                ("due", "Due"),
                                ("days_overdue", "Days overdue"),
                                ("assignee", "Assignee"),
                            ],
                            id_="privacy-summary-deemed",
                            empty="None: every access request is answered on time.",
                        )
                    ),
                ],
                className="mb-3 shadow-sm",
                color="danger" if refusals else None,
                outline=True,
            ),
        ],
        id="privacy-summary",
    )


def filter_bar(values: dict[str, Any], assignees: list[tuple[int, str]], types: Any) -> html.Div:
    """Type, status, assignee, overdue and due-this-week; the page writes them to the URL."""
    assignee_options = [{"label": "Unassigned", "value": "none"}] + [
        {"label": name, "value": str(uid)} for uid, name in assignees
    ]
    flags = [v for v in ("overdue", "due_week") if values.get(v)]
    return html.Div(
        dbc.Row(
            [
                dbc.Col(
                    dcc.Dropdown(
                        id="privacy-filter-type",
                        options=options(types),
                        value=values.get("type"),
                        placeholder="Any type",
                    ),
                    md=3,
                ),
                dbc.Col(
                    dcc.Dropdown(
                        id="privacy-filter-status",
                        options=options(STATUS_FILTER_LABELS),
                        value=values.get("status") or "open",
                        clearable=False,
                    ),
                    md=3,
                ),
                dbc.Col(
                    dcc.Dropdown(
                        id="privacy-filter-assignee",
                        options=assignee_options,
                        value=values.get("assignee"),
                        placeholder="Any assignee",
                    ),
                    md=2,
                ),
                dbc.Col(
                    dbc.Checklist(
                        id="privacy-filter-flags",
                        options=[
                            {"label": "Overdue", "value": "overdue"},
                            {"label": "Due this week", "value": "due_week"},
                        ],
                        value=flags,
                        inline=True,
                        switch=True,
                    ),
                    md=4,
                    className="d-flex align-items-center",
                ),
            ],
            className="g-2",
        ),
        className="filter-bar",
    )

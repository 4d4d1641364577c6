"""The compliance monitor's violation list as a table (pure layout, no database).

One table for both lists: the people page's (privacy officers and admins: with the subject of
each violation) and the consent page's (managers too: without it, ``data.compliance.monitor.
violation_records``). A column is shown when the frame has it, so the manager's table is the
same component with the subject column absent rather than emptied.
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import html

from data.timeutil import sa_text


def _record(row: Any) -> str:
    number = row.object_id
    return f"{row.object_type} #{int(number)}" if pd.notna(number) else f"a {row.object_type}"


def _subject(row: Any) -> str:
    if row.subject_type and pd.notna(row.subject_id):
        return f"{row.subject_type} #{int(row.subject_id)}"
    return "–"


def violations_table(df: pd.DataFrame, id_prefix: str) -> Any:
    """``<id_prefix>-violation-table``, or ``<id_prefix>-no-violations`` when there are none.

    The record's number is left out where the frame has none (a record that is a person)."""
    if df.empty:
        return html.P(
            "No violations of this rule.",
            className="text-muted small",
            id=f"{id_prefix}-no-violations",
        )
    with_subject = "subject_type" in df.columns
    headers = ["when", *(["subject"] if with_subject else []), "record", "detail"]
    rows = [
        html.Tr(
            [
                html.Td(sa_text(pd.Timestamp(r.at).to_pydatetime())),
                *([html.Td(_subject(r))] if with_subject else []),
                html.Td(_record(r)),
                html.Td(str(r.detail)),
            ]
        )
        for r in df.itertuples()
    ]
    return dbc.Table(
        [html.Thead(html.Tr([html.Th(h) for h in headers])), html.Tbody(rows)],
        size="sm",
        className="small",
        id=f"{id_prefix}-violation-table",
    )

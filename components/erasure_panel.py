"""The erasure card of the request page: the preview, the typed confirmation, the receipt.

Erasure is the one action that cannot be undone, so it follows the console's "show, then
confirm" rule (``components.actions``) more strictly than the others: the preview lists every
table with what will happen to how many rows, blockers are shown instead of a button, and the
erase button acts only with the request number typed beside it (checked again on the server).
After the erasure the card shows the receipt from the audit log: counts and column names only.

Pure layout; every id starts with ``privacy-request-`` (the page's prefix, used by the guard).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.actions import button_with_result
from data.timeutil import sa_text

P = "privacy-request"
ACTION_WORDS = {
    "delete": "deleted",
    "de-identify": "kept, de-identified",
    "keep": "kept as they are",
}


def _erased_at(value: Any) -> str:
    """The receipt's ``erased_at`` (ISO text of a UTC instant) as staff read times."""
    try:
        return sa_text(datetime.fromisoformat(str(value)))
    except ValueError:
        return "–"


def _plan_table(rows: list[tuple[str, str, int, str]], table_id: str) -> dbc.Table:
    return dbc.Table(
        [
            html.Thead(html.Tr([html.Th("table"), html.Th("rows"), html.Th("what happens")])),
            html.Tbody(
                [
                    html.Tr([html.Td(t), html.Td(f"{n:,}"), html.Td(f"{ACTION_WORDS[a]}{f}")])
                    for t, a, n, f in rows
                ]
            ),
        ],
        id=table_id,
        size="sm",
        className="small mb-2",
    )


WRAP = {"overflowWrap": "anywhere"}  # long email addresses break rather than widen the card


def recipients_view(contacts: Any, table_id: str) -> html.Div:
    """The partners that received the subject's details and must be told (POPIA s24(3)),
    with a link to each partner's page; a sentence when there are none."""
    if not contacts:
        return html.P(
            "No partner received this person's details: nobody to tell.",
            id=table_id,
            className="small",
        )
    rows = [
        html.Tr(
            [
                html.Td(
                    [
                        dcc.Link(c.business_name, href=f"/partners/{c.partner_id}"),
                        html.Div(f"{c.email} · {c.phone}", className="text-muted", style=WRAP),
                    ]
                ),
                html.Td(f"{c.shares:,}", className="text-end"),
                html.Td(
                    c.first_shared
                    if c.first_shared == c.last_shared
                    else [c.first_shared, html.Br(), c.last_shared],
                    className="text-nowrap",
                ),
            ]
        )
        for c in contacts
    ]
    head = ["partner and contact", "leads", "received"]
    return html.Div(
        [
            html.Div(
                f"Partners to tell ({len(contacts)}): they received this person's details.",
                className="fw-semibold small",
            ),
            dbc.Table(
                [html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(rows)],
                id=table_id,
                size="sm",
                responsive=True,
                className="small mb-2",
            ),
        ]
    )


def _fields(cleared: list[str] | tuple[str, ...], moved: list[str] | tuple[str, ...]) -> str:
    bits = []
    if cleared:
        bits.append("cleared: " + ", ".join(cleared))
    if moved:
        bits.append("moved to the anonymous placeholder: " + ", ".join(moved))
    return f" ({'; '.join(bits)})" if bits else ""


def erasure_card(request_type: str, refusal: str | None, receipt: dict | None) -> Any:
    """The card for an erasure or service opt-out request; None for other types."""
    if request_type not in ("erasure", "service_opt_out"):
        return None
    body: list[Any] = []
    if receipt is not None:
        body.append(receipt_view(receipt))
    if refusal is None:
        body.append(
            button_with_result(
                dbc.Button(
                    "Preview the erasure",
                    id=f"{P}-erase-preview-submit",
                    color="danger",
                    outline=True,
                    n_clicks=0,
                ),
                f"{P}-erase-preview-result",
            )
        )
    elif receipt is None:
        body.append(html.P(refusal, className="small text-muted mb-0", id=f"{P}-erase-refusal"))
    return dbc.Card(
        [dbc.CardHeader("Erasure"), dbc.CardBody(body)],
        id=f"{P}-erase-card",
        className="mb-3 shadow-sm",
    )


def preview_view(request_id: int, preview: Any) -> html.Div:
    """What the erasure will do, and either its blockers or the typed confirmation."""
    rows = [
        (p.table, p.action, p.rows, _fields(p.cleared, p.moved) if p.rows else "")
        for p in preview.tables
    ]
    children: list[Any] = [
        html.Div(
            f"Erasure of {preview.subject_type} #{preview.subject_id}", className="fw-semibold"
        ),
        _plan_table(rows, f"{P}-erase-plan"),
        recipients_view(preview.recipients, f"{P}-erase-recipients"),
        html.P(
            f"{preview.identifiers} email address(es) and phone number(s) go on the do-not-contact "
            "list; the request keeps only its type, dates, outcome and the receipt.",
            className="small",
        ),
    ]
    if preview.blockers:
        children.append(
            dbc.Alert(
                [html.Div("Blocked:", className="fw-semibold")]
                + [html.Div(b.message) for b in preview.blockers],
                color="danger",
                id=f"{P}-erase-blockers",
                className="py-2",
            )
        )
        return html.Div(children, className="action-result mt-2")
    children += [
        dbc.Label(
            f"Type the request number ({request_id}) to confirm", html_for=f"{P}-erase-typed"
        ),
        dbc.Input(id=f"{P}-erase-typed", type="text", autoComplete="off", className="mb-2"),
        button_with_result(
            dbc.Button("Erase now", id=f"{P}-erase-submit", color="danger", n_clicks=0),
            f"{P}-erase-result",
        ),
    ]
    return html.Div(children, className="action-result mt-2")


def receipt_view(receipt: dict) -> html.Div:
    """The erasure receipt (from the audit log): per table rows and fields, the scan's verdict."""
    rows = [
        (
            table,
            entry["action"],
            entry["rows"],
            _fields(entry.get("cleared", []), entry.get("moved_to_placeholder", [])),
        )
        for table, entry in receipt.get("tables", {}).items()
        if entry.get("rows")
    ]
    scan = receipt.get("scan", {})
    if scan.get("clean"):
        verdict = dbc.Alert(
            f"Residue scan: nothing found in {scan.get('columns')} text columns of "
            f"{scan.get('tables')} tables (searched: {', '.join(scan.get('searched', []))}).",
            color="success",
            className="py-2 small",
            id=f"{P}-erase-scan",
        )
    else:
        found = [
            html.Li(f"{f['table']}.{f['column']}: {f['rows']} row(s) hold the {f['kind']}")
            for f in scan.get("findings", [])
        ]
        verdict = dbc.Alert(
            ["Residue scan found the subject's identifiers:", html.Ul(found, className="mb-0")],
            color="danger",
            className="py-2 small",
            id=f"{P}-erase-scan",
        )
    return html.Div(
        [
            html.Div(
                f"Erased {receipt.get('subject_type')} #{receipt.get('subject_id')} "
                f"at {_erased_at(receipt.get('erased_at'))}",
                className="fw-semibold",
            ),
            _plan_table(rows, f"{P}-erase-receipt-table"),
            recipients_view(receipt.get("partners_to_tell", []), f"{P}-erase-receipt-recipients"),
            html.P(
                f"Do-not-contact entries: {receipt.get('suppressions_added', 0)} added, "
                f"{receipt.get('suppressions_existing', 0)} already listed.",
                className="small",
            ),
            verdict,
        ],
        id=f"{P}-erase-receipt",
    )

"""The intake form and the legal-disclosure form of the /privacy page (layout only)."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.actions import button_with_result, result_slot, token_store
from components.grid import data_grid, to_records
from components.privacy_common import form_row, options
from data.privacy.intake import CHANNEL_LABELS, NAME_MAX_BYTES, TYPE_LABELS
from data.privacy.validation import MAX_TEXT_BYTES
from data.timeutil import sa_date

TEXT_LIMIT = MAX_TEXT_BYTES
# error keys of the forms → their controls (outlined when refused)
INTAKE_FIELDS = {
    "type": "privacy-intake-type",
    "channel": "privacy-intake-channel",
    "received_at": "privacy-intake-received",
    "name": "privacy-intake-name",
    "email": "privacy-intake-email",
    "phone": "privacy-intake-phone",
    "message": "privacy-intake-message",
    "subject": "privacy-intake-subject",
}
DISCLOSURE_FIELDS = {
    "reference": "privacy-disclosure-reference",
    "authority": "privacy-disclosure-authority",
    "legal_basis": "privacy-disclosure-basis",
    "data_released": "privacy-disclosure-released",
    "at": "privacy-disclosure-date",
    "subject": "privacy-disclosure-lookup",
}


def intake_form(now_local: str) -> html.Div:
    """Log a request received by email, phone or post; then confirm the subject."""
    return html.Div(
        [
            html.P(
                "Record the request as it arrived. The identifiers are normalised (emails are "
                "case-insensitive; 082…, +27… and 27… phone numbers are the same) and matched "
                "against homeowners and partners.",
                className="text-muted",
            ),
            form_row(
                "Request type",
                dcc.Dropdown(id="privacy-intake-type", options=options(TYPE_LABELS)),
                "privacy-intake-type",
            ),
            form_row(
                "Channel",
                dcc.Dropdown(id="privacy-intake-channel", options=options(CHANNEL_LABELS)),
                "privacy-intake-channel",
            ),
            form_row(
                "Received (UTC)",
                dbc.Input(id="privacy-intake-received", type="datetime-local", value=now_local),
                "privacy-intake-received",
            ),
            form_row(
                "Name given",
                dbc.Input(id="privacy-intake-name", maxLength=NAME_MAX_BYTES, autoComplete="off"),
                "privacy-intake-name",
            ),
            form_row(
                "Email given",
                dbc.Input(id="privacy-intake-email", maxLength=254, autoComplete="off"),
                "privacy-intake-email",
            ),
            form_row(
                "Phone given",
                dbc.Input(id="privacy-intake-phone", maxLength=40, autoComplete="off"),
                "privacy-intake-phone",
                "South African numbers: 082 123 4567, +27 82 123 4567 or 27821234567",
            ),
            form_row(
                "Message",
                dbc.Textarea(id="privacy-intake-message", rows=4, maxLength=TEXT_LIMIT),
                "privacy-intake-message",
            ),
            token_store("privacy-intake-token"),
            button_with_result(
                dbc.Button(
                    "Find matching records", id="privacy-intake-find", color="secondary", n_clicks=0
                ),
                "privacy-intake-feedback",
            ),
            html.Div(
                [
                    html.H5("Who is the requester?", className="mt-3"),
                    dbc.RadioItems(id="privacy-intake-subject", options=[], value=None),
                    dbc.Button(
                        "Log the request",
                        id="privacy-intake-submit",
                        color="primary",
                        className="mt-2",
                        n_clicks=0,
                    ),
                ],
                id="privacy-intake-confirm",
                style={"display": "none"},
            ),
            result_slot("privacy-intake-result"),
        ],
        id="privacy-intake",
        style={"maxWidth": "900px"},
    )


DISCLOSURE_COLUMNS = [
    {"field": "at", "headerName": "Date"},
    {"field": "reference", "headerName": "Reference"},
    {"field": "authority", "headerName": "Authority"},
    {"field": "legal_basis", "headerName": "Legal basis", "minWidth": 220},
    {"field": "data_released", "headerName": "Released", "minWidth": 220},
    {"field": "subject", "headerName": "Subject"},
    {"field": "recorded_by", "headerName": "Recorded by"},
]


def disclosure_rows(df: Any) -> list[dict[str, Any]]:
    rows = df.copy()
    if not rows.empty:
        rows["at"] = rows["at"].map(lambda v: sa_date(v).isoformat())  # the day as typed
    return to_records(rows)


def disclosures_panel(df: Any, today_iso: str) -> html.Div:
    """The register (grid) and the form to add an entry."""
    return html.Div(
        [
            html.P(
                "Personal information released to an authority (police, courts, regulator, "
                "SARS …). Entries appear on the subject's request timeline and access package.",
                className="text-muted",
            ),
            dbc.Card(
                [
                    dbc.CardHeader("Record a disclosure"),
                    dbc.CardBody(
                        [
                            form_row(
                                "Reference",
                                dbc.Input(id="privacy-disclosure-reference", maxLength=80),
                                "privacy-disclosure-reference",
                            ),
                            form_row(
                                "Authority",
                                dbc.Input(id="privacy-disclosure-authority", maxLength=160),
                                "privacy-disclosure-authority",
                            ),
                            form_row(
                                "Legal basis",
                                dbc.Textarea(
                                    id="privacy-disclosure-basis", rows=2, maxLength=TEXT_LIMIT
                                ),
                                "privacy-disclosure-basis",
                            ),
                            form_row(
                                "What was released",
                                dbc.Textarea(
                                    id="privacy-disclosure-released", rows=2, maxLength=TEXT_LIMIT
                                ),
                                "privacy-disclosure-released",
                            ),
                            form_row(
                                "Date released",
                                dbc.Input(
                                    id="privacy-disclosure-date", type="date", value=today_iso
                                ),
                                "privacy-disclosure-date",
                            ),
                            form_row(
                                "Subject (email or phone; required)",
                                dbc.InputGroup(
                                    [
                                        dbc.Input(id="privacy-disclosure-lookup", maxLength=254),
                                        dbc.Button(
                                            "Find",
                                            id="privacy-disclosure-find",
                                            color="secondary",
                                            n_clicks=0,
                                        ),
                                    ]
                                ),
                                "privacy-disclosure-lookup",
                            ),
                            html.Div(id="privacy-disclosure-lookup-result"),
                            dbc.RadioItems(id="privacy-disclosure-subject", options=[], value=None),
                            token_store("privacy-disclosure-token"),
                            button_with_result(
                                dbc.Button(
                                    "Record the disclosure",
                                    id="privacy-disclosure-submit",
                                    color="primary",
                                    n_clicks=0,
                                ),
                                "privacy-disclosure-result",
                            ),
                        ]
                    ),
                ],
                className="mb-3 shadow-sm",
                style={"maxWidth": "900px"},
            ),
            data_grid(
                "privacy-disclosure-grid",
                DISCLOSURE_COLUMNS,
                row_data=disclosure_rows(df),
                row_id_field="id",
                height="420px",
            ),
        ],
        id="privacy-disclosures",
    )

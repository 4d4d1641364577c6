"""The request page (``/privacy/<id>``): header, details, subject, timeline and the forms of the
actions allowed in the request's current state, and nothing else.

Pure layout from a ``data.privacy.request_view.RequestView``; every id starts with
``privacy-request-`` (the page's prefix, which the permission guard uses). Free text is shown
as text (React escapes it; multi-line text keeps its line breaks through CSS, not markup).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.actions import clipped_text
from components.privacy_common import days_left_span, humanise, status_badge
from components.privacy_request_actions import actions_column
from data.privacy.access_package import SECTION_TITLES
from data.privacy.intake import CHANNEL_LABELS, TYPE_LABELS
from data.privacy.vocabulary import (
    DENIAL_REASON_LABELS,
    VERIFICATION_METHODS,
    VERIFICATION_OUTCOMES,
)
from data.timeutil import sa_text

P = "privacy-request"
PRE = {"whiteSpace": "pre-wrap", "overflowWrap": "anywhere"}


def _when(value: datetime | None, with_time: bool = True) -> str:
    return sa_text(value, with_time)


def _label(mapping: dict[str, str], value: str | None) -> str:
    return mapping.get(value or "", humanise(value))


def _dl(items: list[tuple[str, Any]]) -> html.Dl:
    children: list[Any] = []
    for label, value in items:
        if value in (None, ""):
            continue
        children += [
            html.Dt(label, className="col-sm-4"),
            html.Dd(
                clipped_text(value) if isinstance(value, str) else value,
                className="col-sm-8",
                style=PRE,
            ),
        ]
    return html.Dl(children, className="row mb-0")


def header(view: Any) -> html.Div:
    """Title, status, days left and due date: sticky at the top, so the clock stays in sight
    while the officer works down the page."""
    req = view.request
    bits: list[Any] = [status_badge(req["status"], id_=f"{P}-status")]
    if view.badge is not None:
        bits.append(days_left_span(view.badge.label, view.badge.css_class, id_=f"{P}-days"))
    bits.append(
        html.Span(
            f"Due {_when(req['due_at'], with_time=False)}",
            id=f"{P}-due",
            className="ms-2 fw-semibold",
        )
    )
    if view.deemed_refusal:
        bits.append(dbc.Badge("Deemed refusal", color="danger", className="ms-2"))
    if req["extended"]:
        bits.append(dbc.Badge("Extended once", color="secondary", className="ms-2"))
    return html.Div(
        [
            html.H2(
                f"Request #{req['id']} · {TYPE_LABELS.get(req['type'], req['type'])}",
                className="page-title",
            ),
            html.Div(bits, className="mb-2"),
        ],
        id=f"{P}-header",
        className="bg-body pt-1 mb-2 border-bottom",
        style={"position": "sticky", "top": 0, "zIndex": 20},
    )


def details_card(view: Any) -> dbc.Card:
    req = view.request
    due = _when(req["due_at"], with_time=False)
    if req["extended"]:
        due += f" (originally {_when(req['original_due_at'], with_time=False)})"
    duplicate = None
    if req["duplicate_of_id"]:
        duplicate = dcc.Link(
            f"request #{req['duplicate_of_id']}", href=f"/privacy/{req['duplicate_of_id']}"
        )
    verification = None
    if req["verification_outcome"]:
        verification = (
            f"{_label(VERIFICATION_OUTCOMES, req['verification_outcome'])} · "
            f"{_label(VERIFICATION_METHODS, req['verification_method'])}"
            + (
                f" · by {view.verified_by} at {_when(req['verified_at'])}"
                if view.verified_by
                else ""
            )
        )
    return dbc.Card(
        [
            dbc.CardHeader("Request"),
            dbc.CardBody(
                _dl(
                    [
                        ("Channel", CHANNEL_LABELS.get(req["channel"], req["channel"])),
                        ("Received", _when(req["received_at"])),
                        ("Due", due),
                        ("Name given", req["given_name"]),
                        ("Email given", req["given_email"]),
                        ("Phone given", req["given_phone"]),
                        ("Message", req["message"]),
                        ("Assignee", view.assignee or "unassigned"),
                        ("Identity", verification),
                        ("Evidence (described)", req["verification_evidence"]),
                        ("Extension reason", req["extension_reason"]),
                        (
                            "Extension notice",
                            _when(req["extension_notice_at"], False)
                            if req["extension_notice_at"]
                            else None,
                        ),
                        ("Denial reason", DENIAL_REASON_LABELS.get(req["denial_reason"] or "")),
                        ("Resolution note", req["resolution_note"]),
                        ("Response sent", req["response_text"]),
                        ("Closed", _when(req["closed_at"]) if req["closed_at"] else None),
                        ("Duplicate of", duplicate),
                    ]
                ),
                id=f"{P}-details",
            ),
        ],
        className="mb-3 shadow-sm",
    )


def subject_card(view: Any) -> dbc.Card:
    req = view.request
    subject = view.subject
    if subject is None:
        text = "No record found" if req["no_record_found"] else "No subject matched"
        body: Any = html.P(text, className="mb-0 text-muted")
    else:
        items = [
            ("Record", f"{subject.subject_type} #{subject.subject_id}"),
            ("Name", subject.label),
            ("Email", subject.email),
            ("Phone", subject.phone),
            ("Place", subject.place),
        ]
        extra = []
        if subject.erased:
            extra.append(dbc.Alert("This record has been erased.", color="secondary"))
        if subject.legal_hold:
            extra.append(dbc.Alert(f"Legal hold: {subject.legal_hold}", color="danger"))
        body = [*extra, _dl(items)]
    return dbc.Card(
        [dbc.CardHeader("Subject"), dbc.CardBody(body, id=f"{P}-subject")],
        className="mb-3 shadow-sm",
    )


KIND_LABELS = {
    "request": ("received", "primary"),
    "action": ("action", "success"),
    "note": ("note", "secondary"),
    "disclosure": ("disclosure", "danger"),
    "other_request": ("other request", "info"),
}


def timeline_card(view: Any) -> dbc.Card:
    items = []
    for entry in view.timeline:
        title: Any = entry.title
        if entry.link:
            title = dcc.Link(entry.title, href=entry.link)
        items.append(
            dbc.ListGroupItem(
                [
                    html.Div(
                        [
                            dbc.Badge(
                                KIND_LABELS.get(entry.kind, (entry.kind, "light"))[0],
                                color=KIND_LABELS.get(entry.kind, (entry.kind, "light"))[1],
                                className="me-2",
                            ),
                            html.Span(title, className="fw-semibold"),
                            html.Small(
                                f" {_when(entry.at)}"
                                + (f" · {entry.actor}" if entry.actor else ""),
                                className="text-muted ms-2",
                            ),
                        ]
                    ),
                    html.Div(clipped_text(entry.detail), className="small mt-1")
                    if entry.detail
                    else None,
                ],
                className=f"timeline-{entry.kind}",
            )
        )
    return dbc.Card(
        [
            dbc.CardHeader("Timeline"),
            dbc.ListGroup(items, flush=True, id=f"{P}-timeline"),
        ],
        className="mb-3 shadow-sm",
    )


def package_preview(package: dict) -> html.Div:
    """The package shown in the page: one collapsible section per table, rows as text."""
    items = []
    for key, rows in package["sections"].items():
        title = f"{SECTION_TITLES.get(key, humanise(key))} ({len(rows)})"
        if len(rows) == 1 and key == "profile":
            table: Any = _dl([(humanise(k), _text(v)) for k, v in rows[0].items()])
        elif rows:
            columns = list(rows[0])
            table = dbc.Table(
                [
                    html.Thead(html.Tr([html.Th(humanise(c)) for c in columns])),
                    html.Tbody(
                        [
                            html.Tr([html.Td(_text(row.get(c)), style=PRE) for c in columns])
                            for row in rows[:200]
                        ]
                    ),
                ],
                size="sm",
                bordered=True,
                responsive=True,
                className="small",
            )
        else:
            table = html.P("Nothing held.", className="text-muted small")
        items.append(dbc.AccordionItem(table, title=title, item_id=key))
    return html.Div(
        dbc.Accordion(items, start_collapsed=True, always_open=True),
        id=f"{P}-package-preview-area",
    )


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def request_view(
    view: Any, today_iso: str, preview: dict | None = None, done: Any = None, extra: Any = None
) -> html.Div:
    """The whole re-renderable part of the page: the header (always in sight), the request on
    the left, the actions on the right, and the package preview below both at full width
    (a table of many columns cannot be read in the actions column). ``extra`` goes under the
    actions (the erasure card, ``components.erasure_panel``)."""
    rows: list[Any] = [
        header(view),
        dbc.Row(
            [
                dbc.Col([details_card(view), subject_card(view), timeline_card(view)], lg=7),
                dbc.Col([actions_column(view, today_iso, done), extra], lg=5),
            ]
        ),
    ]
    if preview is not None:
        rows.append(
            dbc.Card(
                [dbc.CardHeader("Access package preview"), dbc.CardBody(package_preview(preview))],
                className="mb-3 shadow-sm",
            )
        )
    return html.Div(rows)

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

from components.privacy_common import days_left_span, humanise, options, status_badge
from data.models import DENIAL_REASONS
from data.privacy.access_package import SECTION_TITLES
from data.privacy.intake import CHANNEL_LABELS, TYPE_LABELS
from data.privacy.optouts import PURPOSE_LABELS
from data.privacy.workflow import (
    ACTION_LABELS,
    DENIAL_REASON_LABELS,
    UNVERIFIABLE_OUTCOMES,
    VERIFICATION_METHODS,
    VERIFICATION_OUTCOMES,
)

P = "privacy-request"
PRE = {"whiteSpace": "pre-wrap", "wordBreak": "break-word"}


def _when(value: datetime | None, with_time: bool = True) -> str:
    if value is None:
        return "–"
    return value.strftime("%Y-%m-%d %H:%M UTC" if with_time else "%Y-%m-%d")


def _label(mapping: dict[str, str], value: str | None) -> str:
    return mapping.get(value or "", humanise(value))


def _dl(items: list[tuple[str, Any]]) -> html.Dl:
    children: list[Any] = []
    for label, value in items:
        if value in (None, ""):
            continue
        children += [
            html.Dt(label, className="col-sm-4"),
            html.Dd(value, className="col-sm-8", style=PRE),
        ]
    return html.Dl(children, className="row mb-0")


def header(view: Any) -> html.Div:
    req = view.request
    bits: list[Any] = [status_badge(req["status"], id_=f"{P}-status")]
    if view.badge is not None:
        bits.append(days_left_span(view.badge.label, view.badge.css_class, id_=f"{P}-days"))
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
            html.Div(bits, className="mb-3"),
        ]
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
                    html.Div(entry.detail, className="small mt-1", style=PRE)
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


# --- action forms -----------------------------------------------------------------------------


def _field(label: str, control: Any) -> html.Div:
    return html.Div(
        [dbc.Label(label, html_for=control.id, className="small mb-1"), control], className="mb-2"
    )


def _textarea(name: str, placeholder: str = "", value: str = "") -> dbc.Textarea:
    return dbc.Textarea(
        id=f"{P}-{name}", placeholder=placeholder, value=value, rows=3, maxLength=102400
    )


def _submit(name: str, label: str, colour: str = "primary") -> dbc.Button:
    return dbc.Button(label, id=f"{P}-{name}-submit", color=colour, size="sm", n_clicks=0)


def _card(action: str, body: list[Any]) -> dbc.Card:
    return dbc.Card(
        [dbc.CardHeader(ACTION_LABELS[action]), dbc.CardBody(body)],
        className="mb-3 shadow-sm",
        id=f"{P}-action-{action.replace('_', '-')}",
    )


def verify_form() -> dbc.Card:
    return _card(
        "verify",
        [
            _field(
                "Method",
                dcc.Dropdown(
                    id=f"{P}-verify-method",
                    options=options(VERIFICATION_METHODS),
                    placeholder="How was identity checked?",
                ),
            ),
            _field(
                "Outcome",
                dcc.Dropdown(id=f"{P}-verify-outcome", options=options(VERIFICATION_OUTCOMES)),
            ),
            _field(
                "Evidence (describe it; never upload or copy an ID document)",
                _textarea("verify-evidence", "e.g. replied from the registered address on …"),
            ),
            _submit("verify", "Record verification"),
        ],
    )


def assign_form(view: Any) -> dbc.Card:
    choices = [{"label": "Unassigned", "value": "none"}] + [
        {"label": name, "value": str(uid)} for uid, name in view.assignable
    ]
    current = str(view.request["assignee_id"]) if view.request["assignee_id"] else "none"
    return _card(
        "assign",
        [
            _field(
                "Assignee",
                dcc.Dropdown(
                    id=f"{P}-assign-user", options=choices, value=current, clearable=False
                ),
            ),
            _submit("assign", "Assign", "secondary"),
        ],
    )


def note_form() -> dbc.Card:
    return _card(
        "note",
        [_field("Internal note", _textarea("note-text")), _submit("note", "Add note", "secondary")],
    )


def extend_form(today_iso: str) -> dbc.Card:
    return _card(
        "extend",
        [
            html.P(
                "Once only, by at most 30 days, recorded before the original due date.",
                className="small text-muted",
            ),
            _field(
                "Days (1–30)",
                dbc.Input(id=f"{P}-extend-days", type="number", min=1, max=30, value=30),
            ),
            _field("Reason", _textarea("extend-reason")),
            _field(
                "Date the requester was notified",
                dbc.Input(id=f"{P}-extend-notice", type="date", value=today_iso),
            ),
            _submit("extend", "Extend the deadline", "warning"),
        ],
    )


def deny_form(view: Any) -> dbc.Card:
    allowed = [
        r
        for r in DENIAL_REASONS
        if r != "identity_not_verified"
        or view.request["verification_outcome"] in UNVERIFIABLE_OUTCOMES
    ]
    return _card(
        "deny",
        [
            _field(
                "Reason code",
                dcc.Dropdown(
                    id=f"{P}-deny-reason",
                    options=[{"label": DENIAL_REASON_LABELS[r], "value": r} for r in allowed],
                ),
            ),
            _field("Text sent to the requester", _textarea("deny-response")),
            _field("Internal resolution note (optional)", _textarea("deny-note")),
            _submit("deny", "Deny the request", "danger"),
        ],
    )


def access_form(view: Any, preview: dict | None) -> dbc.Card:
    body: list[Any] = [
        html.P(
            f"Downloaded {view.package_downloads} time(s). Every preview and download is audited.",
            className="small text-muted",
            id=f"{P}-package-count",
        ),
        dbc.ButtonGroup(
            [
                dbc.Button(
                    "Preview", id=f"{P}-package-preview", color="secondary", size="sm", n_clicks=0
                ),
                dbc.Button(
                    "Download JSON", id=f"{P}-package-json", color="primary", size="sm", n_clicks=0
                ),
                dbc.Button(
                    "Download HTML report",
                    id=f"{P}-package-html",
                    color="primary",
                    size="sm",
                    n_clicks=0,
                ),
            ],
            className="mb-2",
        ),
    ]
    if preview is not None:
        body.append(package_preview(preview))
    return _card("access_package", body)


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


def correction_form(view: Any) -> dbc.Card:
    rows = []
    for spec in view.correction_fields:
        value = view.correction_values.get(spec.name)
        control_id = {"type": f"{P}-correct-field", "field": spec.name}
        if spec.kind == "choice":
            control: Any = dcc.Dropdown(
                id=control_id,
                options=options(spec.choices),
                value=value,
                placeholder="(empty)",
            )
        else:
            control = dbc.Input(
                id=control_id,
                value="" if value is None else str(value),
                maxLength=spec.max_bytes,
                size="sm",
            )
        rows.append(
            dbc.Row(
                [dbc.Label(spec.label, width=4, className="small"), dbc.Col(control, width=8)],
                className="mb-1",
            )
        )
    return _card(
        "correct",
        [
            *rows,
            _submit("correct", "Apply the correction"),
            html.Hr(),
            partners_to_tell(view.partners_to_tell),
        ],
    )


def partners_to_tell(partners: Any) -> html.Div:
    if not partners:
        body: Any = html.P(
            "No partner received this subject's details.", className="small text-muted"
        )
    else:
        body = html.Ul(
            [
                html.Li(
                    f"{p.business_name} ({p.contact_name or 'no contact'}; {p.email or '–'}; "
                    f"{p.phone or '–'}): {p.shares} lead(s), last {_when(p.last_shared_at, False)}"
                )
                for p in partners
            ],
            className="small",
        )
    return html.Div(
        [
            html.Div(
                "Partners that received the old details (tell them):", className="small fw-semibold"
            ),
            body,
        ],
        id=f"{P}-partners-to-tell",
    )


def optout_form(view: Any) -> dbc.Card:
    choices = []
    for purpose, label in PURPOSE_LABELS.items():
        state = view.consent.get(purpose)
        if state is None:
            now = "no consent on record"
        else:
            now = ("granted" if state[0] else "withdrawn") + f" {_when(state[1], False)}"
        choices.append({"label": f"{label} (now: {now})", "value": purpose})
    return _card(
        "opt_out",
        [
            html.P(
                "Each withdrawal becomes a consent event with this request as evidence; contact "
                "purposes also add suppression entries.",
                className="small text-muted",
            ),
            dbc.Checklist(
                id=f"{P}-optout-purposes", options=choices, value=list(view.default_purposes)
            ),
            _submit("optout", "Record the withdrawals", "warning"),
        ],
    )


def complete_form() -> dbc.Card:
    return _card(
        "complete",
        [
            _field("Resolution note (internal)", _textarea("complete-note")),
            _field("Response sent to the requester", _textarea("complete-response")),
            _submit("complete", "Complete the request", "success"),
        ],
    )


def close_unverified_form() -> dbc.Card:
    return _card(
        "close_unverified",
        [
            html.P(
                "Identity was not verified within 30 days of receipt.", className="small text-muted"
            ),
            _submit("close-unverified", "Close as unverified", "secondary"),
        ],
    )


def actions_column(view: Any, today_iso: str, preview: dict | None = None) -> html.Div:
    allowed = set(view.allowed)
    cards: list[Any] = []
    if "verify" in allowed:
        cards.append(verify_form())
    if "access_package" in allowed:
        cards.append(access_form(view, preview))
    if "correct" in allowed:
        cards.append(correction_form(view))
    if "opt_out" in allowed:
        cards.append(optout_form(view))
    if "complete" in allowed:
        cards.append(complete_form())
    if "assign" in allowed:
        cards.append(assign_form(view))
    if "extend" in allowed:
        cards.append(extend_form(today_iso))
    elif view.request["status"] in ("received", "verifying", "in_progress"):
        cards.append(
            dbc.Alert(
                f"Extension: {view.refusals.get('extend', 'not available')}",
                color="secondary",
                id=f"{P}-extend-refused",
                className="small",
            )
        )
    if "close_unverified" in allowed:
        cards.append(close_unverified_form())
    if "deny" in allowed:
        cards.append(deny_form(view))
    if "note" in allowed:
        cards.append(note_form())
    if not allowed - {"note"}:
        cards.insert(
            0,
            dbc.Alert(
                "This request is closed: only internal notes can be added.",
                color="light",
                id=f"{P}-closed",
            ),
        )
    return html.Div(cards, id=f"{P}-actions")


def request_view(view: Any, today_iso: str, preview: dict | None = None) -> html.Div:
    """The whole re-renderable part of the page."""
    return html.Div(
        [
            header(view),
            dbc.Row(
                [
                    dbc.Col([details_card(view), subject_card(view), timeline_card(view)], lg=7),
                    dbc.Col(actions_column(view, today_iso, preview), lg=5),
                ]
            ),
        ]
    )

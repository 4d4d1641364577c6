"""The actions column of the request page: the state's next step first, the other allowed
actions folded one click away, denial behind its own confirmation.

An officer opening a request should see what to do now ("Verify identity" for a new request,
"Access package" for a verified access request, "Complete" once it is fulfilled), not ten open
forms. Which actions exist is decided by ``data.privacy.workflow.refusal_reason`` (through
``view.allowed``); this module only orders and folds them. Every submit button has its result
slot right under it (``components.actions``), ``privacy-request-<action>-result``.

Pure layout; every id starts with ``privacy-request-`` (the page's prefix, used by the guard).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.actions import button_with_result, result_slot
from components.privacy_common import options
from data.models import DENIAL_REASONS
from data.privacy.clock import OPEN_STATUSES
from data.privacy.optouts import PURPOSE_LABELS
from data.privacy.vocabulary import (
    ACTION_LABELS,
    DENIAL_REASON_LABELS,
    FULFILMENT,
    STAFF_TEXT_MAX_BYTES,
    UNVERIFIABLE_OUTCOMES,
    VERIFICATION_METHODS,
    VERIFICATION_OUTCOMES,
)
from data.timeutil import sa_text

P = "privacy-request"

# The error keys of each action's form → the ids of their controls (outlined on refusal).
FIELD_IDS: dict[str, dict[str, str]] = {
    "verify": {
        "method": f"{P}-verify-method",
        "outcome": f"{P}-verify-outcome",
        "evidence": f"{P}-verify-evidence",
    },
    "assign": {"assignee": f"{P}-assign-user"},
    "note": {"note": f"{P}-note-text"},
    "extend": {
        "days": f"{P}-extend-days",
        "reason": f"{P}-extend-reason",
        "notice_date": f"{P}-extend-notice",
    },
    "deny": {
        "reason": f"{P}-deny-reason",
        "response_text": f"{P}-deny-response",
        "note": f"{P}-deny-note",
        "confirm": f"{P}-deny-confirm",
    },
    "complete": {
        "resolution_note": f"{P}-complete-note",
        "response_text": f"{P}-complete-response",
    },
}
# Actions that are never the "next step": kept folded whatever the state.
ALWAYS_FOLDED = ("assign", "extend", "note", "deny")


def _when(value: datetime | None) -> str:
    return sa_text(value, with_time=False)


def next_steps(view: Any) -> list[str]:
    """The actions to show open, in order: what moves this request forward now."""
    allowed = set(view.allowed)
    req = view.request
    if req["status"] not in OPEN_STATUSES:
        return []
    steps: list[str] = []
    if "close_unverified" in allowed:
        steps.append("close_unverified")
    if req["no_record_found"]:
        # nothing is held: the answer is the next step; verifying is optional
        return [*steps, "complete"] if "complete" in allowed else steps
    if "verify" in allowed:
        steps.append("verify")
    fulfil = FULFILMENT.get(req["type"])
    if fulfil and fulfil in allowed:
        steps.append(fulfil)
    if "complete" in allowed and req["status"] == "in_progress":
        steps.append("complete")
    return steps


# --- form pieces ------------------------------------------------------------------------------


def _field(label: str, control: Any) -> html.Div:
    return html.Div(
        [dbc.Label(label, html_for=control.id, className="small mb-1"), control], className="mb-2"
    )


def _textarea(name: str, placeholder: str = "") -> dbc.Textarea:
    return dbc.Textarea(
        id=f"{P}-{name}",
        placeholder=placeholder,
        value="",
        rows=3,
        maxLength=STAFF_TEXT_MAX_BYTES,
    )


def _submit(name: str, label: str, colour: str = "primary") -> html.Div:
    button = dbc.Button(label, id=f"{P}-{name}-submit", color=colour, size="sm", n_clicks=0)
    return button_with_result(button, f"{P}-{name}-result")


def _card(action: str, body: list[Any], *, first: bool = False) -> dbc.Card:
    title = ACTION_LABELS[action]
    header = f"Next step: {title}" if first else title
    return dbc.Card(
        [
            dbc.CardHeader(header, className="fw-semibold" if first else None),
            dbc.CardBody(body),
        ],
        className="mb-3 shadow-sm" + (" border-primary" if first else ""),
        id=f"{P}-action-{action.replace('_', '-')}",
    )


def verify_form() -> list[Any]:
    return [
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
    ]


def assign_form(view: Any) -> list[Any]:
    choices = [{"label": "Unassigned", "value": "none"}] + [
        {"label": name, "value": str(uid)} for uid, name in view.assignable
    ]
    current = str(view.request["assignee_id"]) if view.request["assignee_id"] else "none"
    return [
        _field(
            "Assignee",
            dcc.Dropdown(id=f"{P}-assign-user", options=choices, value=current, clearable=False),
        ),
        _submit("assign", "Assign", "secondary"),
    ]


def note_form() -> list[Any]:
    return [
        _field("Internal note", _textarea("note-text")),
        _submit("note", "Add note", "secondary"),
    ]


def extend_form(today_iso: str) -> list[Any]:
    return [
        html.P(
            "Once only, by at most 30 days, recorded before the original due date.",
            className="small text-muted",
        ),
        _field(
            "Days (1–30)",
            # text, not number: a browser empties a number field out of its range, and the
            # officer must be told the range rather than "required"
            dbc.Input(id=f"{P}-extend-days", type="text", inputMode="numeric", value="30"),
        ),
        _field("Reason", _textarea("extend-reason")),
        _field(
            "Date the requester was notified",
            dbc.Input(id=f"{P}-extend-notice", type="date", value=today_iso),
        ),
        _submit("extend", "Extend the deadline", "warning"),
    ]


def deny_form(view: Any) -> list[Any]:
    allowed = [
        r
        for r in DENIAL_REASONS
        if r != "identity_not_verified"
        or view.request["verification_outcome"] in UNVERIFIABLE_OUTCOMES
    ]
    return [
        _field(
            "Reason code",
            dcc.Dropdown(
                id=f"{P}-deny-reason",
                options=[{"label": DENIAL_REASON_LABELS[r], "value": r} for r in allowed],
            ),
        ),
        _field("Text sent to the requester", _textarea("deny-response")),
        _field("Internal resolution note (optional)", _textarea("deny-note")),
        dbc.Checklist(
            id=f"{P}-deny-confirm",
            options=[
                {
                    "label": f"I confirm: close request #{view.id} as denied and send the text "
                    "above. This cannot be undone.",
                    "value": "yes",
                }
            ],
            value=[],
            className="small mb-2",
        ),
        _submit("deny", "Deny the request", "danger"),
    ]


def access_form(view: Any) -> list[Any]:
    return [
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
        result_slot(f"{P}-package-result"),
        html.P("The preview opens below the request, at full width.", className="small text-muted"),
    ]


def correction_form(view: Any) -> list[Any]:
    rows = []
    for spec in view.correction_fields:
        value = view.correction_values.get(spec.name)
        control_id = {"type": f"{P}-correct-field", "field": spec.name}
        if spec.kind == "choice":
            control: Any = dcc.Dropdown(
                id=control_id, options=options(spec.choices), value=value, placeholder="(empty)"
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
    return [
        *rows,
        _submit("correct", "Apply the correction"),
        html.Hr(),
        partners_to_tell(view.partners_to_tell),
    ]


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
                    f"{p.phone or '–'}): {p.shares} lead(s), last {_when(p.last_shared_at)}"
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


def optout_form(view: Any) -> list[Any]:
    choices = []
    for purpose, label in PURPOSE_LABELS.items():
        state = view.consent.get(purpose)
        if state is None:
            now = "no consent on record"
        else:
            now = ("granted" if state[0] else "withdrawn") + f" {_when(state[1])}"
        choices.append({"label": f"{label} (now: {now})", "value": purpose})
    return [
        html.P(
            "Each withdrawal becomes a consent event with this request as evidence; contact "
            "purposes also add suppression entries.",
            className="small text-muted",
        ),
        dbc.Checklist(
            id=f"{P}-optout-purposes", options=choices, value=list(view.default_purposes)
        ),
        _submit("optout", "Record the withdrawals", "warning"),
    ]


def complete_form() -> list[Any]:
    return [
        _field("Resolution note (internal)", _textarea("complete-note")),
        _field("Response sent to the requester", _textarea("complete-response")),
        _submit("complete", "Complete the request", "success"),
    ]


def close_unverified_form() -> list[Any]:
    return [
        html.P(
            "Identity was not verified within 30 days of receipt.", className="small text-muted"
        ),
        _submit("close-unverified", "Close as unverified", "secondary"),
    ]


def _body(action: str, view: Any, today_iso: str) -> list[Any]:
    builders = {
        "verify": verify_form,
        "note": note_form,
        "complete": complete_form,
        "close_unverified": close_unverified_form,
    }
    if action in builders:
        return builders[action]()
    if action == "extend":
        return extend_form(today_iso)
    return {
        "assign": assign_form,
        "deny": deny_form,
        "access_package": access_form,
        "correct": correction_form,
        "opt_out": optout_form,
    }[action](view)


FOLD_LABELS = {"deny": "Deny the request…"}


def _folded(action: str, view: Any, today_iso: str) -> html.Details:
    """One more action, one click away (a native ``<details>``: no callback, no reload)."""
    slug = action.replace("_", "-")
    return html.Details(
        [
            html.Summary(
                FOLD_LABELS.get(action, ACTION_LABELS[action]),
                id=f"{P}-open-{slug}",
                className="fw-semibold py-1" + (" text-danger" if action == "deny" else ""),
            ),
            _card(action, _body(action, view, today_iso)),
        ],
        id=f"{P}-fold-{slug}",
        className="mb-2",
    )


def actions_column(view: Any, today_iso: str, done: Any = None) -> html.Div:
    """The next step(s) open, then every other allowed action folded. ``done`` is the result
    of the action just applied, shown at the top (where the next step now is)."""
    allowed = [a for a in view.allowed]
    steps = next_steps(view)
    children: list[Any] = [done] if done is not None else []
    if not set(allowed) - {"note"}:
        children.append(
            dbc.Alert(
                "This request is closed: only internal notes can be added.",
                color="light",
                id=f"{P}-closed",
            )
        )
    for i, action in enumerate(steps):
        children.append(_card(action, _body(action, view, today_iso), first=i == 0))
    others = [a for a in allowed if a not in steps]
    if others:
        children.append(html.H6("Other actions", className="text-muted mt-3"))
    if "extend" not in allowed and view.request["status"] in OPEN_STATUSES:
        children.append(
            dbc.Alert(
                f"Extension: {view.refusals.get('extend', 'not available')}",
                color="secondary",
                id=f"{P}-extend-refused",
                className="small py-2",
            )
        )
    order = [a for a in others if a not in ALWAYS_FOLDED] + [
        a for a in ALWAYS_FOLDED if a in others
    ]
    children += [_folded(a, view, today_iso) for a in order]
    return html.Div(children, id=f"{P}-actions")

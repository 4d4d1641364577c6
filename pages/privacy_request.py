"""One privacy request (``/privacy/<id>``): its timeline and the actions its state allows.

Every action callback sends only the request id and the version the officer saw (kept in
``privacy-request-state``); the data layer decides from the database whether the action is
allowed, applies it in one transaction and audits it. A stale version (another officer acted
first) is refused with a "reload" message and nothing is applied. The access package is built
and audited on the server for each preview or download; an unverified request gets a refusal
whatever the browser sends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dash
from dash import ALL, Input, Output, State, callback, dcc, html, no_update
from flask_login import current_user

from components import messages
from components.actions import busy, done, refused
from components.erasure_panel import erasure_card, preview_view
from components.privacy_common import actor_of
from components.privacy_request import request_view
from components.privacy_request_actions import FIELD_IDS
from components.url_state import BadQuery, parse_id
from data import audit
from data.db import session_scope
from data.erasure import execute as erasure
from data.privacy import access_package, workflow
from data.privacy.correction import correct_subject
from data.privacy.optouts import PURPOSE_LABELS, record_opt_outs
from data.privacy.request_view import load_request_view
from data.privacy.validation import ValidationError
from data.timeutil import sa_text, today

P = "privacy-request"

dash.register_page(
    __name__,
    path_template="/privacy/<request_id>",
    name="Privacy request",
    title="Privacy request · Partner Operations",
    allowed_roles=["admin", "privacy_officer"],
    id_prefix=P,
)


def _render(
    request_id: int, preview: dict | None = None, done: Any = None
) -> tuple[Any, dict] | None:
    with session_scope() as session:
        view = load_request_view(session, request_id)
        if view is None:
            return None
        req = erasure.load_request(session, request_id)
        card = erasure_card(
            req.type, erasure.request_refusal(req), erasure.receipt_of(session, req.id)
        )
    state = {"id": view.id, "version": view.version}
    return request_view(view, today().isoformat(), preview, done, extra=card), state


def layout(request_id: str | None = None, **_query: str) -> html.Div:
    try:
        rid = parse_id(request_id, label="request")
    except BadQuery as exc:
        return html.Div(messages.invalid_input(str(exc)), id=f"{P}-page")
    rendered = _render(rid)
    if rendered is None:
        return html.Div(
            messages.invalid_input(f"There is no privacy request #{rid}."), id=f"{P}-page"
        )
    content, state = rendered
    audit.record_read(current_user.username, "privacy_request.view", "privacy_request", rid)
    return html.Div(
        [
            dcc.Link("← Back to the queue", href="/privacy", className="small"),
            dcc.Store(id=f"{P}-state", data=state),
            dcc.Download(id=f"{P}-download"),
            html.Div(content, id=f"{P}-view"),
        ],
        id=f"{P}-page",
    )


# --- the shared callback machinery ------------------------------------------------------------

VIEW = Output(f"{P}-view", "children", allow_duplicate=True)
STATE = Output(f"{P}-state", "data", allow_duplicate=True)


def _state(raw: object) -> tuple[int, object]:
    """The request id and version the page holds (untrusted: the data layer re-checks)."""
    if not isinstance(raw, dict):
        raise workflow.NotFound("This page lost track of its request. Reload it.")
    try:
        rid = parse_id(raw.get("id"), label="request")
    except BadQuery as exc:
        raise workflow.NotFound(str(exc)) from None
    return rid, raw.get("version")


def _failure(exc: Exception, rid: int | None, fields: dict[str, str] | None = None) -> Any:
    """The refusal, in plain words, for the slot under the button that was pressed."""
    if isinstance(exc, ValidationError):
        return refused(exc.errors, f"{P}-error", fields=fields)
    if isinstance(exc, workflow.StaleRequest) and rid is not None:
        reload = html.A("Reload", href=f"/privacy/{rid}", className="alert-link")
        return refused(str(exc), f"{P}-stale", colour="danger", extra=reload)
    return refused(str(exc), f"{P}-error", colour="danger")


def run_action(
    raw_state: object,
    apply: Callable[[Any, int, object, workflow.Actor], str],
    fields: dict[str, str] | None = None,
) -> tuple[Any, Any, Any]:
    """Apply one transition; returns (view, state, result under the button).

    On refusal the view is kept as it is (the officer's input stays in the form) and the
    reason appears under the button. On success the view is rendered afresh — which resets
    every form — with what was done at the top of the actions, where the next step now is."""
    rid: int | None = None
    try:
        rid, version = _state(raw_state)
        with session_scope() as session:
            done_text = apply(session, rid, version, actor_of(current_user))
    except (ValidationError, workflow.WorkflowError) as exc:
        return no_update, no_update, _failure(exc, rid, fields)
    return _done(rid, done_text)


def _done(rid: int, done_text: str) -> tuple[Any, Any, Any]:
    """(view, state, result) after a transition: the request drawn afresh, what was done on top."""
    rendered = _render(rid, done=done(done_text, f"{P}-done"))
    if rendered is None:  # pragma: no cover - the request cannot vanish (no deletes)
        return no_update, None, _failure(workflow.NotFound("The request no longer exists."), rid)
    content, state = rendered
    return content, state, None


def _clicked(n_clicks: object) -> None:
    if not n_clicks:
        raise dash.exceptions.PreventUpdate


def action(name: str, *states: State) -> Callable[[Callable[..., Any]], Any]:
    """Register the callback of one action: its submit button (disabled while it runs) and its
    result slot, ``privacy-request-<name>-submit`` / ``-result``, plus the view and state."""
    button = f"{P}-{name}-submit"
    return callback(
        VIEW,
        STATE,
        Output(f"{P}-{name}-result", "children"),
        Input(button, "n_clicks"),
        *states,
        State(f"{P}-state", "data"),
        prevent_initial_call=True,
        running=busy(button),
    )


# --- actions ----------------------------------------------------------------------------------


@action(
    "verify",
    State(f"{P}-verify-method", "value"),
    State(f"{P}-verify-outcome", "value"),
    State(f"{P}-verify-evidence", "value"),
)
def verify(n_clicks, method, outcome, evidence, state):
    _clicked(n_clicks)

    def apply(session, rid, version, actor):
        req = workflow.verify_identity(
            session, rid, version, actor, method=method, outcome=outcome, evidence=evidence
        )
        return f"Verification recorded: {req.verification_outcome}."

    return run_action(state, apply, FIELD_IDS["verify"])


@action("assign", State(f"{P}-assign-user", "value"))
def assign(n_clicks, user_id, state):
    _clicked(n_clicks)

    def apply(session, rid, version, actor):
        workflow.assign(session, rid, version, actor, assignee_id=user_id)
        return "Assignment saved."

    return run_action(state, apply, FIELD_IDS["assign"])


@action("note", State(f"{P}-note-text", "value"))
def add_note(n_clicks, text, state):
    _clicked(n_clicks)

    def apply(session, rid, version, actor):
        workflow.add_note(session, rid, version, actor, text=text)
        return "Note added."

    return run_action(state, apply, FIELD_IDS["note"])


@action(
    "extend",
    State(f"{P}-extend-days", "value"),
    State(f"{P}-extend-reason", "value"),
    State(f"{P}-extend-notice", "value"),
)
def extend(n_clicks, days, reason, notice, state):
    _clicked(n_clicks)

    def apply(session, rid, version, actor):
        req = workflow.extend(
            session, rid, version, actor, days=days, reason=reason, notice_date=notice
        )
        return f"Deadline extended to {sa_text(req.due_at, with_time=False)}."

    return run_action(state, apply, FIELD_IDS["extend"])


DENY_UNCONFIRMED = "Tick “I confirm” to deny the request; nothing was changed."


@action(
    "deny",
    State(f"{P}-deny-reason", "value"),
    State(f"{P}-deny-response", "value"),
    State(f"{P}-deny-note", "value"),
    State(f"{P}-deny-confirm", "value"),
)
def deny(n_clicks, reason, response, note, confirmed, state):
    """Denial closes the request for good, so it needs its own confirmation, checked here on
    the server (the tick box is only how the officer gives it)."""
    _clicked(n_clicks)

    def apply(session, rid, version, actor):
        if not (isinstance(confirmed, list) and "yes" in confirmed):
            raise ValidationError({"confirm": DENY_UNCONFIRMED})
        workflow.deny(
            session, rid, version, actor, reason=reason, response_text=response, note=note
        )
        return "The request is denied."

    return run_action(state, apply, FIELD_IDS["deny"])


@action(
    "complete",
    State(f"{P}-complete-note", "value"),
    State(f"{P}-complete-response", "value"),
)
def complete(n_clicks, note, response, state):
    _clicked(n_clicks)

    def apply(session, rid, version, actor):
        workflow.complete(
            session, rid, version, actor, resolution_note=note, response_text=response
        )
        return "The request is completed."

    return run_action(state, apply, FIELD_IDS["complete"])


@action("close-unverified")
def close_unverified(n_clicks, state):
    _clicked(n_clicks)

    def apply(session, rid, version, actor):
        workflow.close_unverified(session, rid, version, actor)
        return "Closed as unverified."

    return run_action(state, apply)


@action(
    "correct",
    State({"type": f"{P}-correct-field", "field": ALL}, "value"),
    State({"type": f"{P}-correct-field", "field": ALL}, "id"),
)
def correct(n_clicks, values, ids, state):
    _clicked(n_clicks)
    changes: dict[str, object] = {}
    for value, id_ in zip(values or [], ids or [], strict=False):
        if isinstance(id_, dict) and isinstance(id_.get("field"), str):
            changes[id_["field"]] = value

    def apply(session, rid, version, actor):
        result = correct_subject(session, rid, version, actor, changes=changes)
        told = ", ".join(p.business_name for p in result.partners_to_tell) or "none"
        return f"Corrected: {', '.join(result.fields)}. Partners to tell: {told}."

    return run_action(state, apply)


@action("optout", State(f"{P}-optout-purposes", "value"))
def opt_out(n_clicks, purposes, state):
    _clicked(n_clicks)

    def apply(session, rid, version, actor):
        if not isinstance(purposes, list):
            raise ValidationError({"purposes": "Choose at least one purpose."})
        result = record_opt_outs(session, rid, version, actor, purposes=purposes)
        withdrawn = ", ".join(PURPOSE_LABELS[p] for p in result.withdrawn) or "nothing new"
        return (
            f"Withdrawn: {withdrawn}. Suppression entries added: {result.suppressions_added}"
            f" (already on the list: {result.already_suppressed})."
        )

    return run_action(state, apply)


# --- erasure (data.erasure; docs/erasure.md) -------------------------------------------------

ERASE_UNCONFIRMED = "Type the request number to confirm the erasure; nothing was erased."


@callback(
    Output(f"{P}-erase-preview-result", "children"),
    Input(f"{P}-erase-preview-submit", "n_clicks"),
    State(f"{P}-state", "data"),
    prevent_initial_call=True,
    running=busy(f"{P}-erase-preview-submit"),
)
def preview_erasure(n_clicks, state):
    """What the erasure will do (read only), with the typed confirmation when not blocked."""
    _clicked(n_clicks)
    rid: int | None = None
    try:
        rid, _ = _state(state)
        workflow.require_privacy_role(actor_of(current_user))
        with session_scope() as session:
            preview = erasure.preview_request(session, rid)
    except workflow.WorkflowError as exc:
        return _failure(exc, rid)
    return preview_view(rid, preview)


@action("erase", State(f"{P}-erase-typed", "value"))
def erase(n_clicks, typed, state):
    """The erasure itself: the typed number is checked here, on the server. It runs in its own
    transaction (``erasure.carry_out``), which also audits residue found by the scan."""
    _clicked(n_clicks)
    rid: int | None = None
    fields = {"confirm": f"{P}-erase-typed"}
    try:
        rid, version = _state(state)
        if str(typed or "").strip().lstrip("#") != str(rid):
            raise ValidationError({"confirm": ERASE_UNCONFIRMED})
        erasure.carry_out(rid, version, actor_of(current_user))
    except (ValidationError, workflow.WorkflowError) as exc:
        return no_update, no_update, _failure(exc, rid, fields)
    return _done(rid, "Erased. The receipt is below.")


# --- the access package -----------------------------------------------------------------------


PACKAGE_RESULT = Output(f"{P}-package-result", "children")


@callback(
    VIEW,
    PACKAGE_RESULT,
    Input(f"{P}-package-preview", "n_clicks"),
    State(f"{P}-state", "data"),
    prevent_initial_call=True,
    running=busy(f"{P}-package-preview"),
)
def preview_package(n_clicks, state):
    _clicked(n_clicks)
    rid: int | None = None
    try:
        rid, _ = _state(state)
        with session_scope() as session:
            package = access_package.preview_package(session, rid, actor_of(current_user))
    except workflow.WorkflowError as exc:
        return no_update, _failure(exc, rid)
    rendered = _render(rid, preview=package)
    return (rendered[0] if rendered else no_update), no_update


@callback(
    Output(f"{P}-download", "data"),
    VIEW,
    PACKAGE_RESULT,
    Input(f"{P}-package-json", "n_clicks"),
    Input(f"{P}-package-html", "n_clicks"),
    State(f"{P}-state", "data"),
    prevent_initial_call=True,
    running=[*busy(f"{P}-package-json"), *busy(f"{P}-package-html")],
)
def download_package(json_clicks, html_clicks, state):
    trigger = dash.ctx.triggered_id
    fmt = {f"{P}-package-json": "json", f"{P}-package-html": "html"}.get(str(trigger))
    if fmt is None or not (json_clicks or html_clicks):
        raise dash.exceptions.PreventUpdate
    rid: int | None = None
    try:
        rid, _ = _state(state)
        with session_scope() as session:
            file = access_package.download_package(session, rid, actor_of(current_user), fmt)
    except workflow.WorkflowError as exc:
        return no_update, no_update, _failure(exc, rid)
    rendered = _render(rid, done=done(f"Downloaded {file.filename}.", f"{P}-done"))
    download = {"content": file.content, "filename": file.filename, "type": file.mime_type}
    return download, (rendered[0] if rendered else no_update), no_update

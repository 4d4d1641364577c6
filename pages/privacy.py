"""The privacy request desk (``/privacy``): the queue with its summary, intake of a new request,
and the legal disclosures register, as three tabs.

The queue is live: every few seconds it asks the server for a fingerprint of the requests
(``queue_version``, one aggregate) and re-renders its rows and summary only when that changed,
so a request logged in another tab or closed by another officer shows without a reload.

Queue filters live in the URL (``?type=access&status=all&assignee=3&overdue=1&due_week=1``):
changing a filter writes the query string, Dash's router re-renders the page from it, so a link
reproduces the view. Query values are untrusted and validated with ``components.url_state``.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update
from flask_login import current_user

from components import messages
from components.actions import busy, confirm_panel, done, new_token, refused, result_slot
from components.privacy_common import actor_of, candidate_options, humanise, message
from components.privacy_forms import (
    DISCLOSURE_FIELDS,
    INTAKE_FIELDS,
    disclosure_rows,
    disclosures_panel,
    intake_form,
)
from components.privacy_queue import filter_bar, queue_grid, queue_rows, summary_panel
from components.url_state import (
    BadQuery,
    clean_params,
    parse_choice,
    parse_int,
    parse_search,
    to_search,
)
from data import audit
from data.db import read_connection, session_scope
from data.identifiers import normalise_email, normalise_phone
from data.models import REQUEST_TYPES, PrivacyRequest
from data.privacy import workflow
from data.privacy.disclosures import list_disclosures, record_disclosure
from data.privacy.intake import find_candidates, log_request, validate_intake
from data.privacy.queue import (
    STATUS_FILTERS,
    QueueFilters,
    assignee_options,
    closable_unverified,
    queue_summary,
    queue_version,
    request_queue,
)
from data.privacy.validation import ValidationError, looks_like_email
from data.submissions import AlreadySubmitted, SubmissionError, check_token
from data.timeutil import sa_date, sa_text, today, utc_to_sa, utcnow
from guard import current_role_can

dash.register_page(
    __name__,
    path="/privacy",
    name="Privacy",
    title="Privacy requests · Partner Operations",
    allowed_roles=["admin", "privacy_officer"],
    id_prefix="privacy",
    nav_order=40,
)

TABS = ("queue", "intake", "disclosures")
HIDDEN = {"display": "none"}
# How often an open queue asks whether anything changed (a count, not a render).
POLL_MS = 4000
FLAG_VALUES = {"1": True, "true": True, "0": False, "false": False, "": False}


def _sa_now_text() -> str:
    """Now, as the intake form's "received" field expects it: Johannesburg wall time."""
    return utc_to_sa(utcnow()).strftime("%Y-%m-%dT%H:%M")


def parse_filters(params: dict[str, str]) -> tuple[QueueFilters, dict[str, Any]]:
    """Queue filters from the query string; BadQuery with a readable message when invalid."""
    type_ = parse_choice(params, "type", REQUEST_TYPES, label="request type")
    status = parse_choice(params, "status", STATUS_FILTERS, label="status") or "open"
    raw_assignee = params.get("assignee", "").strip()
    assignee = None
    if raw_assignee and raw_assignee != "none":
        assignee = parse_int(params, "assignee", label="assignee", minimum=1, maximum=2**31 - 1)
    flags = {}
    for key in ("overdue", "due_week"):
        raw = params.get(key, "").strip().lower()
        if raw not in FLAG_VALUES:
            raise BadQuery(f"The {key.replace('_', ' ')} filter must be 1 or 0.")
        flags[key] = FLAG_VALUES[raw]
    filters = QueueFilters(
        type=type_,
        status=status,
        assignee=assignee,
        unassigned=raw_assignee == "none",
        **flags,
    )
    values = {
        "type": type_,
        "status": status,
        "assignee": raw_assignee or None,
        **flags,
    }
    return filters, values


def layout(**query: str) -> html.Div:
    params = clean_params(query)
    tab = params.get("tab") if params.get("tab") in TABS else "queue"
    problem = None
    try:
        filters, values = parse_filters(params)
    except BadQuery as exc:
        problem = messages.invalid_input(f"{exc} Showing open requests instead.")
        filters, values = QueueFilters(), {"status": "open"}
    day = today()
    with read_connection() as conn:
        summary = queue_summary(conn, day)
        queue = request_queue(conn, filters, day)
        assignees = assignee_options(conn)
        disclosures = list_disclosures(conn)
        version = queue_version(conn)
    queue_tab = html.Div(
        [
            dcc.Interval(id="privacy-queue-poll", interval=POLL_MS),
            dcc.Store(id="privacy-queue-version", data=f"{day}:{version}"),
            dcc.Store(id="privacy-queue-nudge", data=0),
            dcc.Store(id="privacy-close-stale-ids", data=None),
            html.Div(summary_panel(summary, day), id="privacy-summary-area"),
            problem,
            filter_bar(values, assignees, REQUEST_TYPES),
            html.Div(
                [
                    html.Span(
                        f"{len(queue)} request(s)", id="privacy-queue-count", className="me-3"
                    ),
                    dbc.Button(
                        "Close requests unverified for 30 days…",
                        id="privacy-close-stale",
                        color="secondary",
                        outline=True,
                        size="sm",
                        n_clicks=0,
                    ),
                ],
                className="mb-2 d-flex align-items-center",
            ),
            result_slot("privacy-close-stale-result", "mb-2"),
            queue_grid(queue),
        ],
        className="pt-3",
    )
    return html.Div(
        [
            dcc.Location(id="privacy-url", refresh="callback-nav"),
            html.H2("Privacy requests", className="page-title"),
            dbc.Tabs(
                [
                    dbc.Tab(queue_tab, label="Queue", tab_id="queue"),
                    dbc.Tab(
                        html.Div(intake_form(_sa_now_text()), className="pt-3"),
                        label="Log a request",
                        tab_id="intake",
                        tab_class_name="privacy-tab-intake",
                    ),
                    dbc.Tab(
                        html.Div(disclosures_panel(disclosures, day.isoformat()), className="pt-3"),
                        label="Legal disclosures",
                        tab_id="disclosures",
                    ),
                ],
                id="privacy-tabs",
                active_tab=tab,
            ),
        ],
        id="privacy-page",
    )


# --- queue ------------------------------------------------------------------------------------


@callback(
    Output("privacy-url", "search"),
    Input("privacy-filter-type", "value"),
    Input("privacy-filter-status", "value"),
    Input("privacy-filter-assignee", "value"),
    Input("privacy-filter-flags", "value"),
    prevent_initial_call=True,
)
def filters_to_url(type_, status, assignee, flags):
    """Write the filters to the URL; the router then renders the filtered page."""
    flags = flags if isinstance(flags, list) else []
    params = {
        "type": type_ if type_ in REQUEST_TYPES else None,
        "status": status if status in STATUS_FILTERS else None,
        "assignee": assignee if isinstance(assignee, str) and len(assignee) < 12 else None,
        "overdue": "1" if "overdue" in flags else None,
        "due_week": "1" if "due_week" in flags else None,
    }
    return to_search(params, defaults={"status": "open"})


@callback(
    Output("privacy-queue-version", "data"),
    Output("privacy-queue-grid", "rowData"),
    Output("privacy-queue-count", "children"),
    Output("privacy-summary-area", "children"),
    Input("privacy-queue-poll", "n_intervals"),
    Input("privacy-queue-nudge", "data"),
    State("privacy-queue-version", "data"),
    State("privacy-url", "search"),
    prevent_initial_call=True,
)
def refresh_queue(_ticks, _nudge, seen, search):
    """The live queue: re-render rows and summary only when the fingerprint moved."""
    if not current_role_can(workflow.HANDLE):
        raise dash.exceptions.PreventUpdate
    day = today()
    with read_connection() as conn:
        version = f"{day}:{queue_version(conn)}"
        if version == seen:
            raise dash.exceptions.PreventUpdate
        try:
            filters, _ = parse_filters(clean_params(parse_search(search)))
        except BadQuery:
            filters = QueueFilters()
        queue = request_queue(conn, filters, day)
        summary = queue_summary(conn, day)
    return version, queue_rows(queue), f"{len(queue)} request(s)", summary_panel(summary, day)


def _closable_item(req: Any, day: Any) -> str:
    age = (day - sa_date(req.received_at)).days
    return (
        f"#{req.id} · {humanise(req.type)} · received {sa_text(req.received_at, False)} "
        f"({age} days ago) · {humanise(req.status)}"
    )


@callback(
    Output("privacy-close-stale-result", "children"),
    Output("privacy-close-stale-ids", "data"),
    Input("privacy-close-stale", "n_clicks"),
    prevent_initial_call=True,
    running=busy("privacy-close-stale"),
)
def close_stale_preview(n_clicks):
    """First step of the bulk close: list exactly what it would close, and ask."""
    if not n_clicks:
        raise dash.exceptions.PreventUpdate
    if not current_role_can(workflow.HANDLE):
        return refused("Only a privacy officer or an administrator may do this."), None
    now = utcnow()
    with read_connection() as conn:
        closable = closable_unverified(conn, now)
    if not closable:
        return done("No request has been unverified for 30 days.", "privacy-close-stale-none"), None
    day = sa_date(now)
    panel = confirm_panel(
        "privacy-close-stale",
        f"These {len(closable)} request(s) will be closed as unverified:",
        [_closable_item(r, day) for r in closable],
        f"Close these {len(closable)} request(s)",
        note="Each is audited. A closed request cannot be reopened; the requester may ask again.",
    )
    return panel, [r.id for r in closable]


@callback(
    Output("privacy-close-stale-result", "children", allow_duplicate=True),
    Output("privacy-close-stale-ids", "data", allow_duplicate=True),
    Output("privacy-queue-nudge", "data"),
    Input("privacy-close-stale-confirm", "n_clicks"),
    Input("privacy-close-stale-cancel", "n_clicks"),
    State("privacy-close-stale-ids", "data"),
    State("privacy-queue-nudge", "data"),
    prevent_initial_call=True,
    running=busy("privacy-close-stale-confirm"),
)
def close_stale_confirm(confirm_clicks, cancel_clicks, ids, nudge):
    """Second step: close the listed requests (and only those), then refresh the queue."""
    trigger = dash.ctx.triggered_id
    if trigger == "privacy-close-stale-cancel" and cancel_clicks:
        return done("Nothing was closed."), None, no_update
    if trigger != "privacy-close-stale-confirm" or not confirm_clicks:
        raise dash.exceptions.PreventUpdate
    shown = {i for i in ids if isinstance(i, int)} if isinstance(ids, list) else set()
    if not shown:
        return refused("Show the list again before closing."), None, no_update
    try:
        with session_scope() as session:
            closed = workflow.close_all_unverified(session, actor_of(current_user), only=shown)
    except workflow.WorkflowError as exc:
        return refused(str(exc), colour="danger"), None, no_update
    skipped = len(shown) - len(closed)
    text = "Closed as unverified: " + (", ".join(f"#{i}" for i in closed) or "none") + "."
    if skipped:
        text += f" {skipped} changed since the list was shown and were left open."
    bump = (nudge if isinstance(nudge, int) else 0) + 1
    return done(text, "privacy-close-stale-done"), None, bump


# --- intake -----------------------------------------------------------------------------------

INTAKE_STATES = [
    State("privacy-intake-type", "value"),
    State("privacy-intake-channel", "value"),
    State("privacy-intake-received", "value"),
    State("privacy-intake-name", "value"),
    State("privacy-intake-email", "value"),
    State("privacy-intake-phone", "value"),
    State("privacy-intake-message", "value"),
]


def audited_search(action: str, name: str | None, email: str | None, phone: str | None) -> list:
    """Look people up by identifiers, and audit that it was done: which kinds of identifier
    were given and how many candidates came back, never the values (a search is a read of
    personal data, docs/security.md)."""
    with read_connection() as conn:
        candidates = find_candidates(conn, name=name, email=email, phone=phone)
    details = {"by_email": bool(email), "by_phone": bool(phone), "by_name": bool(name)}
    audit.record_read(
        current_user.username, action, details={**details, "candidates": len(candidates)}
    )
    return candidates


def _intake_raw(type_, channel, received, name, email, phone, text) -> dict[str, object]:
    return {
        "type": type_,
        "channel": channel,
        "received_at": received,
        "name": name,
        "email": email,
        "phone": phone,
        "message": text,
    }


@callback(
    Output("privacy-intake-feedback", "children"),
    Output("privacy-intake-subject", "options"),
    Output("privacy-intake-subject", "value"),
    Output("privacy-intake-confirm", "style"),
    Input("privacy-intake-find", "n_clicks"),
    *INTAKE_STATES,
    prevent_initial_call=True,
    running=busy("privacy-intake-find"),
)
def intake_find(n_clicks, *fields):
    if not n_clicks:
        raise dash.exceptions.PreventUpdate
    if not current_role_can(workflow.HANDLE):  # defence in depth behind the guard
        raise dash.exceptions.PreventUpdate
    try:
        form = validate_intake(_intake_raw(*fields))
    except ValidationError as exc:
        return refused(exc.errors, "privacy-intake-errors", fields=INTAKE_FIELDS), [], None, HIDDEN
    candidates = audited_search("privacy_intake.search", form.given_name, form.email, form.phone)
    found = (
        f"{len(candidates)} possible record(s). Confirm the requester, or choose “No record found”."
        if candidates
        else "No homeowner or partner matches these identifiers."
    )
    feedback = message(found, "info", id_="privacy-intake-found")
    return feedback, candidate_options(candidates), None, {}


def _logged(rid: int, status: str | None, duplicate_of: int | None) -> Any:
    link = dcc.Link(f"Open request #{rid}", href=f"/privacy/{rid}", id="privacy-intake-open")
    if status == "duplicate":
        text = (
            f"Logged as request #{rid}: a duplicate of request #{duplicate_of} (same subject and "
            "type within 365 days), linked to it and not processed again."
        )
    else:
        text = f"Logged as request #{rid}."
    return done(text, "privacy-intake-logged", link=link)


@callback(
    Output("privacy-intake-result", "children"),
    Output("privacy-intake-subject", "options", allow_duplicate=True),
    Output("privacy-intake-subject", "value", allow_duplicate=True),
    Output("privacy-intake-feedback", "children", allow_duplicate=True),
    Output("privacy-intake-confirm", "style", allow_duplicate=True),
    Output("privacy-intake-type", "value"),
    Output("privacy-intake-channel", "value"),
    Output("privacy-intake-received", "value"),
    Output("privacy-intake-name", "value"),
    Output("privacy-intake-email", "value"),
    Output("privacy-intake-phone", "value"),
    Output("privacy-intake-message", "value"),
    Output("privacy-intake-token", "data"),
    Input("privacy-intake-submit", "n_clicks"),
    *INTAKE_STATES,
    State("privacy-intake-subject", "value"),
    State("privacy-intake-token", "data"),
    prevent_initial_call=True,
    running=busy("privacy-intake-submit"),
)
def intake_submit(n_clicks, *fields_subject_token):
    """Log the request once per form: the form's token makes a second click (or a retry)
    answer with the request the first one logged; the form is then reset with a new token."""
    if not n_clicks:
        raise dash.exceptions.PreventUpdate
    *fields, subject, token = fields_subject_token
    keep = (no_update,) * 12
    try:
        token_ = check_token(token)
        form = validate_intake(_intake_raw(*fields))
        if subject in (None, ""):
            raise ValidationError({"subject": "Find the matching records and confirm one first."})
        with session_scope() as session:
            req = log_request(
                session,
                actor_of(current_user),
                form,
                subject=None if subject == "none" else subject,
                no_record_found=subject == "none",
                token=token_,
            )
            result = _logged(req.id, req.status, req.duplicate_of_id)
    except AlreadySubmitted as exc:
        if exc.object_id is None:  # pragma: no cover - the first submission always names it
            return (refused(str(exc)), *keep)
        with session_scope() as session:
            first = session.get(PrivacyRequest, exc.object_id)
            result = _logged(exc.object_id, first.status, first.duplicate_of_id) if first else None
    except ValidationError as exc:
        return (refused(exc.errors, "privacy-intake-errors", fields=INTAKE_FIELDS), *keep)
    except (workflow.WorkflowError, SubmissionError) as exc:
        return (refused(str(exc), "privacy-intake-errors", colour="danger"), *keep)
    reset = (None, None, _sa_now_text(), "", "", "", "")
    return (result, [], None, None, HIDDEN, *reset, new_token())


# --- legal disclosures ------------------------------------------------------------------------


@callback(
    Output("privacy-disclosure-subject", "options"),
    Output("privacy-disclosure-subject", "value"),
    Output("privacy-disclosure-lookup-result", "children"),
    Input("privacy-disclosure-find", "n_clicks"),
    State("privacy-disclosure-lookup", "value"),
    prevent_initial_call=True,
    running=busy("privacy-disclosure-find"),
)
def disclosure_find(n_clicks, lookup):
    if not n_clicks:
        raise dash.exceptions.PreventUpdate
    if not current_role_can(workflow.HANDLE):  # defence in depth behind the guard
        raise dash.exceptions.PreventUpdate
    text = (lookup or "").strip() if isinstance(lookup, str) else ""
    email = normalise_email(text) if looks_like_email(text) else None
    phone = None if email else normalise_phone(text[:40])
    if not email and not phone:
        return [], None, refused("Enter a valid email address or South African phone number.")
    candidates = audited_search("privacy_disclosure.search", None, email, phone)
    if not candidates:
        return [], None, refused("No homeowner or partner has that email address or phone.")
    return candidate_options(candidates, include_none=False), None, None


@callback(
    Output("privacy-disclosure-result", "children", allow_duplicate=True),
    Output("privacy-disclosure-grid", "rowData"),
    Output("privacy-disclosure-reference", "value"),
    Output("privacy-disclosure-authority", "value"),
    Output("privacy-disclosure-basis", "value"),
    Output("privacy-disclosure-released", "value"),
    Output("privacy-disclosure-date", "value"),
    Output("privacy-disclosure-lookup", "value"),
    Output("privacy-disclosure-subject", "options", allow_duplicate=True),
    Output("privacy-disclosure-subject", "value", allow_duplicate=True),
    Output("privacy-disclosure-token", "data"),
    Input("privacy-disclosure-submit", "n_clicks"),
    State("privacy-disclosure-reference", "value"),
    State("privacy-disclosure-authority", "value"),
    State("privacy-disclosure-basis", "value"),
    State("privacy-disclosure-released", "value"),
    State("privacy-disclosure-date", "value"),
    State("privacy-disclosure-subject", "value"),
    State("privacy-disclosure-token", "data"),
    prevent_initial_call=True,
    running=busy("privacy-disclosure-submit"),
)
def disclosure_submit(n_clicks, reference, authority, basis, released, at, subject, token):
    """Record one entry per form (its token), then clear the form for the next one."""
    if not n_clicks:
        raise dash.exceptions.PreventUpdate
    keep = (no_update,) * 10
    raw = {
        "reference": reference,
        "authority": authority,
        "legal_basis": basis,
        "data_released": released,
        "at": at,
        "subject": subject,
    }
    try:
        token_ = check_token(token)
        with session_scope() as session:
            entry_id = record_disclosure(session, actor_of(current_user), raw, token=token_).id
    except AlreadySubmitted as exc:
        entry_id = exc.object_id
    except ValidationError as exc:
        return (refused(exc.errors, "privacy-disclosure-errors", fields=DISCLOSURE_FIELDS), *keep)
    except (workflow.WorkflowError, SubmissionError) as exc:
        return (refused(str(exc), "privacy-disclosure-errors", colour="danger"), *keep)
    with read_connection() as conn:
        rows = disclosure_rows(list_disclosures(conn))
    result = done(f"Disclosure #{entry_id} recorded.", "privacy-disclosure-recorded")
    reset = ("", "", "", "", today().isoformat(), "", [], None)
    return (result, rows, *reset, new_token())

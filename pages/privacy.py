"""The privacy request desk (``/privacy``): the queue with its summary, intake of a new request,
and the legal disclosures register, as three tabs.

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
from components.privacy_common import actor_of, candidate_options, field_errors, message
from components.privacy_forms import disclosure_rows, disclosures_panel, intake_form
from components.privacy_queue import filter_bar, queue_grid, summary_panel
from components.url_state import BadQuery, clean_params, parse_choice, parse_int, to_search
from data.db import read_connection, session_scope
from data.identifiers import normalise_email, normalise_phone
from data.models import REQUEST_TYPES
from data.privacy import workflow
from data.privacy.disclosures import list_disclosures, record_disclosure
from data.privacy.intake import find_candidates, log_request, validate_intake
from data.privacy.queue import (
    STATUS_FILTERS,
    QueueFilters,
    assignee_options,
    queue_summary,
    request_queue,
)
from data.privacy.validation import ValidationError, looks_like_email
from data.timeutil import today, utcnow

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
FLAG_VALUES = {"1": True, "true": True, "0": False, "false": False, "": False}


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
    queue_tab = html.Div(
        [
            summary_panel(summary, day),
            problem,
            filter_bar(values, assignees, REQUEST_TYPES),
            html.Div(
                [
                    html.Span(
                        f"{len(queue)} request(s)", id="privacy-queue-count", className="me-3"
                    ),
                    dbc.Button(
                        "Close requests unverified for 30 days",
                        id="privacy-close-stale",
                        color="secondary",
                        outline=True,
                        size="sm",
                        n_clicks=0,
                    ),
                    html.Span(id="privacy-close-stale-result", className="ms-2 small"),
                ],
                className="mb-2 d-flex align-items-center",
            ),
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
                        html.Div(
                            intake_form(utcnow().strftime("%Y-%m-%dT%H:%M")), className="pt-3"
                        ),
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
    Output("privacy-close-stale-result", "children"),
    Input("privacy-close-stale", "n_clicks"),
    prevent_initial_call=True,
)
def close_stale(n_clicks):
    if not n_clicks:
        raise dash.exceptions.PreventUpdate
    try:
        with session_scope() as session:
            closed = workflow.close_all_unverified(session, actor_of(current_user))
    except workflow.WorkflowError as exc:
        return str(exc)
    if not closed:
        return "No request has been unverified for 30 days."
    ids = ", ".join(f"#{i}" for i in closed)
    return f"Closed as unverified: {ids}. Reload to refresh the queue."


# --- intake -----------------------------------------------------------------------------------

INTAKE_FIELDS = [
    State("privacy-intake-type", "value"),
    State("privacy-intake-channel", "value"),
    State("privacy-intake-received", "value"),
    State("privacy-intake-name", "value"),
    State("privacy-intake-email", "value"),
    State("privacy-intake-phone", "value"),
    State("privacy-intake-message", "value"),
]


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
    *INTAKE_FIELDS,
    prevent_initial_call=True,
)
def intake_find(n_clicks, *fields):
    if not n_clicks:
        raise dash.exceptions.PreventUpdate
    try:
        form = validate_intake(_intake_raw(*fields))
    except ValidationError as exc:
        return field_errors(exc.errors, id_="privacy-intake-errors"), [], None, HIDDEN
    with read_connection() as conn:
        candidates = find_candidates(conn, name=form.given_name, email=form.email, phone=form.phone)
    found = (
        f"{len(candidates)} possible record(s). Confirm the requester, or choose “No record found”."
        if candidates
        else "No homeowner or partner matches these identifiers."
    )
    feedback = message(found, "info", id_="privacy-intake-found")
    return feedback, candidate_options(candidates), None, {}


@callback(
    Output("privacy-intake-result", "children"),
    Output("privacy-intake-subject", "options", allow_duplicate=True),
    Output("privacy-intake-subject", "value", allow_duplicate=True),
    Output("privacy-intake-feedback", "children", allow_duplicate=True),
    Output("privacy-intake-confirm", "style", allow_duplicate=True),
    Output("privacy-intake-name", "value"),
    Output("privacy-intake-email", "value"),
    Output("privacy-intake-phone", "value"),
    Output("privacy-intake-message", "value"),
    Input("privacy-intake-submit", "n_clicks"),
    *INTAKE_FIELDS,
    State("privacy-intake-subject", "value"),
    prevent_initial_call=True,
)
def intake_submit(n_clicks, *fields_and_subject):
    if not n_clicks:
        raise dash.exceptions.PreventUpdate
    *fields, subject = fields_and_subject
    keep = (no_update,) * 8
    try:
        form = validate_intake(_intake_raw(*fields))
        if subject in (None, ""):
            raise ValidationError({"subject": "find the matching records and confirm one first"})
        with session_scope() as session:
            req = log_request(
                session,
                actor_of(current_user),
                form,
                subject=None if subject == "none" else subject,
                no_record_found=subject == "none",
            )
            rid, status, duplicate_of = req.id, req.status, req.duplicate_of_id
    except ValidationError as exc:
        return (field_errors(exc.errors, id_="privacy-intake-errors"), *keep)
    except workflow.WorkflowError as exc:
        return (message(str(exc), "danger", id_="privacy-intake-errors"), *keep)
    link = dcc.Link(f"Open request #{rid}", href=f"/privacy/{rid}", id="privacy-intake-open")
    if status == "duplicate":
        text = (
            f"Logged as request #{rid}: a duplicate of request #{duplicate_of} (same subject and "
            "type within 365 days), linked to it and not processed again."
        )
        result = message(text, "warning", id_="privacy-intake-logged", link=link)
    else:
        result = message(f"Logged as request #{rid}.", id_="privacy-intake-logged", link=link)
    return result, [], None, None, HIDDEN, "", "", "", ""


# --- legal disclosures ------------------------------------------------------------------------


@callback(
    Output("privacy-disclosure-subject", "options"),
    Output("privacy-disclosure-subject", "value"),
    Output("privacy-disclosure-result", "children"),
    Input("privacy-disclosure-find", "n_clicks"),
    State("privacy-disclosure-lookup", "value"),
    prevent_initial_call=True,
)
def disclosure_find(n_clicks, lookup):
    if not n_clicks:
        raise dash.exceptions.PreventUpdate
    text = (lookup or "").strip() if isinstance(lookup, str) else ""
    email = normalise_email(text) if looks_like_email(text) else None
    phone = None if email else normalise_phone(text[:40])
    if not email and not phone:
        return [], None, message("Enter a valid email address or South African phone.", "warning")
    with read_connection() as conn:
        candidates = find_candidates(conn, name=None, email=email, phone=phone)
    if not candidates:
        return [], None, message("No homeowner or partner has that identifier.", "warning")
    return candidate_options(candidates, include_none=False), None, None


@callback(
    Output("privacy-disclosure-result", "children", allow_duplicate=True),
    Output("privacy-disclosure-grid", "rowData"),
    Input("privacy-disclosure-submit", "n_clicks"),
    State("privacy-disclosure-reference", "value"),
    State("privacy-disclosure-authority", "value"),
    State("privacy-disclosure-basis", "value"),
    State("privacy-disclosure-released", "value"),
    State("privacy-disclosure-date", "value"),
    State("privacy-disclosure-subject", "value"),
    prevent_initial_call=True,
)
def disclosure_submit(n_clicks, reference, authority, basis, released, at, subject):
    if not n_clicks:
        raise dash.exceptions.PreventUpdate
    raw = {
        "reference": reference,
        "authority": authority,
        "legal_basis": basis,
        "data_released": released,
        "at": at,
        "subject": subject,
    }
    try:
        with session_scope() as session:
            entry = record_disclosure(session, actor_of(current_user), raw)
            entry_id = entry.id
    except ValidationError as exc:
        return field_errors(exc.errors, id_="privacy-disclosure-errors"), no_update
    except workflow.WorkflowError as exc:
        return message(str(exc), "danger"), no_update
    with read_connection() as conn:
        rows = disclosure_rows(list_disclosures(conn))
    return message(f"Disclosure #{entry_id} recorded.", id_="privacy-disclosure-recorded"), rows

"""Staff accounts (``/admin/users``, administrators only): create, deactivate or reactivate,
change role, reset password. Every change is written to the audit log by ``data.users``.

Forms follow ``components.actions``: each button's result appears under it, the create form is
cleared after success and carries a one-time token (a double-click creates one account), new
passwords need :data:`data.users.NEW_PASSWORD_MIN` characters, and deactivation is shown
(who, and what it does) and confirmed before it is applied. Roles are shown as words.

The page guard already limits every callback here to administrators; each callback checks the
role again (defence in depth) because these actions grant access to everything else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, callback, dcc, html, no_update
from flask_login import current_user

from components.actions import (
    busy,
    button_with_result,
    confirm_panel,
    done,
    refused,
    result_slot,
    token_store,
)
from components.grid import data_grid, to_records
from components.shell import ROLE_LABELS
from data.db import session_scope
from data.models import ROLES
from data.submissions import AlreadySubmitted, SubmissionError, check_token, new_token
from data.timeutil import sa_text
from data.users import (
    NEW_PASSWORD_MIN,
    UserError,
    change_role,
    create_user,
    list_users,
    reset_password,
    set_active,
)
from guard import current_role_can

dash.register_page(
    __name__,
    path="/admin/users",
    name="Users",
    title="Users · Partner Operations",
    allowed_roles=["admin"],
    id_prefix="users",
    nav_order=95,
)

COLUMNS = [
    {"field": "id", "headerName": "Id", "width": 80},
    {"field": "username", "headerName": "Username"},
    {"field": "role", "headerName": "Role"},
    {"field": "active", "headerName": "Active"},
    {"field": "created_at", "headerName": "Created"},
    {"field": "last_login_at", "headerName": "Last login"},
]
ROLE_OPTIONS = [{"label": ROLE_LABELS.get(r, r), "value": r} for r in ROLES]


def _rows() -> list[dict[str, Any]]:
    with session_scope() as session:
        users = list_users(session)
    for user in users:
        user["active"] = "yes" if user["active"] else "no"
        user["role"] = role_label(user["role"])
        for key in ("created_at", "last_login_at"):
            user[key] = sa_text(user[key]) if user[key] else ""
    return users


def role_label(role: object) -> str:
    """A role as words ("Privacy officer"), never its code."""
    return ROLE_LABELS.get(str(role), str(role).replace("_", " ").capitalize())


def _user_options(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "label": f"{r['username']} ({r['role']}{', inactive' if r['active'] == 'no' else ''})",
            "value": r["id"],
        }
        for r in rows
    ]


def layout(**_query: str) -> html.Div:
    rows = _rows()
    return html.Div(
        [
            html.H2("Users", className="page-title"),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Card(
                            [
                                dbc.CardHeader("Create a user"),
                                dbc.CardBody(
                                    [
                                        token_store("users-create-token"),
                                        dcc.Store(id="users-deactivate-shown", data=None),
                                        dbc.Input(
                                            id="users-new-username",
                                            placeholder="Username",
                                            maxLength=80,
                                            className="mb-1",
                                        ),
                                        dbc.FormText(
                                            "Letters, digits, dots, dashes and underscores.",
                                            className="d-block mb-2",
                                        ),
                                        dcc.Dropdown(
                                            id="users-new-role",
                                            options=ROLE_OPTIONS,
                                            placeholder="Role",
                                            className="mb-2",
                                        ),
                                        dbc.Input(
                                            id="users-new-password",
                                            type="password",
                                            placeholder=f"Initial password "
                                            f"(at least {NEW_PASSWORD_MIN} characters)",
                                            maxLength=200,
                                            className="mb-2",
                                            autoComplete="new-password",
                                        ),
                                        button_with_result(
                                            dbc.Button("Create", id="users-create", n_clicks=0),
                                            "users-create-result",
                                        ),
                                    ]
                                ),
                            ],
                            className="shadow-sm h-100",
                        ),
                        lg=4,
                        className="mb-3",
                    ),
                    dbc.Col(
                        dbc.Card(
                            [
                                dbc.CardHeader("Change a user"),
                                dbc.CardBody(
                                    [
                                        dcc.Dropdown(
                                            id="users-target",
                                            options=_user_options(rows),
                                            placeholder="Choose a user",
                                            className="mb-2",
                                        ),
                                        button_with_result(
                                            dbc.Button(
                                                "Deactivate…",
                                                id="users-deactivate",
                                                color="danger",
                                                n_clicks=0,
                                            ),
                                            "users-activate-result",
                                            dbc.Button(
                                                "Reactivate",
                                                id="users-activate",
                                                color="secondary",
                                                n_clicks=0,
                                            ),
                                        ),
                                        html.Div(className="mb-3"),
                                        dbc.InputGroup(
                                            [
                                                dbc.Select(id="users-role", options=ROLE_OPTIONS),
                                                dbc.Button(
                                                    "Change role",
                                                    id="users-change-role",
                                                    n_clicks=0,
                                                ),
                                            ],
                                        ),
                                        result_slot("users-role-result", "mb-3"),
                                        dbc.InputGroup(
                                            [
                                                dbc.Input(
                                                    id="users-password",
                                                    type="password",
                                                    placeholder="New password",
                                                    maxLength=200,
                                                    autoComplete="new-password",
                                                ),
                                                dbc.Button(
                                                    "Reset password",
                                                    id="users-reset-password",
                                                    n_clicks=0,
                                                ),
                                            ]
                                        ),
                                        result_slot("users-password-result"),
                                    ]
                                ),
                            ],
                            className="shadow-sm h-100",
                        ),
                        lg=8,
                        className="mb-3",
                    ),
                ]
            ),
            data_grid("users-grid", COLUMNS, row_data=to_records_list(rows), row_id_field="id"),
        ],
        id="users-page",
    )


def to_records_list(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return to_records(pd.DataFrame.from_records(rows, columns=[c["field"] for c in COLUMNS]))


def _refresh() -> tuple[Any, Any]:
    rows = _rows()
    return to_records_list(rows), _user_options(rows)


def _apply(action: Callable[[Any], str], result_id: str) -> tuple[Any, Any, Any]:
    """Run one account change as an administrator: (result under its button, grid, targets)."""
    if not current_role_can("manage_users"):
        return refused("Only administrators manage users."), no_update, no_update
    try:
        with session_scope() as session:
            text = action(session)
    except (UserError, SubmissionError) as exc:
        return refused(str(exc), f"{result_id}-error"), no_update, no_update
    return (done(text, "users-done"), *_refresh())


GRID = Output("users-grid", "rowData", allow_duplicate=True)
TARGETS = Output("users-target", "options", allow_duplicate=True)


@callback(
    Output("users-create-result", "children"),
    GRID,
    TARGETS,
    Output("users-new-username", "value"),
    Output("users-new-role", "value"),
    Output("users-new-password", "value"),
    Output("users-create-token", "data"),
    Input("users-create", "n_clicks"),
    State("users-new-username", "value"),
    State("users-new-role", "value"),
    State("users-new-password", "value"),
    State("users-create-token", "data"),
    prevent_initial_call=True,
    running=busy("users-create"),
)
def create(n_clicks, username, role, password, token):
    """Create once per form (its token); on success the form is cleared for the next one."""
    if not n_clicks:
        raise dash.exceptions.PreventUpdate
    created: list[str] = []

    def action(session):
        if not isinstance(username, str) or not username.strip():
            raise UserError("Enter a username.")
        if not isinstance(password, str) or not password:
            raise UserError("Enter an initial password.")
        try:
            user = create_user(
                session,
                username,
                password,
                str(role),
                actor=current_user.username,
                min_password=NEW_PASSWORD_MIN,
                token=check_token(token),
            )
            text = f"Created {user.username} ({role_label(user.role)})."
        except AlreadySubmitted:
            text = "This account was created by your first click; it was not created twice."
        created.append(text)
        return text

    result, grid, targets = _apply(action, "users-create")
    if not created:
        return result, grid, targets, no_update, no_update, "", no_update
    return result, grid, targets, "", None, "", new_token()


@callback(
    Output("users-activate-result", "children"),
    GRID,
    TARGETS,
    Output("users-deactivate-shown", "data"),
    Input("users-deactivate", "n_clicks"),
    Input("users-activate", "n_clicks"),
    State("users-target", "value"),
    prevent_initial_call=True,
    running=[*busy("users-deactivate"), *busy("users-activate")],
)
def activate(deactivate_clicks, activate_clicks, user_id):
    """Reactivate at once; for deactivation, first show who and what it does, and ask."""
    trigger = dash.ctx.triggered_id
    if trigger not in ("users-deactivate", "users-activate") or not (
        deactivate_clicks or activate_clicks
    ):
        raise dash.exceptions.PreventUpdate
    if trigger == "users-activate":

        def action(session):
            user = set_active(session, user_id, True, actor=current_user.username)
            return f"{user.username} is now active."

        return (*_apply(action, "users-activate"), None)
    if not current_role_can("manage_users"):
        return refused("Only administrators manage users."), no_update, no_update, None
    target = next((r for r in _rows() if r["id"] == user_id), None)
    if target is None:
        return refused("Choose a user first."), no_update, no_update, None
    panel = confirm_panel(
        "users-deactivate",
        f"Deactivate {target['username']} ({target['role']})?",
        [
            "They can no longer sign in; an open session ends at their next click.",
            "Their records and audit entries stay; you can reactivate them later.",
        ],
        f"Deactivate {target['username']}",
    )
    return panel, no_update, no_update, target["id"]


@callback(
    Output("users-activate-result", "children", allow_duplicate=True),
    GRID,
    TARGETS,
    Input("users-deactivate-confirm", "n_clicks"),
    Input("users-deactivate-cancel", "n_clicks"),
    State("users-deactivate-shown", "data"),
    prevent_initial_call=True,
    running=busy("users-deactivate-confirm"),
)
def deactivate_confirmed(confirm_clicks, cancel_clicks, user_id):
    """Deactivate the user the confirmation named (not whoever the dropdown shows now)."""
    trigger = dash.ctx.triggered_id
    if trigger == "users-deactivate-cancel" and cancel_clicks:
        return done("Nothing was changed."), no_update, no_update
    if trigger != "users-deactivate-confirm" or not confirm_clicks:
        raise dash.exceptions.PreventUpdate

    def action(session):
        user = set_active(session, user_id, False, actor=current_user.username)
        return f"{user.username} is now deactivated."

    return _apply(action, "users-activate")


@callback(
    Output("users-role-result", "children"),
    GRID,
    TARGETS,
    Input("users-change-role", "n_clicks"),
    State("users-target", "value"),
    State("users-role", "value"),
    prevent_initial_call=True,
    running=busy("users-change-role"),
)
def role(n_clicks, user_id, new_role):
    if not n_clicks:
        raise dash.exceptions.PreventUpdate

    def action(session):
        user = change_role(session, user_id, new_role, actor=current_user.username)
        return f"{user.username} is now {role_label(user.role)}."

    return _apply(action, "users-role")


@callback(
    Output("users-password-result", "children"),
    GRID,
    TARGETS,
    Output("users-password", "value"),
    Input("users-reset-password", "n_clicks"),
    State("users-target", "value"),
    State("users-password", "value"),
    prevent_initial_call=True,
    running=busy("users-reset-password"),
)
def password(n_clicks, user_id, new_password):
    if not n_clicks:
        raise dash.exceptions.PreventUpdate

    def action(session):
        user = reset_password(
            session,
            user_id,
            new_password,
            actor=current_user.username,
            min_password=NEW_PASSWORD_MIN,
        )
        return f"Password of {user.username} reset. Hand it over in person or by phone."

    return (*_apply(action, "users-password"), "")

"""Staff accounts (``/admin/users``, administrators only): create, deactivate or reactivate,
change role, reset password. Every change is written to the audit log by ``data.users``.

The page guard already limits every callback here to administrators; each callback checks the
role again (defence in depth) because these actions grant access to everything else.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, callback, dcc, html, no_update
from flask_login import current_user

from components.grid import data_grid, to_records
from components.shell import ROLE_LABELS
from data.db import session_scope
from data.models import ROLES
from data.users import UserError, change_role, create_user, list_users, reset_password, set_active
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
        for key in ("created_at", "last_login_at"):
            user[key] = user[key].strftime("%Y-%m-%d %H:%M") if user[key] else ""
    return users


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
            html.Div(id="users-result"),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Card(
                            [
                                dbc.CardHeader("Create a user"),
                                dbc.CardBody(
                                    [
                                        dbc.Input(
                                            id="users-new-username",
                                            placeholder="Username",
                                            maxLength=80,
                                            className="mb-2",
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
                                            placeholder="Initial password",
                                            maxLength=200,
                                            className="mb-2",
                                            autoComplete="new-password",
                                        ),
                                        dbc.Button("Create", id="users-create", n_clicks=0),
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
                                        dbc.ButtonGroup(
                                            [
                                                dbc.Button(
                                                    "Deactivate",
                                                    id="users-deactivate",
                                                    color="danger",
                                                    n_clicks=0,
                                                ),
                                                dbc.Button(
                                                    "Reactivate",
                                                    id="users-activate",
                                                    color="secondary",
                                                    n_clicks=0,
                                                ),
                                            ],
                                            className="mb-3",
                                        ),
                                        dbc.InputGroup(
                                            [
                                                dbc.Select(id="users-role", options=ROLE_OPTIONS),
                                                dbc.Button(
                                                    "Change role",
                                                    id="users-change-role",
                                                    n_clicks=0,
                                                ),
                                            ],
                                            className="mb-3",
                                        ),
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


def _outcome(done: str | None, error: str | None) -> tuple[Any, Any, Any]:
    if error:
        return dbc.Alert(error, color="warning", id="users-error"), no_update, no_update
    rows = _rows()
    alert = dbc.Alert(done, color="success", id="users-done", duration=8000)
    return alert, to_records_list(rows), _user_options(rows)


RESULT = Output("users-result", "children", allow_duplicate=True)
GRID = Output("users-grid", "rowData", allow_duplicate=True)
TARGETS = Output("users-target", "options", allow_duplicate=True)


def _apply(action) -> tuple[Any, Any, Any]:
    if not current_role_can("manage_users"):
        return _outcome(None, "Only administrators manage users.")
    try:
        with session_scope() as session:
            done = action(session)
    except UserError as exc:
        return _outcome(None, str(exc))
    return _outcome(done, None)


@callback(
    RESULT,
    GRID,
    TARGETS,
    Output("users-new-password", "value"),
    Input("users-create", "n_clicks"),
    State("users-new-username", "value"),
    State("users-new-role", "value"),
    State("users-new-password", "value"),
    prevent_initial_call=True,
)
def create(n_clicks, username, role, password):
    if not n_clicks:
        raise dash.exceptions.PreventUpdate

    def action(session):
        if not isinstance(username, str) or not isinstance(password, str):
            raise UserError("username and password are required")
        user = create_user(session, username, password, str(role), actor=current_user.username)
        return f"Created {user.username} ({user.role})."

    return (*_apply(action), "")


@callback(
    RESULT,
    GRID,
    TARGETS,
    Input("users-deactivate", "n_clicks"),
    Input("users-activate", "n_clicks"),
    State("users-target", "value"),
    prevent_initial_call=True,
)
def activate(deactivate_clicks, activate_clicks, user_id):
    trigger = dash.ctx.triggered_id
    if trigger not in ("users-deactivate", "users-activate") or not (
        deactivate_clicks or activate_clicks
    ):
        raise dash.exceptions.PreventUpdate
    active = trigger == "users-activate"

    def action(session):
        user = set_active(session, user_id, active, actor=current_user.username)
        return f"{user.username} is now {'active' if active else 'deactivated'}."

    return _apply(action)


@callback(
    RESULT,
    GRID,
    TARGETS,
    Input("users-change-role", "n_clicks"),
    State("users-target", "value"),
    State("users-role", "value"),
    prevent_initial_call=True,
)
def role(n_clicks, user_id, new_role):
    if not n_clicks:
        raise dash.exceptions.PreventUpdate

    def action(session):
        user = change_role(session, user_id, new_role, actor=current_user.username)
        return f"{user.username} is now {user.role}."

    return _apply(action)


@callback(
    RESULT,
    GRID,
    TARGETS,
    Output("users-password", "value"),
    Input("users-reset-password", "n_clicks"),
    State("users-target", "value"),
    State("users-password", "value"),
    prevent_initial_call=True,
)
def password(n_clicks, user_id, new_password):
    if not n_clicks:
        raise dash.exceptions.PreventUpdate

    def action(session):
        user = reset_password(session, user_id, new_password, actor=current_user.username)
        return f"Password of {user.username} reset. Hand it over in person or by phone."

    return (*_apply(action), "")

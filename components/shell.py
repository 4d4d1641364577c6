"""The application shell: navigation built from the page registry, the user badge, the page slot.

Built per request (``app.layout`` is a function) so the menu only lists what the logged-in
role may open; the server-side guard still checks every page and callback independently.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components import in_place

ROLE_LABELS = {
    "admin": "Administrator",
    "manager": "Manager",
    "privacy_officer": "Privacy officer",
    "marketing": "Marketing",
}


def logout_form(csrf_token: str) -> html.Form:
    """Logging out is a POST carrying the session's CSRF token (``auth.py``), so another site
    cannot end a session with a link or an image."""
    return html.Form(
        [
            dcc.Input(type="hidden", name="csrf_token", value=csrf_token, id="shell-logout-token"),
            html.Button(
                "Log out",
                type="submit",
                id="shell-logout",
                className="btn btn-outline-light btn-sm",
            ),
        ],
        action="/logout",
        method="POST",
        className="d-inline m-0",
    )


def navbar(
    pages: Iterable[dict[str, Any]], username: str, role: str, csrf_token: str = ""
) -> dbc.Navbar:
    links = [
        dbc.NavItem(
            dbc.NavLink(
                page["name"],
                href=page["path"],
                active="partial" if page["path"] != "/" else "exact",
                id=f"shell-nav-{page['id_prefix']}",
            )
        )
        for page in sorted(pages, key=lambda p: p["nav_order"])
    ]
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand("Partner Operations", href="/"),
                dbc.Nav(links, navbar=True, className="me-auto"),
                html.Div(
                    [
                        html.Span(username, id="shell-username", className="fw-semibold me-2"),
                        dbc.Badge(
                            ROLE_LABELS.get(role, role),
                            id="shell-role",
                            color="light",
                            text_color="primary",
                            className="me-3",
                        ),
                        logout_form(csrf_token),
                    ],
                    className="d-flex align-items-center text-white",
                ),
            ],
            fluid=True,
        ),
        color="primary",
        dark=True,
        className="mb-3",
    )


def shell(
    pages: Iterable[dict[str, Any]], username: str, role: str, csrf_token: str = ""
) -> html.Div:
    return html.Div(
        [
            navbar(pages, username, role, csrf_token),
            in_place.store(),
            dbc.Container(
                dcc.Loading(
                    dash.page_container,
                    id="shell-loading",
                    delay_show=300,
                    target_components={"_pages_content": "children"},
                ),
                fluid=True,
                className="pb-5",
            ),
        ]
    )

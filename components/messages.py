"""Full-page messages rendered inside the shell: not allowed, not found, failures, bad input."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html


def _panel(title: str, body: str, colour: str, id_: str) -> html.Div:
    return html.Div(
        dbc.Alert(
            [
                html.H4(title, className="alert-heading"),
                html.P(body, className="mb-2"),
                dcc.Link("Back to the overview", href="/"),
            ],
            color=colour,
        ),
        id=id_,
        className="mt-4",
    )


def forbidden() -> html.Div:
    return _panel(
        "Not allowed",
        "Your role does not give access to this page. Ask an administrator if you need it.",
        "warning",
        "shell-forbidden",
    )


def not_found() -> html.Div:
    return _panel(
        "Page not found",
        "There is no page at this address. Check the link or use the menu.",
        "secondary",
        "shell-not-found",
    )


def unexpected_error() -> html.Div:
    return _panel(
        "Something went wrong",
        "This page could not be shown. The error has been logged; try again or report it.",
        "danger",
        "shell-error",
    )


def invalid_input(message: str) -> dbc.Alert:
    """A clear inline message for bad input (malformed id, unknown filter value, …)."""
    return dbc.Alert(message, color="warning", className="mt-3")

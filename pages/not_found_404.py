"""The 404 page, rendered inside the shell by Dash's router for unknown paths."""

from __future__ import annotations

import dash

from components import messages

dash.register_page(
    __name__,
    allowed_roles=["admin", "manager", "privacy_officer", "marketing"],
    id_prefix="notfound",
    title="Not found",
)


def layout(**_query: str) -> object:
    return messages.not_found()

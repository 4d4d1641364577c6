"""Pages that update in place when their address changes, without the router drawing them anew.

A page whose filters live in the address writes them there with a ``dcc.Location`` (so Back,
reload and shared links work), and Dash's router then renders the whole page again: every
figure is replaced by a placeholder and drawn again, and the grid is mounted anew. A page that
can update its own parts instead (new figures into the same graphs, the grid's rows refreshed)
says so by writing, with the address, a *marker* into the shell's ``shell-shown-view`` store: the
page and the query parameters it now shows. The router passes that store to the page layouts
(``routing_callback_inputs``) and :func:`already_shown`, called by the guard before a layout,
tells it to leave the page as it is when the address is the one the page already shows.

Any page the router does render clears the marker (:func:`register`), so an address reached
later by Back, a link or the menu is always rendered, even when it equals an earlier in-place
view.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dash import Dash, Input, Output, State, dcc

from components.url_state import clean_params

STORE_ID = "shell-shown-view"  # a shell id: every role may reach it
#: The layout keyword argument the router fills from the store (never a query parameter: the
#: router passes its states after the query's parameters, so the address cannot forge it).
ROUTING_KEY = "shown_view_"


def store() -> dcc.Store:
    """The shell's store of what the current page shows in place (empty after a render)."""
    return dcc.Store(id=STORE_ID, storage_type="memory")


def routing_inputs() -> dict[str, State]:
    return {ROUTING_KEY: State(STORE_ID, "data")}


def marker(module: str, params: Mapping[str, str]) -> dict[str, Any]:
    """What a page writes into the store with its address: itself and the address's query."""
    return {"page": module, "params": dict(params)}


def already_shown(module: str, shown: object, query: Mapping[str, object]) -> bool:
    """Whether the page ``module`` already shows the address whose query is ``query``."""
    if not isinstance(shown, Mapping) or shown.get("page") != module:
        return False
    return shown.get("params") == clean_params(query)


def register(app: Dash) -> None:
    """Clear the marker whenever the router renders a page."""
    app.clientside_callback(
        "function (_children) { return null; }",
        Output(STORE_ID, "data", allow_duplicate=True),
        Input("_pages_content", "children"),
        prevent_initial_call=True,
    )

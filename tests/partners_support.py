"""Helpers for the partner pages' web tests: render a page through Dash's router, post a
callback as the browser does, and read the component trees that come back."""

from __future__ import annotations

import json

from tests.conftest import route as raw_route


def route(client, dash_app, pathname: str, search: str = "") -> str:
    """The rendered page as text (JSON with its unicode escapes decoded)."""
    body = raw_route(client, dash_app, pathname, search)
    return json.dumps(json.loads(body), ensure_ascii=False)


def key_for(dash_app, fragment: str) -> str:
    return next(k for k in dash_app.callback_map if fragment in k)


def call(client, dash_app, fragment, inputs, state=(), changed=()):
    """POST one callback like the browser does; returns (status, parsed response)."""
    key = key_for(dash_app, fragment)
    callback = dash_app.callback_map[key]
    outputs = callback["output"] if isinstance(callback["output"], list) else [callback["output"]]
    payload = {
        "output": key,
        "outputs": [{"id": o.component_id, "property": o.component_property} for o in outputs]
        if len(outputs) > 1
        else {"id": outputs[0].component_id, "property": outputs[0].component_property},
        "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
        "state": [{"id": i, "property": p, "value": v} for i, p, v in state],
        "changedPropIds": list(changed),
    }
    response = client.post("/_dash-update-component", json=payload)
    body = response.get_data(as_text=True)
    return response.status_code, (json.loads(body) if response.status_code == 200 else body)


def layout_tree(client, dash_app, search: str = "", pathname: str = "/partners") -> dict:
    """The page's component tree as the router sends it."""
    body = json.loads(raw_route(client, dash_app, pathname, search))
    return body["response"]["_pages_content"]["children"]


def find(tree, component_id: str):
    """The component with this id (depth first), or None."""
    if isinstance(tree, dict):
        props = tree.get("props", {})
        if props.get("id") == component_id:
            return tree
        for value in [*props.values(), *tree.values()]:
            if isinstance(value, dict | list) and (found := find(value, component_id)):
                return found
    elif isinstance(tree, list):
        for item in tree:
            if found := find(item, component_id):
                return found
    return None


def strings(tree) -> list[str]:
    """The non-empty strings of a component tree, in order."""
    if isinstance(tree, str):
        return [tree] if tree else []
    if isinstance(tree, list):
        return [t for item in tree for t in strings(item)]
    if isinstance(tree, dict):
        return strings(tree.get("props", {}).get("children"))
    return [] if tree is None else [str(tree)]


def leaf_defs(column_defs: list[dict]) -> list[dict]:
    out = []
    for col in column_defs:
        out.extend(leaf_defs(col["children"]) if "children" in col else [col])
    return out


def names_of(rows) -> list[str]:
    return [r["business_name"] for r in rows]


FILTER_INPUTS = (
    "partners-period",
    "partners-from",
    "partners-to",
    "partners-trade",
    "partners-province",
    "partners-vetting",
    "partners-min-reviews",
    "partners-search",
)


def apply_filters(client, dash_app, values, store, request=None):
    """The filter controls' callback: values in FILTER_INPUTS order."""
    status, body = call(
        client,
        dash_app,
        "partners-url.href",
        [(i, "value", v) for i, v in zip(FILTER_INPUTS, values, strict=True)],
        [("partners-query", "data", store), ("partners-grid", "getRowsRequest", request)],
        ["partners-from.value"],
    )
    assert status == 200, body
    return body["response"]


def show_view(client, dash_app, store) -> dict:
    status, body = call(
        client, dash_app, "partners-kpis.children", [("partners-view", "data", store)]
    )
    assert status == 200, body
    return body["response"]


def grid_rows(client, dash_app, store, request):
    status, body = call(
        client,
        dash_app,
        "partners-grid.getRowsResponse",
        [("partners-grid", "getRowsRequest", request)],
        [("partners-query", "data", store)],
    )
    assert status == 200, body
    return body["response"]["partners-grid"]["getRowsResponse"], body

"""The pure checks of ``ops.callback_body`` (the web tests drive them through the app)."""

from __future__ import annotations

import json

import pytest

from ops.callback_body import (
    PROPERTY_TYPES,
    BadBody,
    check_shape,
    check_signature,
    depth_within,
)

WILD = '{"field":["ALL"],"type":"privacy-request-correct-field"}'


class Out:
    def __init__(self, cid, prop="children"):
        self.component_id, self.component_property = cid, prop


CALLBACK = {
    "callback": print,  # any server function
    "output": Out("x-result"),
    "inputs": [{"id": "x-go", "property": "n_clicks"}, {"id": WILD, "property": "value"}],
    "state": [{"id": "x-filter", "property": "value"}],
}


def body(**changes):
    base = {
        "output": "x-result.children",
        "outputs": {"id": "x-result", "property": "children"},
        "inputs": [
            {"id": "x-go", "property": "n_clicks", "value": 2},
            [
                {
                    "id": {"field": "email", "type": "privacy-request-correct-field"},
                    "property": "value",
                    "value": "a@b.co",
                },
            ],
        ],
        "state": [{"id": "x-filter", "property": "value", "value": ["a", "b"]}],
        "changedPropIds": ["x-go.n_clicks"],
    }
    base.update(changes)
    return base


def test_a_well_formed_call_passes():
    check_signature(CALLBACK, body())
    check_signature(CALLBACK, body(inputs=[body()["inputs"][0], []]))  # ALL matching nothing


@pytest.mark.parametrize(
    "changes",
    [
        {"inputs": [{"id": "x-go", "property": "n_clicks", "value": "2"}, []]},
        {"inputs": [{"id": "x-go", "property": "n_clicks", "value": True}, []]},
        {"inputs": [{"id": "x-go", "property": "n_clicks", "value": -1}, []]},
        {"inputs": [{"id": "x-other", "property": "n_clicks", "value": 1}, []]},
        {"inputs": [{"id": "x-go", "property": "n_clicks", "value": 1}]},
        {
            "inputs": [
                {"id": "x-go", "property": "n_clicks", "value": 1},
                {
                    "id": {"field": "x", "type": "privacy-request-correct-field"},
                    "property": "value",
                    "value": "v",
                },
            ]
        },  # ALL must be a list
        {
            "inputs": [
                {"id": "x-go", "property": "n_clicks", "value": 1},
                [{"id": {"field": "x", "type": "other"}, "property": "value"}],
            ]
        },
        {
            "inputs": [
                {"id": "x-go", "property": "n_clicks", "value": 1},
                [
                    {
                        "id": {"field": {"$ne": 1}, "type": "privacy-request-correct-field"},
                        "property": "value",
                    }
                ],
            ]
        },
        {"state": [{"id": "x-filter", "property": "value", "value": {"$gt": ""}}]},
        {"state": [{"id": "x-filter", "property": "value", "value": [["nested"]]}]},
        {"state": [{"id": "x-filter", "property": "value", "value": float("nan")}]},
        {"state": []},
        {"outputs": [{"id": "x-result", "property": "children"}] * 2},
        {"outputs": "x-result.children"},
    ],
)
def test_calls_that_do_not_match_are_refused(changes):
    with pytest.raises(BadBody) as refused:
        check_signature(CALLBACK, body(**changes))
    assert refused.value.status == 400


@pytest.mark.parametrize(
    "bad",
    [
        None,
        [],
        "x",
        {"output": 1},
        {"output": "a.b", "changedPropIds": "a.b"},
        {"output": "a.b", "changedPropIds": [1]},
    ],
)
def test_shapes_that_are_refused(bad):
    with pytest.raises(BadBody):
        check_shape(bad)


def test_depth_is_counted_without_recursion():
    assert depth_within(json.loads("[" * 200 + "]" * 200))
    assert not depth_within(json.loads("[" * 201 + "]" * 201))
    assert depth_within({"a": [{"b": 1}]}, limit=3)
    assert not depth_within({"a": [{"b": [1]}]}, limit=3)
    deep: list = []
    for _ in range(50_000):  # deeper than Python's recursion limit
        deep = [deep]
    assert not depth_within(deep)


def test_every_property_a_callback_reads_has_a_type(dash_app):
    """A new Input/State property must be added to PROPERTY_TYPES (or deliberately to the
    "any JSON" ones): otherwise its values would reach the callback unchecked."""
    read = {
        d["property"] for cb in dash_app.callback_map.values() for d in cb["inputs"] + cb["state"]
    }
    assert read - PROPERTY_TYPES.keys() == set()


def test_a_clientside_callback_cannot_be_called_on_the_server():
    clientside = {k: v for k, v in CALLBACK.items() if k != "callback"}  # as Dash maps one
    with pytest.raises(BadBody, match="clientside"):
        check_signature(clientside, body())
    with pytest.raises(BadBody, match="clientside"):
        check_signature({**CALLBACK, "callback": None}, body())
    check_signature(CALLBACK, body())

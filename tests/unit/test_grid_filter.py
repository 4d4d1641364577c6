"""A grid's column filters in the address: what AG Grid sends passes, anything else is refused.

Expected models are written out by hand; the refusals are the shapes someone could type into
a link (unknown columns, wrong types, injection text, non-finite numbers, too many conditions).
"""

from __future__ import annotations

import json

import pytest

from components import grid_filter as gf
from components.url_state import BadQuery

COLUMNS = {"business_name": "Partner", "shares": "Leads shared", "provinces": "Provinces"}


def _param(model: object) -> dict[str, str]:
    return {"filter": json.dumps(model)}


def test_the_shapes_ag_grid_sends_are_kept_exactly():
    model = {
        "provinces": {"filterType": "text", "type": "contains", "filter": "Gauteng"},
        "shares": {
            "filterType": "number",
            "operator": "OR",
            "conditions": [
                {"filterType": "number", "type": "inRange", "filter": 5, "filterTo": 10},
                {"filterType": "number", "type": "greaterThan", "filter": 100.5},
            ],
        },
        "business_name": {"filterType": "text", "type": "blank"},
    }
    assert gf.parse_filter_param(_param(model), "filter", COLUMNS) == model


def test_keys_ag_grid_does_not_use_are_dropped_and_the_text_round_trips():
    raw = {
        "provinces": {
            "filterType": "text",
            "type": "startsWith",
            "filter": "Western",
            "onclick": "alert(1)",
        }
    }
    clean = gf.parse_filter_param(_param(raw), "filter", COLUMNS)
    assert clean == {"provinces": {"filterType": "text", "type": "startsWith", "filter": "Western"}}
    written = gf.filter_param(clean)
    assert written == '{"provinces":{"filter":"Western","filterType":"text","type":"startsWith"}}'
    assert gf.parse_filter_param({"filter": written}, "filter", COLUMNS) == clean


def test_no_filter_is_an_empty_model():
    assert gf.parse_filter_param({}, "filter", COLUMNS) == {}
    assert gf.parse_filter_param({"filter": "  "}, "filter", COLUMNS) == {}
    assert gf.filter_param({}) == ""


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[1, 2]",
        '{"password": {"filterType": "text", "type": "contains", "filter": "x"}}',
        '{"shares": {"filterType": "number", "type": "greaterThan", "filter": "5"}}',
        '{"shares": {"filterType": "number", "type": "greaterThan", "filter": NaN}}',
        '{"shares": {"filterType": "number", "type": "greaterThan", "filter": Infinity}}',
        '{"shares": {"filterType": "number", "type": "greaterThan", "filter": true}}',
        '{"shares": {"filterType": "number", "type": "inRange", "filter": 1}}',
        '{"shares": {"filterType": "number", "type": "contains", "filter": 1}}',
        '{"provinces": {"filterType": "text", "type": "lessThan", "filter": "a"}}',
        '{"provinces": {"filterType": "text", "type": "contains", "filter": ""}}',
        '{"provinces": {"filterType": "set", "values": ["a"]}}',
        '{"provinces": {"filterType": "text", "type": "contains", "filter": "' + "x" * 101 + '"}}',
        '{"provinces": {"filterType": "text", "operator": "XOR", "conditions": []}}',
        '{"provinces": {"filterType": "text", "operator": "AND", "conditions": '
        + json.dumps([{"filterType": "text", "type": "contains", "filter": "a"}] * 3)
        + "}}",
        '{"provinces": {"filterType": "text", "operator": "AND", "conditions": '
        '[{"filterType": "number", "type": "equals", "filter": 1}]}}',
        '{"provinces": "\' OR 1=1 --"}',
    ],
)
def test_anything_else_is_refused_with_one_sentence(raw):
    with pytest.raises(BadQuery) as refused:
        gf.parse_filter_param({"filter": raw}, "filter", COLUMNS)
    assert str(refused.value) in {
        "The column filters in the address could not be read.",
        "The address filters a column this list does not have.",
    }


def test_a_request_model_that_cannot_be_read_links_without_filters():
    assert gf.filter_of_request({"shares": "junk"}, COLUMNS) == {}
    kept = {"shares": {"filterType": "number", "type": "equals", "filter": 3}}
    assert gf.filter_of_request(kept, COLUMNS) == kept

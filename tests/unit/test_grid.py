"""The grid factory's defaults and the server-side paging helpers (sort, filter, search, page)."""

from __future__ import annotations

import math

import pandas as pd

from components import grid

COLUMNS = [
    {"field": "name", "headerName": "Name", "lockVisible": True},
    {"headerName": "Rates", "children": [{"field": "rate"}, {"field": "lb", "hide": True}]},
    {"field": "leads"},
]


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "name": ["beta Builders", "Alpha Plumbing", "O'Brien & Sons", "gamma"],
            "rate": [0.5, None, 0.9, 0.5],
            "leads": [10, 0, 3, 7],
        }
    )


def test_factory_defaults():
    server = grid.data_grid("x-grid", COLUMNS, server_side=True, page_size=20)
    assert server.rowModelType == "infinite"
    assert server.dashGridOptions["cacheBlockSize"] == 20
    assert server.defaultColDef["sortable"] and server.defaultColDef["filter"]
    client = grid.data_grid("x-grid2", COLUMNS, row_data=[{"name": "a"}])
    assert client.rowData == [{"name": "a"}]
    assert client.dashGridOptions["pagination"] is True


def test_column_chooser_and_visibility():
    chooser = grid.column_chooser("x-columns", COLUMNS)
    checklist = chooser.children[1].children.children
    assert [o["value"] for o in checklist.options] == ["rate", "lb", "leads"]
    assert checklist.value == ["rate", "leads"]
    defs = grid.with_visible_columns(COLUMNS, ["lb"], locked={"name"})
    assert [c.get("hide") for c in grid.leaf_columns(defs)] == [None, True, False, True]
    assert grid.visible_fields(COLUMNS, ["lb"], locked={"name"}) == ["name", "lb"]
    assert grid.visible_fields(COLUMNS, None) == ["name", "rate", "leads"]


def test_parse_grid_request_validates():
    assert grid.parse_grid_request(None) == grid.GridRequest()
    req = grid.parse_grid_request(
        {
            "startRow": 25,
            "endRow": 10_000,
            "sortModel": [{"colId": "rate", "sort": "desc"}, "junk", {"colId": 3}],
            "filterModel": "junk",
        }
    )
    assert (req.start, req.end, req.sort_model, dict(req.filter_model)) == (
        25,
        525,
        (("rate", True),),
        {},
    )
    assert grid.parse_grid_request({"startRow": -5, "endRow": "x"}).start == 0


def test_sort_missing_last_with_stable_tiebreak():
    df = frame()
    out = grid.apply_sort_model(df, [("rate", True)], {"rate"}, tiebreak="id")
    assert out["id"].tolist() == [3, 1, 4, 2]
    out = grid.apply_sort_model(df, [("rate", False)], {"rate"}, tiebreak="id")
    assert out["id"].tolist() == [1, 4, 3, 2]
    out = grid.apply_sort_model(df, [("name", False)], {"name"})
    assert out["name"].tolist()[0] == "Alpha Plumbing"  # case-insensitive
    # unknown columns are ignored
    assert grid.apply_sort_model(df, [("password", True)], {"rate"}).equals(df)


def test_filters_number_text_combined_and_blank():
    df = frame()
    allowed = set(df.columns)
    f = grid.apply_filter_model
    assert f(df, {"leads": {"filterType": "number", "type": "greaterThan", "filter": 3}}, allowed)[
        "id"
    ].tolist() == [1, 4]
    assert f(df, {"name": {"filterType": "text", "type": "contains", "filter": "'"}}, allowed)[
        "id"
    ].tolist() == [3]
    assert f(df, {"rate": {"filterType": "number", "type": "blank"}}, allowed)["id"].tolist() == [2]
    combined = {
        "filterType": "number",
        "operator": "OR",
        "conditions": [
            {"filterType": "number", "type": "equals", "filter": 0},
            {"filterType": "number", "type": "inRange", "filter": 5, "filterTo": 8},
        ],
    }
    assert f(df, {"leads": combined}, allowed)["id"].tolist() == [2, 4]
    # junk operators, values and columns are ignored rather than failing
    junk = {
        "leads": {"filterType": "number", "type": "equals", "filter": "DROP TABLE"},
        "name": {"type": "regex", "filter": ".*"},
        "secret": {"type": "equals", "filter": 1},
    }
    assert len(f(df, junk, allowed)) == 4


def test_quick_search_is_literal_and_word_based():
    df = frame()
    assert grid.apply_quick_search(df, "o'brien", ["name"])["id"].tolist() == [3]
    assert grid.apply_quick_search(df, "plumb alpha", ["name"])["id"].tolist() == [2]
    assert grid.apply_quick_search(df, ".*", ["name"]).empty
    assert grid.apply_quick_search(df, "'; DROP TABLE partner; --", ["name"]).empty
    assert len(grid.apply_quick_search(df, "   ", ["name"])) == 4


def test_serve_rows_returns_one_block_and_the_count():
    df = frame()
    req = grid.GridRequest(start=1, end=3, sort_model=(("leads", True),))
    response = grid.serve_rows(df, req, columns=["id", "rate"], tiebreak="id")
    assert response["rowCount"] == 4
    assert response["rowData"] == [{"id": 4, "rate": 0.5}, {"id": 3, "rate": 0.9}]
    records = grid.to_records(pd.DataFrame({"a": [math.nan, math.inf, 1.5]}))
    assert records == [{"a": None}, {"a": None}, {"a": 1.5}]

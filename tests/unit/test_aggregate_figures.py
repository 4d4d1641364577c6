"""The aggregates chart: its kind follows the choice, hidden cells are gaps marked ``x`` (never
zeros), and an all-hidden or empty table gets an empty state."""

from __future__ import annotations

import pandas as pd

from components.aggregate_figures import aggregate_chart
from components.aggregates_view import table_grid


def _frame(rows, dims):
    return pd.DataFrame(rows, columns=[*dims, "value", "status"]).astype({"value": "Int64"})


ONE = _frame(
    [
        ("Gauteng", 15, "released"),
        ("Limpopo", None, "suppressed"),
        ("Free State", 0, "released"),
        ("Total", 40, "released"),
    ],
    ["province"],
)
TWO = _frame(
    [
        ("Gauteng", "female", 12, "released"),
        ("Gauteng", "male", None, "suppressed"),
        ("Limpopo", "female", None, "suppressed"),
        ("Limpopo", "male", 11, "released"),
        ("Gauteng", "Total", 15, "released"),
        ("Total", "female", 20, "released"),
        ("Total", "Total", 40, "released"),
    ],
    ["province", "gender"],
)


def test_one_dimension_is_a_bar_without_margins_or_empty_cells():
    fig = aggregate_chart(ONE, ["province"], ["Province"], "Homeowners", "count")
    (trace,) = fig["data"]
    assert trace["type"] == "bar"
    assert trace["x"] == ["Gauteng", "Limpopo"]
    assert trace["y"] == [15.0, None]
    assert trace["text"] == ["", "x"]


def test_two_count_dimensions_stack_and_ratios_use_a_heatmap():
    fig = aggregate_chart(
        TWO, ["province", "gender"], ["Province", "Gender"], "Homeowners", "count"
    )
    assert [t["type"] for t in fig["data"]] == ["bar", "bar"]
    assert fig["layout"]["barmode"] == "stack"
    female = next(t for t in fig["data"] if t["name"] == "female")
    assert female["y"] == [12.0, None]
    assert "hidden cells left out" in fig["layout"]["title"]["text"]
    heat = aggregate_chart(TWO, ["province", "gender"], ["Province", "Gender"], "Share", "ratio")
    (trace,) = heat["data"]
    assert trace["type"] == "heatmap"
    assert trace["z"] == [[12.0, None], [None, 11.0]]
    assert trace["text"] == [["", "x"], ["x", ""]]


def test_all_hidden_is_an_empty_state():
    hidden = ONE.assign(value=pd.array([None] * 4, dtype="Int64"), status="suppressed")
    fig = aggregate_chart(hidden, ["province"], ["Province"], "Homeowners", "count")
    assert fig["data"] == []
    assert "Nothing to show" in fig["layout"]["annotations"][0]["text"]


def test_grid_marks_hidden_cells():
    cross = pd.DataFrame([["Gauteng", 12, "x"]], columns=["Province", "female", "male"])
    grid = table_grid(cross)
    assert grid.rowData == [{"c0": "Gauteng", "c1": 12, "c2": "x"}]
    assert [c["headerName"] for c in grid.columnDefs] == ["Province", "female", "male"]
    style = grid.columnDefs[2]["cellStyle"]["styleConditions"][0]
    assert style["condition"] == "params.value === 'x'"

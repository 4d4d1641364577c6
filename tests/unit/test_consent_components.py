"""The consent page's pure pieces: figures (valid Plotly, empty states, the numbers they draw)
and the filters in the address (parsing, bad input, writing back)."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import plotly.graph_objects as go
import pytest

from components import consent_figures as cf
from components.consent_query import parse_query, search_from_controls
from data.consent.coverage import COVERAGE_COLUMNS, SOURCE_COLUMNS
from data.consent.trends import CHANGE_COLUMNS, RATE_COLUMNS

TODAY = date(2026, 3, 31)
COVERAGE = pd.DataFrame(
    [("homeowner", "service_contact", 4, 3, 0, 1, 0.75, 0.0, 0.25),
     ("homeowner", "marketing_email", 4, 2, 2, 0, 0.5, 0.5, 0.0)],
    columns=COVERAGE_COLUMNS,
)  # fmt: skip
CHANGES = pd.DataFrame(
    [("2026-03-05", "marketing_email", "email", 0, 1),
     ("2026-03-20", "marketing_email", "web_form", 1, 0),
     ("2026-03-20", "marketing_email", "email", 0, 2)],
    columns=CHANGE_COLUMNS,
)  # fmt: skip
RATE = pd.DataFrame([("2026-03-31", 1, 1, 2, 0.5)], columns=RATE_COLUMNS)
SITES = pd.DataFrame([("main", "marketing_email", 3, 1, 2, 1 / 3)], columns=SOURCE_COLUMNS)
COUNTS = pd.DataFrame([("access_past_due", "2026-03-01", 2)], columns=["rule", "period",
                                                                      "violations"])  # fmt: skip


def _all(empty: bool) -> list[dict]:
    pick = (lambda df: df.iloc[0:0]) if empty else (lambda df: df)
    return [
        cf.coverage_chart(pick(COVERAGE), "homeowner"),
        cf.coverage_chart(COVERAGE, "partner"),  # no partner rows: empty
        cf.changes_chart(pick(CHANGES)),
        cf.channel_chart(pick(CHANGES)),
        cf.analytics_rate_chart(pick(RATE)),
        cf.source_site_chart(pick(SITES)),
        cf.violations_chart(pick(COUNTS), {"access_past_due": "Overdue"}),
    ]


@pytest.mark.parametrize("empty", [False, True])
def test_figures_are_valid_plotly_and_json(empty):
    for fig in _all(empty):
        go.Figure(fig)
        json.dumps(fig, allow_nan=False)
        if empty:
            assert fig["data"] == [] and fig["layout"]["annotations"][0]["text"]


def test_coverage_chart_draws_shares_in_percent():
    fig = cf.coverage_chart(COVERAGE, "homeowner")
    granted = next(t for t in fig["data"] if t["name"] == "Granted")
    assert granted["x"] == [75.0, 50.0]
    assert granted["y"] == ["All service contact", "Marketing by email"]
    assert "(4)" in fig["layout"]["title"]["text"]


def test_changes_chart_sums_channels_and_draws_opt_outs_below_zero():
    fig = cf.changes_chart(CHANGES)
    outs = next(t for t in fig["data"] if t["name"] == "Marketing by email out")
    assert outs["x"] == ["2026-03-05", "2026-03-20"] and outs["y"] == [-1, -2]
    channels = cf.channel_chart(CHANGES)
    assert channels["data"][1]["x"] == ["Email", "Web form"]
    assert channels["data"][1]["y"] == [3, 0]


def test_query_defaults_and_values():
    query, problem = parse_query({}, today=TODAY, sites=["main"])
    assert problem is None and query.period.days == 365 and query.search() == ""
    query, problem = parse_query(
        {"period": "custom", "from": "2026-03-01", "to": "2026-03-31", "subject": "partner",
         "purpose": "call_recording", "source": "main"}, today=TODAY, sites=["main"])  # fmt: skip
    assert problem is None
    f = query.filters()
    assert (f.start, f.end, f.subject_type, f.purpose, f.source) == (
        date(2026, 3, 1), date(2026, 3, 31), "partner", "call_recording", "main")  # fmt: skip


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"purpose": "<script>"}, "Unknown purpose"),
        ({"subject": "alien"}, "Unknown subject type"),
        ({"source": "evil.example"}, "Unknown source site"),
        ({"period": "custom", "from": "2026-04-01", "to": "2026-03-01"}, "after it ends"),
        ({"period": "custom", "from": "1900-01-01", "to": "2026-03-01"}, "longest allowed"),
        ({"period": "custom", "from": "2026-13-01", "to": "2026-03-01"}, "not a date"),
    ],
)
def test_bad_query_values_give_a_sentence_and_the_defaults(params, words):
    query, problem = parse_query(params, today=TODAY, sites=["main"])
    assert problem is not None and words in problem
    assert query.period.days == 365 and query.purpose is None


def test_controls_to_address():
    assert search_from_controls("30d", None, None, "homeowner", None, None) == (
        "?period=30d&subject=homeowner"
    )
    assert search_from_controls("custom", "2026-03-01", "2026-03-31", None, None, "main") == (
        "?period=custom&from=2026-03-01&to=2026-03-31&source=main"
    )
    assert search_from_controls("365d", None, None, None, None, None) == ""

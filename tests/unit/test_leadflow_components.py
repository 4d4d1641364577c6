"""The lead-flow page's pure parts: the figures (empty states, clickable values, what Plotly
accepts, point limits), the headline cards and operations rows, and the address parsing."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import plotly.graph_objects as go
import pytest

from components import leadflow_figures as figs
from components.leadflow_query import (
    params_from_controls,
    parse_leadflow_query,
    safe_leadflow_query,
)
from components.leadflow_view import headline_cards, operations_frame
from components.url_state import BadQuery
from data.leadflow import Headline
from data.leadflow.filters import Lookups
from data.leadflow.funnel import Numbers
from data.leadflow.operations import COLUMNS
from data.rollups.lead_flow import START

TODAY = date(2026, 11, 30)
LOOKUPS = Lookups(
    trades=((1, "plumbing", "Plumbing"), (2, "electrical", "Electrical")),
    service_types=((1, "quotation", "Quotation"),),
    channels=("organic", "paid_search"),
    source_sites=("main", "geyserhelp.co.za"),
)


def _texts(fig: dict) -> str:
    return " ".join(a["text"] for a in fig["layout"].get("annotations", []))


FUNNEL = pd.DataFrame(
    {
        "step": ["leads", "shared", "contacted"],
        "label": ["Created", "Shared", "Contacted"],
        "count": [10, 8, 4],
        "of_first": [1.0, 0.8, 0.4],
        "of_previous": [None, 0.8, 0.5],
        "median_minutes": [None, 10.0, 90.0],
    }
)


def test_funnel_draws_first_step_on_top_and_marks_the_selection() -> None:
    fig = figs.funnel_figure(FUNNEL, selected="shared")
    go.Figure(fig)
    trace = fig["data"][0]
    assert trace["y"] == ["Contacted", "Shared", "Created"]  # Plotly draws bottom-up
    assert [c[0] for c in trace["customdata"]] == ["contacted", "shared", "leads"]
    assert trace["marker"]["color"] == [figs.NORMAL, figs.SELECTED, figs.NORMAL]
    assert trace["text"][0] == "4 · 40 % of created · 50 % of prev."
    assert trace["customdata"][0][1] == "1.5 h"


def test_every_figure_has_an_empty_state() -> None:
    empty = pd.DataFrame(columns=["step", "label", "count", "of_first", "of_previous"])
    figures = [
        figs.funnel_figure(empty),
        figs.sankey_figure(pd.DataFrame(columns=["source", "target", "count"])),
        figs.series_figure(
            pd.DataFrame(columns=["period", "key", "count"]), "day", "Channel", {}, "Leads"
        ),
        figs.cohorts_figure(
            pd.DataFrame(columns=["week", "leads", "hired", "hire_rate", "provisional"])
        ),
        figs.contact_distribution_figure(pd.DataFrame({"label": ["a"], "leads": [0]})),
        figs.contact_by_trade_figure(
            pd.DataFrame(columns=["trade_id", "trade", "leads", "within_1h", "within_24h"])
        ),
        figs.province_figure(
            pd.DataFrame(columns=["province", "count", "leads", "hired", "hire_rate"]), "Leads"
        ),
    ]
    for fig in figures:
        go.Figure(fig)
        assert fig["data"] == []
        assert "No " in _texts(fig)


def test_sankey_bands_and_nodes() -> None:
    links = pd.DataFrame(
        {
            "source": ["created", "shared", "shared", "contacted"],
            "target": ["shared", "contacted", "closed", "closed"],
            "count": [10, 6, 4, 6],
        }
    )
    fig = figs.sankey_figure(links)
    go.Figure(fig)
    paths = [s for s in fig["layout"]["shapes"] if s["type"] == "path"]
    rects = [s for s in fig["layout"]["shapes"] if s["type"] == "rect"]
    assert len(paths) == 4 and len(rects) == 4  # created, shared, contacted, closed
    labels = sorted(a["text"] for a in fig["layout"]["annotations"])
    # closed receives 4 + 6; shared sends and receives 10
    assert labels == ["closed (10)", "contacted (6)", "created (10)", "shared (10)"]
    assert sorted(fig["data"][0]["text"])[0] == "contacted → closed: 6 leads"
    # "closed" is not a funnel step: it goes after contacted, its latest source
    closed = next(r for r in rects if r["x0"] == max(r["x0"] for r in rects))
    assert closed["y1"] - closed["y0"] == pytest.approx(max(r["y1"] - r["y0"] for r in rects))


def test_a_status_is_as_tall_as_what_entered_it_first_leads_included() -> None:
    """12 leads were created and 10 shared: the created box says 12 (as the funnel does), not
    the 10 that moved on; first statuses are not drawn as bands."""
    links = pd.DataFrame(
        {
            "source": [START, "created"],
            "target": ["created", "shared"],
            "count": [12, 10],
        }
    )
    fig = figs.sankey_figure(links)
    labels = sorted(a["text"] for a in fig["layout"]["annotations"])
    assert labels == ["created (12)", "shared (10)"]
    assert len([s for s in fig["layout"]["shapes"] if s["type"] == "path"]) == 1


def test_series_is_stacked_with_clickable_keys() -> None:
    series = pd.DataFrame(
        {
            "period": [date(2026, 3, 2), date(2026, 3, 2), date(2026, 3, 9)],
            "key": [1, 2, 1],
            "count": [3, 1, 2],
        }
    )
    fig = figs.series_figure(series, "week", "Trade", {1: "Plumbing", 2: "Electrical"}, "Leads")
    go.Figure(fig)
    assert fig["layout"]["barmode"] == "stack"
    assert [t["name"] for t in fig["data"]] == ["Plumbing", "Electrical"]
    assert fig["data"][0]["customdata"] == [[1], [1]]
    assert fig["layout"]["title"]["text"] == "Leads per week, by trade"


def test_cohorts_mark_provisional_weeks() -> None:
    cohorts = pd.DataFrame(
        {
            "week": [date(2026, 3, 2), date(2026, 3, 9)],
            "leads": [3, 2],
            "hired": [1, 0],
            "hire_rate": [1 / 3, 0.0],
            "provisional": [False, True],
        }
    )
    fig = figs.cohorts_figure(cohorts)
    go.Figure(fig)
    assert fig["data"][0]["marker"]["color"] == [figs.NORMAL, figs.PROVISIONAL]
    assert fig["data"][0]["y"] == [33.3, 0.0]
    assert fig["data"][0]["text"][1] == "provisional: 0 of 2 hired"


def test_headline_cards_show_changes() -> None:
    cur = Numbers(120, 0.9, 0.1, 0.75, 0.3, 0.5, 3 * 1440)
    prev = Numbers(100, 0.8, None, 0.8, 0.3, None, 2 * 1440)
    cards = headline_cards(Headline(cur, prev), 30)
    text = str(cards)
    assert "▲ 20 vs previous 30 days" in text
    assert "▲ 10.0 pts vs previous 30 days" in text  # shared 80 % → 90 %
    assert "▼ 5.0 pts vs previous 30 days" in text  # within 24 h 80 % → 75 %
    assert "no earlier data" in text  # within 1 h unknown before
    assert "▲ 1.0 d vs previous 30 days" in text  # median time to hire


def test_operations_rows_link_to_what_they_concern() -> None:
    ops = pd.DataFrame(
        [
            ("Not contacted after 24 h", 7, datetime(2026, 3, 2, 10), "Plumbing", "plumbing",
             "Quotation", "Western Cape", "organic", 30.0, None, ""),
            ("Shared with a prospective partner", 8, datetime(2026, 3, 3, 10), "Plumbing",
             "plumbing", "Quotation", "Gauteng", "organic", 2.0, 42, "=cmd()"),
        ],
        columns=COLUMNS,
    )  # fmt: skip
    rows = operations_frame(ops)
    assert list(rows["href"]) == [
        "/partners?trade=plumbing&province=Western+Cape",
        "/partners/42",
    ]
    assert list(rows["concerns"]) == ["Partners for Plumbing in Western Cape", "=cmd()"]
    assert list(operations_frame(ops.iloc[0:0]).columns)[-1] == "href"


def test_address_parsing_round_trip_and_bad_values() -> None:
    params = {"period": "custom", "from": "2026-03-02", "to": "2026-03-15", "trade": "plumbing",
              "step": "hired", "by": "province", "grain": "week"}  # fmt: skip
    query = parse_leadflow_query(params, today=TODAY, lookups=LOOKUPS)
    assert query.params() == params
    assert query.filters(LOOKUPS).trade_id == 1
    assert parse_leadflow_query({}, today=TODAY, lookups=LOOKUPS).params() == {}
    with pytest.raises(BadQuery, match="Unknown source site"):
        parse_leadflow_query({"site": "evil.example"}, today=TODAY, lookups=LOOKUPS)
    query, message = safe_leadflow_query(
        {"trade": "plumbing", "channel": "telepathy", "from": "2026-03-15", "to": "2026-03-01"},
        today=TODAY,
        lookups=LOOKUPS,
    )
    assert query.trade == "plumbing" and query.channel is None
    assert query.period.preset == "90d"
    assert message is not None
    assert "Unknown channel “telepathy”" in message and "after it ends" in message


def test_controls_shape_parameters() -> None:
    shaped = params_from_controls(
        period="custom", start="2026-03-01", end=None, trade=None, service=None,
        province=None, channel=None, site=None, by="channel", grain="",
    )  # fmt: skip
    assert shaped is None  # a custom period waits for both dates
    shaped = params_from_controls(
        period="30d", start="2026-03-01", end="2026-03-02", trade="plumbing", service=None,
        province=["not", "text"], channel=None, site=None, by="trade", grain="month",
    )  # fmt: skip
    assert shaped == {"period": "30d", "trade": "plumbing", "by": "trade", "grain": "month"}

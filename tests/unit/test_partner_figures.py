"""The partner figures are pure functions: right traces for the data, a message when empty.

They are plain dicts (no Plotly validation at run time, for the server's CPU), so every figure
built here also goes through ``go.Figure``, which rejects any property Plotly does not know.
"""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from components import partner_figures as pf


def table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "partner_id": [1, 2, 3, 4],
            "business_name": ["A", "B", "C <b>", "D"],
            "shares": [10, 40, 5, 0],
            "reviews": [12, 30, 6, 0],
            "median_response_min": [30.0, 600.0, 3000.0, np.nan],
            "bayes_rating": [4.5, 3.2, np.nan, np.nan],
            "at_risk": [False, True, False, False],
        }
    )


def trend() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "month": [date(2026, 1, 1), date(2026, 2, 1)],
            "reviews": [0, 2],
            "mean_rating": [np.nan, 3.0],
            "shares": [1, 0],
        }
    )


STARS = pd.DataFrame({"stars": [1, 2, 3, 4, 5], "reviews": [0, 0, 1, 3, 2]})
ASPECTS = pd.DataFrame(
    {
        "aspect": ["overall", "quality"],
        "partner": [4.4, None],
        "partner_n": [5, 0],
        "trade": [3.6, 4.0],
        "trade_n": [17, 3],
    }
)
FUNNEL = pd.DataFrame(
    {
        "step": ["Shared", "Contacted"],
        "partner": [4, 3],
        "partner_share": [1.0, 0.75],
        "trade": [9, 5],
        "trade_share": [1.0, 5 / 9],
    }
)
DIST = pd.DataFrame({"bucket": ["≤ 5 min", "5 min–15 min"], "leads": [2, 1]})
BY_TRADE = pd.DataFrame(
    {
        "trade": ["Plumbing", "Plumbing", "Electrical"],
        "partner_id": [1, 2, 3],
        "business_name": ["A", "B", "C"],
        "bayes_rating": [4.5, 3.5, 4.2],
    }
)


def title(fig: pf.Figure) -> str:
    return fig["layout"]["title"]["text"]


def empty_message(fig: pf.Figure) -> str | None:
    """The message of an empty-state figure (no traces, hidden axes), else None."""
    layout = fig["layout"]
    if fig["data"] or not layout.get("annotations"):
        return None
    assert layout["xaxis"]["visible"] is False and layout["yaxis"]["visible"] is False
    return layout["annotations"][0]["text"]


def every_figure() -> list[pf.Figure]:
    return [
        pf.rating_vs_response(table()),
        pf.rating_vs_response(table().iloc[2:]),
        pf.ratings_by_trade(BY_TRADE),
        pf.ratings_by_trade(BY_TRADE.iloc[0:0]),
        pf.monthly_trend(trend()),
        pf.monthly_trend(trend().assign(reviews=0)),
        pf.star_distribution(STARS),
        pf.star_distribution(STARS.assign(reviews=0)),
        pf.aspects_against_trade(ASPECTS),
        pf.aspects_against_trade(ASPECTS.assign(partner=None, trade=None)),
        pf.funnel_against_trade(FUNNEL),
        pf.funnel_against_trade(FUNNEL.assign(partner=0, trade=0)),
        pf.response_histogram(DIST),
        pf.response_histogram(DIST.assign(leads=0)),
    ]


BUNDLE_TRACES = {"bar", "box", "heatmap", "scatter"}  # tools/plotly-bundle/entry.js


@pytest.mark.parametrize("index", range(len(every_figure())))
def test_every_figure_is_valid_plotly_and_strict_json(index):
    fig = every_figure()[index]
    go.Figure(fig)  # raises on any property or value Plotly does not accept
    json.dumps(fig, allow_nan=False)  # plain values only: no NaN, no numpy, no pandas
    # only trace types of the plotly.js build the app serves
    assert {t["type"] for t in fig["data"]} <= BUNDLE_TRACES
    layout = fig["layout"]
    assert layout["template"] is pf.TEMPLATE
    assert layout["font"]["family"] == pf.FONT_FAMILY
    axes = [v for k, v in layout.items() if k.startswith(("xaxis", "yaxis"))]
    assert not any(axis.get("automargin") for axis in axes)  # one layout pass (template: off)
    if layout["showlegend"]:  # a row of its own at the foot, inside the bottom margin
        assert layout["legend"]["yref"] == "container" and layout["margin"]["b"] >= pf.LEGEND_PX


def test_the_shared_template_is_plotly_white_for_these_charts():
    white = go.layout.Template(pf.TEMPLATE)
    assert white.layout.plot_bgcolor == "white" and white.layout.xaxis.gridcolor == "#EBF0F8"
    assert white.layout.xaxis.automargin is False and white.layout.yaxis.automargin is False
    assert set(pf.TEMPLATE["data"]) == {"bar", "scatter"}  # plotly_white: no box


def test_scatter_splits_by_risk_and_skips_unranked():
    fig = pf.rating_vs_response(table())
    assert title(fig) == "Rating against median time to first contact"
    ok, risk = fig["data"]
    assert [ok["name"], risk["name"]] == ["OK", "At risk"]
    assert ok["type"] == risk["type"] == "scatter"  # few points: SVG
    assert ok["y"] == [4.5] and risk["y"] == [3.2]
    assert ok["x"] == [0.5] and risk["x"] == [10.0]  # hours
    assert ok["marker"]["color"] == pf.OK_COLOUR and risk["marker"]["color"] == pf.RISK_COLOUR
    # size = 4 + 24·sqrt(leads / most leads): 10 of 40 leads → 16 px, the most → 28 px
    assert ok["marker"]["size"] == [16.0] and risk["marker"]["size"] == [28.0]
    assert ok["customdata"] == [["A", 10, 12, "30 min"]]
    assert risk["customdata"] == [["B", 40, 30, "10.0 h"]]
    xaxis = fig["layout"]["xaxis"]
    assert xaxis["type"] == "log"
    ticks = dict(zip(xaxis["ticktext"], xaxis["tickvals"], strict=True))
    assert ticks["30 min"] == 0.5 and ticks["1 h"] == 1 and ticks["1 day"] == 24
    assert fig["layout"]["yaxis"]["range"] == [0.9, 5.1]
    assert empty_message(pf.rating_vs_response(table().iloc[2:])) == (
        "No ranked partner with contacted leads for these filters."
    )


def test_a_large_scatter_stays_svg():
    """The plotly.js build the app serves has no WebGL traces."""
    many = pd.concat([table()] * 1_000, ignore_index=True)  # 2 000 ranked: still points
    assert {t["type"] for t in pf.rating_vs_response(many)["data"]} == {"scatter"}
    more = pd.concat([table()] * 1_001, ignore_index=True)  # 2 002: a density and points
    assert [t["type"] for t in pf.rating_vs_response(more)["data"]] == ["heatmap", "scatter"]


def test_more_than_2000_ranked_partners_become_a_density_with_the_at_risk_on_top():
    """6 000 ranked partners: 3 000 OK at 30 min / 4.5 and 3 000 at risk at 10 h / 3.2, the
    at-risk ones with 1..3 000 leads. The density counts all 6 000 in two cells; the 2 000
    at-risk partners with the most leads (3 000 down to 1 001) are points."""
    ok = pd.DataFrame(
        {
            "partner_id": range(3_000),
            "business_name": "OK",
            "shares": 5,
            "reviews": 10,
            "median_response_min": 30.0,
            "bayes_rating": 4.5,
            "at_risk": False,
        }
    )
    risk = ok.assign(
        partner_id=range(3_000, 6_000),
        business_name=[f"R{i}" for i in range(1, 3_001)],
        shares=range(1, 3_001),
        median_response_min=600.0,
        bayes_rating=3.2,
        at_risk=True,
    )
    fig = pf.rating_vs_response(pd.concat([ok, risk], ignore_index=True))
    density, points = fig["data"]
    assert (density["type"], points["type"]) == ("heatmap", "scatter")
    cells = [c for row in density["z"] for c in row if c is not None]
    assert sorted(cells) == [3_000, 3_000]
    assert len(points["y"]) == 2_000 and set(points["y"]) == {3.2}
    assert [c[1] for c in points["customdata"][:2]] == [3_000, 2_999]
    assert min(c[1] for c in points["customdata"]) == 1_001
    assert "6,000 partners as a density; at risk: 2,000 of 3,000" in title(fig)
    go.Figure(fig)  # every property is one Plotly knows


def test_scatter_keeps_a_fast_response_on_the_axis():
    fast = table().iloc[:1].assign(median_response_min=0.0)
    assert pf.rating_vs_response(fast)["data"][0]["x"] == [round(1 / 60, 4)]  # 1 min, not 0


def test_ratings_by_trade_one_box_per_trade():
    fig = pf.ratings_by_trade(BY_TRADE)
    assert title(fig) == "Bayesian ratings by trade"
    # ascending median: best on top
    assert [t["name"] for t in fig["data"]] == ["Plumbing (2)", "Electrical (1)"]
    assert [t["x"] for t in fig["data"]] == [[4.5, 3.5], [4.2]]
    assert {t["type"] for t in fig["data"]} == {"box"}
    assert fig["data"][1]["hovertemplate"] == "%{x:.2f}<extra>Electrical</extra>"
    assert fig["layout"]["height"] == 300 and fig["layout"]["showlegend"] is False
    assert empty_message(pf.ratings_by_trade(BY_TRADE.iloc[0:0])) == (
        "No ranked partners for these filters."
    )


def test_a_graph_box_has_its_figure_height():
    """A box as tall as the figure, so that drawing the figure does not resize it (a resize
    makes dcc.Graph draw the figure again)."""
    many = pd.DataFrame(
        {
            "trade": [f"Trade {i:02d}" for i in range(14)],
            "partner_id": range(14),
            "bayes_rating": 4.0,
        }
    )
    many["business_name"] = "P"
    assert pf.graph("g", pf.ratings_by_trade(many)).style == {"height": "516px"}  # 40 + 34·14
    assert pf.graph("g", pf.ratings_by_trade(BY_TRADE)).style == {"height": "300px"}
    assert pf.graph_style(pf.empty_figure("t")) == {"height": "360px"}


def test_monthly_trend_bars_and_a_line_of_whole_stars():
    fig = pf.monthly_trend(trend())
    assert title(fig) == "Rating and reviews per month"
    bars, line = fig["data"]
    assert [bars["type"], line["type"]] == ["bar", "scatter"]
    assert bars["x"] == line["x"] == ["2026-01-01", "2026-02-01"]
    assert bars["y"] == [0, 2]
    assert bars["customdata"] == [1, 0]  # leads per month, in the hover text
    assert line["y"] == [None, 3.0]  # no reviews: a gap, not a zero
    assert (bars["yaxis"], line["yaxis"]) == ("y", "y2")
    layout = fig["layout"]
    assert layout["yaxis2"]["overlaying"] == "y" and layout["yaxis2"]["side"] == "right"
    assert layout["yaxis2"]["dtick"] == 1 and layout["yaxis2"]["tick0"] == 1  # whole stars
    assert layout["yaxis2"]["range"] == [0.9, 5.1]
    for leads in (0, 3):  # leads alone would draw empty axes
        empty = pf.monthly_trend(trend().assign(reviews=0, shares=leads))
        assert empty_message(empty) == "No reviews in these months."


def test_detail_bars():
    stars = pf.star_distribution(STARS)
    assert title(stars) == "Ratings given"
    assert stars["data"][0]["x"] == ["1 ★", "2 ★", "3 ★", "4 ★", "5 ★"]
    assert stars["data"][0]["y"] == [0, 0, 1, 3, 2]
    assert empty_message(pf.star_distribution(STARS.assign(reviews=0))) == (
        "No published reviews in this period."
    )

    aspects = pf.aspects_against_trade(ASPECTS)
    assert title(aspects) == "Ratings against the trade average"
    partner, trade = aspects["data"]
    assert [partner["name"], trade["name"]] == ["This partner", "Trade average"]
    assert partner["x"] == ["Overall", "Quality"]
    assert partner["y"] == [4.4, None] and trade["y"] == [3.6, 4.0]
    assert partner["customdata"] == [5, 0] and trade["customdata"] == [17, 3]
    assert trade["hovertemplate"] == "%{y:.2f} (%{customdata} ratings)<extra>Trade average</extra>"
    assert aspects["layout"]["barmode"] == "group"
    assert empty_message(pf.aspects_against_trade(ASPECTS.assign(partner=None, trade=None))) == (
        "No ratings in this period."
    )

    funnel = pf.funnel_against_trade(FUNNEL)
    assert title(funnel) == "Funnel: share of leads reaching each step"
    partner, trade = funnel["data"]
    assert [partner["name"], trade["name"]] == ["This partner", "Trade"]
    assert partner["x"] == ["Shared", "Contacted"]
    assert partner["y"] == [1.0, 0.75] and trade["y"] == [1.0, 0.5556]
    assert partner["customdata"] == [4, 3] and trade["customdata"] == [9, 5]
    assert funnel["layout"]["yaxis"]["tickformat"] == ".0%"
    assert empty_message(pf.funnel_against_trade(FUNNEL.assign(partner=0, trade=0))) == (
        "No leads shared in this period."
    )

    hist = pf.response_histogram(DIST)
    assert title(hist) == "Time to first contact"
    assert hist["data"][0]["type"] == "bar"
    assert hist["data"][0]["x"] == ["≤ 5 min", "5 min–15 min"] and hist["data"][0]["y"] == [2, 1]
    assert hist["layout"]["xaxis"]["type"] == "category"
    assert empty_message(pf.response_histogram(DIST.assign(leads=0))) == (
        "No contacted leads in this period."
    )


def test_values_are_json_ready():
    assert pf.values(pd.Series([1.23456, np.nan, None], dtype=object), 2) == [1.23, None, None]
    assert pf.values(pd.array([1, None], dtype="Int64")) == [1, None]
    assert pf.values(np.array([2, 3])) == [2, 3]


def test_format_minutes():
    assert pf.format_minutes(None) == "–"
    assert pf.format_minutes(float("nan")) == "–"
    assert pf.format_minutes(45) == "45 min"
    assert pf.format_minutes(90) == "1.5 h"
    assert pf.format_minutes(2880) == "2.0 d"

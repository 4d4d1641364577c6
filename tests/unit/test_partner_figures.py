"""The partner figures are pure functions: right traces for the data, a message when empty."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import plotly.graph_objects as go

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


def is_empty(fig: go.Figure) -> bool:
    return not fig.data and bool(fig.layout.annotations)


def test_scatter_splits_by_risk_and_skips_unranked():
    fig = pf.rating_vs_response(table())
    names = [t.name for t in fig.data]
    assert names == ["OK", "At risk"]
    ok, risk = fig.data
    assert list(ok.y) == [4.5] and list(risk.y) == [3.2]
    assert list(ok.x) == [0.5] and list(risk.x) == [10.0]  # hours
    assert risk.marker.size[0] > ok.marker.size[0]  # more leads, bigger bubble
    assert fig.layout.xaxis.type == "log"
    ticks = dict(zip(fig.layout.xaxis.ticktext, fig.layout.xaxis.tickvals, strict=True))
    assert ticks["30 min"] == 0.5 and ticks["1 h"] == 1 and ticks["1 day"] == 24
    assert pf.rating_vs_response(table().iloc[2:]).layout.annotations


def test_ratings_by_trade_one_box_per_trade():
    by_trade = pd.DataFrame(
        {
            "trade": ["Plumbing", "Plumbing", "Electrical"],
            "partner_id": [1, 2, 3],
            "business_name": ["A", "B", "C"],
            "bayes_rating": [4.5, 3.5, 4.2],
        }
    )
    fig = pf.ratings_by_trade(by_trade)
    # ascending median: best on top
    assert [t.name for t in fig.data] == ["Plumbing (2)", "Electrical (1)"]
    assert is_empty(pf.ratings_by_trade(by_trade.iloc[0:0]))


def test_detail_figures():
    trend = pd.DataFrame(
        {
            "month": [date(2026, 1, 1), date(2026, 2, 1)],
            "reviews": [0, 2],
            "mean_rating": [np.nan, 3.0],
            "shares": [1, 0],
        }
    )
    fig = pf.monthly_trend(trend)
    assert [t.type for t in fig.data] == ["bar", "scatter"]
    assert fig.layout.yaxis2.dtick == 1 and fig.layout.yaxis2.tick0 == 1  # whole stars
    assert list(fig.data[0].customdata) == [1, 0]  # leads per month, in the hover text
    assert is_empty(pf.monthly_trend(trend.assign(reviews=0, shares=0)))
    assert is_empty(pf.monthly_trend(trend.assign(reviews=0, shares=3)))
    stars = pd.DataFrame({"stars": [1, 2, 3, 4, 5], "reviews": [0, 0, 1, 3, 2]})
    assert list(pf.star_distribution(stars).data[0].y) == [0, 0, 1, 3, 2]
    assert is_empty(pf.star_distribution(stars.assign(reviews=0)))
    aspects = pd.DataFrame(
        {
            "aspect": ["overall", "quality"],
            "partner": [4.4, None],
            "partner_n": [5, 0],
            "trade": [3.6, 4.0],
            "trade_n": [17, 3],
        }
    )
    fig = pf.aspects_against_trade(aspects)
    assert [t.name for t in fig.data] == ["This partner", "Trade average"]
    funnel = pd.DataFrame(
        {
            "step": ["Shared", "Contacted"],
            "partner": [4, 3],
            "partner_share": [1.0, 0.75],
            "trade": [9, 5],
            "trade_share": [1.0, 5 / 9],
        }
    )
    assert list(pf.funnel_against_trade(funnel).data[0].y) == [1.0, 0.75]
    assert is_empty(pf.funnel_against_trade(funnel.assign(partner=0, trade=0)))
    dist = pd.DataFrame({"bucket": ["≤ 5 min", "5 min–15 min"], "leads": [2, 1]})
    assert pf.response_histogram(dist).data[0].type == "bar"
    assert is_empty(pf.response_histogram(dist.assign(leads=0)))


def test_format_minutes():
    assert pf.format_minutes(None) == "–"
    assert pf.format_minutes(float("nan")) == "–"
    assert pf.format_minutes(45) == "45 min"
    assert pf.format_minutes(90) == "1.5 h"
    assert pf.format_minutes(2880) == "2.0 d"

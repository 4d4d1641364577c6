"""Figures of the partner pages: pure functions from DataFrames (as ``data.partners`` returns
them) to Plotly figures. No database, no Dash callbacks; every function copes with empty input
by returning a figure that says so, rather than an empty set of axes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from dash import dcc
from plotly.subplots import make_subplots

RISK_COLOUR = "#dc3545"
OK_COLOUR = "#0d6efd"
TRADE_COLOUR = "#adb5bd"
FONT = {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 12}
MAX_BUBBLE_PX = 28


def graph(id_: str, figure: go.Figure) -> dcc.Graph:
    """A figure on a page (without Plotly's logo in the toolbar)."""
    return dcc.Graph(id=id_, figure=figure, config={"displaylogo": False})


def _base(fig: go.Figure, title: str, height: int = 360) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.01, "font": {"size": 15}},
        template="plotly_white",
        font=FONT,
        height=height,
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def empty_figure(title: str, message: str = "No data for these filters.") -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(
        text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper", font={"size": 14}
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _base(fig, title)


def format_minutes(minutes: float | None) -> str:
    """ "45 min", "3.5 h", "2.1 d"; "–" when unknown."""
    if minutes is None or (isinstance(minutes, float) and math.isnan(minutes)):
        return "–"
    if minutes < 60:
        return f"{minutes:.0f} min"
    if minutes < 1440:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} d"


#: Tick positions (hours) and labels of the response-time axis.
RESPONSE_TICKS: tuple[tuple[float, str], ...] = (
    (5 / 60, "5 min"),
    (15 / 60, "15 min"),
    (0.5, "30 min"),
    (1, "1 h"),
    (2, "2 h"),
    (4, "4 h"),
    (8, "8 h"),
    (24, "1 day"),
    (48, "2 days"),
    (168, "7 days"),
)


def rating_vs_response(table: pd.DataFrame) -> go.Figure:
    """One point per ranked partner: Bayesian rating against median time to first contact
    (log scale), size = leads shared, colour = at risk."""
    title = "Rating against median time to first contact"
    data = table[table["bayes_rating"].notna() & table["median_response_min"].notna()]
    if data.empty:
        return empty_figure(title, "No ranked partner with contacted leads for these filters.")
    max_leads = max(float(data["shares"].max()), 1.0)
    fig = go.Figure()
    for at_risk, name, colour in ((False, "OK", OK_COLOUR), (True, "At risk", RISK_COLOUR)):
        part = data[data["at_risk"] == at_risk]
        if part.empty:
            continue
        hours = part["median_response_min"].astype(float) / 60.0
        fig.add_trace(
            go.Scattergl(
                x=np.maximum(hours, 1 / 60),
                y=part["bayes_rating"],
                mode="markers",
                name=name,
                marker={
                    "color": colour,
                    "size": 4 + (MAX_BUBBLE_PX - 4) * np.sqrt(part["shares"] / max_leads),
                    "opacity": 0.65,
                    "line": {"width": 0},
                },
                customdata=np.stack(
                    [
                        part["business_name"].astype(str),
                        part["shares"],
                        part["reviews"],
                        part["median_response_min"].map(format_minutes),
                    ],
                    axis=-1,
                ),
                hovertemplate=(
                    "<b>%{customdata[0]}</b><br>Bayesian rating %{y:.2f} "
                    "(%{customdata[2]} reviews)<br>median first contact %{customdata[3]}"
                    "<br>%{customdata[1]} leads<extra></extra>"
                ),
            )
        )
    # Plotly's own log ticks read "4 5 6 … 1 2" (tenths of an hour): name the times instead.
    fig.update_xaxes(
        type="log",
        title="Median time to first contact (log scale)",
        tickvals=[hours for hours, _ in RESPONSE_TICKS],
        ticktext=[label for _, label in RESPONSE_TICKS],
    )
    fig.update_yaxes(title="Bayesian rating", range=[0.9, 5.1])
    return _base(fig, title)


def ratings_by_trade(by_trade: pd.DataFrame) -> go.Figure:
    """Distribution of Bayesian ratings per trade (box per trade, ranked partners only)."""
    title = "Bayesian ratings by trade"
    if by_trade.empty:
        return empty_figure(title, "No ranked partners for these filters.")
    fig = go.Figure()
    order = (
        by_trade.groupby("trade")["bayes_rating"]
        .median()
        .sort_values(ascending=True)
        .index.tolist()
    )
    for trade in order:
        values = by_trade.loc[by_trade["trade"] == trade, "bayes_rating"]
        fig.add_trace(
            go.Box(
                x=values,
                name=f"{trade} ({len(values)})",
                boxpoints="outliers",
                marker_color=OK_COLOUR,
                line_width=1,
                hovertemplate="%{x:.2f}<extra>" + trade + "</extra>",
            )
        )
    fig.update_layout(showlegend=False)
    fig.update_xaxes(title="Bayesian rating", range=[0.9, 5.1])
    return _base(fig, title, height=max(300, 40 + 34 * len(order)))


def monthly_trend(trend: pd.DataFrame) -> go.Figure:
    """Reviews per month (bars, with the month's leads in the hover text) and the month's
    mean rating (line)."""
    title = "Rating and reviews per month"
    if trend.empty or trend["reviews"].sum() == 0:  # leads alone would draw empty axes
        return empty_figure(title, "No reviews in these months.")
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    months = pd.to_datetime(trend["month"])
    fig.add_trace(
        go.Bar(
            x=months,
            y=trend["reviews"],
            name="Reviews",
            marker_color=TRADE_COLOUR,
            customdata=trend["shares"],
            hovertemplate="%{x|%b %Y}: %{y} reviews, %{customdata} leads shared<extra></extra>",
        ),
        secondary_y=False,
    )
    fig.add_trace(
        go.Scatter(
            x=months,
            y=trend["mean_rating"],
            name="Mean rating",
            mode="lines+markers",
            line={"color": OK_COLOUR},
            connectgaps=False,
        ),
        secondary_y=True,
    )
    fig.update_yaxes(title_text="Reviews", secondary_y=False, rangemode="tozero")
    fig.update_yaxes(  # whole stars, not ticks synced to the review counts (0.9, 1.7, …)
        title_text="Mean rating",
        secondary_y=True,
        range=[0.9, 5.1],
        tickmode="linear",
        tick0=1,
        dtick=1,
        showgrid=False,
    )
    fig.update_xaxes(dtick="M1", tickformat="%b %Y")
    return _base(fig, title)


def star_distribution(stars: pd.DataFrame) -> go.Figure:
    """Published reviews per star rating."""
    title = "Ratings given"
    if stars.empty or stars["reviews"].sum() == 0:
        return empty_figure(title, "No published reviews in this period.")
    fig = go.Figure(
        go.Bar(
            x=[f"{s} ★" for s in stars["stars"]],
            y=stars["reviews"],
            marker_color=OK_COLOUR,
            text=stars["reviews"],
            textposition="outside",
        )
    )
    fig.update_yaxes(title="Reviews", rangemode="tozero")
    return _base(fig, title, height=300)


def _partner_against_trade(
    x: Sequence[Any], frame: pd.DataFrame, trade_name: str, hover: str, *, value: str, count: str
) -> go.Figure:
    """Grouped bars, the partner's beside its trade's: the columns named by ``value`` and
    ``count`` (patterns with ``{}`` for "partner" / "trade"), the count shown in the hover."""
    bars = []
    for side, name, colour in (
        ("partner", "This partner", OK_COLOUR),
        ("trade", trade_name, TRADE_COLOUR),
    ):
        bars.append(
            go.Bar(
                x=x,
                y=frame[value.format(side)],
                name=name,
                marker_color=colour,
                customdata=frame[count.format(side)],
                hovertemplate=f"{hover}<extra>{name}</extra>",
            )
        )
    fig = go.Figure(bars)
    fig.update_layout(barmode="group")
    return fig


def aspects_against_trade(aspects: pd.DataFrame) -> go.Figure:
    """Overall rating and the four sub-ratings: the partner's mean against its trade's."""
    title = "Ratings against the trade average"
    if aspects.empty or aspects[["partner", "trade"]].isna().all().all():
        return empty_figure(title, "No ratings in this period.")
    labels = [a.capitalize() for a in aspects["aspect"]]
    fig = _partner_against_trade(
        labels,
        aspects,
        "Trade average",
        "%{y:.2f} (%{customdata} ratings)",
        value="{}",
        count="{}_n",
    )
    fig.update_yaxes(title="Mean rating", range=[0, 5.2])
    return _base(fig, title, height=300)


def funnel_against_trade(funnel: pd.DataFrame) -> go.Figure:
    """Share of shared leads reaching each step: the partner against its trade."""
    title = "Funnel: share of leads reaching each step"
    if funnel.empty or (funnel["partner"].iloc[0] == 0 and funnel["trade"].iloc[0] == 0):
        return empty_figure(title, "No leads shared in this period.")
    fig = _partner_against_trade(
        funnel["step"],
        funnel,
        "Trade",
        "%{y:.0%} (%{customdata} leads)",
        value="{}_share",
        count="{}",
    )
    fig.update_yaxes(title="Share of leads shared", tickformat=".0%", range=[0, 1.05])
    return _base(fig, title, height=320)


def response_histogram(dist: pd.DataFrame) -> go.Figure:
    """Contacted leads per response-time bucket."""
    title = "Time to first contact"
    if dist.empty or dist["leads"].sum() == 0:
        return empty_figure(title, "No contacted leads in this period.")
    fig = go.Figure(go.Bar(x=dist["bucket"], y=dist["leads"], marker_color=OK_COLOUR))
    fig.update_xaxes(title="Time from share to first contact", type="category")
    fig.update_yaxes(title="Leads", rangemode="tozero")
    return _base(fig, title, height=300)

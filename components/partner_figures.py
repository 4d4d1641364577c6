"""Figures of the partner pages: pure functions from DataFrames (as ``data.partners`` returns
them) to Plotly figures. No database, no Dash callbacks; every function copes with empty input
by returning a figure that says so, rather than an empty set of axes.

The figures are plain dicts (``{"data": [...], "layout": {...}}``, what ``dcc.Graph`` sends to
Plotly.js anyway), not ``plotly.graph_objects`` figures. Building a ``go.Figure`` validates
every property on assignment and deep-copies its template: on the detail page that was more
than half of the server's CPU for the whole page (five figures, 150–220 ms of 230–300 ms at
100 000 leads; see docs/partner-performance.md, "Server CPU per view"). The price is that
nothing checks the property names here at run time: ``tests/unit/test_partner_figures.py``
passes every figure, empty or not, through ``go.Figure`` so that a misspelt property fails a
test instead.

Values are sent as plain lists (NaN → None, so Plotly draws gaps and the JSON encoder never
meets a NaN), rounded where the screen cannot show more digits, and every figure shares one
:data:`TEMPLATE`: the parts of Plotly's ``plotly_white`` a 2-D chart of these trace types uses
(~1 KB instead of the full 7 KB template in every figure of every response).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.io as pio
from dash import dcc

Figure = dict[str, Any]

RISK_COLOUR = "#dc3545"
OK_COLOUR = "#0d6efd"
TRADE_COLOUR = "#adb5bd"
FONT_FAMILY = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
MAX_BUBBLE_PX = 28
#: Every chart uses only scatter, bar, box and heatmap traces: the app serves a plotly.js build
#: with those four (``tools/plotly-bundle/``, ``assets/vendor/``, ``app.py``), a quarter of the
#: full bundle's size to evaluate on every page load (``tests/unit/test_figure_traces.py``).
#: The scatter is SVG at any size: WebGL (``scattergl``) is not in that build, and without a
#: GPU (headless Chromium, remote desktops) it cost a fixed 0.5–1.2 s to set up.

#: Layout and trace defaults of ``plotly_white`` that 2-D bar, scatter and box charts use.
#: Built once; shared by every figure, so callers must not modify it.
TEMPLATE_LAYOUT_KEYS = (
    "autotypenumbers",
    "colorway",
    "font",
    "hovermode",
    "hoverlabel",
    "paper_bgcolor",
    "plot_bgcolor",
    "xaxis",
    "yaxis",
    "annotationdefaults",
    "shapedefaults",
    "title",
)
TEMPLATE_TRACE_TYPES = ("bar", "scatter", "box")


def _template() -> dict[str, Any]:
    """``plotly_white`` trimmed, with every axis's ``automargin`` off (see :func:`figure`)."""
    full = pio.templates["plotly_white"].to_plotly_json()
    layout = {k: v for k, v in full["layout"].items() if k in TEMPLATE_LAYOUT_KEYS}
    for axis in ("xaxis", "yaxis"):  # a template's axis applies to every axis of its kind
        layout[axis] = {**layout[axis], "automargin": False}
    return {
        "layout": layout,
        "data": {k: v for k, v in full["data"].items() if k in TEMPLATE_TRACE_TYPES},
    }


TEMPLATE: dict[str, Any] = _template()


def graph(id_: str, figure: Figure) -> dcc.Graph:
    """A figure on a page (without Plotly's logo in the toolbar), in a box of the figure's
    height: ``dcc.Graph`` redraws its figure whenever its box changes size, and a box that
    grows from nothing to the figure's height on the first draw made every chart draw twice."""
    return dcc.Graph(
        id=id_, figure=figure, config={"displaylogo": False}, style=graph_style(figure)
    )


def graph_style(figure: Figure) -> dict[str, str]:
    """The style that gives a graph the figure's own height (for a callback that changes a
    figure's height with the figure)."""
    return {"height": f"{figure['layout']['height']}px"}


def values(column: Iterable[Any], digits: int | None = None) -> list[Any]:
    """A column as a JSON-ready list of Python numbers and strings: missing values (NaN,
    None, NA) become None; floats are rounded to ``digits`` when given (shorter JSON for many
    points). Numeric arrays take a vectorised path (the scatter has thousands of points)."""
    array = column.to_numpy() if hasattr(column, "to_numpy") else column
    if isinstance(array, np.ndarray) and array.dtype.kind in "iub":
        return array.tolist()
    if isinstance(array, np.ndarray) and array.dtype.kind == "f":
        rounded = array if digits is None else np.round(array, digits)
        out = rounded.tolist()
        return [None if v != v else v for v in out] if np.isnan(rounded).any() else out
    out = []
    for v in column.tolist() if hasattr(column, "tolist") else column:
        if v is None or v is pd.NA or (isinstance(v, float) and v != v):
            out.append(None)
        elif digits is not None and isinstance(v, float):
            out.append(round(v, digits))
        else:
            out.append(v)
    return out


def _missing(column: Iterable[Any]) -> bool:
    """Whether every value of a column is missing (cheaper than pandas for a few rows)."""
    return all(v is None for v in values(column))


#: Bottom margin taken by a legend row (the legend sits at the foot of the figure).
LEGEND_PX = 28


def figure(
    title: str,
    data: list[dict[str, Any]],
    *,
    height: int = 360,
    margin: dict[str, int] | None = None,
    legend: bool = True,
    **layout: Any,
) -> Figure:
    """The house layout around ``data``: title top left, the legend in a row at the foot.

    Margins are fixed (``margin`` overrides the defaults; each figure reserves room for its
    tick labels, axis titles and legend) and the template turns axes' "automargin" off:
    Plotly's automatic margins lay a figure out twice, which was more than half of the detail
    page's drawing time in the browser. With the legend in its own row below everything (container
    coordinates), no margin depends on the data.
    """
    out_layout: dict[str, Any] = {
        "template": TEMPLATE,
        "title": {"text": title, "x": 0.01, "font": {"size": 15}},
        "font": {"family": FONT_FAMILY, "size": 12},
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 50, "b": 50, **(margin or {})},
        "showlegend": legend,
        **layout,
    }
    if legend:
        out_layout["legend"] = {
            "orientation": "h",
            "yref": "container",
            "y": 0,
            "yanchor": "bottom",
            "x": 0.01,
        }
    return {"data": data, "layout": out_layout}


def empty_figure(title: str, message: str = "No data for these filters.") -> Figure:
    return figure(
        title,
        [],
        legend=False,
        annotations=[
            {
                "text": message,
                "showarrow": False,
                "x": 0.5,
                "y": 0.5,
                "xref": "paper",
                "yref": "paper",
                "font": {"size": 14},
            }
        ],
        xaxis={"visible": False},
        yaxis={"visible": False},
    )


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
SCATTER_HOVER = (
    "<b>%{customdata[0]}</b><br>Bayesian rating %{y:.2f} "
    "(%{customdata[2]} reviews)<br>median first contact %{customdata[3]}"
    "<br>%{customdata[1]} leads<extra></extra>"
)


#: Above this many ranked partners (about 3 400 at 1M leads, 34 000 at 10M) one marker each is
#: an unreadable cloud and slow to draw (SVG: 3 400 markers were a 0.5 s main-thread task on a
#: 2-core machine): the chart becomes a density of every ranked partner, with the at-risk ones
#: on top, those with the most leads first, up to :data:`MAX_RISK_POINTS`.
MAX_SCATTER_POINTS = 2_000
MAX_RISK_POINTS = 2_000
DENSITY_BINS = (40, 32)  # time (log) × rating cells


def _partner_points(
    part: pd.DataFrame, name: str, colour: str, max_leads: float, fixed_size: int | None = None
) -> dict:
    """One marker per partner: x = hours (log axis, at least a minute), size = leads (or
    ``fixed_size`` over a density, where bubbles would hide it)."""
    minutes = part["median_response_min"].to_numpy(dtype=float)
    shares = part["shares"].to_numpy(dtype=float)
    customdata = [
        [str(n), int(s), int(r), format_minutes(m)]
        for n, s, r, m in zip(
            part["business_name"].tolist(),
            part["shares"].tolist(),
            part["reviews"].tolist(),
            minutes.tolist(),
            strict=True,
        )
    ]
    return {
        "type": "scatter",
        "x": values(np.maximum(minutes / 60.0, 1 / 60), 4),
        "y": values(part["bayes_rating"].astype(float), 3),
        "mode": "markers",
        "name": name,
        "marker": {
            "color": colour,
            "size": fixed_size or values(4 + (MAX_BUBBLE_PX - 4) * np.sqrt(shares / max_leads), 1),
            "opacity": 0.65,
            "line": {"width": 0},
        },
        "customdata": customdata,
        "hovertemplate": SCATTER_HOVER,
    }


def _density(data: pd.DataFrame) -> dict:
    """Every ranked partner counted in time × rating cells (binned here: a few KB, not MB)."""
    hours = np.log10(np.maximum(data["median_response_min"].to_numpy(dtype=float) / 60, 1 / 60))
    rating = data["bayes_rating"].to_numpy(dtype=float)
    low, high = float(hours.min()), float(hours.max())
    counts, x_edges, y_edges = np.histogram2d(
        hours, rating, bins=DENSITY_BINS, range=[[low, max(high, low + 0.1)], [1.0, 5.0]]
    )
    z = [[int(c) if c else None for c in row] for row in counts.T]  # rows are ratings
    return {
        "type": "heatmap",
        "x": values(10 ** ((x_edges[:-1] + x_edges[1:]) / 2), 4),
        "y": values((y_edges[:-1] + y_edges[1:]) / 2, 3),
        "z": z,
        "colorscale": [[0.0, "#e7f0fd"], [1.0, "#0a3d91"]],  # few (pale) to many (dark)
        "showscale": False,
        "name": "All ranked partners",
        "showlegend": True,
        "hovertemplate": "%{z} partner(s)<br>rating ≈ %{y:.2f}<extra></extra>",
    }


def rating_vs_response(table: pd.DataFrame) -> Figure:
    """One point per ranked partner: Bayesian rating against median time to first contact
    (log scale), size = leads shared, colour = at risk; a density with the at-risk partners
    on top when there are more than :data:`MAX_SCATTER_POINTS`."""
    title = "Rating against median time to first contact"
    data = table[table["bayes_rating"].notna() & table["median_response_min"].notna()]
    if data.empty:
        return empty_figure(title, "No ranked partner with contacted leads for these filters.")
    max_leads = max(float(data["shares"].max()), 1.0)
    traces = []
    dense = len(data) > MAX_SCATTER_POINTS
    if dense:
        risk = data[data["at_risk"]].sort_values("shares", ascending=False, kind="stable")
        shown = risk.head(MAX_RISK_POINTS)
        traces.append(_density(data))
        if not shown.empty:
            traces.append(_partner_points(shown, "At risk", RISK_COLOUR, max_leads, 6))
        title += (
            f"<br><sup>{len(data):,} partners as a density; at risk: "
            f"{len(shown):,} of {len(risk):,} (most leads first)</sup>"
        )
    else:
        for at_risk, name, colour in ((False, "OK", OK_COLOUR), (True, "At risk", RISK_COLOUR)):
            part = data[data["at_risk"] == at_risk]
            if not part.empty:
                traces.append(_partner_points(part, name, colour, max_leads))
    # Plotly's own log ticks read "4 5 6 … 1 2" (tenths of an hour): name the times instead.
    return figure(
        title,
        traces,
        margin={"b": 50 + LEGEND_PX, "t": 70 if dense else 50},
        xaxis={
            "type": "log",
            "title": {"text": "Median time to first contact (log scale)"},
            "tickvals": [hours for hours, _ in RESPONSE_TICKS],
            "ticktext": [label for _, label in RESPONSE_TICKS],
        },
        yaxis={"title": {"text": "Bayesian rating"}, "range": [0.9, 5.1]},
    )


def ratings_by_trade(by_trade: pd.DataFrame) -> Figure:
    """Distribution of Bayesian ratings per trade (box per trade, ranked partners only)."""
    title = "Bayesian ratings by trade"
    if by_trade.empty:
        return empty_figure(title, "No ranked partners for these filters.")
    groups = by_trade.groupby("trade")["bayes_rating"]
    order = groups.median().sort_values(ascending=True).index.tolist()
    ratings = {trade: series for trade, series in groups}
    traces = [
        {
            "type": "box",
            "x": values(ratings[trade].astype(float), 3),
            "name": f"{trade} ({len(ratings[trade])})",
            "boxpoints": "outliers",
            "marker": {"color": OK_COLOUR},
            "line": {"width": 1},
            "hovertemplate": "%{x:.2f}<extra>" + str(trade) + "</extra>",
        }
        for trade in order
    ]
    longest = max(len(t["name"]) for t in traces)
    return figure(
        title,
        traces,
        height=max(300, 40 + 34 * len(order)),
        legend=False,
        margin={"l": min(300, 24 + round(6.5 * longest)), "b": 55},  # the longest trade name
        xaxis={"title": {"text": "Bayesian rating"}, "range": [0.9, 5.1]},
    )


def monthly_trend(trend: pd.DataFrame) -> Figure:
    """Reviews per month (bars, with the month's leads in the hover text) and the month's
    mean rating (line, on a second axis)."""
    title = "Rating and reviews per month"
    if trend.empty or trend["reviews"].sum() == 0:  # leads alone would draw empty axes
        return empty_figure(title, "No reviews in these months.")
    months = [pd.Timestamp(m).strftime("%Y-%m-%d") for m in trend["month"]]
    bars = {
        "type": "bar",
        "x": months,
        "y": values(trend["reviews"]),
        "name": "Reviews",
        "marker": {"color": TRADE_COLOUR},
        "customdata": values(trend["shares"]),
        "hovertemplate": "%{x|%b %Y}: %{y} reviews, %{customdata} leads shared<extra></extra>",
        "xaxis": "x",
        "yaxis": "y",
    }
    line = {
        "type": "scatter",
        "x": months,
        "y": values(trend["mean_rating"], 3),
        "name": "Mean rating",
        "mode": "lines+markers",
        "line": {"color": OK_COLOUR},
        "connectgaps": False,
        "xaxis": "x",
        "yaxis": "y2",
    }
    return figure(
        title,
        [bars, line],
        margin={"r": 55, "b": 42 + LEGEND_PX},  # the second axis; two-line month labels
        xaxis={"anchor": "y", "dtick": "M1", "tickformat": "%b<br>%Y"},
        yaxis={
            "anchor": "x",
            "title": {"text": "Reviews"},
            "rangemode": "tozero",
        },
        yaxis2={  # whole stars, not ticks synced to the review counts (0.9, 1.7, …)
            "anchor": "x",
            "overlaying": "y",
            "side": "right",
            "title": {"text": "Mean rating"},
            "range": [0.9, 5.1],
            "tickmode": "linear",
            "tick0": 1,
            "dtick": 1,
            "showgrid": False,
        },
    )


def star_distribution(stars: pd.DataFrame) -> Figure:
    """Published reviews per star rating."""
    title = "Ratings given"
    if stars.empty or stars["reviews"].sum() == 0:
        return empty_figure(title, "No published reviews in this period.")
    counts = values(stars["reviews"])
    bars = {
        "type": "bar",
        "x": [f"{s} ★" for s in stars["stars"].tolist()],
        "y": counts,
        "marker": {"color": OK_COLOUR},
        "text": counts,
        "textposition": "outside",
        "cliponaxis": False,  # the tallest bar's count above the plot area
    }
    return figure(
        title,
        [bars],
        height=320,
        legend=False,
        margin={"b": 40},
        yaxis={"title": {"text": "Reviews"}, "rangemode": "tozero"},
    )


def _partner_against_trade(
    x: Sequence[Any], frame: pd.DataFrame, trade_name: str, hover: str, *, value: str, count: str
) -> list[dict[str, Any]]:
    """Grouped bars, the partner's beside its trade's: the columns named by ``value`` and
    ``count`` (patterns with ``{}`` for "partner" / "trade"), the count shown in the hover."""
    return [
        {
            "type": "bar",
            "x": list(x),
            "y": values(frame[value.format(side)], 4),
            "name": name,
            "marker": {"color": colour},
            "customdata": values(frame[count.format(side)]),
            "hovertemplate": f"{hover}<extra>{name}</extra>",
        }
        for side, name, colour in (
            ("partner", "This partner", OK_COLOUR),
            ("trade", trade_name, TRADE_COLOUR),
        )
    ]


def aspects_against_trade(aspects: pd.DataFrame) -> Figure:
    """Overall rating and the four sub-ratings: the partner's mean against its trade's."""
    title = "Ratings against the trade average"
    if aspects.empty or (_missing(aspects["partner"]) and _missing(aspects["trade"])):
        return empty_figure(title, "No ratings in this period.")
    bars = _partner_against_trade(
        [str(a).capitalize() for a in aspects["aspect"]],
        aspects,
        "Trade average",
        "%{y:.2f} (%{customdata} ratings)",
        value="{}",
        count="{}_n",
    )
    return figure(
        title,
        bars,
        height=320,
        margin={"l": 50, "b": 30 + LEGEND_PX},
        barmode="group",
        yaxis={"title": {"text": "Mean rating"}, "range": [0, 5.2]},
    )


def funnel_against_trade(funnel: pd.DataFrame) -> Figure:
    """Share of shared leads reaching each step: the partner against its trade."""
    title = "Funnel: share of leads reaching each step"
    if funnel.empty or (funnel["partner"].iloc[0] == 0 and funnel["trade"].iloc[0] == 0):
        return empty_figure(title, "No leads shared in this period.")
    bars = _partner_against_trade(
        funnel["step"].tolist(),
        funnel,
        "Trade",
        "%{y:.0%} (%{customdata} leads)",
        value="{}_share",
        count="{}",
    )
    return figure(
        title,
        bars,
        height=320,
        margin={"l": 75, "b": 30 + LEGEND_PX},
        barmode="group",
        yaxis={"title": {"text": "Share of leads shared"}, "tickformat": ".0%", "range": [0, 1.05]},
    )


def response_histogram(dist: pd.DataFrame) -> Figure:
    """Contacted leads per response-time bucket."""
    title = "Time to first contact"
    if dist.empty or dist["leads"].sum() == 0:
        return empty_figure(title, "No contacted leads in this period.")
    bars = {
        "type": "bar",
        "x": dist["bucket"].tolist(),
        "y": values(dist["leads"]),
        "marker": {"color": OK_COLOUR},
    }
    return figure(
        title,
        [bars],
        height=320,
        legend=False,
        margin={"b": 105},  # bucket labels at 45°, then the axis title
        xaxis={
            "title": {"text": "Time from share to first contact"},
            "type": "category",
            "tickangle": -45,
        },
        yaxis={"title": {"text": "Leads"}, "rangemode": "tozero"},
    )

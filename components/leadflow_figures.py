"""Figures of the lead-flow page: pure functions from ``data.leadflow``'s DataFrames to Plotly
figure dicts (the house layout of :mod:`components.partner_figures`). Every function copes with
empty input by returning a figure that says so.

Clickable charts (funnel, time series, provinces, contact by trade) put the value a click
selects in each point's ``customdata[0]``: the page turns a click into a filter in the address.

The app serves a plotly.js build without ``sankey`` or ``funnel`` traces
(``tools/plotly-bundle/``): the funnel is a horizontal bar chart and the Sankey is drawn with
layout shapes (one rectangle per status, one filled Bézier band per transition) plus invisible
markers that carry the hover text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import pandas as pd

from components.partner_figures import (
    LEGEND_PX,
    Figure,
    empty_figure,
    figure,
    format_minutes,
    values,
)
from data.leadflow.filters import STEP_LABELS
from data.rollups.lead_flow import START

SELECTED = "#0d6efd"
NORMAL = "#6ea8fe"
PROVISIONAL = "#ced4da"
PALETTE = (
    "#0d6efd",
    "#fd7e14",
    "#20c997",
    "#6f42c1",
    "#dc3545",
    "#198754",
    "#ffc107",
    "#0dcaf0",
    "#d63384",
    "#6c757d",
    "#adb5bd",
    "#052c65",
)
#: Where the Sankey places each status (column); statuses not listed go after their sources.
STATUS_COLUMNS = {s: i for i, s in enumerate(STEP_LABELS) if s != "leads"} | {"created": 0}


def _pct(value: Any) -> str:
    return "–" if value is None or value != value else f"{value * 100:.0f} %"


def funnel_figure(funnel: pd.DataFrame, selected: str = "leads") -> Figure:
    """Horizontal bars, first step on top: count, share of the first and of the previous step;
    the hover adds the median time since the previous step. The selected step is darker."""
    title = "Funnel (leads created in the period, steps within 30 days)"
    if funnel.empty or int(funnel["count"].iloc[0]) == 0:
        return empty_figure(title, "No leads were created in this period with these filters.")
    rows = funnel.iloc[::-1]
    text = [
        f"{c:,} · {_pct(f)} of created" + ("" if p != p or p is None else f" · {_pct(p)} of prev.")
        for c, f, p in zip(rows["count"], rows["of_first"], rows["of_previous"], strict=True)
    ]
    custom = [
        [s, format_minutes(m if m == m else None)]
        for s, m in zip(rows["step"], rows["median_minutes"], strict=True)
    ]
    trace = {
        "type": "bar",
        "orientation": "h",
        "x": values(rows["count"]),
        "y": values(rows["label"]),
        "text": text,
        "textposition": "auto",
        "customdata": custom,
        "marker": {"color": [SELECTED if s == selected else NORMAL for s in rows["step"]]},
        "hovertemplate": "<b>%{y}</b>: %{x:,} leads<br>median time since the previous step: "
        "%{customdata[1]}<br>click to count only these leads below<extra></extra>",
    }
    return figure(title, [trace], height=330, legend=False, margin={"l": 90})


def series_figure(
    series: pd.DataFrame, grain: str, by_label: str, labels: Mapping[Any, str], measure: str
) -> Figure:
    """Stacked bars per period, one colour per value of the breakdown (``labels`` names the
    keys); a click selects that value as a filter."""
    title = f"{measure} per {grain}, by {by_label.lower()}"
    if series.empty:
        return empty_figure(title, "No leads in this period with these filters.")
    traces = []
    for i, (key, part) in enumerate(series.groupby("key", sort=True)):
        traces.append(
            {
                "type": "bar",
                "name": labels.get(key, str(key)),
                "x": [p.isoformat() for p in part["period"]],
                "y": values(part["count"]),
                "customdata": [[key]] * len(part),
                "marker": {"color": PALETTE[i % len(PALETTE)]},
                "hovertemplate": "%{x}: %{y:,}<extra>%{fullData.name}</extra>",
            }
        )
    return figure(
        title,
        traces,
        height=360,
        barmode="stack",
        margin={"b": 50 + LEGEND_PX},
        xaxis={"type": "date"},
    )


def cohorts_figure(cohorts: pd.DataFrame) -> Figure:
    """Hire rate per week of creation; weeks still inside the 30-day window are grey and
    labelled provisional."""
    title = "Weekly cohorts: hired within 30 days of creation"
    if cohorts.empty:
        return empty_figure(title, "No leads in this period with these filters.")
    colours = [PROVISIONAL if p else NORMAL for p in cohorts["provisional"]]
    hover = [
        f"{'provisional: ' if p else ''}{h:,} of {n:,} hired"
        for p, h, n in zip(cohorts["provisional"], cohorts["hired"], cohorts["leads"], strict=True)
    ]
    trace = {
        "type": "bar",
        "x": [w.isoformat() for w in cohorts["week"]],
        "y": values(cohorts["hire_rate"].astype(float) * 100, 1),
        "marker": {"color": colours},
        "text": hover,
        "textposition": "none",
        "hovertemplate": "week of %{x}: %{y:.1f} %<br>%{text}<extra></extra>",
    }
    return figure(
        title,
        [trace],
        height=320,
        legend=False,
        yaxis={"title": {"text": "hired (%)"}, "rangemode": "tozero"},
        xaxis={"type": "date"},
        annotations=[
            {
                "text": "grey: provisional (leads younger than 30 days)",
                "showarrow": False,
                "x": 1,
                "y": 1.08,
                "xref": "paper",
                "yref": "paper",
                "xanchor": "right",
                "font": {"size": 11},
            }
        ],
    )


def contact_distribution_figure(dist: pd.DataFrame) -> Figure:
    """Leads by time from creation to first contact (histogram buckets)."""
    title = "Time to first contact"
    if dist.empty or int(dist["leads"].sum()) == 0:
        return empty_figure(title, "No lead was contacted in this period with these filters.")
    trace = {
        "type": "bar",
        "x": values(dist["label"]),
        "y": values(dist["leads"]),
        "marker": {"color": NORMAL},
        "hovertemplate": "%{x}: %{y:,} leads<extra></extra>",
    }
    return figure(title, [trace], height=320, legend=False, xaxis={"type": "category"})


def contact_by_trade_figure(by_trade: pd.DataFrame) -> Figure:
    """Per trade, the share of its leads contacted within 1 hour and within 24 hours; a click
    selects the trade."""
    title = "Contacted within 1 h / 24 h of creation, by trade"
    if by_trade.empty or int(by_trade["leads"].sum()) == 0:
        return empty_figure(title, "No leads in this period with these filters.")
    traces = []
    for column, name, colour in (
        ("within_1h", "within 1 h", SELECTED),
        ("within_24h", "within 24 h", NORMAL),
    ):
        traces.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": name,
                "y": values(by_trade["trade"]),
                "x": values(by_trade[column].astype(float) * 100, 1),
                "customdata": [[c] for c in by_trade["trade_id"].tolist()],
                "marker": {"color": colour},
                "hovertemplate": "%{y}: %{x:.1f} %<extra>" + name + "</extra>",
            }
        )
    height = max(260, 60 + 28 * len(by_trade)) + LEGEND_PX
    return figure(
        title,
        traces,
        height=height,
        barmode="group",
        margin={"l": 170, "b": 40 + LEGEND_PX},
        xaxis={"range": [0, 100], "title": {"text": "% of the trade's leads"}},
    )


def province_figure(provinces: pd.DataFrame, measure: str) -> Figure:
    """Leads (or those that reached the selected step) per province; the hover adds the hire
    rate; a click selects the province."""
    title = f"{measure} by province"
    if provinces.empty or int(provinces["count"].sum()) == 0:
        return empty_figure(title, "No leads in this period with these filters.")
    rows = provinces.iloc[::-1]
    trace = {
        "type": "bar",
        "orientation": "h",
        "y": values(rows["province"]),
        "x": values(rows["count"]),
        "customdata": [
            [p, _pct(r)] for p, r in zip(rows["province"], rows["hire_rate"], strict=True)
        ],
        "marker": {"color": NORMAL},
        "hovertemplate": "%{y}: %{x:,}<br>hire rate %{customdata[1]}<extra></extra>",
    }
    height = max(260, 60 + 26 * len(rows))
    return figure(title, [trace], height=height, legend=False, margin={"l": 130})


# --- the Sankey -----------------------------------------------------------------------------------


def _columns(links: pd.DataFrame) -> dict[str, int]:
    """Each status's column: funnel statuses by their step, others one after their sources."""
    columns = {s: c for s, c in STATUS_COLUMNS.items()}
    for _ in range(3):  # statuses after statuses that are not in the funnel
        for source, target in zip(links["source"], links["target"], strict=True):
            if target not in STATUS_COLUMNS:
                columns[target] = max(columns.get(target, 0), columns.get(source, 0) + 1)
            columns.setdefault(source, 0)
    return columns


def sankey_figure(links: pd.DataFrame, max_links: int = 60) -> Figure:
    """Status transitions as a Sankey diagram drawn with shapes (see the module docstring):
    statuses in columns left to right, band widths proportional to the number of leads. Rows
    from ``START`` (each lead's first status) are not drawn but size their status, so a lead
    that went no further still counts (the first box then equals the funnel's first step)."""
    title = "Status transitions (leads created in the period)"
    links = links[links["count"] > 0]
    first = links[links["source"] == START]  # a lead's first status: sizes, not bands
    links = links[links["source"] != START].head(max_links)
    if links.empty:
        return empty_figure(title, "No status changes for these filters.")
    columns = _columns(links)
    used = set(links["source"]) | set(links["target"])
    # a status's size: the leads that came into it (or started in it), or went out of it if
    # more; summed in one pass (a pandas mask per status cost ~10 ms a figure: issue 17)
    into: Counter[str] = Counter()
    out_of: Counter[str] = Counter()
    for source, target, count in zip(links["source"], links["target"], links["count"], strict=True):
        into[target] += int(count)
        out_of[source] += int(count)
    for target, count in zip(first["target"], first["count"], strict=True):
        into[target] += int(count)
    value = {s: max(into[s], out_of[s]) for s in used}
    by_column: dict[int, list[str]] = {}
    for status in sorted(used, key=lambda s: (columns[s], -value[s], s)):
        by_column.setdefault(columns[status], []).append(status)
    n_columns = max(by_column) + 1
    pad = 0.04
    tallest = max(sum(value[s] for s in col) for col in by_column.values())
    most = max(len(col) for col in by_column.values())
    scale = (1 - pad * (most - 1)) / tallest
    width = 0.012
    box: dict[str, tuple[float, float, float]] = {}  # status → (x, top, bottom)
    for col, statuses in by_column.items():
        x = col / max(n_columns - 1, 1) * (1 - width)
        top = 1.0
        for status in statuses:
            height = value[status] * scale
            box[status] = (x, top, top - height)
            top -= height + pad
    shapes: list[dict[str, Any]] = []
    out_used = dict.fromkeys(used, 0.0)
    in_used = dict.fromkeys(used, 0.0)
    hover_x, hover_y, hover_text = [], [], []
    ordered = links.sort_values(["source", "target"], key=lambda c: c.map(lambda s: -box[s][1]))
    for source, target, count in zip(
        ordered["source"], ordered["target"], ordered["count"], strict=True
    ):
        band = count * scale
        x0 = box[source][0] + width
        x1 = box[target][0]
        y0 = box[source][1] - out_used[source]
        y1 = box[target][1] - in_used[target]
        out_used[source] += band
        in_used[target] += band
        mid = (x0 + x1) / 2
        path = (
            f"M {x0:.4f},{y0:.4f} C {mid:.4f},{y0:.4f} {mid:.4f},{y1:.4f} {x1:.4f},{y1:.4f} "
            f"L {x1:.4f},{y1 - band:.4f} C {mid:.4f},{y1 - band:.4f} {mid:.4f},{y0 - band:.4f} "
            f"{x0:.4f},{y0 - band:.4f} Z"
        )
        backwards = x1 <= x0
        shapes.append(
            {
                "type": "path",
                "path": path,
                "fillcolor": "rgba(220,53,69,0.25)" if backwards else "rgba(13,110,253,0.22)",
                "line": {"width": 0},
                "layer": "below",
            }
        )
        hover_x.append(round(mid, 4))
        hover_y.append(round((y0 + y1 - band) / 2, 4))
        hover_text.append(f"{source} → {target}: {int(count):,} leads")
    annotations = []
    for status, (x, top, bottom) in box.items():
        shapes.append(
            {
                "type": "rect",
                "x0": x,
                "x1": x + width,
                "y0": bottom,
                "y1": top,
                "fillcolor": "#052c65",
                "line": {"width": 0},
            }
        )
        right = x > 0.5
        annotations.append(
            {
                "text": f"{status} ({value[status]:,})",
                "x": x if right else x + width,
                "y": (top + bottom) / 2,
                "xanchor": "right" if right else "left",
                "showarrow": False,
                "font": {"size": 11},
                "bgcolor": "rgba(255,255,255,0.7)",
            }
        )
    hover = {
        "type": "scatter",
        "mode": "markers",
        "x": hover_x,
        "y": hover_y,
        "text": hover_text,
        "marker": {"size": 14, "opacity": 0},
        "hovertemplate": "%{text}<extra></extra>",
    }
    return figure(
        title,
        [hover],
        height=420,
        legend=False,
        margin={"l": 20, "r": 20, "b": 20},
        shapes=shapes,
        annotations=annotations,
        xaxis={"visible": False, "range": [-0.01, 1.01]},
        yaxis={"visible": False, "range": [-0.02, 1.02]},
    )

"""The chart beside a de-identified table (pure: long table in, Plotly figure dict out).

The chart shows the inner cells (no margins) of the released table, with hidden cells as gaps
labelled ``x``, never as zeros. Its kind follows the choice: one dimension → bars; two, when
the measure is a count and the second has few values → stacked bars; otherwise a heatmap (a
share or an average does not stack). With three dimensions the chart shows the first two summed
over the third (its ``Total`` rows), since a heatmap has two axes.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from components.partner_figures import OK_COLOUR, Figure, empty_figure, figure

TOTAL = "Total"  # the margin label (data.aggregates.dimensions.TOTAL; no data import here)
HIDDEN = "x"
MAX_STACKS = 6


def _shown(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows with a number or a hidden mark; empty cells (0 or nothing) are left out."""
    value = frame["value"].astype("Float64")
    keep = (frame["status"] != "released") | (value.fillna(0) != 0)
    out = frame[keep].copy()
    numbers = [None if pd.isna(v) else float(v) for v in value[keep]]
    out["number"] = pd.Series(numbers, index=out.index, dtype=object)  # None stays None
    return out


def chart_kind(dims: Sequence[str], measure_kind: str, second_values: int) -> str:
    if len(dims) == 1:
        return "bar"
    if measure_kind == "count" and second_values <= MAX_STACKS and len(dims) == 2:
        return "stacked"
    return "heatmap"


def aggregate_chart(
    frame: pd.DataFrame,
    dims: Sequence[str],
    labels: Sequence[str],
    measure_label: str,
    measure_kind: str,
) -> Figure:
    """Bar, stacked bar or heatmap of the table's inner cells (see the module docstring)."""
    title = f"{measure_label} by {' × '.join(labels[:2])}"
    if len(dims) == 3:
        title += f" (summed over {labels[2]})"
        frame = frame[(frame[dims[2]] == TOTAL)]
        dims, labels = dims[:2], labels[:2]
    inner = frame
    for d in dims:
        inner = inner[inner[d] != TOTAL]
    data = _shown(inner)
    if data.empty or data["number"].isna().all():
        return empty_figure(title, "Nothing to show: every cell is empty or hidden.")
    hover = "%{x}: %{y}<extra></extra>"
    if len(dims) == 1:
        return figure(
            title,
            [
                {
                    "type": "bar",
                    "x": data[dims[0]].tolist(),
                    "y": data["number"].tolist(),
                    "text": [HIDDEN if v is None else "" for v in data["number"]],
                    "textposition": "outside",
                    "marker": {"color": OK_COLOUR},
                    "hovertemplate": hover,
                }
            ],
            legend=False,
            xaxis={"title": {"text": labels[0]}, "type": "category"},
            yaxis={"title": {"text": measure_label}},
        )
    rows = list(dict.fromkeys(data[dims[0]]))
    cols = list(dict.fromkeys(data[dims[1]]))
    kind = chart_kind(dims, measure_kind, len(cols))
    lookup = {
        (r, c): n for r, c, n in zip(data[dims[0]], data[dims[1]], data["number"], strict=True)
    }
    hidden = {
        (r, c)
        for r, c, s in zip(data[dims[0]], data[dims[1]], data["status"], strict=True)
        if s != "released"
    }
    if kind == "stacked":
        traces = [
            {
                "type": "bar",
                "name": str(c),
                "x": rows,
                "y": [lookup.get((r, c)) for r in rows],
                "hovertemplate": f"%{{x}}, {c}: %{{y}}<extra></extra>",
            }
            for c in cols
        ]
        return figure(
            title + " (hidden cells left out)" if hidden else title,
            traces,
            barmode="stack",
            xaxis={"title": {"text": labels[0]}, "type": "category"},
            yaxis={"title": {"text": measure_label}},
            margin={"b": 90},
        )
    z = [[lookup.get((r, c)) for c in cols] for r in rows]
    text = [[HIDDEN if (r, c) in hidden else "" for c in cols] for r in rows]
    return figure(
        title,
        [
            {
                "type": "heatmap",
                "x": cols,
                "y": rows,
                "z": z,
                "text": text,
                "texttemplate": "%{text}",
                "colorscale": [[0.0, "#e7f0fd"], [1.0, "#0a3d91"]],  # few (pale) to many
                "hoverongaps": False,
                "colorbar": {"title": {"text": measure_label}},
                "hovertemplate": "%{y}, %{x}: %{z}<extra></extra>",
            }
        ],
        height=max(320, 80 + 26 * len(rows)),
        legend=False,
        margin={"l": 140, "b": 90},
        xaxis={"title": {"text": labels[1]}, "type": "category"},
        yaxis={"title": {"text": labels[0]}, "type": "category", "autorange": "reversed"},
    )

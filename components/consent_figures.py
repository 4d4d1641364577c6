"""Figures of the consent page: pure functions from the DataFrames of ``data.consent`` and
``data.compliance.monitor`` to Plotly figure dicts, in the house layout of
:mod:`components.partner_figures` (its :func:`figure`, :func:`empty_figure` and
:func:`values`). No database, no callbacks; empty input gives a figure that says so.
"""

from __future__ import annotations

import pandas as pd

from components.partner_figures import Figure, empty_figure, figure, values
from data.privacy.optouts import PURPOSE_LABELS

STATE_COLOURS = {"granted": "#198754", "withdrawn": "#dc3545", "never_asked": "#adb5bd"}
STATE_LABELS = {"granted": "Granted", "withdrawn": "Withdrawn", "never_asked": "Never asked"}
CHANNEL_LABELS = {
    "web_form": "Web form",
    "cookie_banner": "Cookie banner",
    "email": "Email",
    "phone": "Phone",
    "privacy_request": "Privacy request",
}
SUBJECT_LABELS = {"homeowner": "Homeowners", "partner": "Partners"}


def _purpose(code: str) -> str:
    return PURPOSE_LABELS.get(code, code)


def coverage_chart(df: pd.DataFrame, subject_type: str) -> Figure:
    """Horizontal stacked bars: per purpose, the shares granted / withdrawn / never asked."""
    title = f"Consent coverage: {SUBJECT_LABELS.get(subject_type, subject_type).lower()}"
    rows = df[df.subject_type == subject_type] if not df.empty else df
    if rows.empty or int(rows.population.max()) == 0:
        return empty_figure(title, "Nobody in this population for these filters.")
    labels = [_purpose(p) for p in rows.purpose]
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "name": STATE_LABELS[state],
            "y": labels,
            "x": values(rows[f"{state}_share"] * 100, 1),
            "customdata": values(rows[state]),
            "marker": {"color": STATE_COLOURS[state]},
            "hovertemplate": "%{y}: %{x:.1f}% (%{customdata:,})<extra>"
            + STATE_LABELS[state]
            + "</extra>",
        }
        for state in ("granted", "withdrawn", "never_asked")
    ]
    population = int(rows.population.iloc[0])
    return figure(
        f"{title} ({population:,})",
        data,
        barmode="stack",
        height=80 + 34 * len(labels),
        margin={"l": 170, "b": 60},
        xaxis={"title": {"text": "% of population"}, "range": [0, 100]},
        yaxis={"autorange": "reversed"},
    )


def changes_chart(df: pd.DataFrame) -> Figure:
    """Opt-ins (up) and opt-outs (down) per period, stacked by purpose."""
    title = "Opt-ins and opt-outs over time"
    if df.empty:
        return empty_figure(title, "No consent changes in this period.")
    by = df.groupby(["period", "purpose"], as_index=False)[["opt_ins", "opt_outs"]].sum()
    data = []
    for purpose, part in by.groupby("purpose", sort=True):
        name = _purpose(str(purpose))
        data.append({"type": "bar", "name": f"{name} in", "x": values(part.period),
                     "y": values(part.opt_ins), "legendgroup": name})  # fmt: skip
        data.append({"type": "bar", "name": f"{name} out", "x": values(part.period),
                     "y": values(-part.opt_outs), "legendgroup": name,
                     "marker": {"pattern": {"shape": "/"}}})  # fmt: skip
    return figure(title, data, barmode="relative", height=420, margin={"b": 110},
                  yaxis={"title": {"text": "events (opt-outs below zero)"}})  # fmt: skip


def channel_chart(df: pd.DataFrame) -> Figure:
    """Opt-ins and opt-outs of the whole period by the channel they came through."""
    title = "Opt-ins and opt-outs by channel"
    if df.empty:
        return empty_figure(title, "No consent changes in this period.")
    by = df.groupby("channel", as_index=False)[["opt_ins", "opt_outs"]].sum()
    labels = [CHANNEL_LABELS.get(c, c) for c in by.channel]
    data = [
        {"type": "bar", "name": "Opt-ins", "x": labels, "y": values(by.opt_ins),
         "marker": {"color": STATE_COLOURS["granted"]}},
        {"type": "bar", "name": "Opt-outs", "x": labels, "y": values(by.opt_outs),
         "marker": {"color": STATE_COLOURS["withdrawn"]}},
    ]  # fmt: skip
    return figure(title, data, barmode="group", height=340)


def analytics_rate_chart(df: pd.DataFrame) -> Figure:
    """The analytics-tracking opt-out rate per period (opt-outs ÷ decisions)."""
    title = "Analytics tracking: opt-out rate"
    if df.empty:
        return empty_figure(title, "No analytics-tracking decisions in this period.")
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "Opt-out rate",
            "x": values(df.period),
            "y": values(df.opt_out_rate * 100, 1),
            "customdata": values(df.decisions),
            "hovertemplate": "%{x}: %{y:.1f}% of %{customdata:,} decisions<extra></extra>",
        }
    ]
    return figure(title, data, height=340, legend=False,
                  yaxis={"title": {"text": "% opting out"}, "rangemode": "tozero"})  # fmt: skip


def source_site_chart(df: pd.DataFrame) -> Figure:
    """Granted share per homeowner source site, one group of bars per purpose."""
    title = "Consent by source site (homeowners, % granted)"
    if df.empty or int(df.population.sum()) == 0:
        return empty_figure(title, "No homeowners for these filters.")
    data = [
        {
            "type": "bar",
            "name": str(site),
            "x": [_purpose(p) for p in part.purpose],
            "y": values(part.granted_share * 100, 1),
        }
        for site, part in df.groupby("source_site", sort=True)
    ]
    return figure(title, data, barmode="group", height=380, margin={"b": 110},
                  yaxis={"title": {"text": "% granted"}, "range": [0, 100]})  # fmt: skip


def violations_chart(counts: pd.DataFrame, labels: dict[str, str]) -> Figure:
    """Violations per month, one bar series per rule."""
    title = "Compliance monitor: violations per month"
    if counts.empty:
        return empty_figure(title, "No violations found.")
    data = [
        {"type": "bar", "name": labels.get(str(rule), str(rule)), "x": values(part.period),
         "y": values(part.violations)}
        for rule, part in counts.groupby("rule", sort=False)
    ]  # fmt: skip
    return figure(title, data, barmode="stack", height=400, margin={"b": 120})

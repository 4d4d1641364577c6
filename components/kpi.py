"""KPI cards: a label, a big value and an optional note, used by every page's headline row."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html


def kpi_card(
    label: str,
    value: str,
    note: str | None = None,
    id_: str | None = None,
    note_class: str = "text-muted",
) -> dbc.Col:
    body = [html.Div(label, className="kpi-label"), html.Div(value, className="kpi-value")]
    if note:
        body.append(html.Div(note, className=f"kpi-note {note_class}"))
    card = dbc.Card(dbc.CardBody(body), className="kpi-card h-100 shadow-sm")
    extra = {"id": id_} if id_ else {}
    return dbc.Col(card, xs=12, sm=6, lg=3, className="mb-3", **extra)


def alert_class(alert: bool) -> str:
    """The note style of a KPI card: red and bold when it reports a problem."""
    return "text-danger fw-semibold" if alert else "text-muted"


def trend_arrow(value: float) -> str:
    return "▲" if value > 0 else "▼" if value < 0 else "■"


def kpi_row(cards: list[dbc.Col]) -> dbc.Row:
    return dbc.Row(cards, className="g-3")


def fmt_int(value: int | None) -> str:
    return "–" if value is None else f"{value:,}".replace(",", " ")


def fmt_pct(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f} %"


def fmt_change(value: float | None) -> str:
    if value is None:
        return "no earlier data"
    return f"{trend_arrow(value)} {abs(value) * 100:.1f} % vs previous 30 days"

"""Pure layout pieces of the lead-flow page: the headline cards and the operations list's rows
and columns (no database, no callbacks)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import dash_bootstrap_components as dbc
import pandas as pd

from components.kpi import fmt_int, fmt_pct, kpi_card, trend_arrow
from components.partner_figures import format_minutes
from data.leadflow import Headline

#: The operations grid: field, header (the export uses the headers too).
OPERATION_HEADERS: dict[str, str] = {
    "kind": "Needs attention",
    "lead_id": "Lead",
    "created": "Created (SA time)",
    "trade": "Trade",
    "service": "Service type",
    "province": "Province",
    "channel": "Channel",
    "hours_waiting": "Hours waiting",
    "concerns": "Concerns",
}
OPERATION_COLUMNS: list[dict[str, Any]] = [
    {"field": f, "headerName": h, "sortable": True, "filter": True}
    for f, h in OPERATION_HEADERS.items()
    if f != "concerns"
] + [
    {
        "field": "concerns",
        "headerName": OPERATION_HEADERS["concerns"],
        "cellRenderer": "AppLink",
        "cellRendererParams": {"hrefField": "href"},
    }
]


def _change_note(value: float | None, days: int, *, points: bool, minutes: bool = False) -> str:
    if value is None:
        return "no earlier data"
    if minutes:
        return f"{trend_arrow(value)} {format_minutes(abs(value))} vs previous {days} days"
    if points:
        return f"{trend_arrow(value)} {abs(value) * 100:.1f} pts vs previous {days} days"
    return f"{trend_arrow(value)} {fmt_int(int(abs(value)))} vs previous {days} days"


def headline_cards(head: Headline, days: int) -> list[dbc.Col]:
    """Seven cards: each number and its change against the previous period of equal length
    (shares in percentage points)."""
    cur, change = head.current, head.changes()
    specs = [
        ("Leads created", fmt_int(cur.leads), "leads", False),
        ("Shared with a partner", fmt_pct(cur.shared), "shared", True),
        ("Contacted within 1 h", fmt_pct(cur.contacted_1h), "contacted_1h", True),
        ("Contacted within 24 h", fmt_pct(cur.contacted_24h), "contacted_24h", True),
        ("Hire rate", fmt_pct(cur.hire_rate, 1), "hire_rate", True),
        ("Completion rate", fmt_pct(cur.completion_rate), "completion_rate", True),
    ]
    cards = [
        kpi_card(label, value, _change_note(change[key], days, points=points), f"leads-kpi-{key}")
        for label, value, key, points in specs
    ]
    cards.append(
        kpi_card(
            "Median time to hire",
            format_minutes(cur.median_hire_minutes),
            _change_note(change["median_hire_minutes"], days, points=False, minutes=True),
            "leads-kpi-median_hire",
        )
    )
    return cards


def _href(partner: Any, trade_code: str, province: str) -> str:
    """What a row concerns: the partner it was shared with, or (never shared) the partners of
    its trade and province, who could take it."""
    if partner is not None and partner == partner:  # neither None nor NaN
        return f"/partners/{int(partner)}"
    return "/partners?" + urlencode({"trade": trade_code, "province": province})


def operations_frame(ops: pd.DataFrame) -> pd.DataFrame:
    """The grid's rows (fields of :data:`OPERATION_HEADERS` plus ``href``)."""
    if ops.empty:
        return pd.DataFrame(columns=[*OPERATION_HEADERS, "href"])
    out = pd.DataFrame(
        {
            "kind": ops["kind"],
            "lead_id": ops["lead_id"].astype("int64"),
            "created": [t.strftime("%Y-%m-%d %H:%M") for t in ops["created"]],
            "trade": ops["trade"],
            "service": ops["service"],
            "province": ops["province"],
            "channel": ops["channel"],
            "hours_waiting": ops["hours_waiting"],
            "concerns": [
                name if name else f"Partners for {trade} in {province}"
                for name, trade, province in zip(
                    ops["partner"], ops["trade"], ops["province"], strict=True
                )
            ],
        }
    )
    # values column by column: a Series per row (``iterrows``) cost ~0.2 ms a row (issue 17)
    out["href"] = [
        _href(partner, trade, province)
        for partner, trade, province in zip(
            ops["partner_id"], ops["trade_code"], ops["province"], strict=True
        )
    ]
    return out

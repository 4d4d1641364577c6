"""The partner ranking grid's columns, their formatters, and how an export shows them.

Pure: no database and no callbacks. ``pages/partners.py`` builds the grid and the exports from
these definitions; ``components/partner_query.py`` validates ``?sort=`` against :data:`FIELDS`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from components.grid import leaf_columns
from data.partners import lb_column

PAGE_SIZE = 25
SEARCH_COLUMNS = ("business_name", "trades", "provinces", "vetting_status")
LOCKED = ("business_name",)
#: The grid's order when the link names none: best rank first, unranked partners last.
DEFAULT_SORT: tuple[str, bool] = ("rank", False)
UNRANKED_NO_REVIEWS = "unranked (v=0)"


def _stub_blank(expression: str) -> dict[str, str]:
    """A value formatter that leaves rows still loading blank: a "–" there reads as "no data"."""
    return {"function": f"params.data == null ? '' : {expression}"}


PCT = _stub_blank("params.value == null ? '–' : d3.format('.0%')(params.value)")
NUM2 = _stub_blank("params.value == null ? '–' : d3.format('.2f')(params.value)")
INT = _stub_blank("params.value == null ? '–' : String(params.value)")
MINUTES = _stub_blank(
    "params.value == null ? '–' : params.value < 60 ? Math.round(params.value) + ' min' : "
    "params.value < 1440 ? (params.value / 60).toFixed(1) + ' h' : "
    "(params.value / 1440).toFixed(1) + ' d'"
)
BAYES = _stub_blank(
    "params.data.is_new ? 'new (' + params.data.reviews_12m + ' in 12 mo)' : "
    f"params.data.reviews === 0 ? '{UNRANKED_NO_REVIEWS}' : "
    "params.value == null ? '–' : params.value.toFixed(2) + ' (v=' + params.data.reviews + ')'"
)
TREND = _stub_blank(
    "params.value == null ? '–' : (params.value > 0 ? '▲ +' : params.value < 0 ? '▼ ' : '■ ')"
    " + params.value.toFixed(2)"
)
RISK_STYLE = {
    "styleConditions": [
        {
            "condition": "params.data && params.data.at_risk",
            "style": {"color": "#b02a37", "fontWeight": 600},
        }
    ]
}
# Numbers sort high-to-low on the first click (best rating, most leads first).
NUMBER = {
    "filter": "agNumberColumnFilter",
    "type": "rightAligned",
    "sortingOrder": ["desc", "asc", None],
}
TEXT = {"filter": "agTextColumnFilter"}


def _rate_group(label: str, rate: str, tooltip: str) -> dict[str, Any]:
    lb = lb_column(rate)
    return {
        "headerName": label,
        "children": [
            {
                "field": rate,
                "headerName": "rate",
                "headerTooltip": f"{label}: {tooltip}",
                "valueFormatter": PCT,
                **NUMBER,
            },
            {
                "field": lb,
                "headerName": "≥ (95 %)",
                "headerTooltip": f"{label}: Wilson lower bound, 95 %",
                "valueFormatter": PCT,
                **NUMBER,
            },
        ],
    }


_COLUMNS: list[dict[str, Any]] = [
    {
        "field": "rank",
        "headerName": "Rank",
        "headerTooltip": "Rank by Bayesian rating (1 = best; ties share a rank); new partners "
        "and partners without reviews in the period are unranked and listed last",
        "pinned": "left",
        "width": 115,
        "minWidth": 110,
        "valueFormatter": INT,
        **NUMBER,
        # best first on the first click: rank 1 at the top
        "sortingOrder": ["asc", "desc", None],
    },
    {
        "field": "business_name",
        "headerName": "Partner",
        # a link that opens the partner inside the app (assets/dashAgGridComponentFunctions.js)
        "cellRenderer": "AppLink",
        "cellRendererParams": {"hrefField": "href"},
        "pinned": "left",
        "lockVisible": True,
        "minWidth": 200,
        **TEXT,
    },
    {
        "field": "bayes_rating",
        "headerName": "Bayesian rating",
        "headerTooltip": "WR = v/(v+10)·R + 10/(v+10)·C (trade mean); 'new' below 5 reviews "
        "in 12 months; unranked without reviews in the period (v = 0)",
        "valueFormatter": BAYES,
        "minWidth": 150,
        **NUMBER,
    },
    {"field": "trades", "headerName": "Trades", **TEXT},
    {"field": "provinces", "headerName": "Provinces served", **TEXT},
    {"field": "vetting_status", "headerName": "Vetting", **TEXT},
    {"field": "shares", "headerName": "Leads", "headerTooltip": "Leads shared", **NUMBER},
    {
        "field": "acceptance_rate",
        "headerName": "Accepted",
        "headerTooltip": "Accepted / shared",
        "valueFormatter": PCT,
        **NUMBER,
    },
    {
        "field": "median_response_min",
        "headerName": "Median 1st contact",
        "headerTooltip": "Median time to first contact (from the response-time histogram)",
        "valueFormatter": MINUTES,
        **NUMBER,
    },
    {
        "field": "within_1h",
        "headerName": "≤ 1 h",
        "headerTooltip": "Contacted within 1 hour / shared",
        "valueFormatter": PCT,
        **NUMBER,
    },
    {
        "field": "within_24h",
        "headerName": "≤ 24 h",
        "headerTooltip": "Contacted within 24 hours / shared",
        "valueFormatter": PCT,
        **NUMBER,
    },
    _rate_group("Contact", "contact_rate", "contacted / shared"),
    _rate_group("Quote", "quote_rate", "quoted / contacted"),
    _rate_group("Win", "win_rate", "hired / quoted"),
    _rate_group("Completion", "completion_rate", "completed / hired"),
    {
        "field": "reviews",
        "headerName": "Reviews",
        "headerTooltip": "Published, in the period",
        **NUMBER,
    },
    {"field": "mean_rating", "headerName": "Mean rating", "valueFormatter": NUM2, **NUMBER},
    {
        "field": "rating_trend",
        "headerName": "Trend",
        "headerTooltip": "Mean rating minus the previous period's",
        "valueFormatter": TREND,
        **NUMBER,
    },
    _rate_group("Disputes", "dispute_rate", "disputed / all homeowner reviews"),
    {
        "field": "risk_reasons",
        "headerName": "At risk",
        "headerTooltip": "Below the performance criteria, and why",
        "cellStyle": RISK_STYLE,
        "minWidth": 220,
        **TEXT,
    },
    {
        "field": "acceptance_lb",
        "headerName": "Accepted ≥ (95 %)",
        "valueFormatter": PCT,
        "hide": True,
        **NUMBER,
    },
    {
        "field": "review_rate",
        "headerName": "Review rate",
        "valueFormatter": PCT,
        "hide": True,
        **NUMBER,
    },
    {"field": "prospective", "headerName": "Leads while prospective", "hide": True, **NUMBER},
]
#: Fixed widths (px), wide enough for the header and the usual values: the grid does not size
#: columns to their content, which made AG Grid measure every cell of ~30 columns whenever rows
#: arrived (1.2 s of a 7.9 s page load in headless Chromium; docs/partner-performance.md).
WIDTHS = {
    "business_name": 240,
    "bayes_rating": 165,
    "trades": 190,
    "provinces": 200,
    "vetting_status": 115,
    "shares": 95,
    "acceptance_rate": 110,
    "median_response_min": 165,
    "within_1h": 90,
    "within_24h": 95,
    "reviews": 105,
    "mean_rating": 130,
    "rating_trend": 100,
    "risk_reasons": 260,
    "acceptance_lb": 165,
    "review_rate": 125,
    "prospective": 200,
}
RATE_WIDTH, BOUND_WIDTH = 90, 110


def _with_widths(columns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The columns with a ``width`` each (a rate group's lower bounds are its second column)."""
    out = []
    for col in columns:
        col = dict(col)
        if "children" in col:
            col["children"] = [
                {**child, "width": RATE_WIDTH if i == 0 else BOUND_WIDTH}
                for i, child in enumerate(col["children"])
            ]
        else:
            col["width"] = col.get("width") or WIDTHS[col["field"]]
        out.append(col)
    return out


COLUMNS = _with_widths(_COLUMNS)
FIELDS = [c["field"] for c in leaf_columns(COLUMNS)]
#: Column headers by field, for messages ("sorted by Leads").
HEADERS = {c["field"]: str(c["headerName"]) for c in leaf_columns(COLUMNS)}
# Sent with every row for the formatters, never shown as columns.
ROW_EXTRAS = ["partner_id", "is_new", "reviews_12m", "at_risk"]
EXPORT_HEADERS = {
    "rank": "Rank",
    "business_name": "Partner",
    "bayes_rating": "Bayesian rating",
    "trades": "Trades",
    "provinces": "Provinces served",
    "vetting_status": "Vetting status",
    "shares": "Leads shared",
    "acceptance_rate": "Accepted %",
    "acceptance_lb": "Accepted % (Wilson lower bound)",
    "median_response_min": "Median minutes to first contact",
    "within_1h": "Contacted within 1 h %",
    "within_24h": "Contacted within 24 h %",
    "contact_rate": "Contact rate %",
    "contact_lb": "Contact rate % (Wilson lower bound)",
    "quote_rate": "Quote rate %",
    "quote_lb": "Quote rate % (Wilson lower bound)",
    "win_rate": "Win rate %",
    "win_lb": "Win rate % (Wilson lower bound)",
    "completion_rate": "Completion rate %",
    "completion_lb": "Completion rate % (Wilson lower bound)",
    "reviews": "Reviews",
    "mean_rating": "Mean rating",
    "rating_trend": "Rating trend",
    "dispute_rate": "Dispute rate %",
    "dispute_lb": "Dispute rate % (Wilson lower bound)",
    "risk_reasons": "At risk",
    "review_rate": "Review rate %",
    "prospective": "Leads while prospective",
}
PERCENT_FIELDS = {
    f for f in EXPORT_HEADERS if f.endswith(("_rate", "_lb")) or f.startswith("within")
}


def export_frame(rows: pd.DataFrame, fields: list[str]) -> pd.DataFrame:
    """The rows as a file shows them: the visible columns with readable headers, percentages
    as numbers with one decimal, "new" or "unranked (v=0)" instead of a rating for unranked
    partners."""
    out = pd.DataFrame(index=rows.index)
    for field in fields:
        if field not in EXPORT_HEADERS:
            continue
        values = rows[field]
        if field in PERCENT_FIELDS:
            values = (values.astype(float) * 100).round(1)
        elif field in ("mean_rating", "rating_trend"):
            values = values.astype(float).round(2)
        elif field == "bayes_rating":
            values = [
                "new"
                if new
                else UNRANKED_NO_REVIEWS
                if v == 0
                else (None if pd.isna(wr) else round(float(wr), 2))
                for wr, new, v in zip(
                    rows["bayes_rating"], rows["is_new"], rows["reviews"], strict=True
                )
            ]
        elif field == "rank":
            values = [None if pd.isna(r) else int(r) for r in values]
        elif field == "median_response_min":
            values = values.astype(float).round(0)
        out[EXPORT_HEADERS[field]] = list(values)
    return out.reset_index(drop=True)

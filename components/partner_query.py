"""The partner pages' filters: parsed from the query string, written back, and their filter bar.

Both partner pages (the ranking and the detail page) read the same parameters, so a link from
the grid to a partner and the way back keep the view:

``period`` (``30d``, ``90d``, ``365d``, ``ytd``, ``custom`` with ``from``/``to``), ``trade``
(a trade code), ``province``, ``vetting`` (comma-separated statuses), ``min_reviews``, ``q``
(the grid's quick search), and the grid's ``sort`` (a column, ``-column`` for descending;
default: rank, best first) and ``page`` (1-based). The last two only arrange the list: they
are not part of :class:`PartnerFilters`, so they never change the numbers.

An invalid parameter never costs the others: it is left out (its default is used) and the
message says which and what is shown instead.

Pure: no database (the pages pass in the trades that exist) and no callbacks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.grid_filter import INSTEAD as WITHOUT_COLUMN_FILTERS
from components.grid_filter import filter_param, parse_filter_param
from components.partner_columns import DEFAULT_SORT, HEADERS
from components.url_state import (
    PRESETS,
    BadQuery,
    DateRange,
    parse_choice,
    parse_choices,
    parse_date_range,
    parse_int,
    parse_sort,
    parse_text,
    sort_param,
    to_search,
)
from data.geography import PROVINCE_NAMES
from data.models import VETTING_STATUSES
from data.partners import PartnerFilters, TradeRef

DEFAULT_PERIOD = "365d"
MAX_MIN_REVIEWS = 10_000
MAX_PAGE = 100_000
FILTER_KEYS = ("period", "from", "to", "trade", "province", "vetting", "min_reviews", "q")
QUERY_KEYS = (*FILTER_KEYS, "sort", "filter", "page")
DEFAULT_SORTS: tuple[tuple[str, bool], ...] = (DEFAULT_SORT,)
DEFAULTS = {
    "period": DEFAULT_PERIOD,
    "min_reviews": "0",
    "sort": sort_param(DEFAULT_SORTS),
    "page": "1",
}
# Parameters validated together, and what the page shows when one of them is invalid.
_GROUPS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("period", "from", "to"), f"Showing the {PRESETS[DEFAULT_PERIOD].lower()} instead."),
    (("trade",), "Showing all trades."),
    (("province",), "Showing all provinces."),
    (("vetting",), "Showing every vetting status."),
    (("min_reviews",), "Showing partners with any number of reviews."),
    (("q",), "Showing the list without a search."),
    (("sort",), "Sorted by rank instead."),
    (("filter",), WITHOUT_COLUMN_FILTERS),
    (("page",), "Showing the first page."),
)


@dataclass(frozen=True)
class PartnerQuery:
    """Validated partner-page filters."""

    period: DateRange
    trade: TradeRef | None = None
    province: str | None = None
    vetting: tuple[str, ...] = ()
    min_reviews: int = 0
    search: str = ""
    sort: tuple[tuple[str, bool], ...] = DEFAULT_SORTS  # (grid column, descending), by precedence
    page: int = 1
    grid_filter: Mapping[str, Any] = field(default_factory=dict)  # the grid's column filters

    def filters(self) -> PartnerFilters:
        return PartnerFilters(
            start=self.period.start,
            end=self.period.end,
            trade_id=self.trade.id if self.trade else None,
            province=self.province,
            vetting=self.vetting,
            min_reviews=self.min_reviews,
        )

    def params(self, *, with_search: bool = True, with_list: bool = True) -> dict[str, str]:
        """Canonical query parameters (defaults left out); ``with_list=False`` leaves out the
        list's sort and page (the filters only)."""
        out: dict[str, str] = dict(self.period.as_params())
        if self.trade:
            out["trade"] = self.trade.code
        if self.province:
            out["province"] = self.province
        if self.vetting:
            out["vetting"] = ",".join(self.vetting)
        if self.min_reviews:
            out["min_reviews"] = str(self.min_reviews)
        if with_search and self.search:
            out["q"] = self.search
        if with_list:
            out["sort"] = sort_param(self.sort)
            out["filter"] = filter_param(self.grid_filter)
            out["page"] = str(self.page)
        return {k: v for k, v in out.items() if v and DEFAULTS.get(k) != v}

    def search_string(self, *, with_search: bool = True, with_list: bool = True) -> str:
        return to_search(self.params(with_search=with_search, with_list=with_list))

    def describe(self) -> dict[str, str]:
        """Human-readable filters, as written into exports."""
        return {
            "period": f"{self.period.start.isoformat()} to {self.period.end.isoformat()}"
            + ("" if self.period.preset == "custom" else f" ({PRESETS[self.period.preset]})"),
            "trade": self.trade.name if self.trade else "all trades",
            "province": self.province or "all provinces",
            "vetting status": ", ".join(self.vetting) if self.vetting else "all",
            "minimum reviews": str(self.min_reviews),
            "search": self.search or "(none)",
        }


def parse_partner_query(
    params: Mapping[str, str], *, today: date, trades: Sequence[TradeRef]
) -> PartnerQuery:
    """Validate the query string; raises :class:`BadQuery` with a message for the page."""
    by_code = {t.code: t for t in trades}
    period = parse_date_range(params, today=today, default_preset=DEFAULT_PERIOD)
    code = parse_choice(params, "trade", by_code, label="trade")
    return PartnerQuery(
        period=period,
        trade=by_code[code] if code else None,
        province=parse_choice(params, "province", PROVINCE_NAMES, label="province"),
        vetting=parse_choices(params, "vetting", VETTING_STATUSES, label="vetting status"),
        min_reviews=parse_int(
            params,
            "min_reviews",
            label="minimum number of reviews",
            minimum=0,
            maximum=MAX_MIN_REVIEWS,
            default=0,
        )
        or 0,
        search=parse_text(params, "q", label="search text"),
        sort=parse_sort(params, "sort", HEADERS) or DEFAULT_SORTS,
        grid_filter=parse_filter_param(params, "filter", HEADERS),
        page=parse_int(params, "page", label="page number", minimum=1, maximum=MAX_PAGE, default=1)
        or 1,
    )


def safe_partner_query(
    params: Mapping[str, str], *, today: date, trades: Sequence[TradeRef]
) -> tuple[PartnerQuery, str | None]:
    """The query; invalid parameters are left out (the others are kept), and the message says
    what was wrong and what is shown instead."""
    try:
        return parse_partner_query(params, today=today, trades=trades), None
    except BadQuery:
        pass
    kept = dict(params)
    problems: list[str] = []
    for keys, instead in _GROUPS:
        part = {k: params[k] for k in keys if k in params}
        try:
            parse_partner_query(part, today=today, trades=trades)
        except BadQuery as exc:
            problems.append(f"{exc} {instead}")
            for key in keys:
                kept.pop(key, None)
    query = parse_partner_query(kept, today=today, trades=trades)
    return query, " ".join(problems) + " The other filters are kept."


def controls_problem(
    params: Mapping[str, str], *, today: date, trades: Sequence[TradeRef]
) -> tuple[str, bool] | None:
    """Why filter values typed into the controls cannot be applied, and whether the dates are
    the reason (``None``: they can)."""
    try:
        parse_date_range(params, today=today, default_preset=DEFAULT_PERIOD)
    except BadQuery as exc:
        return str(exc), True
    try:
        parse_partner_query(params, today=today, trades=trades)
    except BadQuery as exc:
        return str(exc), False
    return None


def query_from_controls(
    *,
    period: Any,
    start: Any,
    end: Any,
    trade: Any,
    province: Any,
    vetting: Any,
    min_reviews: Any,
    search: Any,
) -> dict[str, str] | None:
    """Query parameters from the filter controls' values (None: incomplete, wait).

    Values are only shaped here; the page validates them again when it renders the URL.
    """

    def text(value: Any, limit: int = 120) -> str:
        return value[:limit] if isinstance(value, str) else ""

    params: dict[str, str] = {"period": text(period) or DEFAULT_PERIOD}
    if params["period"] == "custom":
        if not text(start) or not text(end):
            return None
        params.update({"from": text(start), "to": text(end)})
    params["trade"] = text(trade)
    params["province"] = text(province)
    if isinstance(vetting, list):
        params["vetting"] = ",".join(v for v in vetting if isinstance(v, str))
    if isinstance(min_reviews, int | float) and min_reviews == min_reviews:
        params["min_reviews"] = str(int(min_reviews))
    elif isinstance(min_reviews, str):
        params["min_reviews"] = text(min_reviews, 12)
    params["q"] = text(search)
    return {k: v for k, v in params.items() if v and DEFAULTS.get(k) != v}


def _field(label: str, control: Any, width: int) -> dbc.Col:
    """A filter control under its label (the label points at the control's id)."""
    return dbc.Col([dbc.Label(label, html_for=control.id, className="small"), control], md=width)


def filter_bar(
    prefix: str, query: PartnerQuery, trades: Sequence[TradeRef], *, feedback: bool = False
) -> html.Div:
    """Period, trade, province, vetting status and minimum reviews (ids ``{prefix}-…``); with
    ``feedback``, a line under the date fields (``{prefix}-filters-problem``) for a page to say
    why values typed into the controls were not applied."""
    custom = query.period.preset == "custom"

    def day(name: str, value: date) -> dbc.Input:
        return dbc.Input(
            id=f"{prefix}-{name}",
            type="date",
            value=value.isoformat(),
            debounce=True,
            disabled=not custom,
        )

    fields = [
        _field(
            "Period",
            dcc.Dropdown(
                id=f"{prefix}-period",
                options=[{"label": v, "value": k} for k, v in PRESETS.items()],
                value=query.period.preset,
                clearable=False,
            ),
            2,
        ),
        _field("From", day("from", query.period.start), 2),
        _field("To", day("to", query.period.end), 2),
        _field(
            "Trade",
            dcc.Dropdown(
                id=f"{prefix}-trade",
                options=[{"label": t.name, "value": t.code} for t in trades],
                value=query.trade.code if query.trade else None,
                placeholder="All trades",
            ),
            2,
        ),
        _field(
            "Province",
            dcc.Dropdown(
                id=f"{prefix}-province",
                options=[{"label": p, "value": p} for p in PROVINCE_NAMES],
                value=query.province,
                placeholder="All provinces",
            ),
            2,
        ),
        _field(
            "Vetting",
            dcc.Dropdown(
                id=f"{prefix}-vetting",
                options=[{"label": v.capitalize(), "value": v} for v in VETTING_STATUSES],
                value=list(query.vetting),
                multi=True,
                placeholder="Any status",
            ),
            1,
        ),
        _field(
            "Min. reviews",
            dbc.Input(
                id=f"{prefix}-min-reviews",
                type="number",
                min=0,
                max=MAX_MIN_REVIEWS,
                step=1,
                value=query.min_reviews,
                debounce=True,
            ),
            1,
        ),
    ]
    rows = [dbc.Row(fields, className="g-2")]
    if feedback:
        rows.append(
            dbc.Row(
                dbc.Col(
                    html.Div(
                        id=f"{prefix}-filters-problem", role="alert", **{"aria-live": "polite"}
                    ),
                    md={"size": 10, "offset": 2},
                ),
                className="g-2",
            )
        )
    return html.Div(rows, className="filter-bar", id=f"{prefix}-filters")

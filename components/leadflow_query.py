"""The lead-flow page's filters: parsed from the query string, written back, and its filter bar.

Parameters: ``period`` (``30d``, ``90d``, ``365d``, ``ytd``, ``custom`` with ``from``/``to``),
``trade`` and ``service`` (codes), ``province``, ``channel``, ``site`` (source site), ``step``
(the funnel step clicked: the rest of the page counts the leads that reached it), ``by`` (the
time series' breakdown: channel, trade or province) and ``grain`` (day, week or month; empty:
chosen from the period's length).

An invalid parameter never costs the others: it is dropped, and the message says which and what
is shown instead (as on the partner pages). Pure: no database (the page passes the choices in)
and no callbacks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.url_state import (
    PRESETS,
    BadQuery,
    DateRange,
    parse_choice,
    parse_date_range,
    to_search,
)
from data.geography import PROVINCE_NAMES
from data.leadflow import BREAKDOWNS, STEP_LABELS, LeadFlowFilters
from data.leadflow.filters import Lookups
from data.leadflow.series import GRAINS

DEFAULT_PERIOD = "90d"
DEFAULTS = {"period": DEFAULT_PERIOD, "step": "leads", "by": "channel"}
KEYS = ("period", "from", "to", "trade", "service", "province", "channel", "site", "step", "by")
QUERY_KEYS = (*KEYS, "grain")
BREAKDOWN_LABELS = {"channel": "Channel", "trade": "Trade", "province": "Province"}
GRAIN_LABELS = {"": "Automatic", "day": "Daily", "week": "Weekly", "month": "Monthly"}
_GROUPS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("period", "from", "to"), f"Showing the {PRESETS[DEFAULT_PERIOD].lower()} instead."),
    (("trade",), "Showing all trades."),
    (("service",), "Showing all service types."),
    (("province",), "Showing all provinces."),
    (("channel",), "Showing all channels."),
    (("site",), "Showing all source sites."),
    (("step",), "Counting every lead created."),
    (("by",), "Broken down by channel."),
    (("grain",), "The grain follows the period."),
)


@dataclass(frozen=True)
class LeadFlowQuery:
    """Validated lead-flow filters and view choices (codes as in the address)."""

    period: DateRange
    trade: str | None = None
    service: str | None = None
    province: str | None = None
    channel: str | None = None
    site: str | None = None
    step: str = "leads"
    by: str = "channel"
    grain: str | None = None

    def filters(self, lookups: Lookups) -> LeadFlowFilters:
        trade_ids = {code: id_ for id_, code, _ in lookups.trades}
        service_ids = {code: id_ for id_, code, _ in lookups.service_types}
        return LeadFlowFilters(
            start=self.period.start,
            end=self.period.end,
            trade_id=trade_ids.get(self.trade) if self.trade else None,
            service_type_id=service_ids.get(self.service) if self.service else None,
            province=self.province,
            channel=self.channel,
            source_site=self.site,
            step=self.step,
        )

    def params(self) -> dict[str, str]:
        """Canonical query parameters (defaults left out)."""
        out: dict[str, str] = dict(self.period.as_params())
        for key in ("trade", "service", "province", "channel", "site"):
            value = getattr(self, key)
            if value:
                out[key] = value
        out["step"] = self.step
        out["by"] = self.by
        if self.grain:
            out["grain"] = self.grain
        return {k: v for k, v in out.items() if DEFAULTS.get(k) != v}

    def search_string(self) -> str:
        return to_search(self.params())

    def with_changes(self, **changes: Any) -> LeadFlowQuery:
        return replace(self, **changes)

    def describe(self, lookups: Lookups) -> dict[str, str]:
        """Human-readable filters, as written into exports."""
        trades = {code: name for _, code, name in lookups.trades}
        services = {code: name for _, code, name in lookups.service_types}
        return {
            "period (lead created)": f"{self.period.start.isoformat()} to "
            f"{self.period.end.isoformat()}",
            "trade": trades.get(self.trade or "", "all trades"),
            "service type": services.get(self.service or "", "all service types"),
            "province": self.province or "all provinces",
            "channel": self.channel or "all channels",
            "source site": self.site or "all source sites",
            "funnel step": STEP_LABELS[self.step],
        }


def parse_leadflow_query(
    params: Mapping[str, str], *, today: date, lookups: Lookups
) -> LeadFlowQuery:
    """Validate the query string; raises :class:`BadQuery` with a message for the page."""
    period = parse_date_range(params, today=today, default_preset=DEFAULT_PERIOD)
    return LeadFlowQuery(
        period=period,
        trade=parse_choice(params, "trade", [t[1] for t in lookups.trades], label="trade"),
        service=parse_choice(
            params, "service", [s[1] for s in lookups.service_types], label="service type"
        ),
        province=parse_choice(params, "province", PROVINCE_NAMES, label="province"),
        channel=parse_choice(params, "channel", lookups.channels, label="channel"),
        site=parse_choice(params, "site", lookups.source_sites, label="source site"),
        step=parse_choice(params, "step", STEP_LABELS, label="funnel step") or "leads",
        by=parse_choice(params, "by", BREAKDOWNS, label="breakdown") or "channel",
        grain=parse_choice(params, "grain", GRAINS, label="time grain"),
    )


def safe_leadflow_query(
    params: Mapping[str, str], *, today: date, lookups: Lookups
) -> tuple[LeadFlowQuery, str | None]:
    """The query; invalid parameters are left out (the others kept), with a message saying
    what was wrong and what is shown instead."""
    try:
        return parse_leadflow_query(params, today=today, lookups=lookups), None
    except BadQuery:
        pass
    kept = dict(params)
    problems: list[str] = []
    for keys, instead in _GROUPS:
        part = {k: params[k] for k in keys if k in params}
        try:
            parse_leadflow_query(part, today=today, lookups=lookups)
        except BadQuery as exc:
            problems.append(f"{exc} {instead}")
            for key in keys:
                kept.pop(key, None)
    query = parse_leadflow_query(kept, today=today, lookups=lookups)
    return query, " ".join(problems) + " The other filters are kept."


def _text(value: Any, limit: int = 120) -> str:
    return value[:limit] if isinstance(value, str) else ""


def params_from_controls(
    *,
    period: Any,
    start: Any,
    end: Any,
    trade: Any,
    service: Any,
    province: Any,
    channel: Any,
    site: Any,
    by: Any,
    grain: Any,
) -> dict[str, str] | None:
    """Query parameters from the filter controls (``None``: a custom period still lacks a
    date). Values are only shaped here; they are validated again when the page renders."""
    params: dict[str, str] = {"period": _text(period) or DEFAULT_PERIOD}
    if params["period"] == "custom":
        if not _text(start) or not _text(end):
            return None
        params.update({"from": _text(start), "to": _text(end)})
    for key, value in (
        ("trade", trade),
        ("service", service),
        ("province", province),
        ("channel", channel),
        ("site", site),
        ("by", by),
        ("grain", grain),
    ):
        params[key] = _text(value)
    return {k: v for k, v in params.items() if v}


def _field(label: str, control: Any, width: int) -> dbc.Col:
    return dbc.Col([dbc.Label(label, html_for=control.id, className="small"), control], md=width)


def _dropdown(id_: str, options: list[tuple[str, str]], value: str | None, placeholder: str) -> Any:
    return dcc.Dropdown(
        id=id_,
        options=[{"label": label, "value": v} for v, label in options],
        value=value,
        placeholder=placeholder,
    )


def filter_bar(query: LeadFlowQuery, lookups: Lookups) -> html.Div:
    """Period, dates, trade, service type, province, channel and source site (ids
    ``leads-…``), and the line where values that cannot be applied are explained."""
    custom = query.period.preset == "custom"

    def day(name: str, value: date) -> dbc.Input:
        return dbc.Input(
            id=f"leads-{name}",
            type="date",
            value=value.isoformat(),
            debounce=True,
            disabled=not custom,
        )

    fields = [
        _field(
            "Period",
            dcc.Dropdown(
                id="leads-period",
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
            _dropdown(
                "leads-trade", [(c, n) for _, c, n in lookups.trades], query.trade, "All trades"
            ),
            2,
        ),
        _field(
            "Service type",
            _dropdown(
                "leads-service",
                [(c, n) for _, c, n in lookups.service_types],
                query.service,
                "All service types",
            ),
            2,
        ),
        _field(
            "Province",
            _dropdown(
                "leads-province", [(p, p) for p in PROVINCE_NAMES], query.province, "All provinces"
            ),
            2,
        ),
        _field(
            "Channel",
            _dropdown(
                "leads-channel",
                [(c, c.replace("_", " ").capitalize()) for c in lookups.channels],
                query.channel,
                "All channels",
            ),
            2,
        ),
        _field(
            "Source site",
            _dropdown(
                "leads-site", [(s, s) for s in lookups.source_sites], query.site, "All source sites"
            ),
            2,
        ),
    ]
    problem = html.Div(id="leads-filters-problem", role="alert", **{"aria-live": "polite"})
    return html.Div(
        [dbc.Row(fields, className="g-2"), dbc.Row(dbc.Col(problem), className="g-2")],
        className="filter-bar mb-3",
        id="leads-filters",
    )

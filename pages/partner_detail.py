"""One partner (``/partners/<id>``): profile, KPIs with the ranking's definitions, trends,
ratings and funnel against the trade, response times, recent reviews and disputes, and the
leads it received while still prospective.

The page reads the same query string as ``/partners`` (period, trade, province), so the link
from the grid and the way back keep the view. Homeowners appear as initials and suburb only and
the payment card as its last four digits: ``data/partner_detail.py`` never reads more than
that. Everything shown comes from one :func:`~data.partner_detail.load_partner_view` call.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, callback, dcc, html, no_update

from components import messages
from components.kpi import alert_class, fmt_int, fmt_pct, kpi_card, kpi_row, trend_arrow
from components.partner_figures import (
    aspects_against_trade,
    format_minutes,
    funnel_against_trade,
    graph,
    monthly_trend,
    response_histogram,
    star_distribution,
)
from components.partner_query import PartnerQuery, safe_partner_query
from components.url_state import PRESETS, BadQuery, clean_params, parse_id, to_search
from data import partners as pdata
from data.db import read_connection
from data.partner_detail import PartnerProfile, load_partner_view
from data.timeutil import today

dash.register_page(
    __name__,
    path_template="/partners/<partner_id>",
    name="Partner",
    title="Partner · Partner Operations",
    allowed_roles=["admin", "manager"],
    id_prefix="partner-detail",
)

VETTING_COLOURS = {
    "vetted": "success",
    "prospective": "info",
    "suspended": "warning",
    "offboarded": "secondary",
}


def _back_link(query: PartnerQuery | None) -> dcc.Link:
    search = query.search_string() if query else ""
    return dcc.Link("← All partners", href=f"/partners{search}", id="partner-detail-back")


def _problem(message: str) -> html.Div:
    return html.Div([_back_link(None), messages.invalid_input(message)], id="partner-detail-page")


def _field(label: str, value: Any) -> html.Div:
    shown = value if value not in (None, "") else "–"
    return html.Div(
        [html.Dt(label, className="col-sm-4"), html.Dd(shown, className="col-sm-8")],
        className="row mb-1",
    )


def _profile_card(p: PartnerProfile) -> dbc.Card:
    contact = p.phone or "–"
    if p.phone and p.whatsapp_opt_in:
        contact += " (WhatsApp)"
    return dbc.Card(
        dbc.CardBody(
            [
                html.Dl(
                    [
                        _field("Contact person", p.contact_name),
                        _field("Email", p.email),
                        _field("Phone", contact),
                        _field("Website", p.website),
                        _field("Trades", ", ".join(p.trades)),
                        _field("Service areas", "; ".join(p.areas)),
                        _field("Certifications", p.certifications),
                        _field("Skills", p.skills),
                        _field("Working preferences", p.working_preferences),
                        _field("Joined", f"{p.joined_at:%d %b %Y}" if p.joined_at else None),
                        _field(
                            "Payment card",
                            f"•••• {p.payment_last4}" if p.payment_last4 else "none on file",
                        ),
                    ],
                    className="mb-2",
                ),
                html.P(p.biography, className="small text-muted mb-0") if p.biography else None,
            ]
        ),
        className="shadow-sm h-100",
        id="partner-detail-profile",
    )


#: The funnel rate cards: label, rate column, what the rate is a share of.
RATE_CARDS: tuple[tuple[str, str, str], ...] = (
    ("Contact rate", "contact_rate", "leads"),
    ("Quote rate", "quote_rate", "contacted leads"),
    ("Win rate", "win_rate", "quotes"),
    ("Completion rate", "completion_rate", "hires"),
    ("Review rate", "review_rate", "completed jobs"),
)


def _rate_note(rate: float, lb: float, of: str) -> str:
    if rate != rate:  # NaN: no denominator
        return f"no {of}"
    return f"≥ {fmt_pct(lb)} (95 % lower bound) of {of}"


def _kpis(m: dict[str, Any]) -> list[dbc.Col]:
    def num(value: Any) -> float | None:
        return None if value is None or value != value else float(value)

    if m["is_new"]:
        bayes, bayes_note = "new", f"{m['reviews_12m']} reviews in 12 months (needs 5)"
    else:
        bayes = "–" if num(m["bayes_rating"]) is None else f"{m['bayes_rating']:.2f}"
        prior = num(m["prior_rating"])
        bayes_note = f"v = {m['reviews']} reviews in the period" + (
            "" if prior is None else f"; trade mean {prior:.2f}"
        )
    trend = num(m["rating_trend"])
    cards = [
        kpi_card(
            "Leads shared",
            fmt_int(int(m["shares"])),
            f"{fmt_pct(num(m['acceptance_rate']))} accepted",
            id_="partner-detail-kpi-leads",
        ),
        kpi_card(
            "Median first contact",
            format_minutes(num(m["median_response_min"])),
            f"{fmt_pct(num(m['within_1h']))} within 1 h · {fmt_pct(num(m['within_24h']))} "
            "within 24 h",
            id_="partner-detail-kpi-response",
        ),
        kpi_card(
            "Bayesian rating",
            bayes,
            bayes_note,
            id_="partner-detail-kpi-bayes",
        ),
        kpi_card(
            "Mean rating",
            "–" if num(m["mean_rating"]) is None else f"{m['mean_rating']:.2f} / 5",
            "no earlier reviews to compare"
            if trend is None
            else f"{trend_arrow(trend)} {abs(trend):.2f} vs previous period",
            id_="partner-detail-kpi-rating",
        ),
        *(
            kpi_card(
                label,
                fmt_pct(num(m[rate])),
                _rate_note(m[rate], num(m[pdata.lb_column(rate)]), of),
                id_=f"partner-detail-kpi-{rate.removesuffix('_rate')}",
            )
            for label, rate, of in RATE_CARDS
        ),
        kpi_card(
            "Dispute rate",
            fmt_pct(num(m["dispute_rate"])),
            f"{m['disputes']} of {m['all_reviews']} reviews",
            id_="partner-detail-kpi-dispute",
        ),
        kpi_card(
            "Status",
            "At risk" if m["at_risk"] else "OK",
            m["risk_reasons"] or "meets the performance criteria",
            id_="partner-detail-kpi-risk",
            note_class=alert_class(bool(m["at_risk"])),
        ),
    ]
    return cards


def _table(df: pd.DataFrame, columns: dict[str, str], id_: str, empty: str) -> Any:
    """A small read-only table; every value is rendered as text (React escapes it)."""
    if df.empty:
        return html.P(empty, className="text-muted small", id=id_)
    header = html.Thead(html.Tr([html.Th(label) for label in columns.values()]))
    rows = zip(*(df[c].tolist() for c in columns), strict=True)  # cheaper than to_dict
    body = html.Tbody([html.Tr([html.Td(_cell(v)) for v in row]) for row in rows])
    return dbc.Table([header, body], size="sm", striped=True, hover=True, responsive=True, id=id_)


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else ""
    return str(value)


REVIEW_COLUMNS = {
    "date": "Date",
    "rating": "Rating",
    "quality": "Quality",
    "timeliness": "Timeliness",
    "value": "Value",
    "communication": "Communication",
    "homeowner": "Homeowner",
    "suburb": "Suburb",
    "status": "Status",
    "dispute": "Dispute",
    "comment": "Comment",
}
BY_PARTNER_COLUMNS = {
    "date": "Date",
    "rating": "Rating",
    "homeowner": "Homeowner",
    "suburb": "Suburb",
    "status": "Status",
    "comment": "Comment",
}
PROSPECTIVE_COLUMNS = {
    "shared": "Shared",
    "lead_id": "Lead",
    "trade": "Trade",
    "service": "Service",
    "city": "City",
    "province": "Province",
    "response": "Response",
    "outcome": "Outcome",
}


def layout(partner_id: Any = None, **kwargs: Any) -> html.Div:
    try:
        pid = parse_id(partner_id, label="partner")
    except BadQuery as exc:
        return _problem(f"{exc} Partner numbers are the digits in a partner's link.")
    params = clean_params(kwargs)
    with read_connection() as conn:
        trades = pdata.trades(conn)
        query, problem = safe_partner_query(params, today=today(), trades=trades)
        view = load_partner_view(conn, pid, query.filters())
    if view is None:
        return _problem(f"There is no partner number {pid}.")
    profile, metrics = view.profile, view.metrics
    scope = []
    if query.trade:
        scope.append(query.trade.name)
    if query.province:
        scope.append(query.province)
    scope_text = f" · only {' and '.join(scope)}" if scope else ""
    header = html.Div(
        [
            html.H2(
                [
                    profile.business_name,
                    dbc.Badge(
                        profile.vetting_status,
                        color=VETTING_COLOURS.get(profile.vetting_status, "secondary"),
                        className="ms-2 align-middle fs-6",
                        id="partner-detail-vetting",
                    ),
                ],
                className="page-title",
                id="partner-detail-name",
            ),
            html.Div(
                [
                    html.Span(f"{query.period.label()}{scope_text}", className="text-muted me-3"),
                    dcc.Dropdown(
                        id="partner-detail-period",
                        options=[
                            {"label": v, "value": k} for k, v in PRESETS.items() if k != "custom"
                        ],
                        value=query.period.preset if query.period.preset != "custom" else None,
                        placeholder="Custom range",
                        clearable=False,
                        style={"width": "220px", "display": "inline-block"},
                    ),
                ],
                className="d-flex align-items-center mb-3",
            ),
        ]
    )
    return html.Div(
        [
            dcc.Location(id="partner-detail-url", refresh="callback-nav"),
            dcc.Store(id="partner-detail-query", data=query.params()),
            _back_link(query),
            header,
            messages.invalid_input(problem) if problem else None,
            dbc.Row(
                [
                    dbc.Col(_profile_card(profile), lg=5, className="mb-3"),
                    dbc.Col(kpi_row(_kpis(metrics)), lg=7),
                ]
            ),
            dbc.Row(
                [
                    dbc.Col(graph("partner-detail-trend", monthly_trend(view.trend)), lg=6),
                    dbc.Col(
                        graph("partner-detail-funnel", funnel_against_trade(view.funnel)), lg=6
                    ),
                ]
            ),
            dbc.Row(
                [
                    dbc.Col(graph("partner-detail-stars", star_distribution(view.stars)), lg=4),
                    dbc.Col(
                        graph("partner-detail-aspects", aspects_against_trade(view.aspects)), lg=4
                    ),
                    dbc.Col(
                        graph(
                            "partner-detail-response",
                            response_histogram(view.response),
                        ),
                        lg=4,
                    ),
                ]
            ),
            html.H4("Recent reviews about the partner", className="mt-4"),
            _table(view.reviews_about, REVIEW_COLUMNS, "partner-detail-reviews", "No reviews yet."),
            html.H4("Recent reviews by the partner", className="mt-4"),
            _table(
                view.reviews_by,
                BY_PARTNER_COLUMNS,
                "partner-detail-reviews-by",
                "The partner has not reviewed any homeowner.",
            ),
            html.H4("Disputes and flagged reviews", className="mt-4"),
            _table(view.disputes, REVIEW_COLUMNS, "partner-detail-disputes", "None."),
            html.H4(
                f"Leads received while prospective ({view.prospective_total})", className="mt-4"
            ),
            _table(
                view.prospective,
                PROSPECTIVE_COLUMNS,
                "partner-detail-prospective",
                "None: every lead arrived after vetting.",
            ),
        ],
        id="partner-detail-page",
    )


@callback(
    Output("partner-detail-url", "search"),
    Input("partner-detail-period", "value"),
    State("partner-detail-query", "data"),
    prevent_initial_call=True,
)
def change_period(preset: Any, stored: Any) -> Any:
    """Another period preset, keeping the other filters (the router re-renders the page)."""
    if not isinstance(preset, str) or preset not in PRESETS or preset == "custom":
        return no_update
    params = {str(k): str(v) for k, v in stored.items()} if isinstance(stored, dict) else {}
    params = {k: v for k, v in params.items() if k not in ("period", "from", "to")}
    params = {"period": preset, **params}
    return to_search(params, defaults={"period": "365d"})

"""Layout pieces of the partner ranking page (``/partners``): the headline cards, the loading
states, the toolbar above the grid and the line under it, and the script that keeps the grid's
sort and page in the address.

What one screen shows must agree. The headline cards and the charts describe the *view*: the
period and the filter bar's trade, province, vetting status and minimum reviews. The quick
search and the grid's own column filters only narrow the list; they say so where they are, and
the line under the grid counts "N of M partners in this view" with M the cards' partner count.

Pure: no database and no callbacks (``pages/partners.py`` registers those).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.export_bar import export_buttons
from components.grid import column_chooser, quick_search
from components.kpi import alert_class, fmt_int, fmt_pct, kpi_card, kpi_row
from components.partner_columns import COLUMNS, LOCKED
from components.partner_figures import Figure, format_minutes, graph
from components.partner_query import PartnerQuery
from data.partners import Headline

LOADING = "Loading…"
NARROWS_ONLY = "narrows the list only"


def period_note(query: PartnerQuery) -> str:
    """The line under the title: the view's period and how partners are ranked."""
    return (
        f"{query.period.label()}. Ratings are Bayesian averages (m = 10, prior = the trade's "
        "mean); partners with fewer than 5 reviews in 12 months are “new”, and partners without "
        "reviews in the period are not ranked."
    )


# --- headline cards ---------------------------------------------------------------------------


def headline_cards(h: Headline) -> list[dbc.Col]:
    """The four cards for the view."""
    unranked = h.partners - h.rated_partners - h.new_partners
    return [
        kpi_card(
            "Partners",
            fmt_int(h.partners),
            f"{fmt_int(h.at_risk)} at risk · {fmt_int(h.active_partners)} received leads",
            id_="partners-kpi-partners",
            note_class=alert_class(h.at_risk > 0),
        ),
        kpi_card(
            "Leads shared",
            fmt_int(h.shares),
            f"{fmt_pct(h.acceptance_rate)} accepted",
            id_="partners-kpi-leads",
        ),
        kpi_card(
            "Contacted within 24 h",
            fmt_pct(h.within_24h),
            f"{fmt_pct(h.within_1h)} within 1 h · median {format_minutes(h.median_response_min)}",
            id_="partners-kpi-contact",
        ),
        kpi_card(
            "Mean rating",
            "–" if h.mean_rating is None else f"{h.mean_rating:.2f} / 5",
            " · ".join(
                [
                    f"{fmt_int(h.reviews)} reviews",
                    f"{fmt_int(h.rated_partners)} ranked",
                    f"{fmt_int(h.new_partners)} new",
                    *(
                        [f"{fmt_int(unranked)} without reviews in the period"]
                        if unranked > 0
                        else []
                    ),
                ]
            ),
            id_="partners-kpi-rating",
        ),
    ]


# --- loading states ---------------------------------------------------------------------------


def _spinner(text: str) -> html.Div:
    return html.Div(
        [dbc.Spinner(size="sm", color="primary", spinner_class_name="me-2"), text],
        className="partners-loading bg-white border rounded shadow-sm px-3 py-2 fw-semibold",
    )


def loading(
    id_: str, children: Any, targets: dict[str, str | list[str]], text: str = LOADING
) -> dcc.Loading:
    """Shows ``text`` with a spinner over ``children`` while one of ``targets`` is computed; the
    children stay visible (dimmed) so the page does not jump or look empty."""
    return dcc.Loading(
        children,
        id=id_,
        target_components=targets,
        custom_spinner=_spinner(text),
        overlay_style={"visibility": "visible", "opacity": 0.35, "pointerEvents": "none"},
        delay_show=150,
    )


def summary(cards: list[dbc.Col], scatter: Figure, by_trade: Figure) -> dcc.Loading:
    """Headline cards and the two charts of the view, drawn with the page (a page that opened
    with placeholders drew every chart twice), dimmed while a filter change recomputes them."""
    return loading(
        "partners-summary-loading",
        [
            html.Div(kpi_row(cards), id="partners-kpis"),
            dbc.Row(
                [
                    dbc.Col(graph("partners-scatter", scatter), lg=7),
                    dbc.Col(graph("partners-by-trade", by_trade), lg=5),
                ],
                className="mb-3",
            ),
        ],
        {
            "partners-kpis": "children",
            "partners-scatter": "figure",
            "partners-by-trade": "figure",
        },
        f"{LOADING[:-1]} the numbers for this view…",
    )


# --- above and under the grid -----------------------------------------------------------------


def toolbar(search: str, can_export: bool) -> html.Div:
    """Quick search (labelled as narrowing the list only), column chooser, exports."""
    exports = export_buttons("partners") if can_export else []
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(
                        [
                            dbc.Label(
                                ["Find in the list ", html.Span(f"({NARROWS_ONLY})")],
                                html_for="partners-search",
                                className="small mb-1",
                            ),
                            quick_search(
                                "partners-search", "Partner, trade, province, status…", search
                            ),
                        ],
                        md=4,
                    ),
                    dbc.Col(
                        html.Div(
                            "The search and the column filters (the filter icon in each column "
                            "header) narrow the list only: the cards and charts above always "
                            "cover every partner in this view. Exports contain the list as "
                            "shown.",
                            className="text-muted small",
                            id="partners-narrow-note",
                        ),
                        md=5,
                        className="align-self-end",
                    ),
                    dbc.Col(
                        [
                            column_chooser("partners-columns", COLUMNS, locked=LOCKED),
                            *exports,
                        ],
                        className="text-end align-self-end",
                        md=3,
                    ),
                ],
                className="g-2 mb-2",
            ),
        ]
    )


def count_line(shown: int, total: int, search: str, filtered: Sequence[str]) -> html.Div | str:
    """ "Showing N of M partners in this view" (M: the cards' partner count) and, when the list
    is narrowed, by what and that the numbers above still cover all M."""
    line = f"Showing {fmt_int(shown)} of {fmt_int(total)} partners in this view."
    causes = []
    if search:
        causes.append(f"the search “{search}”")
    if filtered:
        names = ", ".join(filtered)
        causes.append(f"the column filter{'s' if len(filtered) > 1 else ''} on {names}")
    if not causes:
        return line
    by = " and ".join(causes)
    return html.Div(
        [
            html.Strong(line),
            f" The list is narrowed by {by}; the cards and charts above cover all "
            f"{fmt_int(total)}.",
            " No partner in this view matches." if shown == 0 else "",
        ],
        className="bg-warning-subtle border border-warning-subtle rounded px-2 py-1",
    )


def date_problem(problem: str, showing: str) -> html.Div:
    """Why the typed dates were not applied, and what the page still shows."""
    return html.Div(
        [
            html.Strong("Dates not applied: "),
            problem,
            f" Still showing {showing}; other filter changes apply once the dates are valid.",
        ],
        className="text-danger small mt-1",
        id="partners-dates-problem",
    )


def controls_problem(problem: str, showing: str) -> html.Div:
    """Why a value typed into another filter control was not applied."""
    return html.Div(
        [html.Strong("Filters not applied: "), problem, f" Still showing {showing}."],
        className="text-danger small mt-1",
    )


# --- the grid's sort, column filters and page in the address ------------------------------

#: Clientside: replace (not push) the address when the grid's sort, filters or page change, so Back
#: from a partner and a reload reopen the list as it was, without a history entry per click.
#: The default sort (rank, best first) and page 1 are left out, like every default.
LIST_STATE_JS = r"""
function (pagination, request) {
    const path = window.location.pathname;
    if (!pagination || !request || !/\/partners\/?$/.test(path)) {
        return window.dash_clientside.no_update;
    }
    const params = new URLSearchParams(window.location.search);
    // every sorted column, by precedence ("-shares,name"); rank ascending alone is the default
    const sort = ((request && request.sortModel) || [])
        .map(function (s) { return (s.sort === "desc" ? "-" : "") + s.colId; })
        .join(",");
    if (!sort || sort === "rank") { params.delete("sort"); } else { params.set("sort", sort); }
    // the column filters as the grid describes them (checked again by the server on load)
    const filters = (request && request.filterModel) || {};
    if (Object.keys(filters).length) {
        params.set("filter", JSON.stringify(filters));
    } else {
        params.delete("filter");
    }
    const page = Number.isInteger(pagination.currentPage) ? pagination.currentPage + 1 : 1;
    if (page > 1) { params.set("page", String(page)); } else { params.delete("page"); }
    const query = params.toString();
    const search = query ? "?" + query : "";
    if (search !== window.location.search) {
        window.history.replaceState(window.history.state, "", path + search);
    }
    return search;
}
"""


#: Clientside: when the list's filters change in place, reopen the same grid on its first page
#: and ask the server for its rows again (AG Grid's infinite row model keeps blocks in a cache,
#: and nothing else tells it that the rows behind them changed). The grid keeps its sort.
GRID_REFRESH_JS = r"""
function (query) {
    if (window.dash_ag_grid && query) {
        window.dash_ag_grid.getApiAsync("partners-grid").then(function (api) {
            api.paginationGoToFirstPage();
            api.purgeInfiniteCache();
        });
    }
    return window.dash_clientside.no_update;
}
"""

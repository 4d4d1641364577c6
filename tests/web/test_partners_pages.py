"""The partner pages through the Flask test client: layouts via Dash's router, callbacks via
``/_dash-update-component``, bad input, what never reaches the browser, exports."""

from __future__ import annotations

import base64
import io
import json
from datetime import date, timedelta

import openpyxl
import pytest
from sqlalchemy import select

from data.db import session_scope
from data.export import read_csv_export, read_xlsx_export
from data.models import AuditLog
from data.query_cache import CACHE
from data.timeutil import today
from tests.conftest import route_response
from tests.partners_support import (
    apply_filters,
    call,
    find,
    grid_rows,
    layout_tree,
    leaf_defs,
    names_of,
    route,
    show_view,
    strings,
)
from tests.partners_world import build_world

MARCH = "?period=custom&from=2026-03-01&to=2026-03-31"
MARCH_STORE = {"period": "custom", "from": "2026-03-01", "to": "2026-03-31"}
SECRETS = ("tok_secret", "Thandi", "Nkosi", "t@example.co.za", "082 555 1234", "+2782")


@pytest.fixture
def world(db):
    CACHE.clear()
    return build_world(db)


# --- the ranking page ---------------------------------------------------------------------------


def test_partners_page_renders_headline_charts_and_grid(client_for, dash_app, world):
    for role in ("manager", "admin"):
        client = client_for(role)
        body = route(client, dash_app, "/partners", MARCH)
        assert "partners-grid" in body and "partners-scatter" in body
        assert "partners-by-trade" in body and "partners-kpi-leads" in body
        assert "01 Mar 2026 – 31 Mar 2026. Ratings are Bayesian averages" in body
        assert "partners-export-xlsx" in body
        view = json.dumps(show_view(client, dash_app, MARCH_STORE), ensure_ascii=False)
        for secret in SECRETS:
            assert secret not in body, secret
            assert secret not in view, secret


def test_marketing_is_refused_everywhere(client_for, dash_app, world):
    client = client_for("marketing")
    assert client.get("/partners").status_code == 403
    assert client.get(f"/partners/{world.ids['alpha']}").status_code == 403
    assert "shell-forbidden" in route(client, dash_app, "/partners", MARCH)
    for key in dash_app.callback_map:
        if "partners-" in key or "partner-detail-" in key:
            status, _ = call(client, dash_app, key, [])
            assert status == 403, key


@pytest.mark.parametrize(
    ("search", "message"),
    [
        ("?trade=astrology", "Unknown trade “astrology”"),
        ("?from=2026-03-31&to=2026-03-01", "after it ends"),
        ("?from=1976-01-01&to=2026-01-01", "longest allowed is 10 years"),
        ("?period=forever", "Unknown period"),
        ("?province=Atlantis", "Unknown province"),
        ("?vetting=vetted,bribed", "Unknown vetting status"),
        ("?min_reviews=-3", "minimum number of reviews must be a whole number"),
        ("?from=2026-02-30&to=2026-03-01", "not a date"),
        ("?q=" + "x" * 300, "too long"),
    ],
)
def test_bad_query_strings_give_a_message_not_an_error(
    client_for, dash_app, world, search, message
):
    body = route(client_for("manager"), dash_app, "/partners", search)
    assert message in body
    assert "The other filters are kept." in body
    assert "shell-error" not in body and "Traceback" not in body


def test_sql_in_the_search_box_is_just_text(client_for, dash_app, world):
    client = client_for("manager")
    nasty = "' OR 1=1; DROP TABLE partner; -- \"<script>"
    body = route(client, dash_app, "/partners", "?q=" + nasty.replace(" ", "+"))
    assert "shell-error" not in body
    response, full = grid_rows(
        client, dash_app, {**MARCH_STORE, "q": nasty}, {"startRow": 0, "endRow": 25}
    )
    assert response == {"rowData": [], "rowCount": 0}
    assert "Showing 0 of 8 partners in this view." in json.dumps(full, ensure_ascii=False)
    # the table is still there
    response, _ = grid_rows(client, dash_app, MARCH_STORE, {"startRow": 0, "endRow": 25})
    assert response["rowCount"] == 8


def test_grid_pages_sorts_and_filters_on_the_server(client_for, dash_app, world):
    client = client_for("manager")
    request = {
        "startRow": 0,
        "endRow": 2,
        "sortModel": [{"colId": "bayes_rating", "sort": "desc"}],
        "filterModel": {},
    }
    response, _ = grid_rows(client, dash_app, MARCH_STORE, request)
    assert response["rowCount"] == 8
    assert len(response["rowData"]) == 2  # only the requested block
    first = response["rowData"][0]
    assert first["business_name"] == "Alpha Plumbing"
    assert first["href"] == (
        f"/partners/{world.ids['alpha']}?period=custom&from=2026-03-01&to=2026-03-31"
        "&sort=-bayes_rating"
    )
    assert first["rank"] == 1 and set(first) >= {"bayes_rating", "is_new", "partner_id"}
    request = {
        "startRow": 0,
        "endRow": 25,
        "sortModel": [{"colId": "shares", "sort": "desc"}],
        "filterModel": {
            "vetting_status": {"filterType": "text", "type": "equals", "filter": "vetted"}
        },
    }
    response, _ = grid_rows(client, dash_app, MARCH_STORE, request)
    names = [r["business_name"] for r in response["rowData"]]
    assert names[0] == "Alpha Plumbing" and len(names) == 5
    junk = {"startRow": "x", "sortModel": "drop", "filterModel": [1, 2]}
    response, _ = grid_rows(client, dash_app, {"trade": "nope"}, junk)
    # a tampered store or request falls back to the default view and the first block
    assert response["rowCount"] == 8
    names = {r["business_name"] for r in response["rowData"]}
    assert names == {
        "Alpha Plumbing",
        "Bravo Plumbing",
        "Charlie Electric",
        "Delta Sparks",
        "Echo Drains",
        "Foxtrot Pipes",
        "Golf Geysers",
        "Hotel Handyman",
    }


def test_business_names_are_sent_as_text_beside_a_local_link(client_for, dash_app, world):
    """The grid's link renderer shows the name as a text node and only follows addresses of
    this app: a name shaped like markup or a link stays a name."""
    from data.models import Partner

    with session_scope() as s:
        s.get(Partner, world.ids["golf"]).business_name = "Evil](javascript:alert(1))"
    CACHE.clear()
    response, _ = grid_rows(
        client_for("manager"),
        dash_app,
        MARCH_STORE,
        {"startRow": 0, "endRow": 25, "filterModel": {}, "sortModel": []},
    )
    rows = [r for r in response["rowData"] if "Evil" in r["business_name"]]
    assert [(r["business_name"], r["href"]) for r in rows] == [
        (
            "Evil](javascript:alert(1))",
            f"/partners/{world.ids['golf']}?period=custom&from=2026-03-01&to=2026-03-31",
        )
    ]


def test_filters_are_written_to_the_url(client_for, dash_app, world):
    client = client_for("manager")
    values = ["90d", "2026-01-01", "2026-03-31", "plumbing", "Gauteng"]
    values += [["vetted", "suspended"], 2, "alpha"]
    response = apply_filters(client, dash_app, values, {})
    assert response["partners-url"]["href"] == (
        "/partners?period=90d&trade=plumbing&province=Gauteng&vetting=vetted%2Csuspended"
        "&min_reviews=2&q=alpha"
    )
    assert response["partners-filters-problem"]["children"] is None
    assert response["partners-from"]["invalid"] is False
    custom = ["custom", "2026-01-01", "2026-03-31", None, None, None, None, None]
    response = apply_filters(client, dash_app, custom, {})
    assert (
        response["partners-url"]["href"] == "/partners?period=custom&from=2026-01-01&to=2026-03-31"
    )


def test_a_filter_change_updates_the_page_in_place(client_for, dash_app, world):
    """A change writes the address, the list's and the view's stores, and the marker that keeps
    the router from drawing the page anew; a search alone leaves the view (cards, charts)."""
    client = client_for("manager")
    none = [None] * 4
    response = apply_filters(client, dash_app, ["90d", None, None, "plumbing", *none], {})
    assert response["partners-url"]["href"] == "/partners?period=90d&trade=plumbing"
    assert response["partners-query"]["data"] == {"period": "90d", "trade": "plumbing"}
    assert response["partners-view"]["data"] == {"period": "90d", "trade": "plumbing"}
    # the date fields follow the preset (90 days ending today) and stay read-only
    fields = {k: response[f"partners-{k}"] for k in ("from", "to")}
    assert {k: (f["value"], f["disabled"]) for k, f in fields.items()} == {
        "from": ((today() - timedelta(days=89)).isoformat(), True),
        "to": (today().isoformat(), True),
    }
    custom = ["custom", "2026-01-01", "2026-03-31", "plumbing", *none]
    opened = apply_filters(client, dash_app, custom, {"period": "90d", "trade": "plumbing"})
    assert [opened[f"partners-{k}"]["disabled"] for k in ("from", "to")] == [False, False]
    assert [opened[f"partners-{k}"]["value"] for k in ("from", "to")] == [
        "2026-01-01",
        "2026-03-31",
    ]
    assert response["shell-shown-view"]["data"] == {
        "page": "pages.partners",
        "params": {"period": "90d", "trade": "plumbing"},
    }
    store = {"period": "90d", "trade": "plumbing"}
    searched = ["90d", None, None, "plumbing", None, None, None, "alpha"]
    response = apply_filters(client, dash_app, searched, store)
    assert response["partners-query"]["data"] == {**store, "q": "alpha"}
    assert "partners-view" not in response  # the same view: cards and charts stay
    assert response["shell-shown-view"]["data"]["params"] == {**store, "q": "alpha"}
    # the router leaves the page alone for the address it shows, and renders any other
    marker = response["shell-shown-view"]["data"]
    search = "?period=90d&trade=plumbing&q=alpha"
    assert route_response(client, dash_app, "/partners", search, marker).status_code == 204
    for path, other in (("/partners", "?period=90d&trade=plumbing"), ("/", search)):
        rendered = route_response(client, dash_app, path, other, marker)
        assert rendered.status_code == 200
        assert "_pages_content" in rendered.get_json()["response"]
    assert route_response(client, dash_app, "/partners", search, None).status_code == 200
    # a marker cannot open a page the role may not: the guard's refusal comes first
    refused = route_response(client_for("marketing"), dash_app, "/partners", search, marker)
    assert refused.status_code == 200 and "not allowed" in refused.get_data(as_text=True).lower()


def _export(client, dash_app, fmt, request, columns):
    button = f"partners-export-{fmt}"
    status, body = call(
        client,
        dash_app,
        "partners-download.data",
        [
            ("partners-export-csv", "n_clicks", 1 if fmt == "csv" else None),
            ("partners-export-xlsx", "n_clicks", 1 if fmt == "xlsx" else None),
        ],
        [
            ("partners-query", "data", {**MARCH_STORE, "trade": "plumbing"}),
            ("partners-grid", "getRowsRequest", request),
            ("partners-columns", "value", columns),
        ],
        [f"{button}.n_clicks"],
    )
    assert status == 200, body
    download = body["response"]["partners-download"]["data"]
    return base64.b64decode(download["content"]), download["filename"], body


def test_exports_match_the_grid_and_carry_the_filters(client_for, dash_app, world):
    client = client_for("manager")
    request = {
        "startRow": 0,
        "endRow": 25,
        "sortModel": [{"colId": "bayes_rating", "sort": "desc"}],
        "filterModel": {},
    }
    grid, _ = grid_rows(client, dash_app, {**MARCH_STORE, "trade": "plumbing"}, request)
    grid_names = [r["business_name"].split("]")[0].strip("[") for r in grid["rowData"]]
    # best rating first (Alpha and Bravo tie: by id); unranked last (new, or v = 0), by id
    assert grid_names == [
        "Alpha Plumbing",
        "Bravo Plumbing",
        "Hotel Handyman",
        "Echo Drains",
        "Foxtrot Pipes",
        "Golf Geysers",
    ]
    columns = ["shares", "bayes_rating", "contact_rate", "contact_lb", "risk_reasons"]
    data, filename, body = _export(client, dash_app, "xlsx", request, columns)
    assert filename.endswith(".xlsx")
    filters, table = read_xlsx_export(data, "Partners")
    assert filters["trade"] == "Plumbing"
    assert filters["period"].startswith("2026-03-01 to 2026-03-31")
    assert "Bayesian rating descending" in filters["sorted by"]
    assert table["Partner"].tolist() == grid_names
    assert list(table.columns) == [
        "Partner",
        "Bayesian rating",
        "Leads shared",
        "Contact rate %",
        "Contact rate % (Wilson lower bound)",
        "At risk",
    ]
    alpha = table[table["Partner"] == "Alpha Plumbing"].iloc[0]
    assert alpha["Leads shared"] == 4 and alpha["Contact rate %"] == 75.0
    ratings = table["Bayesian rating"].tolist()
    # Echo and Golf: too few reviews in 12 months; Foxtrot: none in March
    assert ratings[3:] == ["new", "unranked (v=0)", "new"]
    assert ratings[0] == ratings[1] > ratings[2]
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Partners", "Filters"]
    csv_data, csv_name, _ = _export(client, dash_app, "csv", request, columns)
    csv_filters, csv_table = read_csv_export(csv_data)
    assert csv_name.endswith(".csv") and csv_filters["trade"] == "Plumbing"
    assert csv_table["Partner"].tolist() == grid_names
    text = data.decode("latin-1") + csv_data.decode("utf-8-sig") + json.dumps(body)
    for secret in SECRETS:
        assert secret not in text
    with session_scope() as s:
        logged = s.scalars(select(AuditLog).where(AuditLog.action == "partners.export")).all()
    assert [e.details["format"] for e in logged] == ["xlsx", "csv"]
    assert logged[0].details["filters"]["trade"] == "plumbing"


# --- what a manager sees: order, unranked partners, agreement, loading, sort/page, dates ---------

ALL_MARCH = [
    "Alpha Plumbing",
    "Bravo Plumbing",
    "Hotel Handyman",
    "Charlie Electric",
    "Delta Sparks",
    "Echo Drains",
    "Foxtrot Pipes",
    "Golf Geysers",
]


def test_grid_opens_by_rank_best_first_unranked_last(client_for, dash_app, world):
    client = client_for("manager")
    tree = layout_tree(client, dash_app, MARCH)
    grid = find(tree, "partners-grid")["props"]
    assert grid["dashGridOptions"]["initialState"]["sort"] == {
        "sortModel": [{"colId": "rank", "sort": "asc"}]
    }
    rank = next(c for c in leaf_defs(grid["columnDefs"]) if c["field"] == "rank")
    assert rank["sortingOrder"] == ["asc", "desc", None]  # first click: rank 1 at the top
    assert rank["pinned"] == "left"
    # no order asked for (a fresh grid, or a sort cleared): by rank; ties (Alpha and Bravo,
    # both 1) and the unranked partners by id
    for sort_model in ([], [{"colId": "rank", "sort": "asc"}]):
        response, _ = grid_rows(
            client, dash_app, MARCH_STORE, {"startRow": 0, "endRow": 25, "sortModel": sort_model}
        )
        assert names_of(response["rowData"]) == ALL_MARCH
        assert [r["rank"] for r in response["rowData"]] == [1, 1, 3] + [None] * 5
    # descending: the worst ranked first, the unranked still last
    response, _ = grid_rows(
        client,
        dash_app,
        MARCH_STORE,
        {"startRow": 0, "endRow": 25, "sortModel": [{"colId": "rank", "sort": "desc"}]},
    )
    assert names_of(response["rowData"]) == [
        "Hotel Handyman",
        "Alpha Plumbing",
        "Bravo Plumbing",
        *ALL_MARCH[3:],
    ]


def test_partner_without_reviews_in_the_period_is_unranked(client_for, dash_app, world):
    """Foxtrot: 6 reviews in December (not new), none in March: no rating, no rank (before,
    it was ranked 3rd on the trade's mean alone)."""
    client = client_for("manager")
    response, _ = grid_rows(client, dash_app, MARCH_STORE, {"startRow": 0, "endRow": 25})
    foxtrot = next(r for r in response["rowData"] if r["partner_id"] == world.ids["foxtrot"])
    assert (foxtrot["reviews"], foxtrot["reviews_12m"], foxtrot["is_new"]) == (0, 6, False)
    assert foxtrot["bayes_rating"] is None and foxtrot["rank"] is None
    grid = find(layout_tree(client, dash_app, MARCH), "partners-grid")["props"]
    bayes = next(c for c in leaf_defs(grid["columnDefs"]) if c["field"] == "bayes_rating")
    assert "params.data.reviews === 0 ? 'unranked (v=0)'" in bayes["valueFormatter"]["function"]
    cards = show_view(client, dash_app, MARCH_STORE)["partners-kpis"]["children"]
    # ranked: Alpha, Bravo, Hotel; new: Charlie, Delta, Echo, Golf; Foxtrot: v = 0
    assert strings(find(cards, "partners-kpi-rating")) == [
        "Mean rating",
        "3.56 / 5",
        "18 reviews · 3 ranked · 4 new · 1 without reviews in the period",
    ]


def test_cards_and_grid_agree_or_say_the_list_is_narrowed(client_for, dash_app, world):
    """The cards and charts cover the view; the search and the column filters narrow the list
    only, say so, and the line under the grid counts against the cards' partner count."""
    client = client_for("manager")
    body = route(client, dash_app, "/partners", MARCH + "&q=zzzzzz")
    assert "Find in the list " in body and "(narrows the list only)" in body
    assert "narrow the list only: the cards and charts above always cover every partner" in body
    store = {**MARCH_STORE, "q": "zzzzzz"}
    cards = show_view(client, dash_app, store)["partners-kpis"]["children"]
    expected = {
        "partners": ["Partners", "8", "3 at risk · 4 received leads"],
        "leads": ["Leads shared", "10", "50 % accepted"],
        "contact": ["Contacted within 24 h", "50 %", "40 % within 1 h · median 30 min"],
    }
    for key, texts in expected.items():
        assert strings(find(cards, f"partners-kpi-{key}")) == texts, key
    response, full = grid_rows(client, dash_app, store, {"startRow": 0, "endRow": 25})
    assert response["rowCount"] == 0
    assert strings(full["response"]["partners-count"]["children"]) == [
        "Showing 0 of 8 partners in this view.",
        " The list is narrowed by the search “zzzzzz”; the cards and charts above cover all 8.",
        " No partner in this view matches.",
    ]
    vetted = {"vetting_status": {"filterType": "text", "type": "equals", "filter": "vetted"}}
    request = {"startRow": 0, "endRow": 25, "filterModel": vetted}
    response, full = grid_rows(client, dash_app, MARCH_STORE, request)
    assert response["rowCount"] == 5
    assert strings(full["response"]["partners-count"]["children"]) == [
        "Showing 5 of 8 partners in this view.",
        " The list is narrowed by the column filter on Vetting; the cards and charts above "
        "cover all 8.",
    ]
    _, full = grid_rows(client, dash_app, MARCH_STORE, {"startRow": 0, "endRow": 25})
    assert full["response"]["partners-count"]["children"] == (
        "Showing 8 of 8 partners in this view."
    )


def test_view_opens_with_its_numbers_and_the_filters_filled(
    client_for, dash_app, world, monkeypatch
):
    """The page comes with the view's cards and charts (each chart is drawn once) and the filter
    bar filled from the URL; later changes recompute them behind a "Loading…" overlay, the grid
    loads behind its own, and rows still loading stay blank rather than "–"."""
    from data import partners as pdata

    computed = []
    real_table = pdata.partner_table
    monkeypatch.setattr(
        pdata, "partner_table", lambda *a, **k: computed.append(1) or real_table(*a, **k)
    )
    tree = layout_tree(
        client_for("manager"), dash_app, MARCH + "&trade=plumbing&vetting=vetted&min_reviews=2"
    )
    values = {
        i: find(tree, i)["props"]["value"]
        for i in ("partners-period", "partners-from", "partners-to", "partners-trade")
    }
    assert values == {
        "partners-period": "custom",
        "partners-from": "2026-03-01",
        "partners-to": "2026-03-31",
        "partners-trade": "plumbing",
    }
    assert find(tree, "partners-vetting")["props"]["value"] == ["vetted"]
    assert find(tree, "partners-min-reviews")["props"]["value"] == 2
    assert computed == [1]  # one table for the cards and both charts
    tree = layout_tree(client_for("manager"), dash_app, MARCH)
    # March's leads: Alpha 4, Echo 3, Bravo 2, Delta 1
    assert strings(find(tree, "partners-kpi-leads"))[:2] == ["Leads shared", "10"]
    scatter = find(tree, "partners-scatter")["props"]
    assert scatter["figure"]["data"] and scatter["style"] == {"height": "360px"}
    summary = find(tree, "partners-summary-loading")
    assert summary["type"] == "Loading"
    assert set(summary["props"]["target_components"]) == {
        "partners-kpis",
        "partners-scatter",
        "partners-by-trade",
    }
    assert summary["props"]["overlay_style"]["visibility"] == "visible"  # no blank page
    assert "Loading the numbers for this view…" in strings(summary["props"]["custom_spinner"])
    grid_loading = find(tree, "partners-grid-loading")["props"]
    assert grid_loading["target_components"] == {"partners-grid": "getRowsResponse"}
    assert "Loading partners…" in strings(grid_loading["custom_spinner"])
    defs = leaf_defs(find(tree, "partners-grid")["props"]["columnDefs"])
    formatters = [c["valueFormatter"]["function"] for c in defs if "valueFormatter" in c]
    assert len(formatters) >= 20
    assert all(f.startswith("params.data == null ? '' : ") for f in formatters)


def test_sort_and_page_come_from_the_url_and_go_into_links(
    client_for, dash_app, world, monkeypatch
):
    import pages.partners as partners_page

    client = client_for("manager")
    tree = layout_tree(client, dash_app, MARCH + "&sort=-shares&page=2")
    assert find(tree, "partners-query")["props"]["data"] == {
        **MARCH_STORE,
        "sort": "-shares",
        "page": "2",
    }
    options = find(tree, "partners-grid")["props"]["dashGridOptions"]
    assert options["initialState"]["sort"] == {"sortModel": [{"colId": "shares", "sort": "desc"}]}
    assert options["initialState"]["pagination"] == {"page": 1, "pageSize": 25}
    assert options["infiniteInitialRowCount"] == 50  # enough rows known to open on page 2
    # rows link to the partner with the list's sort and page, so its "All partners" link and
    # the way back reopen the list as it was; pages of 2 rows here
    monkeypatch.setattr(partners_page, "PAGE_SIZE", 2)
    request = {"startRow": 2, "endRow": 4, "sortModel": [{"colId": "shares", "sort": "desc"}]}
    response, _ = grid_rows(client, dash_app, MARCH_STORE, request)
    # leads: Alpha 4, Echo 3, Bravo 2, Delta 1, the rest 0: page 2 is Bravo, Delta
    assert names_of(response["rowData"]) == ["Bravo Plumbing", "Delta Sparks"]
    assert response["rowData"][0]["href"] == (
        f"/partners/{world.ids['bravo']}{MARCH}&sort=-shares&page=2"
    )
    detail = route(
        client, dash_app, f"/partners/{world.ids['bravo']}", MARCH + "&sort=-shares&page=2"
    )
    assert f"/partners{MARCH}&sort=-shares&page=2" in detail
    # changing a filter keeps the list's order and opens the new view on its first page
    values = ["custom", "2026-03-01", "2026-03-31", "plumbing", None, None, None, None]
    sorted_request = {"startRow": 50, "endRow": 75, "sortModel": request["sortModel"]}
    stored = {**MARCH_STORE, "sort": "-shares", "page": "3"}
    response = apply_filters(client, dash_app, values, stored, sorted_request)
    assert response["partners-url"]["href"] == f"/partners{MARCH}&trade=plumbing&sort=-shares"
    # nothing changed: no navigation (the page stays where it is)
    values[3] = None
    response = apply_filters(client, dash_app, values, stored, sorted_request)
    assert "partners-url" not in response


def test_column_filters_and_secondary_sorts_come_from_the_url_and_go_into_links(
    client_for, dash_app, world
):
    from urllib.parse import quote

    client = client_for("manager")
    model = {"shares": {"filterType": "number", "type": "greaterThan", "filter": 1}}
    written = '{"shares":{"filter":1,"filterType":"number","type":"greaterThan"}}'
    search = MARCH + "&sort=-shares,business_name&filter=" + quote(written)
    tree = layout_tree(client, dash_app, search)
    assert find(tree, "partners-query")["props"]["data"] == {
        **MARCH_STORE,
        "sort": "-shares,business_name",
        "filter": written,
    }
    state = find(tree, "partners-grid")["props"]["dashGridOptions"]["initialState"]
    assert state["sort"] == {
        "sortModel": [
            {"colId": "shares", "sort": "desc"},
            {"colId": "business_name", "sort": "asc"},
        ]
    }
    assert state["filter"] == {"filterModel": model}
    # the rows the grid asks for with that state: more than one lead (Alpha 4, Echo 3,
    # Bravo 2), and each row links back to the list with its sort and filters
    request = {
        "startRow": 0,
        "endRow": 25,
        "sortModel": state["sort"]["sortModel"],
        "filterModel": model,
    }
    response, _ = grid_rows(client, dash_app, MARCH_STORE, request)
    assert names_of(response["rowData"]) == ["Alpha Plumbing", "Echo Drains", "Bravo Plumbing"]
    back = response["rowData"][0]["href"]
    assert back.endswith("&sort=-shares%2Cbusiness_name&filter=" + quote(written, safe=""))


def test_a_bad_column_filter_in_the_url_gives_a_message_and_keeps_the_rest(
    client_for, dash_app, world
):
    tree = layout_tree(
        client_for("manager"), dash_app, MARCH + "&trade=plumbing&filter=%7B%22password%22%3A1%7D"
    )
    assert (
        "The address filters a column this list does not have. Showing the list without "
        "column filters. The other filters are kept." in json.dumps(tree, ensure_ascii=False)
    )
    assert find(tree, "partners-query")["props"]["data"] == {**MARCH_STORE, "trade": "plumbing"}
    assert "filter" not in find(tree, "partners-grid")["props"]["dashGridOptions"]["initialState"]


@pytest.mark.parametrize(
    ("search", "message"),
    [
        (
            "&sort=password",
            "The list cannot be sorted by “password”. Click a column header to sort. "
            "Sorted by rank instead. The other filters are kept.",
        ),
        ("&page=0", "The page number must be between 1 and 100000. Showing the first page."),
        ("&page=abc", "The page number must be a whole number, not “abc”. Showing the first"),
    ],
)
def test_bad_sort_or_page_in_the_url_gives_a_message(client_for, dash_app, world, search, message):
    tree = layout_tree(client_for("manager"), dash_app, MARCH + "&trade=plumbing" + search)
    assert message in json.dumps(tree, ensure_ascii=False)
    assert find(tree, "partners-query")["props"]["data"] == {**MARCH_STORE, "trade": "plumbing"}
    state = find(tree, "partners-grid")["props"]["dashGridOptions"]["initialState"]
    assert state["sort"] == {"sortModel": [{"colId": "rank", "sort": "asc"}]}
    assert "pagination" not in state  # the first page


def test_invalid_dates_in_the_controls_keep_the_view(client_for, dash_app, world):
    client = client_for("manager")
    stored = {**MARCH_STORE, "trade": "plumbing", "province": "Gauteng"}
    values = ["custom", "2026-03-31", "2026-03-01", "plumbing", "Gauteng", None, None, None]
    response = apply_filters(client, dash_app, values, stored)
    assert "partners-url" not in response  # no navigation: the view (and its data) stays
    assert strings(response["partners-filters-problem"]["children"]) == [
        "Dates not applied: ",
        "The period starts on 31 Mar 2026, after it ends (01 Mar 2026). Pick a start date "
        "before the end date.",
        " Still showing 01 Mar 2026 – 31 Mar 2026; other filter changes apply once the dates "
        "are valid.",
    ]
    assert response["partners-from"]["invalid"] is True
    assert response["partners-to"]["invalid"] is True
    # another filter changed meanwhile: still refused, still explained
    response = apply_filters(client, dash_app, [*values[:3], "electrical", *values[4:]], stored)
    assert "partners-url" not in response and "after it ends" in json.dumps(response)
    # an end date cleared
    response = apply_filters(client, dash_app, ["custom", "2026-03-01", None, *values[3:]], stored)
    assert "partners-url" not in response
    assert "A custom period needs both a start and an end date." in json.dumps(response)
    assert (response["partners-from"]["invalid"], response["partners-to"]["invalid"]) == (
        False,
        True,
    )
    # fixed: applied, with the other filters
    response = apply_filters(
        client, dash_app, ["custom", "2026-03-01", "2026-03-15", *values[3:]], stored
    )
    assert response["partners-url"]["href"] == (
        "/partners?period=custom&from=2026-03-01&to=2026-03-15&trade=plumbing&province=Gauteng"
    )
    assert response["partners-filters-problem"]["children"] is None
    assert response["partners-from"]["invalid"] is False
    # another control's bad value: said beside the controls too, the dates are not blamed
    response = apply_filters(
        client,
        dash_app,
        [*values[:1], "2026-03-01", "2026-03-31", "plumbing", "Gauteng", None, 20000, None],
        stored,
    )
    assert "partners-url" not in response
    assert strings(response["partners-filters-problem"]["children"]) == [
        "Filters not applied: ",
        "The minimum number of reviews must be between 0 and 10000.",
        " Still showing 01 Mar 2026 – 31 Mar 2026.",
    ]
    assert response["partners-from"]["invalid"] is False


def test_a_link_with_a_bad_date_keeps_the_other_filters(client_for, dash_app, world):
    tree = layout_tree(
        client_for("manager"), dash_app, "?from=2026-03-31&to=2026-03-01&trade=plumbing&q=alpha"
    )
    text = json.dumps(tree, ensure_ascii=False)
    assert (
        "The period starts on 31 Mar 2026, after it ends (01 Mar 2026). Pick a start date before "
        "the end date. Showing the last 365 days instead. The other filters are kept."
    ) in text
    assert find(tree, "partners-query")["props"]["data"] == {"trade": "plumbing", "q": "alpha"}
    assert find(tree, "partners-trade")["props"]["value"] == "plumbing"


# --- the detail page ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/partners/abc", "“abc” is not a valid partner number"),
        ("/partners/999999999", "There is no partner number 999999999"),
        ("/partners/99999999999999999999", "is not a valid partner number"),
        ("/partners/-1", "is not a valid partner number"),
        ("/partners/1%20OR%201=1", "is not a valid partner number"),
    ],
)
def test_detail_page_bad_ids(client_for, dash_app, world, path, message):
    client = client_for("manager")
    assert client.get(path).status_code == 200  # the shell; the page explains inside it
    body = route(client, dash_app, path)
    assert message in body and "shell-error" not in body
    assert "partner-detail-back" in body


def test_detail_page_shows_the_partner_and_nothing_it_should_not(client_for, dash_app, world):
    client = client_for("manager")
    body = route(client, dash_app, f"/partners/{world.ids['alpha']}", MARCH)
    for expected in (
        "Alpha Plumbing",
        "•••• 4242",
        "T. N.",
        "Sandton",
        "[phone removed]",  # the stored redacted form (issue 12)
        "Leads received while prospective (1)",
        "partner-detail-trend",
        "partner-detail-funnel",
        "partner-detail-aspects",
        "partner-detail-response",
        "dispute rate 17 %",
        "/partners?period=custom",
    ):
        assert expected in body, expected
    for secret in SECRETS:
        assert secret not in body, secret


def test_detail_page_for_a_partner_without_any_data(client_for, dash_app, world):
    body = route(client_for("admin"), dash_app, f"/partners/{world.ids['charlie']}", MARCH)
    assert "Charlie Electric" in body and "No reviews yet." in body
    assert "shell-error" not in body


def test_detail_page_bad_query_keeps_the_partner(client_for, dash_app, world):
    body = route(
        client_for("manager"), dash_app, f"/partners/{world.ids['alpha']}", "?trade=astrology"
    )
    assert "Alpha Plumbing" in body and "Unknown trade" in body


def test_detail_period_change_keeps_the_other_filters(client_for, dash_app, world):
    status, body = call(
        client_for("manager"),
        dash_app,
        "partner-detail-url.search",
        [("partner-detail-period", "value", "30d")],
        [("partner-detail-query", "data", {**MARCH_STORE, "trade": "plumbing"})],
    )
    assert status == 200
    assert body["response"]["partner-detail-url"]["search"] == "?period=30d&trade=plumbing"


def test_default_view_uses_the_last_365_days(client_for, dash_app, world):
    body = route(client_for("manager"), dash_app, "/partners")
    start = date.today().replace(year=date.today().year - 1)
    assert "Last 365 days" in body
    assert start.strftime("%Y") in body

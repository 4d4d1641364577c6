"""The partner pages through the Flask test client: layouts via Dash's router, callbacks via
``/_dash-update-component``, bad input, what never reaches the browser, exports."""

from __future__ import annotations

import base64
import io
import json
from datetime import date

import openpyxl
import pytest
from sqlalchemy import select

from data.db import session_scope
from data.export import read_csv_export, read_xlsx_export
from data.models import AuditLog
from data.query_cache import CACHE
from tests.conftest import route as raw_route
from tests.partners_world import build_world

MARCH = "?period=custom&from=2026-03-01&to=2026-03-31"
MARCH_STORE = {"period": "custom", "from": "2026-03-01", "to": "2026-03-31"}
SECRETS = ("tok_secret", "Thandi", "Nkosi", "t@example.co.za", "082 555 1234", "+2782")


@pytest.fixture
def world(db):
    CACHE.clear()
    return build_world(db)


def route(client, dash_app, pathname: str, search: str = "") -> str:
    """The rendered page as text (JSON with its unicode escapes decoded)."""
    body = raw_route(client, dash_app, pathname, search)
    return json.dumps(json.loads(body), ensure_ascii=False)


def key_for(dash_app, fragment: str) -> str:
    return next(k for k in dash_app.callback_map if fragment in k)


def call(client, dash_app, fragment, inputs, state=(), changed=()):
    """POST one callback like the browser does; returns (status, parsed response)."""
    key = key_for(dash_app, fragment)
    callback = dash_app.callback_map[key]
    outputs = callback["output"] if isinstance(callback["output"], list) else [callback["output"]]
    payload = {
        "output": key,
        "outputs": [{"id": o.component_id, "property": o.component_property} for o in outputs]
        if len(outputs) > 1
        else {"id": outputs[0].component_id, "property": outputs[0].component_property},
        "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
        "state": [{"id": i, "property": p, "value": v} for i, p, v in state],
        "changedPropIds": list(changed),
    }
    response = client.post("/_dash-update-component", json=payload)
    body = response.get_data(as_text=True)
    return response.status_code, (json.loads(body) if response.status_code == 200 else body)


def grid_rows(client, dash_app, store, request):
    status, body = call(
        client,
        dash_app,
        "partners-grid.getRowsResponse",
        [("partners-grid", "getRowsRequest", request)],
        [("partners-query", "data", store)],
    )
    assert status == 200, body
    return body["response"]["partners-grid"]["getRowsResponse"], body


# --- the ranking page ---------------------------------------------------------------------------


def test_partners_page_renders_headline_charts_and_grid(client_for, dash_app, world):
    for role in ("manager", "admin"):
        body = route(client_for(role), dash_app, "/partners", MARCH)
        assert "partners-grid" in body and "partners-scatter" in body
        assert "partners-by-trade" in body and "partners-kpi-leads" in body
        assert "01 Mar 2026 – 31 Mar 2026. Ratings are Bayesian averages" in body
        assert "partners-export-xlsx" in body
        for secret in SECRETS:
            assert secret not in body, secret


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
    assert "Showing the default view instead" in body
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
    assert "No partner matches" in json.dumps(full)
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
    assert first["business_name"].startswith("[Alpha Plumbing](/partners/")
    assert "period=custom" in first["business_name"]
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
    names = [r["business_name"].split("]")[0].strip("[") for r in response["rowData"]]
    assert names[0] == "Alpha Plumbing" and len(names) == 5
    junk = {"startRow": "x", "sortModel": "drop", "filterModel": [1, 2]}
    response, _ = grid_rows(client, dash_app, {"trade": "nope"}, junk)
    # a tampered store or request falls back to the default view and the first block
    assert response["rowCount"] == 8
    names = {r["business_name"].split("]")[0].strip("[") for r in response["rowData"]}
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


def test_business_names_are_escaped_in_links(client_for, dash_app, world):
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
    links = [r["business_name"] for r in response["rowData"] if "Evil" in r["business_name"]]
    assert links == [
        rf"[Evil\]\(javascript:alert\(1\)\)](/partners/{world.ids['golf']}"
        "?period=custom&from=2026-03-01&to=2026-03-31)"
    ]


def test_filters_are_written_to_the_url(client_for, dash_app, world):
    client = client_for("manager")
    inputs = [
        ("partners-period", "value", "90d"),
        ("partners-from", "value", "2026-01-01"),
        ("partners-to", "value", "2026-03-31"),
        ("partners-trade", "value", "plumbing"),
        ("partners-province", "value", "Gauteng"),
        ("partners-vetting", "value", ["vetted", "suspended"]),
        ("partners-min-reviews", "value", 2),
        ("partners-search", "value", "alpha"),
    ]
    status, body = call(
        client,
        dash_app,
        "partners-url.search",
        inputs,
        [("partners-query", "data", {})],
        ["partners-trade.value"],
    )
    assert status == 200
    assert body["response"]["partners-url"]["search"] == (
        "?period=90d&trade=plumbing&province=Gauteng&vetting=vetted%2Csuspended"
        "&min_reviews=2&q=alpha"
    )
    custom = [("partners-period", "value", "custom"), *inputs[1:3]] + [
        (i, p, None) for i, p, _ in inputs[3:]
    ]
    status, body = call(
        client, dash_app, "partners-url.search", custom, [("partners-query", "data", {})]
    )
    assert body["response"]["partners-url"]["search"] == (
        "?period=custom&from=2026-01-01&to=2026-03-31"
    )


def test_column_chooser(client_for, dash_app, world):
    status, body = call(
        client_for("manager"),
        dash_app,
        "partners-grid.columnDefs",
        [("partners-columns", "value", ["shares", "bayes_rating"])],
    )
    assert status == 200
    defs = body["response"]["partners-grid"]["columnDefs"]
    flat = []
    for col in defs:
        flat.extend(col.get("children", [col]))
    shown = [c["field"] for c in flat if not c.get("hide")]
    assert shown == ["business_name", "shares", "bayes_rating"]


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
    # best rating first (Alpha and Bravo tie: by id), new partners (no rating) last
    assert grid_names == [
        "Alpha Plumbing",
        "Bravo Plumbing",
        "Foxtrot Pipes",
        "Hotel Handyman",
        "Echo Drains",
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
        "Leads shared",
        "Contact rate %",
        "Contact rate % (Wilson lower bound)",
        "Bayesian rating",
        "At risk",
    ]
    alpha = table[table["Partner"] == "Alpha Plumbing"].iloc[0]
    assert alpha["Leads shared"] == 4 and alpha["Contact rate %"] == 75.0
    ratings = table["Bayesian rating"].tolist()
    assert ratings[4:] == ["new", "new"]  # Echo and Golf: too few reviews to rank
    assert ratings[0] == ratings[1] > ratings[2] > ratings[3]
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
        "[number removed]",
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

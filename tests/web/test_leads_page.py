"""The lead-flow page through the Flask test client: the layout via Dash's router, the filter
and click callback, bad input, the export, and what never reaches the browser."""

from __future__ import annotations

import base64
import json
import sys
from datetime import datetime

import pytest
from sqlalchemy import func, select

from data.db import session_scope
from data.export import read_csv_export
from data.models import AuditLog
from tests.leadflow_world import build_world
from tests.partners_support import call, find, layout_tree, route

PERIOD = "?period=custom&from=2026-03-02&to=2026-03-15"
STORE = {"period": "custom", "from": "2026-03-02", "to": "2026-03-15"}
SECRETS = ("Thandi", "Nkosi", "@example.co.za", "+2782")


@pytest.fixture
def world(db):
    return build_world(db)


def _apply(client, dash_app, store=STORE, trigger="leads-period", **values):
    """Post the filter callback with the controls as the page shows ``store`` and ``values``."""
    controls = {
        "leads-period": store.get("period", "90d"),
        "leads-from": store.get("from"),
        "leads-to": store.get("to"),
        "leads-trade": store.get("trade"),
        "leads-service": None,
        "leads-province": store.get("province"),
        "leads-channel": store.get("channel"),
        "leads-site": None,
        "leads-by": store.get("by", "channel"),
        "leads-grain": store.get("grain", ""),
    }
    clicks = {f"leads-{g}": None for g in ("funnel", "series", "provinces", "by-trade")}
    for key, value in values.items():
        name = "leads-" + key.replace("_", "-")
        (clicks if name in clicks else controls)[name] = value
    inputs = [(k, "value", v) for k, v in controls.items()]
    inputs += [(k, "clickData", v) for k, v in clicks.items()]
    prop = "clickData" if trigger in clicks else "value"
    status, body = call(
        client,
        dash_app,
        "leads-url.href",
        inputs,
        state=[("leads-query", "data", store)],
        changed=[f"{trigger}.{prop}"],
    )
    assert status == 200 or status == 204, body
    return body["response"] if status == 200 else {}


def _click(value):
    return {"points": [{"customdata": [value]}]}


def test_page_renders_every_part_for_managers_and_admins(client_for, dash_app, world, monkeypatch):
    # the operations list covers the 30 days before "now": put now just after the world
    page = sys.modules["pages.leads"]  # loaded by Dash's page registry
    monkeypatch.setattr(page, "utcnow", lambda: datetime(2026, 3, 16, 12))
    for role in ("manager", "admin"):
        client = client_for(role)
        body = route(client, dash_app, "/leads", PERIOD)
        for part in ("leads-funnel", "leads-sankey", "leads-series", "leads-cohorts",
                     "leads-contact", "leads-by-trade", "leads-provinces", "leads-operations",
                     "leads-kpi-leads", "leads-export-csv"):  # fmt: skip
            assert part in body, (role, part)
        for secret in SECRETS:
            assert secret not in body, secret
        tree = layout_tree(client, dash_app, PERIOD, "/leads")
        kpi = json.dumps(find(tree, "leads-kpi-leads"), ensure_ascii=False)
        assert '"5"' in kpi and "▲ 4 vs previous 14 days" in kpi  # L1..L5 against L0
        grid = find(tree, "leads-operations")["props"]["rowData"]
        hrefs = {(r["kind"], r["lead_id"], r["href"]) for r in grid}
        assert hrefs == {
            # L1 was never shared: the link finds partners of its trade and province
            (
                "Not contacted after 24 h",
                world.leads["L1"],
                "/partners?trade=plumbing&province=Gauteng",
            ),
            (
                "Shared with a prospective partner",
                world.leads["L2"],
                f"/partners/{world.partners['P3']}",
            ),
        }


def test_other_roles_are_refused_the_page_and_every_callback(client_for, dash_app, world):
    for role in ("marketing", "privacy_officer"):
        client = client_for(role)
        assert client.get("/leads").status_code == 403
        assert "shell-forbidden" in route(client, dash_app, "/leads", PERIOD)
        for key in dash_app.callback_map:
            if "leads-" in key:
                status, _ = call(client, dash_app, key, [])
                assert status == 403, (role, key)


@pytest.mark.parametrize(
    ("search", "message"),
    [
        ("?from=2026-03-15&to=2026-03-02", "after it ends"),
        ("?from=1976-01-01&to=2026-01-01", "longest allowed is 10 years"),
        ("?trade=astrology", "Unknown trade “astrology”"),
        ("?channel=<script>", "Unknown channel"),
        ("?step=paid", "Unknown funnel step"),
        ("?by=colour&grain=hourly", "Unknown breakdown"),
        ("?province=Atlantis&period=custom&from=2026-03-02", "Unknown province"),
    ],
)
def test_bad_addresses_explain_and_still_render(client_for, dash_app, world, search, message):
    client = client_for("manager")
    body = route(client, dash_app, "/leads", search)
    assert message in body
    assert "leads-funnel" in body


def test_empty_result_draws_empty_states(client_for, dash_app, world):
    body = route(
        client_for("manager"), dash_app, "/leads", "?period=custom&from=2020-01-01&to=2020-01-31"
    )
    assert "No leads were created in this period with these filters." in body
    assert "No status changes for these filters." in body
    assert "Nothing needs attention." in body


def test_filters_and_clicks_write_the_address(client_for, dash_app, world):
    client = client_for("manager")
    out = _apply(client, dash_app, trigger="leads-period", period="30d")
    assert out["leads-url"]["href"] == "/leads?period=30d"
    out = _apply(client, dash_app, trigger="leads-funnel", funnel=_click("hired"))
    assert out["leads-url"]["href"] == "/leads" + PERIOD.replace("?", "?", 1) + "&step=hired"
    # clicking the selected step again clears it
    out = _apply(
        client, dash_app, {**STORE, "step": "hired"}, "leads-funnel", funnel=_click("hired")
    )
    assert out["leads-url"]["href"] == "/leads" + PERIOD
    out = _apply(client, dash_app, trigger="leads-series", series=_click("paid_search"))
    assert out["leads-url"]["href"].endswith("&channel=paid_search")
    out = _apply(client, dash_app, trigger="leads-by-trade", by_trade=_click(world.electrical))
    assert out["leads-url"]["href"].endswith("&trade=electrical")
    out = _apply(client, dash_app, trigger="leads-by", by="province")
    assert out["leads-url"]["href"].endswith("&by=province")


def test_bad_values_from_the_browser_are_refused_with_a_message(client_for, dash_app, world):
    client = client_for("manager")
    out = _apply(client, dash_app, trigger="leads-provinces", provinces=_click("Atlantis"))
    assert "leads-url" not in out
    assert "Unknown province" in json.dumps(out["leads-filters-problem"], ensure_ascii=False)
    out = _apply(client, dash_app, trigger="leads-to", to="2026-02-01")
    assert "after it ends" in json.dumps(out, ensure_ascii=False)
    out = _apply(client, dash_app, trigger="leads-funnel", funnel={"points": "nonsense"})
    assert "leads-url" not in out


def test_export_is_the_operations_list_with_its_filters(client_for, dash_app, world, engine):
    client = client_for("manager")
    status, body = call(
        client,
        dash_app,
        "leads-download.data",
        [("leads-export-csv", "n_clicks", 1)],
        state=[("leads-query", "data", STORE)],
        changed=["leads-export-csv.n_clicks"],
    )
    assert status == 200, body
    data = body["response"]["leads-download"]["data"]
    filters, table = read_csv_export(base64.b64decode(data["content"]))
    assert filters["period (lead created)"] == "2026-03-02 to 2026-03-15"
    # nothing is uncontacted after 24 h today (the world is in March 2026, outside the window)
    assert "hours_waiting" in table.columns
    with session_scope(engine) as s:
        logged = s.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == "leads.export")
        )
    assert logged == 1

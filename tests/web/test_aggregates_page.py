"""The aggregates page through the real app: what marketing receives holds no personal data,
and managers and privacy officers are refused by every callback of the page."""

from __future__ import annotations

import base64
import io

import pandas as pd
import pytest
from sqlalchemy import select, update

from data.db import session_scope
from data.models import Homeowner, Lead
from tests.aggregates_support import build_world
from tests.conftest import callback_payload, route

SEARCH = "?dims=province,gender&measure=homeowners&from=2025-01&to=2025-12"
CHOICE = {"dims": "province,gender", "measure": "homeowners", "from": "2025-01", "to": "2025-12"}
FREE_TEXT = "Geyser burst, call Thandi at home"


@pytest.fixture
def world(db):
    build_world()
    with session_scope() as s:
        s.execute(update(Homeowner).values(birth_year=1987, street="12 Jacaranda Street"))
        s.execute(update(Lead).values(description=FREE_TEXT, suburb="Sandton"))
        people = s.execute(
            select(Homeowner.first_name, Homeowner.last_name, Homeowner.email, Homeowner.phone)
        ).all()
    return {v for row in people for v in row if v}


def _keys(dash_app, prefix):
    return [
        k
        for k, cb in dash_app.callback_map.items()
        if any(
            o.component_id.startswith(prefix)
            for o in (cb["output"] if isinstance(cb["output"], list) else [cb["output"]])
        )
    ]


def _post(client, dash_app, key, trigger, value=1, state=None):
    payload = callback_payload(dash_app, key)
    cb = dash_app.callback_map[key]
    payload["inputs"] = [
        {"id": i["id"], "property": i["property"], "value": value if i["id"] == trigger else None}
        for i in cb["inputs"]
    ]
    payload["state"] = [
        {"id": s["id"], "property": s["property"], "value": (state or {}).get(s["id"])}
        for s in cb.get("state", [])
    ]
    payload["changedPropIds"] = [f"{trigger}.n_clicks"]
    return client.post("/_dash-update-component", json=payload)


def _export_key(dash_app):
    return next(k for k in _keys(dash_app, "aggregates-download"))


def _apply_key(dash_app):
    return next(k for k in _keys(dash_app, "aggregates-url"))


def _assert_no_pii(text: str, identifiers: set[str]) -> None:
    for value in [*identifiers, "1987", "Jacaranda", "Sandton", FREE_TEXT, "Thandi", "Nkosi"]:
        assert value not in text, value


def test_marketing_receives_counts_only(client_for, dash_app, world):
    client = client_for("marketing")
    page = route(client, dash_app, "/aggregates", SEARCH)
    assert "KwaZulu-Natal" in page and "Disclosure report" in page
    _assert_no_pii(page, world)
    for trigger in ("aggregates-export-csv", "aggregates-export-xlsx"):
        response = _post(
            client, dash_app, _export_key(dash_app), trigger, state={"aggregates-choice": CHOICE}
        )
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        _assert_no_pii(body, world)
        data = response.get_json()["response"]["aggregates-download"]["data"]
        content = base64.b64decode(data["content"])
        if trigger.endswith("xlsx"):
            sheets = pd.read_excel(io.BytesIO(content), sheet_name=None, dtype=str)
            text = "\n".join(df.to_csv() for df in sheets.values())
        else:
            text = content.decode("utf-8-sig")
        _assert_no_pii(text, world)
    response = _post(
        client,
        dash_app,
        _apply_key(dash_app),
        "aggregates-apply",
        state={
            "aggregates-dim-1": "age_band",
            "aggregates-measure": "leads",
            "aggregates-from": "2025-01",
            "aggregates-to": "2025-06",
        },
    )
    assert response.status_code == 200
    out = response.get_json()["response"]
    assert out["aggregates-url"]["search"] == "?dims=age_band&measure=leads&from=2025-01&to=2025-06"


def test_page_shows_suppressed_cells_and_the_report(client_for, dash_app, world):
    page = route(client_for("admin"), dash_app, "/aggregates", SEARCH)
    assert '"x"' in page  # the hidden cells of the cross-tab
    assert "cells suppressed under k (primary)" in page


@pytest.mark.parametrize(
    ("search", "message"),
    [
        ("?dims=name,email", "Unknown dimension"),
        ("?from=1", "From must be a month written YYYY-MM"),
        ("?dims=province,region", "one level of each hierarchy"),
        ("?from=2025-05&to=2025-01", "ends before it starts"),
        ("?measure=%27%3BDROP%20TABLE%20lead", "Unknown measure"),
        ("?dims=city,month,channel&from=2016-01&to=2025-12", "at most 20,000"),
    ],
)
def test_bad_choice_falls_back_with_a_message(client_for, dash_app, world, search, message):
    page = route(client_for("marketing"), dash_app, "/aggregates", search)
    assert message in page and "Showing the default table" in page


def test_apply_refuses_an_invalid_choice(client_for, dash_app, world):
    response = _post(
        client_for("marketing"),
        dash_app,
        _apply_key(dash_app),
        "aggregates-apply",
        state={
            "aggregates-dim-1": "province",
            "aggregates-dim-2": "region",
            "aggregates-measure": "homeowners",
            "aggregates-from": "2025-01",
            "aggregates-to": "2025-12",
        },
    )
    out = response.get_json()["response"]
    assert "one level of each hierarchy" in out["aggregates-problem"]["children"]


@pytest.mark.parametrize("role", ["manager", "privacy_officer"])
def test_other_roles_get_403_from_every_callback(client_for, dash_app, world, role):
    client = client_for(role)
    keys = _keys(dash_app, "aggregates-")
    assert len(keys) == 2
    for key in keys:
        response = client.post("/_dash-update-component", json=callback_payload(dash_app, key))
        assert response.status_code == 403, key
    page = route(client, dash_app, "/aggregates", SEARCH)
    assert "KwaZulu-Natal" not in page

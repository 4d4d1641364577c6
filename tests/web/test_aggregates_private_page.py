"""The differentially private mode through the real app and the real command line: the page
shows mechanism, ε and the year's budget but no counts, the download spends ε, the command
line refuses an export over the budget with one ``Error:`` line. Roles: the page's callbacks
refuse managers and privacy officers (tests/web/test_aggregates_page.py checks every callback
of the page; the private mode adds none)."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import select

from data.aggregates.models import AggregateExport
from data.db import session_scope
from data.export import read_csv_export
from data.models import Setting
from tests.conftest import route
from tests.web.test_aggregates_cli import _one_error, _run
from tests.web.test_aggregates_page import (
    CHOICE,
    SEARCH,
    _apply_key,
    _assert_no_pii,
    _export_key,
    _post,
    world,  # noqa: F401 (fixture)
)

PRIVATE = {**CHOICE, "dp": "0.5"}


def _spent() -> list[float]:
    with session_scope() as s:
        rows = s.scalars(select(AggregateExport).order_by(AggregateExport.id))
        return [r.epsilon for r in rows]


def test_page_shows_the_private_report_and_no_counts(client_for, dash_app, world):  # noqa: F811
    page = route(client_for("marketing"), dash_app, "/aggregates", SEARCH + "&dp=0.5")
    assert "discrete Laplace (OpenDP)" in page
    assert "epsilon (this table)" in page and "0.5" in page
    assert "2; spent 0; remaining 2" in page  # the default yearly budget, nothing spent
    assert "aggregates-grid" not in page and '"x"' not in page  # no table drawn
    _assert_no_pii(page, world)


def test_page_warns_when_epsilon_exceeds_the_budget_left(client_for, dash_app, world):  # noqa: F811
    with session_scope() as s:
        s.add(Setting(key="aggregates.dp_budget_per_year", value="0.3"))
    page = route(client_for("admin"), dash_app, "/aggregates", SEARCH + "&dp=0.5")
    assert "aggregates-over-budget" in page


@pytest.mark.parametrize(
    ("search", "message"),
    [("&dp=7", "between 0.05 and 2"), ("&dp=abc", "must be a number")],
)
def test_bad_epsilon_falls_back(client_for, dash_app, world, search, message):  # noqa: F811
    page = route(client_for("marketing"), dash_app, "/aggregates", SEARCH + search)
    assert message in page and "Showing the default table" in page


def test_apply_writes_epsilon_and_refuses_shares(client_for, dash_app, world):  # noqa: F811
    client = client_for("marketing")
    state = {
        "aggregates-dim-1": "province",
        "aggregates-measure": "homeowners",
        "aggregates-from": "2025-01",
        "aggregates-to": "2025-12",
        "aggregates-dp": True,
        "aggregates-epsilon": 0.25,
    }
    out = _post(client, dash_app, _apply_key(dash_app), "aggregates-apply", state=state)
    search = out.get_json()["response"]["aggregates-url"]["search"]
    assert search == "?dims=province&measure=homeowners&from=2025-01&to=2025-12&dp=0.25"
    state["aggregates-measure"] = "share_hired"
    out = _post(client, dash_app, _apply_key(dash_app), "aggregates-apply", state=state)
    assert "counts only" in out.get_json()["response"]["aggregates-problem"]["children"]
    state.update({"aggregates-measure": "homeowners", "aggregates-epsilon": None})
    out = _post(client, dash_app, _apply_key(dash_app), "aggregates-apply", state=state)
    assert "Give ε" in out.get_json()["response"]["aggregates-problem"]["children"]


def test_download_spends_epsilon(client_for, dash_app, world):  # noqa: F811
    response = _post(
        client_for("marketing"),
        dash_app,
        _export_key(dash_app),
        "aggregates-export-csv",
        state={"aggregates-choice": PRIVATE},
    )
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    _assert_no_pii(body, world)
    data = response.get_json()["response"]["aggregates-download"]["data"]
    report, table = read_csv_export(base64.b64decode(data["content"]))
    assert report["mechanism"].startswith("discrete Laplace (OpenDP)")
    assert set(table["status"]) == {"released"}
    assert _spent() == pytest.approx([0.5])


@pytest.mark.parametrize("role", ["manager", "privacy_officer"])
def test_other_roles_cannot_export_private_counts(client_for, dash_app, world, role):  # noqa: F811
    response = _post(
        client_for(role),
        dash_app,
        _export_key(dash_app),
        "aggregates-export-csv",
        state={"aggregates-choice": PRIVATE},
    )
    assert response.status_code == 403
    assert _spent() == []


def test_cli_private_export_then_budget_refusal(db, database_url, tmp_path):
    from tests.aggregates_support import build_world

    build_world()
    with session_scope() as s:
        s.add(Setting(key="aggregates.dp_budget_per_year", value="1"))
    result = _run(database_url, tmp_path, "--dp-epsilon", "0.6")
    assert result.returncode == 0, result.stderr
    report, _ = read_csv_export((tmp_path / "t.csv").read_bytes())
    assert float(report["epsilon (this table)"]) == pytest.approx(0.6)
    line = _one_error(_run(database_url, tmp_path, "--dp-epsilon", "0.6"))  # 1.2 > 1
    assert "privacy budget" in line
    line = _one_error(_run(database_url, tmp_path, "--dp-epsilon", "9"))
    assert "between 0.05 and 2" in line
    assert _spent() == pytest.approx([0.6])

"""``/retention`` through the real app: the periods form, the preview, the sweep's start (its
ticket and audit entry), and the choice of background manager. The sweep's progress bar runs in
a real browser (``tests/e2e/test_erasure_journey.py``)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from dash import CeleryManager, DiskcacheManager
from sqlalchemy import select

from components import background
from data.db import session_scope
from data.erasure import sweep_runs
from data.models import AuditLog, Setting
from tests.factories import add_homeowner
from tests.privacy_support import call, response_of


@pytest.fixture
def officer_client(client_for):
    return client_for("privacy_officer")


def text_of(response) -> str:
    return json.dumps(response_of(response), ensure_ascii=False)


PERIODS = {
    "retention-period-homeowners": 24,
    "retention-period-recordings": 6,
    "retention-period-unverified": 30,
    "retention-period-closed_requests": 3,
}


def test_saving_periods_validates_and_stores(db, officer_client, dash_app):
    bad = text_of(
        call(
            officer_client,
            dash_app,
            "retention-save-submit",
            {**PERIODS, "retention-period-unverified": 7},
        )
    )
    assert "between 30 and 365 days" in bad
    ok = text_of(
        call(
            officer_client,
            dash_app,
            "retention-save-submit",
            {**PERIODS, "retention-period-homeowners": 18},
        )
    )
    assert "Saved: homeowners." in ok
    with session_scope(db) as s:
        assert s.get(Setting, "retention.homeowner_months").value == "18"


def test_the_preview_counts_what_is_due(db, officer_client, dash_app):
    with session_scope(db) as s:
        add_homeowner(s, last_activity_at=datetime(2019, 3, 1))
        add_homeowner(s, last_activity_at=datetime(2020, 3, 1))
    out = response_of(call(officer_client, dash_app, "retention-preview-submit"))
    assert by_id(out, "retention-due-homeowners") == "2"
    assert "2019-03-01" in json.dumps(out)  # the oldest
    assert by_id(out, "retention-due-recordings") == "0"


def by_id(tree: object, component_id: str) -> object:
    """The children of the component with that id anywhere in a callback answer."""
    if isinstance(tree, dict):
        props = tree.get("props")
        if isinstance(props, dict) and props.get("id") == component_id:
            return props.get("children")
        for value in tree.values():
            found = by_id(value, component_id)
            if found is not None:
                return found
    if isinstance(tree, list):
        for value in tree:
            found = by_id(value, component_id)
            if found is not None:
                return found
    return None


def test_starting_a_sweep_checks_the_rules_and_audits_who(db, officer_client, dash_app):
    refused = text_of(
        call(
            officer_client,
            dash_app,
            "retention-start",
            {"retention-rules": [], "retention-batch": 10},
        )
    )
    assert "Choose at least one rule" in refused
    out = response_of(
        call(
            officer_client,
            dash_app,
            "retention-start",
            {"retention-rules": ["homeowners", "bogus"], "retention-batch": "10"},
        )
    )
    ticket = out["retention-ticket"]["data"]
    assert ticket["rules"] == ["homeowners"] and ticket["batch"] == 10
    with session_scope(db) as s:
        actor = s.scalar(select(AuditLog.actor).where(AuditLog.action == "retention.sweep.start"))
    assert actor == "privacy"


def test_the_background_manager_is_celery_with_redis_and_a_disk_cache_without(
    monkeypatch, tmp_path
):
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert isinstance(background.manager.__wrapped__(), DiskcacheManager)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/15")
    background.celery_app.cache_clear()
    try:
        assert isinstance(background.manager.__wrapped__(), CeleryManager)
    finally:
        background.celery_app.cache_clear()


def test_every_page_sees_the_run_and_a_second_start_is_refused(
    db, officer_client, client_for, dash_app
):
    """The run lives in the database: a second officer's page shows its progress and may stop
    it, and pressing Run while it runs is refused with who started it."""
    idle = response_of(call(officer_client, dash_app, "retention-poll", prop="n_intervals"))
    assert idle["retention-status"]["children"] == "No sweep has run yet."
    assert idle["retention-stop"]["disabled"] is True
    values = {"retention-rules": ["recordings"], "retention-batch": 10}
    out = response_of(call(officer_client, dash_app, "retention-start", values))
    run = out["retention-ticket"]["data"]["run"]
    sweep_runs.report(db, run, "recordings", 5, 20)
    admin = client_for("admin")
    seen = response_of(call(admin, dash_app, "retention-poll", prop="n_intervals"))
    assert seen["retention-progress"]["value"] == 25
    assert seen["retention-status"]["children"].startswith("Running: 5 / 20 (recordings)")
    assert (seen["retention-start"]["disabled"], seen["retention-stop"]["disabled"]) == (
        True,
        False,
    )
    again = text_of(call(admin, dash_app, "retention-start", values))
    assert "A sweep is already running" in again and "started by privacy" in again
    stopped = text_of(call(admin, dash_app, "retention-stop"))
    assert "Stopping after the batch in flight" in stopped
    assert sweep_runs.stop_requested(db, run) is True

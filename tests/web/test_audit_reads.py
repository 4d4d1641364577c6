"""Reads of personal data are audited, with ids and counts only (issue 12, point 4)."""

from __future__ import annotations

import json

from sqlalchemy import select

from data.db import session_scope
from data.models import AuditLog
from tests.conftest import route
from tests.privacy_support import add_request, call, make_world, response_of

SEARCH = {
    "privacy-intake-type": "access",
    "privacy-intake-channel": "phone",
    "privacy-intake-received": "2026-01-10T09:00",
    "privacy-intake-name": "Thandi Nkosi",
    "privacy-intake-email": "thandi.searched@example.co.za",
    "privacy-intake-phone": "082-000-0101",
    "privacy-intake-message": "",
    "privacy-intake-token": "intake_token_0002",
}


def _entries(db, action: str) -> list[tuple]:
    with session_scope(db) as s:
        rows = s.execute(
            select(
                AuditLog.actor, AuditLog.object_type, AuditLog.object_id, AuditLog.details
            ).where(AuditLog.action == action)
        ).all()
    return [tuple(r) for r in rows]


def test_opening_a_privacy_request_is_audited(db, client_for, dash_app):
    client = client_for("privacy_officer")
    with session_scope(db) as s:
        world = make_world(s)
        rid = add_request(s, subject_type="homeowner", subject_id=world.subject.id).id
    route(client, dash_app, f"/privacy/{rid}")
    assert _entries(db, "privacy_request.view") == [("privacy", "privacy_request", str(rid), None)]


def test_an_intake_search_is_audited_without_the_searched_values(db, client_for, dash_app):
    client = client_for("privacy_officer")
    with session_scope(db) as s:
        make_world(s)
    response_of(call(client, dash_app, "privacy-intake-find", SEARCH))
    entries = _entries(db, "privacy_intake.search")
    assert len(entries) == 1
    actor, object_type, object_id, details = entries[0]
    assert (actor, object_type, object_id) == ("privacy", None, None)
    assert details["by_email"] is True and details["by_phone"] is True
    assert details["by_name"] is True and details["candidates"] >= 1
    written = json.dumps(details)
    for searched in ("thandi", "searched", "0820000101", "000 0101", "nkosi"):
        assert searched not in written.lower()


def test_reading_the_audit_log_is_audited_once_per_opening(db, client_for, dash_app):
    client = client_for("admin")
    stored = {"period": "30d"}
    for start in (0, 2):  # the first block of two rows, then the next as the grid scrolls
        grid = {"startRow": start, "endRow": start + 2, "sortModel": [], "filterModel": {}}
        response_of(
            call(
                client,
                dash_app,
                "audit-grid",
                {"audit-grid": grid, "audit-filters": stored},
                prop="getRowsRequest",
            )
        )
    entries = _entries(db, "audit.read")
    assert len(entries) == 1  # the second block is scrolling, not another reading
    assert entries[0][:3] == ("admin", None, None)
    assert set(entries[0][3]) == {"rows_matching"}


def test_a_disclosure_look_up_is_audited_without_the_searched_value(db, client_for, dash_app):
    client = client_for("privacy_officer")
    with session_scope(db) as s:
        make_world(s)
    call(client, dash_app, "privacy-disclosure-find", {"privacy-disclosure-lookup": "082 000 0101"})
    entries = _entries(db, "privacy_disclosure.search")
    assert len(entries) == 1
    actor, _type, _id, details = entries[0]
    assert actor == "privacy"
    assert details == {"by_email": False, "by_phone": True, "by_name": False, "candidates": 1}

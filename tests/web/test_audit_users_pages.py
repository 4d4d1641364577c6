"""The audit log page (read for privacy officers, export for admins only) and the users page
(admins only), through the real app."""

from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import select

from data import audit
from data.db import session_scope
from data.export import read_csv_export
from data.models import AuditLog, User
from tests.conftest import route
from tests.privacy_support import call, response_of


def page(client, dash_app, path: str, search: str = "") -> str:
    return json.dumps(json.loads(route(client, dash_app, path, search)), ensure_ascii=False)


def text_of(response) -> str:
    return json.dumps(response_of(response), ensure_ascii=False)


@pytest.fixture
def logged(db, client_for):
    """Two entries besides the logins, one with an object id to filter on."""
    clients = {role: client_for(role) for role in ("admin", "privacy_officer")}
    with session_scope(db) as s:
        audit.record(s, "privacy", "privacy_request.verify", "privacy_request", 42, {"n": 1})
        audit.record(s, "admin", "user.create", "user", 9, {"role": "manager"})
    return clients


def rows(client, dash_app, stored: dict) -> dict:
    out = response_of(
        call(
            client,
            dash_app,
            "audit-grid",
            {
                "audit-grid": {"startRow": 0, "endRow": 50, "sortModel": [], "filterModel": {}},
                "audit-filters": stored,
            },
            prop="getRowsRequest",
        )
    )
    return out["audit-grid"]["getRowsResponse"]


def test_both_roles_read_the_log_but_only_admins_see_export(logged, dash_app):
    admin = page(logged["admin"], dash_app, "/audit")
    officer = page(logged["privacy_officer"], dash_app, "/audit")
    assert "audit-export-csv" in admin and "audit-read-only" not in admin
    assert "audit-export-csv" not in officer and "audit-read-only" in officer


def test_grid_rows_follow_the_filters(logged, dash_app):
    client = logged["privacy_officer"]
    everything = rows(client, dash_app, {"period": "30d"})
    actions = {r["action"] for r in everything["rowData"]}
    assert {"login", "privacy_request.verify", "user.create"} <= actions
    only = rows(client, dash_app, {"period": "30d", "object_type": "privacy_request"})
    assert [r["object_id"] for r in only["rowData"]] == ["42"] and only["rowCount"] == 1
    # details are key/value text, not JSON
    assert [r["details"] for r in only["rowData"]] == ["n: 1"]
    grouped = rows(client, dash_app, {"period": "30d", "action": "user.*"})
    assert "role: manager" in [r["details"] for r in grouped["rowData"]]
    assert all(not r["details"].startswith("{") for r in grouped["rowData"])
    assert {r["action"] for r in grouped["rowData"]} == {"user.create"}
    bad = rows(client, dash_app, {"period": "forever"})
    assert bad == {"rowData": [], "rowCount": 0}


@pytest.mark.parametrize("search", ["?period=forever", "?period=custom&from=2026-02-30&to=x"])
def test_bad_filters_show_a_message(logged, dash_app, search):
    body = page(logged["admin"], dash_app, "/audit", search)
    assert "Showing the last 30 days instead" in body


def test_apply_writes_the_filters_to_the_url(logged, dash_app):
    out = response_of(
        call(
            logged["admin"],
            dash_app,
            "audit-apply",
            {
                "audit-period": "custom",
                "audit-from": "2026-01-01",
                "audit-to": "2026-01-31",
                "audit-actor": "privacy",
                "audit-action": "privacy_request.*",
            },
        )
    )
    assert out["audit-url"]["search"] == (
        "?period=custom&actor=privacy&action=privacy_request.%2A&from=2026-01-01&to=2026-01-31"
    )


def test_export_is_for_admins_and_is_logged(db, logged, dash_app):
    values = {"audit-filters": {"period": "30d", "object_type": "privacy_request"}}
    refused = text_of(call(logged["privacy_officer"], dash_app, "audit-export-csv", values))
    assert "Only administrators" in refused and '"data"' not in refused
    out = response_of(call(logged["admin"], dash_app, "audit-export-csv", values))
    data = out["audit-download"]["data"]
    assert data["filename"].startswith("audit-log-") and data["base64"]
    filters, table = read_csv_export(base64.b64decode(data["content"]))
    assert filters["object_type"] == "privacy_request" and list(table["object_id"]) == [42]
    with session_scope(db) as s:
        entry = s.scalar(select(AuditLog).where(AuditLog.action == "audit.export"))
        assert entry.actor == "admin" and entry.details["rows"] == 1
        assert entry.details["filters"]["object_type"] == "privacy_request"


@pytest.mark.parametrize("role", ["manager", "marketing"])
def test_other_roles_get_403_on_audit(client_for, dash_app, role):
    client = client_for(role)
    assert "shell-forbidden" in route(client, dash_app, "/audit")
    for trigger in ("audit-apply", "audit-export-csv", "audit-export-xlsx"):
        assert call(client, dash_app, trigger).status_code == 403
    assert call(client, dash_app, "audit-grid", prop="getRowsRequest").status_code == 403


# --- users ------------------------------------------------------------------------------------


def user(db, name) -> User:
    with session_scope(db) as s:
        return s.scalar(select(User).where(User.username == name))


def test_users_page_is_admin_only(client_for, dash_app):
    assert "users-grid" in page(client_for("admin"), dash_app, "/admin/users")
    for role in ("privacy_officer", "manager", "marketing"):
        client = client_for(role)
        assert "shell-forbidden" in route(client, dash_app, "/admin/users")
        for trigger in ("users-create", "users-deactivate", "users-change-role"):
            assert call(client, dash_app, trigger).status_code == 403, (role, trigger)


def test_create_change_deactivate_reset(db, client_for, dash_app):
    admin = client_for("admin")
    out = response_of(
        call(
            admin,
            dash_app,
            "users-create",
            {
                "users-new-username": "newbie",
                "users-new-role": "privacy_officer",
                "users-new-password": "twelve-chars",
                "users-create-token": "create_token_0001",
            },
        )
    )
    assert "Created newbie (Privacy officer)." in json.dumps(out["users-create-result"])
    # roles are shown as words in the grid and the user list
    assert {"username": "newbie", "role": "Privacy officer"}.items() <= next(
        r for r in out["users-grid"]["rowData"] if r["username"] == "newbie"
    ).items()
    # the form is cleared, with a new token
    assert (
        out["users-new-username"]["value"],
        out["users-new-role"]["value"],
        out["users-new-password"]["value"],
    ) == ("", None, "")
    assert out["users-create-token"]["data"] != "create_token_0001"
    uid = user(db, "newbie").id
    # the same form sent again (a double-click) creates nothing more
    again = text_of(
        call(
            admin,
            dash_app,
            "users-create",
            {
                "users-new-username": "newbie",
                "users-new-role": "privacy_officer",
                "users-new-password": "twelve-chars",
                "users-create-token": "create_token_0001",
            },
        )
    )
    assert "created by your first click; it was not created twice" in again
    assert "newbie is now Marketing." in text_of(
        call(
            admin,
            dash_app,
            "users-change-role",
            {"users-target": uid, "users-role": "marketing"},
        )
    )
    # deactivation: first who and what, nothing changed yet; then the confirmation
    shown = response_of(call(admin, dash_app, "users-deactivate", {"users-target": uid}))
    assert "Deactivate newbie (Marketing)?" in json.dumps(shown["users-activate-result"])
    assert shown["users-deactivate-shown"]["data"] == uid and user(db, "newbie").active
    # the confirmation acts on the user it named, whatever the dropdown shows now
    assert "newbie is now deactivated." in text_of(
        call(admin, dash_app, "users-deactivate-confirm", {"users-deactivate-shown": uid})
    )
    assert "reset" in text_of(
        call(
            admin,
            dash_app,
            "users-reset-password",
            {"users-target": uid, "users-password": "another-pw-12"},
        )
    )
    found = user(db, "newbie")
    assert (found.role, found.active) == ("marketing", False)
    with session_scope(db) as s:
        actions = s.scalars(
            select(AuditLog.action)
            .where(AuditLog.object_type == "user", AuditLog.object_id == str(uid))
            .order_by(AuditLog.id)
        ).all()
    assert actions == ["user.create", "user.role_change", "user.deactivate", "user.password_reset"]


@pytest.mark.parametrize(
    ("trigger", "values", "text"),
    [
        ("users-create", {"users-new-username": "x", "users-new-role": "root"}, "Enter an initial"),
        (
            "users-create",
            {
                "users-new-username": "x",
                "users-new-role": "root",
                "users-new-password": "pw-1234-5678",
                "users-create-token": "create_token_0002",
            },
            "Unknown role 'root'",
        ),
        (
            "users-create",
            {
                "users-new-username": "admin",
                "users-new-role": "manager",
                "users-new-password": "pw-1234-5678",
                "users-create-token": "create_token_0003",
            },
            "already exists",
        ),
        (
            "users-create",
            {
                "users-new-username": "<script>alert(4)</script>",
                "users-new-role": "manager",
                "users-new-password": "pw-1234-5678",
                "users-create-token": "create_token_0004",
            },
            "A username may contain only letters, digits, dots, dashes and underscores.",
        ),
        (
            "users-create",
            {
                "users-new-username": "nomsa",
                "users-new-role": "manager",
                "users-new-password": "short",
                "users-create-token": "create_token_0005",
            },
            "The password must be at least 12 characters long.",
        ),
        ("users-deactivate", {"users-target": None}, "Choose a user first."),
        ("users-deactivate-confirm", {"users-deactivate-shown": None}, "Unknown user."),
        (
            "users-reset-password",
            {"users-target": 1, "users-password": "elevenchars"},
            "at least 12",
        ),
        ("users-reset-password", {"users-target": 1, "users-password": "x"}, "at least"),
    ],
)
def test_users_bad_input(client_for, dash_app, trigger, values, text):
    assert text in text_of(call(client_for("admin"), dash_app, trigger, values))


def test_admin_cannot_lock_themselves_out(db, client_for, dash_app):
    admin = client_for("admin")
    uid = user(db, "admin").id
    assert "your own account" in text_of(
        call(admin, dash_app, "users-deactivate-confirm", {"users-deactivate-shown": uid})
    )
    assert user(db, "admin").active
    assert "users-grid" in page(admin, dash_app, "/admin/users")

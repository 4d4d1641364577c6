"""Sessions that can be revoked (issue 12, point 2).

A session is a signed cookie: copying it used to keep a login alive after logout, a password
reset, a role change and a deactivation followed by reactivation. Each test logs in, copies the
cookie into a second client (the "thief"), does the thing that must end the session, and checks
that the copy no longer opens ``/_dash-layout`` (200 while logged in, 401 once refused).
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

import auth
from data import users
from data.db import session_scope
from data.models import User
from tests.conftest import ROLE_USERS, login


def _copy(dash_app, client, **environ):
    """A second client holding the same session cookie (as a thief with a copy would)."""
    thief = dash_app.server.test_client()
    if environ:
        thief.environ_base.update(environ)
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def _user_id(db, username: str) -> int:
    with session_scope(db) as s:
        return s.scalar(select(User.id).where(User.username == username))


def _logout_token(client) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/logout").text).group(1)


def test_a_copied_cookie_dies_at_logout(client_for, dash_app):
    client = client_for("manager")
    thief = _copy(dash_app, client)
    assert thief.get("/_dash-layout").status_code == 200
    response = client.post("/logout", data={"csrf_token": _logout_token(client)})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/_dash-layout").status_code == 401
    assert thief.get("/_dash-layout").status_code == 401


def test_logout_needs_a_post_with_the_csrf_token(client_for):
    client = client_for("manager")
    assert client.get("/logout").status_code == 200  # a confirmation form, nothing ends
    assert client.post("/logout", data={}).status_code == 400
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 400
    assert client.get("/_dash-layout").status_code == 200


def test_the_shell_logs_out_with_a_post_form_carrying_the_token(client_for):
    client = client_for("marketing")
    layout = json.dumps(client.get("/_dash-layout").get_json())
    token = _logout_token(client)
    assert '"action": "/logout"' in layout and '"method": "POST"' in layout
    assert f'"value": "{token}"' in layout and '"name": "csrf_token"' in layout


@pytest.mark.parametrize(
    "change",
    [
        lambda s, uid: users.reset_password(s, uid, "a-brand-new-password", "admin"),
        lambda s, uid: users.change_role(s, uid, "marketing", "admin"),
    ],
    ids=["password reset", "role change"],
)
def test_a_copied_cookie_dies_when_credentials_or_role_change(client_for, dash_app, db, change):
    client = client_for("manager")
    thief = _copy(dash_app, client)
    with session_scope(db) as s:
        change(s, _user_id(db, "manager"))
    assert thief.get("/_dash-layout").status_code == 401
    assert client.get("/_dash-layout").status_code == 401


def test_deactivation_then_reactivation_does_not_revive_a_session(client_for, dash_app, db):
    client = client_for("manager")
    thief = _copy(dash_app, client)
    uid = _user_id(db, "manager")
    with session_scope(db) as s:
        users.set_active(s, uid, False, "admin")
    with session_scope(db) as s:
        users.set_active(s, uid, True, "admin")
    assert thief.get("/_dash-layout").status_code == 401
    assert login(dash_app.server.test_client(), "manager").status_code == 302  # may log in anew


def test_logout_ends_every_session_of_that_user_only(client_for, dash_app):
    first = client_for("manager")
    second = dash_app.server.test_client()
    assert login(second, ROLE_USERS["manager"]).status_code == 302
    other = client_for("marketing")
    first.post("/logout", data={"csrf_token": _logout_token(first)})
    assert second.get("/_dash-layout").status_code == 401
    assert other.get("/_dash-layout").status_code == 200


def test_a_copied_cookie_from_another_address_or_browser_is_refused(client_for, dash_app):
    client = client_for("manager")
    elsewhere = _copy(dash_app, client, REMOTE_ADDR="203.0.113.9")
    assert elsewhere.get("/_dash-layout").status_code == 401
    other_browser = _copy(dash_app, client, HTTP_USER_AGENT="curl/8.0")
    assert other_browser.get("/_dash-layout").status_code == 401
    assert client.get("/_dash-layout").status_code == 200


class Clock:
    def __init__(self, monkeypatch) -> None:
        self.now = 1_800_000_000.0
        monkeypatch.setattr(auth, "clock", lambda: self.now)

    def advance(self, minutes: float) -> None:
        self.now += minutes * 60


def test_idle_timeout(client_for, dash_app, monkeypatch):
    monkeypatch.setitem(dash_app.server.config, "SESSION_IDLE_TIMEOUT", timedelta(minutes=30))
    clock = Clock(monkeypatch)
    client = client_for("manager")
    clock.advance(29)
    assert client.get("/_dash-layout").status_code == 200  # used: the idle clock restarts
    clock.advance(29)
    assert client.get("/_dash-layout").status_code == 200
    clock.advance(31)
    assert client.get("/_dash-layout").status_code == 401
    clock.advance(1)
    assert client.get("/_dash-layout").status_code == 401  # the session was emptied


def test_absolute_lifetime_even_when_used(client_for, dash_app, monkeypatch):
    monkeypatch.setitem(dash_app.server.config, "SESSION_IDLE_TIMEOUT", timedelta(minutes=30))
    monkeypatch.setitem(dash_app.server.config, "SESSION_ABSOLUTE_LIFETIME", timedelta(hours=1))
    clock = Clock(monkeypatch)
    client = client_for("manager")
    for _ in range(2):
        clock.advance(25)
        assert client.get("/_dash-layout").status_code == 200
    clock.advance(11)  # 61 minutes after login, 11 after the last use
    assert client.get("/_dash-layout").status_code == 401


def test_default_limits_are_twelve_hours_and_thirty_minutes(dash_app):
    assert dash_app.server.config["SESSION_ABSOLUTE_LIFETIME"] == timedelta(hours=12)
    assert dash_app.server.config["SESSION_IDLE_TIMEOUT"] == timedelta(minutes=30)


def test_session_versions_are_bumped_by_each_revoking_change(db):
    """The data layer itself: each of the five changes adds one to the user's version."""
    from data.users import change_role, create_user, reset_password, set_active

    with session_scope(db) as s:
        create_user(s, "root", "x" * 12, "admin", actor="test")
        uid = create_user(s, "bob", "x" * 12, "manager", actor="test").id
    steps = [
        lambda s: reset_password(s, uid, "y" * 12, "root"),
        lambda s: change_role(s, uid, "marketing", "root"),
        lambda s: set_active(s, uid, False, "root"),
        lambda s: set_active(s, uid, True, "root"),
    ]
    for expected, step in enumerate(steps, start=1):
        with session_scope(db) as s:
            step(s)
        with session_scope(db) as s:
            assert s.get(User, uid).session_version == expected


def test_a_page_polling_on_its_own_does_not_keep_the_session_alive(
    client_for, dash_app, monkeypatch
):
    """The retention page polls the sweep's progress every 1.5 s: those requests are answered
    but are not use, so a page left open still reaches the idle timeout; a click is use."""
    from tests.privacy_support import call

    monkeypatch.setitem(dash_app.server.config, "SESSION_IDLE_TIMEOUT", timedelta(minutes=30))
    clock = Clock(monkeypatch)
    client = client_for("privacy_officer")
    for _ in range(2):
        clock.advance(14)
        poll = call(client, dash_app, "retention-poll", prop="n_intervals")
        assert poll.status_code == 200
    clock.advance(3)  # 31 minutes after the last use, 3 after the last poll
    assert call(client, dash_app, "retention-poll", prop="n_intervals").status_code == 401
    other = client_for("privacy_officer")
    clock.advance(20)
    assert call(other, dash_app, "retention-preview-submit").status_code == 200  # a click
    clock.advance(20)
    assert other.get("/_dash-layout").status_code == 200

"""The shell's cached JSON responses (``components/shell_cache.py``, issue 17).

``/_dash-layout`` is encoded once per role with placeholders for the user name and the logout
form's CSRF token: every role must get its own menu (never another role's) and its own
session's values, byte for byte what Dash itself would send. ``/_dash-dependencies`` is encoded
once and again when Dash's callback list changes.
"""

from __future__ import annotations

import json
import re

import pytest

import app as app_module
from tests.conftest import ROLE_USERS

#: The menu each role sees, written out by hand from the pages' ``allowed_roles``.
NAV = {
    "admin": {"home", "leads", "partners", "consent", "aggregates", "privacy", "audit", "users"},
    "manager": {"home", "leads", "partners", "consent"},
    "privacy_officer": {"home", "consent", "privacy", "audit"},
    "marketing": {"home", "aggregates"},
}
ROLE_BADGES = {
    "admin": "Administrator",
    "manager": "Manager",
    "privacy_officer": "Privacy officer",
    "marketing": "Marketing",
}


def _find(tree, component_id: str):
    """The component with this id in a layout's JSON."""
    if isinstance(tree, dict):
        if tree.get("props", {}).get("id") == component_id:
            return tree
        values = tree.values()
    elif isinstance(tree, list):
        values = tree
    else:
        return None
    for value in values:
        found = _find(value, component_id)
        if found is not None:
            return found
    return None


def _nav_ids(text: str) -> set[str]:
    return set(re.findall(r'"id": ?"shell-nav-([a-z-]+)"', text))


def _logout_token(client) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/logout").text).group(1)


def _uncached(dash_app, monkeypatch, client, path: str) -> bytes:
    """The same request answered by Dash itself (the cache switched off)."""
    with monkeypatch.context() as m:
        m.setattr(dash_app, "_who", None)
        return client.get(path).data


def test_each_role_gets_its_own_menu_name_and_token_in_any_order(client_for, dash_app):
    clients = {role: client_for(role) for role in ROLE_USERS}
    tokens = {role: _logout_token(c) for role, c in clients.items()}
    # interleaved, twice: the second round is served from the cache built by the first
    for _ in range(2):
        for role in ["marketing", "admin", "manager", "privacy_officer", "manager", "marketing"]:
            response = clients[role].get("/_dash-layout")
            assert response.status_code == 200
            assert response.mimetype == "application/json"
            layout = json.loads(response.data)
            assert _nav_ids(response.text) == NAV[role]
            assert _find(layout, "shell-username")["props"]["children"] == ROLE_USERS[role]
            assert _find(layout, "shell-role")["props"]["children"] == ROLE_BADGES[role]
            assert _find(layout, "shell-logout-token")["props"]["value"] == tokens[role]


def test_the_cached_layout_is_what_dash_sends(client_for, dash_app, monkeypatch):
    for role in ROLE_USERS:
        client = client_for(role)
        cached = client.get("/_dash-layout").data
        assert cached == _uncached(dash_app, monkeypatch, client, "/_dash-layout")


@pytest.mark.parametrize(
    "username", ['o"brien', "back\\slash", "</script><b>", "Zoë 日本", "shell-user-x"]
)
def test_values_that_need_escaping_are_encoded_as_dash_encodes_them(
    client_for, dash_app, monkeypatch, username
):
    client = client_for("manager")
    who = ("manager", username, 'tok"en\\')
    monkeypatch.setattr(dash_app, "_who", lambda: who)
    monkeypatch.setattr(app_module, "_session_shell", lambda: who)
    cached = client.get("/_dash-layout").data
    layout = json.loads(cached)
    assert _find(layout, "shell-username")["props"]["children"] == username
    assert _find(layout, "shell-logout-token")["props"]["value"] == 'tok"en\\'
    assert cached == _uncached(dash_app, monkeypatch, client, "/_dash-layout")


def test_not_logged_in_gets_no_layout(client_for):
    assert client_for(None).get("/_dash-layout").status_code == 401
    assert client_for(None).get("/_dash-dependencies").status_code == 401


def test_dependencies_are_dash_s_and_follow_a_changed_callback_list(
    client_for, dash_app, monkeypatch
):
    client = client_for("marketing")
    cached = client.get("/_dash-dependencies").data
    assert cached == _uncached(dash_app, monkeypatch, client, "/_dash-dependencies")
    assert len(json.loads(cached)) == len(dash_app._callback_list)
    extra = {**dash_app._callback_list[0], "output": "added-later.children"}
    monkeypatch.setattr(dash_app, "_callback_list", [*dash_app._callback_list, extra])
    listed = json.loads(client.get("/_dash-dependencies").data)
    assert listed[-1]["output"] == "added-later.children"
    assert len(listed) == len(dash_app._callback_list)

"""The guard's rules, proven for every registered page and callback (new pages are covered
automatically because the tests iterate over Dash's page registry and callback map)."""

from __future__ import annotations

import re

import dash
import pytest

from guard import ALL_ROLES, callback_roles, page_prefixes
from tests.conftest import ROLE_USERS, callback_payload, route


def concrete_path(page: dict) -> str:
    """A real URL for a page (path templates get an id that exists or not: the guard decides
    by role before the page looks anything up)."""
    template = page.get("path_template")
    return re.sub(r"<[^>]+>", "1", template) if template else page["path"]


def app_pages() -> list[dict]:
    return [p for p in dash.page_registry.values() if not p["module"].endswith("not_found_404")]


def all_callbacks(dash_app) -> list[str]:
    return list(dash_app.callback_map)


def test_every_page_declares_roles_and_prefix(dash_app):
    for page in dash.page_registry.values():
        assert set(page["allowed_roles"]) <= ALL_ROLES, page["module"]
        assert page["id_prefix"], page["module"]


def test_every_callback_is_attributed_to_a_page(dash_app):
    prefixes = page_prefixes()
    for key, callback in dash_app.callback_map.items():
        assert callback_roles(callback, prefixes), f"callback {key} belongs to no page"


@pytest.mark.parametrize("path", ["/", "/partners", "/privacy", "/does-not-exist", "/audit"])
def test_anonymous_page_requests_redirect_to_login(client_for, path):
    response = client_for(None).get(path + "?x=1")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/login?next={path}%3Fx%3D1"


@pytest.mark.parametrize("path", ["/_dash-layout", "/_dash-dependencies", "/_reload-hash"])
def test_anonymous_dash_endpoints_get_401(client_for, path):
    assert client_for(None).get(path).status_code == 401


def test_anonymous_callbacks_get_401(client_for, dash_app):
    client = client_for(None)
    for key in all_callbacks(dash_app):
        response = client.post("/_dash-update-component", json=callback_payload(dash_app, key))
        assert response.status_code == 401, key


def test_public_paths(client_for):
    client = client_for(None)
    assert client.get("/login").status_code == 200
    assert client.get("/assets/02-app.css").status_code == 200


def test_every_page_for_every_role(client_for):
    for role in ROLE_USERS:
        client = client_for(role)
        for page in app_pages():
            response = client.get(concrete_path(page))
            expected = 200 if role in page["allowed_roles"] else 403
            assert response.status_code == expected, (role, page["path"])


def test_unknown_path_is_404_inside_the_shell(client_for):
    response = client_for("manager").get("/no/such/page")
    assert response.status_code == 404
    assert "_dash-config" in response.get_data(as_text=True)  # the shell renders the 404 page


def test_every_callback_for_every_role(client_for, dash_app):
    """A role outside the owning pages gets 403; an allowed role passes the guard (the callback
    may still reject the dummy inputs, but never with 401/403)."""
    prefixes = page_prefixes()
    for role in ROLE_USERS:
        client = client_for(role)
        for key, callback in dash_app.callback_map.items():
            allowed = role in callback_roles(callback, prefixes)
            response = client.post("/_dash-update-component", json=callback_payload(dash_app, key))
            if allowed:
                assert response.status_code not in (401, 403), (role, key)
            else:
                assert response.status_code == 403, (role, key)


def test_unknown_or_malformed_callback_is_refused(client_for):
    client = client_for("admin")
    assert client.post("/_dash-update-component", json={"output": "x.y"}).status_code == 400
    assert client.post("/_dash-update-component", data="not json").status_code == 400


def test_forbidden_page_renders_not_allowed_in_shell(client_for, dash_app):
    """The router renders the guarded layout: a marketing user opening a manager page sees the
    'not allowed' panel, not the page."""
    restricted = [p for p in app_pages() if "marketing" not in p["allowed_roles"]]
    if not restricted:
        pytest.skip("no page is closed to marketing yet")
    client = client_for("marketing")
    for page in restricted:
        body = route(client, dash_app, concrete_path(page))
        assert "shell-forbidden" in body, page["path"]


def test_page_content_renders_for_allowed_roles(client_for, dash_app):
    for role in ROLE_USERS:
        client = client_for(role)
        body = route(client, dash_app, "/")
        assert "home-page" in body and "shell-forbidden" not in body


def test_logout_ends_the_session(client_for):
    client = client_for("marketing")
    assert client.get("/_dash-layout").status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/logout").text).group(1)
    assert client.get("/_dash-layout").status_code == 200  # GET alone does not log out
    response = client.post("/logout", data={"csrf_token": token})
    assert response.headers["Location"] == "/login"
    assert client.get("/_dash-layout").status_code == 401

"""Login form, session cookie flags, safe redirects, CSRF, throttling and the secret key rule."""

from __future__ import annotations

import pytest

from app import ConfigError, _secret_key
from auth import safe_next
from data.users import MAX_FAILURES
from tests.conftest import login


def test_login_sets_a_hardened_session_cookie(client_for):
    client = client_for(None)
    response = login(client, "manager")
    assert response.status_code == 302
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP here


def test_session_cookie_is_secure_over_https(client_for):
    client = client_for(None)
    page = client.get("/login", base_url="https://localhost")
    cookie = next(h for h in page.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "Secure" in cookie


def test_login_redirects_to_next_but_never_off_site(client_for):
    client = client_for(None)
    page = client.get("/login?next=/privacy%3Fstatus%3Dopen")
    assert 'value="/privacy?status=open"' in page.get_data(as_text=True)
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        assert safe_next(evil) == "/"
    assert safe_next("/partners?trade=plumbing") == "/partners?trade=plumbing"


def test_wrong_password_shows_a_message(client_for):
    response = login(client_for(None), "manager", "nope")
    assert response.status_code == 401
    assert "Unknown user or wrong password." in response.get_data(as_text=True)


def test_form_without_csrf_token_is_refused(client_for):
    client = client_for(None)
    response = client.post("/login", data={"username": "manager", "password": "x"})
    assert response.status_code == 400
    assert client.get("/_dash-layout").status_code == 401


def test_throttled_after_repeated_failures(client_for):
    client = client_for(None)
    for _ in range(MAX_FAILURES):
        login(client, "manager", "nope")
    response = login(client, "manager")
    assert response.status_code == 429
    assert "Too many failed attempts" in response.get_data(as_text=True)


def test_login_page_escapes_what_it_echoes(client_for):
    response = login(client_for(None), "<script>alert(1)</script>", "x")
    body = response.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;" in body


def test_secret_key_required_outside_the_demo_database(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u@h/db")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        _secret_key(serve=True)
    assert _secret_key(serve=False) is None


def test_demo_database_generates_and_keeps_a_secret(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    first = _secret_key(serve=True)
    assert first and len(first) > 40
    assert _secret_key(serve=True) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0

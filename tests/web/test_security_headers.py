"""Security headers and owner-only files (issue 12, point 5).

The expected header values are written out from docs/security.md; the inline-script hashes
are computed here with hashlib from the scripts Dash actually serves, not asked of Dash.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import stat

import pytest

from app import _secret_key
from data.db import create_private_file, make_engine
from tests.conftest import callback_payload

FIXED = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _directives(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in policy.split(";") if part.strip())
    }


def _check_common(response) -> None:
    for name, value in FIXED.items():
        assert response.headers.get(name) == value, name
    csp = _directives(response)
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["default-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in csp["script-src"]
    assert csp["script-src"][:2] == ["'self'", "'unsafe-eval'"]  # the grid's formatters


def test_login_page_headers(client_for):
    response = client_for(None).get("/login")
    _check_common(response)
    assert response.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in response.headers


def test_pages_and_callbacks_are_never_cached(client_for, dash_app):
    client = client_for("manager")
    page = client.get("/partners")
    _check_common(page)
    assert page.headers["Cache-Control"] == "no-store"
    layout = client.get("/_dash-layout")
    assert layout.headers["Cache-Control"] == "no-store"
    key = next(k for k in dash_app.callback_map if "_pages_content.children" in k)
    payload = callback_payload(
        dash_app,
        key,
        inputs=[
            {"id": "_pages_location", "property": "pathname", "value": "/"},
            {"id": "_pages_location", "property": "search", "value": ""},
        ],
    )
    payload["state"] = [{"id": "shell-shown-view", "property": "data", "value": None}]
    callback = client.post("/_dash-update-component", json=payload)
    assert callback.status_code == 200
    _check_common(callback)
    assert callback.headers["Cache-Control"] == "no-store"


def test_static_files_stay_cacheable(client_for):
    response = client_for(None).get("/assets/02-app.css")
    _check_common(response)
    assert "no-store" not in response.headers.get("Cache-Control", "")


YEAR = "public, max-age=31536000, immutable"


def test_versioned_static_files_are_kept_without_asking_again(client_for):
    client = client_for(None)
    fingerprinted = client.get("/assets/02-app.css?m=1700000000.5")
    assert fingerprinted.status_code == 200
    assert fingerprinted.headers["Cache-Control"] == YEAR
    vendor = client.get("/assets/vendor/regenerator-runtime-0.14.1.js")
    assert vendor.status_code == 200
    assert vendor.headers["Cache-Control"] == YEAR
    # no version in the address: the browser must ask again, or an edit would go unseen
    plain = client.get("/assets/02-app.css")
    assert "max-age=31536000" not in plain.headers.get("Cache-Control", "")
    # an answer that is not the file is never kept
    missing = client.get("/assets/vendor/nothing-1.0.js")
    assert missing.status_code == 404
    assert "max-age=31536000" not in missing.headers.get("Cache-Control", "")


def test_every_asset_a_page_links_names_its_version(client_for):
    """The year-long cache is safe only if each address changes with its file: Dash's
    ``?m=`` for the assets it links, a release in the name under ``assets/vendor/``."""
    html = client_for("manager").get("/partners").get_data(as_text=True)
    linked = re.findall(r'(?:src|href)="(/assets/[^"]+)"', html)
    assert len(linked) >= 5
    for address in linked:
        if address.startswith("/assets/vendor/"):
            assert re.search(r"-\d+\.\d+\.\d+(\.min)?\.js$", address), address
        else:
            assert re.search(r"\?m=[\d.]+$", address), address
    loader = client_for(None).get("/assets/02-deferred-scripts.js").get_data(as_text=True)
    for name in re.findall(r'"vendor/([^"]+)"', loader):
        assert re.search(r"-\d+\.\d+\.\d+\.min\.js$", name), name


def test_hsts_only_over_https(client_for):
    response = client_for(None).get("/login", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_every_inline_script_dash_serves_is_allowed_by_hash(client_for):
    response = client_for("manager").get("/")
    # (Dash's Internet Explorer warning sits in an HTML comment: no browser runs it)
    html = re.sub(r"<!--.*?-->", "", response.get_data(as_text=True), flags=re.S)
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>(.*?)</script>", html, flags=re.S)
    executable = [body for attrs, body in inline if "application/json" not in attrs]
    assert executable, "Dash's index has its renderer start-up script inline"
    allowed = _directives(response)["script-src"]
    for body in executable:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in allowed


# --- owner-only files -------------------------------------------------------------------------


@pytest.fixture
def open_umask():
    previous = os.umask(0)  # the most permissive umask: the mode must come from the code
    yield
    os.umask(previous)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_private_files_are_created_owner_only(tmp_path, open_umask):
    path = tmp_path / "key"
    assert create_private_file(path, b"secret") is True
    assert (_mode(path), path.read_bytes()) == (0o600, b"secret")
    assert create_private_file(path, b"other") is False  # never replaced
    assert path.read_bytes() == b"secret"
    assert [p.name for p in tmp_path.iterdir()] == ["key"]  # no temporary left behind


def test_generated_secret_key_and_sqlite_file_are_owner_only(tmp_path, monkeypatch, open_umask):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    _secret_key(serve=True)
    assert _mode(tmp_path / "secret_key") == 0o600
    engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    engine.dispose()
    assert _mode(tmp_path / "new.db") == 0o600

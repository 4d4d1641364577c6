"""Login, logout, revocable sessions and the Flask-Login wiring.

The login page is a plain Flask view (not a Dash page) so that no Dash callback ever needs to
be public. It uses the same Bootstrap stylesheet and brand as the shell.

A session is a signed cookie, so the server cannot delete it; it is refused instead. Every
request reloads the user (:func:`load_user`) and checks, server-side:

* the user's ``session_version`` equals the one stored in the session at login; the version is
  bumped on logout, password reset, role change, deactivation and reactivation
  (``data.users.end_sessions``), so a copied cookie dies with them;
* the session is younger than ``SESSION_ABSOLUTE_LIFETIME`` (default 12 hours) and was used
  within ``SESSION_IDLE_TIMEOUT`` (default 30 minutes): settings in ``app.py``; a page's own
  polling (:func:`is_automatic_poll`) is not use;
* the request comes from the address and browser (User-Agent) the session logged in from (a
  digest of both is kept in the session), so a cookie replayed elsewhere is dropped. The
  address is the one ``BEHIND_PROXY`` trusts.

Logout is a POST carrying the session's CSRF token.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    redirect,
    render_template_string,
    request,
    session,
)
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from data import audit
from data.db import get_engine, session_scope
from data.models import User
from data.users import SessionUser, authenticate, end_sessions, load_session_user
from guard import ALL_ROLES, current_role, route_roles

DEFAULT_ABSOLUTE_LIFETIME = timedelta(hours=12)
DEFAULT_IDLE_TIMEOUT = timedelta(minutes=30)
#: Session keys: the user's session version at login, login time and last use (epoch seconds).
VERSION_KEY, LOGIN_AT_KEY, SEEN_AT_KEY, CLIENT_KEY = "sv", "login_at", "seen_at", "client"
CSRF_KEY = "login_csrf"
#: The last-use time is rewritten at most this often (each rewrite is a new cookie).
SEEN_RESOLUTION = 15

bp = Blueprint("auth", __name__)

LOGIN_TEMPLATE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Sign in · Partner Operations</title>
  <link rel="icon" href="/assets/favicon.ico">
  <link rel="stylesheet" href="/assets/01-bootstrap.min.css">
  <link rel="stylesheet" href="/assets/02-app.css">
</head>
<body class="bg-light">
  <nav class="navbar navbar-dark bg-primary mb-4">
    <div class="container-fluid"><span class="navbar-brand">Partner Operations</span></div>
  </nav>
  <main class="container" style="max-width: 420px">
    <div class="card shadow-sm">
      <div class="card-body">
        <h1 class="h4 mb-3">Sign in</h1>
        {% if error %}
        <div class="alert alert-danger" id="login-error" role="alert">{{ error }}</div>
        {% endif %}
        <form method="post" action="/login">
          <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
          <input type="hidden" name="next" value="{{ next }}">
          <div class="mb-3">
            <label for="username" class="form-label">Username</label>
            <input id="username" name="username" class="form-control" autocomplete="username"
                   value="{{ username }}" maxlength="80" required autofocus>
          </div>
          <div class="mb-3">
            <label for="password" class="form-label">Password</label>
            <input id="password" name="password" type="password" class="form-control"
                   autocomplete="current-password" maxlength="200" required>
          </div>
          <button id="login-submit" type="submit" class="btn btn-primary w-100">Sign in</button>
        </form>
      </div>
    </div>
    <p class="text-muted small mt-3">Internal tool. Access is logged.</p>
  </main>
</body>
</html>"""


LOGOUT_TEMPLATE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Sign out · Partner Operations</title>
  <link rel="stylesheet" href="/assets/01-bootstrap.min.css">
</head>
<body class="bg-light">
  <main class="container mt-5" style="max-width: 420px">
    <form method="post" action="/logout">
      <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
      <button id="logout-submit" type="submit" class="btn btn-primary w-100">Sign out</button>
    </form>
  </main>
</body>
</html>"""


class LoginUser(UserMixin):
    """Flask-Login's view of a :class:`SessionUser`."""

    def __init__(self, user: SessionUser) -> None:
        self.id = user.id
        self.username = user.username
        self.role = user.role
        self.session_version = user.session_version

    def get_id(self) -> str:
        return str(self.id)


def clock() -> float:
    """Seconds since the epoch (a function so that tests can move time forward)."""
    return time.time()


def session_limits() -> tuple[timedelta, timedelta]:
    """(absolute lifetime, idle timeout) from the app's settings."""
    config = current_app.config
    return (
        config.get("SESSION_ABSOLUTE_LIFETIME", DEFAULT_ABSOLUTE_LIFETIME),
        config.get("SESSION_IDLE_TIMEOUT", DEFAULT_IDLE_TIMEOUT),
    )


def client_digest() -> str:
    """Who is asking: a digest of the request's address and User-Agent."""
    seen = f"{request.remote_addr}|{request.headers.get('User-Agent', '')}"
    return hashlib.sha256(seen.encode()).hexdigest()[:32]


def session_is_current(user: SessionUser, now: float) -> bool:
    """Whether the request's session may still act for ``user`` (see the module docstring)."""
    lifetime, idle = session_limits()
    login_at, seen_at = session.get(LOGIN_AT_KEY), session.get(SEEN_AT_KEY)
    if session.get(VERSION_KEY) != user.session_version:
        return False
    if session.get(CLIENT_KEY) != client_digest():
        return False
    if not isinstance(login_at, int | float) or not isinstance(seen_at, int | float):
        return False
    return now - login_at <= lifetime.total_seconds() and now - seen_at <= idle.total_seconds()


def login_session_fields(session_version: int) -> dict[str, Any]:
    """What a login adds to the session for the request's client (the benchmark's signed
    cookie uses it too, so it passes :func:`session_is_current` the same way)."""
    now = int(clock())
    return {
        VERSION_KEY: session_version,
        LOGIN_AT_KEY: now,
        SEEN_AT_KEY: now,
        CLIENT_KEY: client_digest(),
        # a fresh token for the logout form, set now: created later, by whichever of the
        # shell's parallel requests came first, another's cookie could overwrite it
        CSRF_KEY: secrets.token_urlsafe(24),
    }


def load_user(user_id: str) -> LoginUser | None:
    """Flask-Login's loader, run on every request: the user must be active and the session
    current; otherwise the session is emptied and the request is anonymous."""
    if not user_id.isdigit():
        return None
    # one read, outside a transaction: no BEGIN and ROLLBACK round trips on every request
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        user = load_session_user(conn, int(user_id))
    now = clock()
    if user is None or not session_is_current(user, now):
        session.clear()
        return None
    if now - session[SEEN_AT_KEY] >= SEEN_RESOLUTION and not is_automatic_poll():
        session[SEEN_AT_KEY] = int(now)
    return LoginUser(user)


def is_automatic_poll() -> bool:
    """Whether the request is a page polling on its own (a callback fired only by a
    ``dcc.Interval``: the privacy queue's live refresh, the retention sweep's progress), which
    must not count as use: a page left open would otherwise never reach the idle timeout."""
    if not request.path.endswith("/_dash-update-component"):
        return False
    body = request.get_json(silent=True)
    changed = body.get("changedPropIds") if isinstance(body, dict) else None
    return (
        isinstance(changed, list)
        and bool(changed)
        and all(isinstance(c, str) and c.endswith(".n_intervals") for c in changed)
    )


def init_login(app: Flask) -> None:
    manager = LoginManager()
    manager.init_app(app)
    manager.user_loader(load_user)
    app.register_blueprint(bp)


def safe_next(target: str | None) -> str:
    """Only same-site relative paths: never redirect to another host after login."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def csrf_token() -> str:
    """The session's CSRF token (login and logout forms), created on first use."""
    if CSRF_KEY not in session:
        session[CSRF_KEY] = secrets.token_urlsafe(24)
    return session[CSRF_KEY]


def _csrf_ok() -> bool:
    return secrets.compare_digest(request.form.get("csrf_token", ""), csrf_token())


def _render(error: str | None = None, username: str = "", next_: str = "/", status: int = 200):
    html = render_template_string(
        LOGIN_TEMPLATE, error=error, username=username, next=next_, csrf_token=csrf_token()
    )
    return html, status


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_ = safe_next(request.values.get("next"))
    if request.method == "GET":
        if current_role() is not None:
            return redirect(next_)
        return _render(next_=next_)
    if not _csrf_ok():
        return _render("Your sign-in form expired. Please try again.", next_=next_, status=400)
    username = request.form.get("username", "")[:80]
    password = request.form.get("password", "")[:200]
    address = request.remote_addr or "unknown"
    with session_scope() as db:
        result = authenticate(db, username, password, address)
    if result.user is None:
        status = 429 if result.error and result.error.startswith("Too many") else 401
        return _render(result.error, username=username, next_=next_, status=status)
    session.clear()  # new session id on privilege change
    login_user(LoginUser(result.user))
    session.update(login_session_fields(result.user.session_version))
    session.permanent = True  # the cookie expires with the absolute lifetime too
    return redirect(next_)


@bp.route("/logout", methods=["GET", "POST"])
@route_roles(*ALL_ROLES)
def logout():
    """GET shows a sign-out button; the POST (with the CSRF token) ends every session of the
    user, this cookie and any copy of it."""
    if request.method == "GET":
        return render_template_string(LOGOUT_TEMPLATE, csrf_token=csrf_token())
    if not _csrf_ok():
        return render_template_string(LOGOUT_TEMPLATE, csrf_token=csrf_token()), 400
    with session_scope() as db:
        user = db.get(User, current_user.id)
        if user is not None:
            end_sessions(user)
        audit.record(db, current_user.username, "logout", "user", current_user.id)
    logout_user()
    session.clear()
    return redirect("/login")

"""Login, logout and the Flask-Login wiring.

The login page is a plain Flask view (not a Dash page) so that no Dash callback ever needs to
be public. It uses the same Bootstrap stylesheet and brand as the shell.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import Blueprint, Flask, redirect, render_template_string, request, session
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from data import audit
from data.db import session_scope
from data.users import SessionUser, authenticate, load_session_user
from guard import ALL_ROLES, current_role, route_roles

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


class LoginUser(UserMixin):
    """Flask-Login's view of a :class:`SessionUser`."""

    def __init__(self, user: SessionUser) -> None:
        self.id = user.id
        self.username = user.username
        self.role = user.role

    def get_id(self) -> str:
        return str(self.id)


def init_login(app: Flask) -> None:
    manager = LoginManager()
    manager.init_app(app)

    @manager.user_loader
    def load_user(user_id: str) -> LoginUser | None:
        if not user_id.isdigit():
            return None
        with session_scope() as db:
            user = load_session_user(db, int(user_id))
        return LoginUser(user) if user else None

    app.register_blueprint(bp)


def safe_next(target: str | None) -> str:
    """Only same-site relative paths: never redirect to another host after login."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def _csrf_token() -> str:
    if "login_csrf" not in session:
        session["login_csrf"] = secrets.token_urlsafe(24)
    return session["login_csrf"]


def _render(error: str | None = None, username: str = "", next_: str = "/", status: int = 200):
    html = render_template_string(
        LOGIN_TEMPLATE, error=error, username=username, next=next_, csrf_token=_csrf_token()
    )
    return html, status


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_ = safe_next(request.values.get("next"))
    if request.method == "GET":
        if current_role() is not None:
            return redirect(next_)
        return _render(next_=next_)
    if not secrets.compare_digest(request.form.get("csrf_token", ""), _csrf_token()):
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
    return redirect(next_)


@bp.route("/logout")
@route_roles(*ALL_ROLES)
def logout():
    with session_scope() as db:
        audit.record(db, current_user.username, "logout", "user", current_user.id)
    logout_user()
    session.clear()
    return redirect("/login")

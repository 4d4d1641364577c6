"""Application factory, CLI commands and the development entry point.

* ``create_dash()`` builds the Flask server, Flask-Login, the Dash app with its pages and the
  permission guard (``guard.py``).
* ``flask --app app <command>``: ``init-db``, ``demo-data``, ``create-user``.
* ``python app.py``: what ``make run`` starts: builds the demo database on first start, then
  serves on http://127.0.0.1:$PORT (8050).
* ``gunicorn app:server``: production (``SECRET_KEY`` and ``DATABASE_URL`` required).
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
from datetime import date
from pathlib import Path
from typing import Any

import click
import dash
import dash_bootstrap_components as dbc
from dash import dcc
from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user
from sqlalchemy import select

import auth
import guard
from components import in_place
from components.shell import shell
from data.db import (
    DatabaseConfigError,
    configured_database_url,
    get_engine,
    instance_path,
    is_embedded_demo,
    schema_is_current,
    session_scope,
    upgrade_database,
)
from data.models import ROLES, DataMeta
from data.users import UserError, create_user

logger = logging.getLogger(__name__)
DEFAULT_DEMO_LEADS = 20_000
DEFAULT_DEMO_SEED = 42


class ConfigError(RuntimeError):
    """The app cannot start as configured; the message is one line for the console."""


class HttpsAwareSessionInterface(SecureCookieSessionInterface):
    """Mark the session cookie Secure whenever the request itself came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def _secret_key(serve: bool) -> str | None:
    """``SECRET_KEY`` from the environment; on the demo database, one generated under instance/."""
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    if is_embedded_demo(configured_database_url()):
        path = instance_path() / "secret_key"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()
    if serve:
        raise ConfigError(
            "SECRET_KEY is not set: it is required unless the app runs the demo database"
        )
    return None


def create_app(*, serve: bool = False) -> Flask:
    """The Flask server (Flask's factory convention); its Dash app is ``extensions["dash"]``."""
    return create_dash(serve=serve).server


def create_dash(*, serve: bool = False) -> dash.Dash:
    """Build the app. ``serve=True`` (the web entry points) refuses to start without a secret."""
    server = Flask(__name__, instance_path=str(instance_path()))
    server.config.update(
        SECRET_KEY=_secret_key(serve),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("SESSION_COOKIE_SECURE") == "1",
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
    )
    server.session_interface = HttpsAwareSessionInterface()
    if os.environ.get("BEHIND_PROXY") == "1":
        from werkzeug.middleware.proxy_fix import ProxyFix

        server.wsgi_app = ProxyFix(server.wsgi_app, x_proto=1, x_host=1)  # type: ignore[method-assign]
    auth.init_login(server)
    register_cli(server)

    app = dash.Dash(
        __name__,
        server=server,
        use_pages=True,
        pages_folder=str(Path(__file__).parent / "pages"),
        suppress_callback_exceptions=True,
        title="Partner Operations",
        update_title=None,
        serve_locally=True,
        routing_callback_inputs=in_place.routing_inputs(),
    )
    _serve_the_cartesian_plotly_bundle()
    app.layout = _layout
    in_place.register(app)
    guard.wrap_page_layouts()
    guard.register_route_roles(server)
    guard.install(server, app)
    server.extensions["dash"] = app
    return app


def _serve_the_cartesian_plotly_bundle() -> None:
    """Leave out the full plotly.js bundle that Dash loads on every page (4.8 MB to evaluate):
    the charts use only trace types of the cartesian bundle (1.5 MB), which is served from
    ``assets/vendor/`` and defines ``window.Plotly`` before any graph is drawn."""
    dcc._js_dist[:] = [d for d in dcc._js_dist if d.get("namespace") != "plotly"]


def _layout() -> Any:
    """The shell for the logged-in user (``/_dash-layout`` is only reachable when logged in)."""
    role = guard.current_role()
    if role is None:
        return dbc.Container("Please sign in.")
    return shell(guard.visible_pages(role), current_user.username, role)


# --- command line ----------------------------------------------------------------------------


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def _engine_or_fail():
    try:
        return get_engine()
    except DatabaseConfigError as exc:
        _fail(str(exc))


def register_cli(server: Flask) -> None:
    @server.cli.command("init-db")
    def init_db() -> None:
        """Create or upgrade the schema (Alembic migrations)."""
        upgrade_database(_engine_or_fail())
        click.echo("database schema is up to date")

    @server.cli.command("demo-data")
    @click.option(
        "--leads", default=DEFAULT_DEMO_LEADS, show_default=True, type=click.IntRange(1, 20_000_000)
    )
    @click.option("--seed", default=DEFAULT_DEMO_SEED, show_default=True, type=int)
    @click.option("--as-of", "as_of", default=None, help="anchor date YYYY-MM-DD (default: today)")
    def demo_data(leads: int, seed: int, as_of: str | None) -> None:
        """(Re)build the deterministic demo dataset. Erases everything in the database."""
        build_demo_database(leads, seed, as_of)

    @server.cli.command("create-user")
    @click.argument("username")
    @click.option("--role", required=True, type=click.Choice(ROLES))
    @click.option("--password-stdin", is_flag=True, help="read the password from standard input")
    def create_user_command(username: str, role: str, password_stdin: bool) -> None:
        """Create a staff account; the password is prompted for (or read from stdin)."""
        if password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        engine = _engine_or_fail()
        try:
            with session_scope(engine) as db:
                create_user(db, username, password, role, actor="cli")
        except UserError as exc:
            _fail(str(exc))
        click.echo(f"created user {username!r} with role {role}")


def build_demo_database(leads: int, seed: int, as_of: str | None) -> None:
    from data.demo import build_demo

    try:
        anchor = date.fromisoformat(as_of) if as_of else date.today()
    except ValueError:
        _fail(f"--as-of must be a date like 2026-11-25, not {as_of!r}")
    password = os.environ.get("DEMO_PASSWORD", "demo")
    summary = build_demo(
        _engine_or_fail(),
        leads=leads,
        seed=seed,
        as_of=anchor,
        password=password,
        progress=click.echo,
    )
    click.echo(
        f"demo database ready in {summary.seconds:.1f} s: users admin, manager, privacy, marketing"
    )


def _demo_is_built() -> bool:
    engine = get_engine()
    if not schema_is_current(engine):
        return False
    with session_scope(engine) as db:
        return db.scalar(select(DataMeta.value).where(DataMeta.key == "demo_leads")) is not None


def main() -> None:
    """``make run``: build the demo database on first start, then serve."""
    logging.basicConfig(level=logging.INFO)
    try:
        if is_embedded_demo(configured_database_url()) and not _demo_is_built():
            leads = int(os.environ.get("DEMO_LEADS", DEFAULT_DEMO_LEADS))
            click.echo(f"first start: building the demo database with {leads} leads …")
            build_demo_database(leads, DEFAULT_DEMO_SEED, None)
        elif not schema_is_current(get_engine()):
            upgrade_database(get_engine())
        app = create_dash(serve=True)
    except (DatabaseConfigError, ConfigError) as exc:
        _fail(str(exc))
    port = int(os.environ.get("PORT", "8050"))
    app.run(host=os.environ.get("HOST", "127.0.0.1"), port=port, debug=False)


def __getattr__(name: str) -> Any:
    """``gunicorn app:server`` builds the app on first access; refuses if misconfigured."""
    if name == "server":
        try:
            return create_app(serve=True)
        except (DatabaseConfigError, ConfigError) as exc:
            _fail(str(exc))
    raise AttributeError(name)


if __name__ == "__main__":
    main()

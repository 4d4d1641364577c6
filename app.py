"""Application factory, CLI commands and the development entry point.

* ``create_dash()`` builds the Flask server, Flask-Login, the Dash app with its pages, the
  permission guard (``guard.py``) and the security headers (``headers.py``); the session
  limits (``SESSION_LIFETIME_MINUTES``, ``SESSION_IDLE_MINUTES``) and the trusted proxy hops
  (``BEHIND_PROXY``) are read here.
* ``flask --app app <command>``: ``init-db``, ``demo-data`` (refuses a non-demo database
  without ``--force``), ``create-user``, ``audit-verify``, ``db-roles``.
* ``python app.py``: what ``make run`` starts: builds the demo database on first start, then
  serves on http://127.0.0.1:$PORT (8050).
* ``gunicorn app:server``: production (``SECRET_KEY`` and ``DATABASE_URL`` required).
"""

from __future__ import annotations

import gc
import logging
import os
import secrets
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any, NoReturn

import click
import dash
import dash_bootstrap_components as dbc
from dash import _dash_renderer, dcc
from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user
from sqlalchemy import Engine, inspect, select

import auth
import guard
import headers
import ops
from components import in_place
from components.shell import shell
from components.shell_cache import ConsoleDash
from data.db import (
    DatabaseConfigError,
    configured_database_url,
    create_private_file,
    get_engine,
    instance_path,
    is_embedded_demo,
    schema_is_current,
    session_scope,
    upgrade_database,
)
from data.models import ROLES, DataMeta, Lead, User
from data.timeutil import today
from data.users import NEW_PASSWORD_MIN, UserError, create_user

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
        create_private_file(path, secrets.token_urlsafe(48).encode())  # no-op if it exists
        return path.read_text().strip()
    if serve:
        raise ConfigError(
            "SECRET_KEY is not set: it is required unless the app runs the demo database"
        )
    return None


def proxy_hops() -> int:
    """``BEHIND_PROXY=N``: how many reverse proxies in front of the app to trust (0: none).

    Each trusted proxy appends one address to ``X-Forwarded-For``; only the last N are believed,
    so a client cannot choose its own address (the login throttle counts per address)."""
    raw = os.environ.get("BEHIND_PROXY", "0").strip() or "0"
    if not raw.isdigit():
        raise ConfigError(f"BEHIND_PROXY must be a number of proxy hops, not {raw!r}")
    return int(raw)


def trust_proxies(server: Flask, hops: int) -> None:
    """Believe ``X-Forwarded-For/Proto/Host`` from exactly ``hops`` proxies (none when 0)."""
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        server.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            server.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )


def _minutes(name: str, default: timedelta) -> timedelta:
    raw = os.environ.get(name)
    if not raw:
        return default
    if not raw.strip().isdigit() or int(raw) < 1:
        raise ConfigError(f"{name} must be a whole number of minutes, not {raw!r}")
    return timedelta(minutes=int(raw))


def create_app(*, serve: bool = False) -> Flask:
    """The Flask server (Flask's factory convention); its Dash app is ``extensions["dash"]``."""
    return create_dash(serve=serve).server


def create_dash(*, serve: bool = False) -> dash.Dash:
    """Build the app. ``serve=True`` (the web entry points) refuses to start without a secret."""
    server = Flask(__name__, instance_path=str(instance_path()))
    lifetime = _minutes("SESSION_LIFETIME_MINUTES", auth.DEFAULT_ABSOLUTE_LIFETIME)
    server.config.update(
        SECRET_KEY=_secret_key(serve),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("SESSION_COOKIE_SECURE") == "1",
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        SESSION_ABSOLUTE_LIFETIME=lifetime,
        SESSION_IDLE_TIMEOUT=_minutes("SESSION_IDLE_MINUTES", auth.DEFAULT_IDLE_TIMEOUT),
        PERMANENT_SESSION_LIFETIME=lifetime,
        # the cookie is re-signed when the session changes (login, the last-use time at most
        # every auth.SEEN_RESOLUTION seconds), not on every response: both limits are checked
        # on the server, and signing the cookie on every response cost CPU on every request
        SESSION_REFRESH_EACH_REQUEST=False,
    )
    server.session_interface = HttpsAwareSessionInterface()
    ops.install(server)  # request ids and log lines, body limit, outages (503), /healthz
    trust_proxies(server, proxy_hops())
    auth.init_login(server)
    register_cli(server)

    app = ConsoleDash(
        __name__,
        server=server,
        use_pages=True,
        pages_folder=str(Path(__file__).parent / "pages"),
        suppress_callback_exceptions=True,
        title="Partner Operations",
        update_title=None,
        serve_locally=True,
        assets_path_ignore=["vendor"],  # served; loaded by assets/02-deferred-scripts.js and below
        external_scripts=["/assets/vendor/regenerator-runtime-0.14.1.js"],
        routing_callback_inputs=in_place.routing_inputs(),
    )
    _serve_the_console_plotly_bundle()
    _serve_regenerator_runtime_without_polyfills()
    app.layout = _layout
    app.cache_shell(_session_shell, _shell)  # the shell's JSON encoded once per role
    in_place.register(app)
    guard.wrap_page_layouts()
    guard.register_route_roles(server)
    guard.install(server, app)
    ops.install_after_guard(server, app)  # callback bodies must match their callback
    headers.install(server, app)
    server.extensions["dash"] = app
    if serve:
        # Dash finishes its set-up on the first request, and that step is not thread-safe: two
        # first requests at once in a threaded worker failed with "dictionary changed size
        # during iteration" (a 500 and a failed login). Make that first request here, alone.
        server.test_client().get("/login")
    # Everything built so far (modules, Dash's registry, the layouts' functions) lives as long
    # as the process: move it out of the cyclic collector's reach, so that a full collection
    # triggered inside a request walks only what requests made (3–5 ms instead of ~100 ms at
    # 1M leads: docs/partner-performance.md, "Python's garbage collector").
    gc.freeze()
    return app


def _serve_the_console_plotly_bundle() -> None:
    """Leave out the full plotly.js bundle that Dash loads on every page (4.8 MB to evaluate):
    the charts use four trace types, and a plotly.js build with only those (1.2 MB,
    ``tools/plotly-bundle/``) is served from ``assets/vendor/`` and loaded by
    ``assets/02-deferred-scripts.js`` after the page's other scripts, so that it is evaluated
    while the renderer waits for the server."""
    dcc._js_dist[:] = [d for d in dcc._js_dist if d.get("namespace") != "plotly"]


def _serve_regenerator_runtime_without_polyfills() -> None:
    """Leave out Babel's polyfill bundle that Dash loads first on every page (99 KB, ~90 ms of
    the main thread per full load at 1M leads): the browsers the console supports have every
    feature it adds but one, the ``regeneratorRuntime`` global that Dash's compiled components
    call. That runtime alone (``assets/vendor/regenerator-runtime-0.14.1.js``, MIT, 25 KB) is
    loaded in its place, right after React (``external_scripts``)."""
    for dependency in _dash_renderer._js_dist_dependencies:  # served locally: no external URLs
        for mode, paths in dependency["relative_package_path"].items():
            dependency["relative_package_path"][mode] = [
                p for p in paths if not p.startswith("deps/polyfill@")
            ]


def _layout() -> Any:
    """The shell for the logged-in user (``/_dash-layout`` is only reachable when logged in)."""
    who = _session_shell()
    if who is None:
        return dbc.Container("Please sign in.")
    return _shell(*who)


def _session_shell() -> tuple[str, str, str] | None:
    """What the shell shows of the session: (role, user name, CSRF token), or None."""
    role = guard.current_role()
    if role is None:
        return None
    return role, current_user.username, auth.csrf_token()


def _shell(role: str, username: str, csrf_token: str) -> Any:
    """The shell (navigation of the role's pages, user badge, logout form, page slot)."""
    return shell(guard.visible_pages(role), username, role, csrf_token)


# --- command line ----------------------------------------------------------------------------


def _fail(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def _engine_or_fail():
    try:
        return get_engine()
    except DatabaseConfigError as exc:
        _fail(str(exc))


def register_cli(server: Flask) -> None:
    from data.erasure import cli as erasure_cli

    erasure_cli.register(server, _engine_or_fail, _fail)
    from data.aggregates import cli as aggregates_cli

    aggregates_cli.register(server, _engine_or_fail, _fail)

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
    @click.option("--force", is_flag=True, help="erase a database that is not a demo database")
    def demo_data(leads: int, seed: int, as_of: str | None, force: bool) -> None:
        """(Re)build the deterministic demo dataset. Erases everything in the database, so it
        refuses a database that holds anything but demo data unless ``--force`` is given."""
        if not force and not erasable_as_demo(_engine_or_fail()):
            _fail(
                "this database holds data that is not demo data; demo-data would erase it "
                "(pass --force to erase it anyway)"
            )
        build_demo_database(leads, seed, as_of)

    @server.cli.command("rollups-warm")
    def rollups_warm() -> None:
        """Bring the standard periods' ranking totals to today for every filter the partners
        page offers (a nightly job after midnight, so no manager's first view pays for it)."""
        from data.rollups import warm_presets

        started = time.perf_counter()
        day = today()
        count = warm_presets(_engine_or_fail(), day)
        click.echo(f"{count} filter(s) brought to {day} in {time.perf_counter() - started:.1f} s")

    @server.cli.command("audit-verify")
    def audit_verify() -> None:
        """Walk the audit log's hash chain; exit status 1 at the first broken link."""
        from data.audit_chain import verify

        with _engine_or_fail().connect() as conn:
            verdict = verify(conn)
        if verdict.ok:
            click.echo(f"audit log intact: {verdict.checked} entries verified")
            return
        where = f"entry {verdict.broken_at}" if verdict.broken_at is not None else "the head"
        _fail(f"audit log broken at {where}: {verdict.reason} ({verdict.checked} entries hold)")

    @server.cli.command("db-roles")
    @click.argument("app_role")
    @click.option("--password-stdin", is_flag=True, help="set the role's password from stdin")
    def db_roles(app_role: str, password_stdin: bool) -> None:
        """PostgreSQL: let APP_ROLE use the tables without owning them (audit log: SELECT and
        INSERT only). Run as the owner after every init-db; docs/security.md."""
        from data.db_roles import RoleSetupError, apply

        password = sys.stdin.readline().rstrip("\n") if password_stdin else None
        try:
            for statement in apply(_engine_or_fail(), app_role, password):
                click.echo(statement)
        except RoleSetupError as exc:
            _fail(str(exc))

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
                create_user(
                    db, username, password, role, actor="cli", min_password=NEW_PASSWORD_MIN
                )
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


def erasable_as_demo(engine: Engine) -> bool:
    """Whether ``demo-data`` may erase this database without ``--force``: the embedded demo
    file, a database built by ``demo-data`` (its ``data_meta`` says so), or one holding no
    staff account and no lead (a new database)."""
    if is_embedded_demo(configured_database_url()):
        return True
    tables = set(inspect(engine).get_table_names())
    if not tables:
        return True
    with engine.connect() as conn:
        if "data_meta" in tables and conn.scalar(
            select(DataMeta.value).where(DataMeta.key == "demo_leads")
        ):
            return True
        for model in (User, Lead):
            if model.__tablename__ in tables and conn.scalar(select(model.id).limit(1)):
                return False
    return True


def _demo_is_built() -> bool:
    engine = get_engine()
    if not schema_is_current(engine):
        return False
    with session_scope(engine) as db:
        return db.scalar(select(DataMeta.value).where(DataMeta.key == "demo_leads")) is not None


def main() -> None:
    """``make run``: build the demo database on first start, then serve."""
    from ops.logs import configure

    configure()
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

"""Shared fixtures.

The database under test is ``TEST_DATABASE_URL`` when set (PostgreSQL in CI), otherwise a fresh
SQLite file. The schema is built once per session by the Alembic migrations; ``db`` empties
every table before each test that asks for it, so tests build exactly the rows they assert on.

Web tests use one Dash app per session (Dash pages register globally) and Flask test clients
logged in through the real ``/login`` form.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import Engine, make_url, text

# Real passwords get werkzeug's full scrypt cost (0.15 s a hash); the suite logs in thousands of
# times with throwaway passwords, so it asks for cheap parameters before data.users is imported.
os.environ.setdefault("PASSWORD_HASH_METHOD", "scrypt:1024:8:1")

from data import db as dbmod
from data.models import Base

ROLE_USERS = {
    "admin": "admin",
    "manager": "manager",
    "privacy_officer": "privacy",
    "marketing": "marketing",
}
TEST_PASSWORD = "test-password"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return _without_commit_flush(url)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


def _without_commit_flush(url: str) -> str:
    """On PostgreSQL, sessions that do not wait for the WAL flush at each commit.

    A test database need not survive a server crash, and the suite commits thousands of
    times: ``synchronous_commit=off`` took a third off the PostgreSQL pass's time on a busy
    machine (63 fixture-heavy tests: 160 s → 108 s). Crash safety of a process (the erasure's
    kill test) is unchanged: that is atomicity, not durability. An ``options`` already in the
    URL is kept.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or "options" in parsed.query:
        return url
    options = {"options": "-c synchronous_commit=off"}
    return parsed.update_query_dict(options).render_as_string(hide_password=False)


#: Set (to a folder) by ``make mutation``: mutmut starts a fresh test session for every mutant,
#: and running the migrations each time was most of a mutant's cost. With it, the SQLite schema
#: the migrations build is kept in that folder (one file per version of ``migrations/``) and
#: each session starts from a copy. Unset (``make test``), every session migrates for real.
SCHEMA_CACHE_ENV = "TEST_SQLITE_SCHEMA_CACHE"


def _migrated_sqlite_template(cache_dir: Path) -> Path:
    """A SQLite file at the migrations' heads, built once per content of ``migrations/``."""
    digest = hashlib.sha256()
    for path in sorted((PROJECT_ROOT / "migrations").rglob("*.py")):
        digest.update(path.relative_to(PROJECT_ROOT).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    template = cache_dir / f"schema-{digest.hexdigest()[:16]}.db"
    if not template.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        building = cache_dir / f"{template.name}.{os.getpid()}.tmp"
        engine = dbmod.make_engine(f"sqlite:///{building}")
        dbmod.upgrade_database(engine)
        engine.dispose()
        os.replace(building, template)  # atomic: a concurrent session sees all of it or none
    return template


def _copy_sqlite(source: Path, target: Path) -> None:
    """Copy through SQLite's backup API (consistent whatever the journal mode)."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


@pytest.fixture(scope="session")
def engine(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The migrated test database; ``get_engine()`` in application code returns it too."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("INSTANCE_PATH", str(tmp_path_factory.mktemp("instance")))
    os.environ.setdefault("SECRET_KEY", "test-secret-key")
    dbmod.reset_engine_cache()
    cache = os.environ.get(SCHEMA_CACHE_ENV)
    copied = False
    if cache and database_url.startswith("sqlite:///"):
        _copy_sqlite(_migrated_sqlite_template(Path(cache)), Path(database_url[10:]))
        copied = True
    engine = dbmod.get_engine()
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    if not copied:
        dbmod.upgrade_database(engine)
    yield engine
    dbmod.reset_engine_cache()


def empty_all_tables(engine: Engine) -> None:
    """Remove every row, audit log included, and restart every id sequence: the connection says
    it is maintenance (``data.audit.MAINTENANCE_OPTION``).

    On PostgreSQL one query first finds the tables that hold rows and the sequences that were
    used; only those are emptied (``DELETE``, children first; the append-only audit log by
    ``TRUNCATE`` with its trigger off for this transaction) and restarted. A ``TRUNCATE`` of
    all 70-odd tables, as before, cost 1.6 s a test at load 7 (a new file per table and index),
    most of the PostgreSQL pass; a test leaves only a few tables written.
    """
    from data.audit import MAINTENANCE_OPTION

    tables = list(reversed(Base.metadata.sorted_tables))
    with engine.begin() as conn:
        conn.execution_options(**{MAINTENANCE_OPTION: True})
        if engine.dialect.name != "postgresql":
            for table in tables:
                conn.execute(table.delete())
            return
        probe = " UNION ALL ".join(
            f'SELECT {i} WHERE EXISTS (SELECT 1 FROM "{t.name}")' for i, t in enumerate(tables)
        )
        written = {row[0] for row in conn.execute(text(probe))}
        for i, table in enumerate(tables):
            if i in written and table.name == "audit_log":  # append-only: no DELETE
                conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_truncate"))
                conn.execute(text("TRUNCATE audit_log"))
                conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_truncate"))
            elif i in written:
                conn.execute(table.delete())
        used = conn.execute(
            text(
                "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) "
                "FROM pg_sequences WHERE last_value IS NOT NULL AND schemaname = current_schema()"
            )
        ).scalars()
        for sequence in used:
            conn.execute(text(f"ALTER SEQUENCE {sequence} RESTART"))


@pytest.fixture
def db(engine: Engine) -> Engine:
    """An empty, migrated database for one test (and empty result caches: their keys carry the
    data version, which a new test's database can share with the last one's)."""
    from data.query_cache import clear_all

    empty_all_tables(engine)
    clear_all()
    return engine


@pytest.fixture(scope="session")
def dash_app(engine: Engine):
    from app import create_dash

    app = create_dash()
    app.server.test_client().get("/login")  # first request: Dash registers its callbacks
    return app


def make_users(engine: Engine) -> None:
    """One active user per role, named as in the demo data, with ``TEST_PASSWORD``."""
    from data.users import create_user

    with dbmod.session_scope(engine) as session:
        for role, username in ROLE_USERS.items():
            create_user(session, username, TEST_PASSWORD, role, actor="test")


def login(client, username: str, password: str = TEST_PASSWORD):
    """Log in through the real form (CSRF token included); returns the POST response."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert token, "login form has no CSRF token"
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
    )


@pytest.fixture
def client_for(db: Engine, dash_app):
    """``client_for(role)`` returns a Flask test client logged in with that role."""
    make_users(db)

    def make(role: str | None):
        client = dash_app.server.test_client()
        if role is not None:
            response = login(client, ROLE_USERS[role])
            assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return make


def callback_payload(dash_app, output_key: str, inputs: list | None = None) -> dict:
    """A minimal ``/_dash-update-component`` body for a registered callback."""
    callback = dash_app.callback_map[output_key]
    outputs = callback["output"] if isinstance(callback["output"], list) else [callback["output"]]
    return {
        "output": output_key,
        "outputs": [{"id": o.component_id, "property": o.component_property} for o in outputs],
        "inputs": inputs or [],
        "changedPropIds": [],
    }


def route(client, dash_app, pathname: str, search: str = "", shown=None) -> str:
    """Render a page through Dash's router callback, as the browser does on navigation
    (``shown``: the shell's in-place marker, see ``components/in_place.py``)."""
    response = route_response(client, dash_app, pathname, search, shown)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def route_response(client, dash_app, pathname: str, search: str = "", shown=None):
    """The router callback's raw response (204 when the page already shows the address)."""
    key = next(k for k in dash_app.callback_map if "_pages_content.children" in k)
    payload = callback_payload(
        dash_app,
        key,
        inputs=[
            {"id": "_pages_location", "property": "pathname", "value": pathname},
            {"id": "_pages_location", "property": "search", "value": search},
        ],
    )
    payload["state"] = [{"id": "shell-shown-view", "property": "data", "value": shown}]
    return client.post("/_dash-update-component", json=payload)


PROJECT_ROOT = Path(__file__).resolve().parent.parent

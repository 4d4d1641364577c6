"""Engine, sessions and schema migration.

``DATABASE_URL`` selects the database; unset, an SQLite file under ``instance/`` is used (the
embedded demo). Configuration problems surface as :class:`DatabaseConfigError` with a one-line
message so that commands can print it instead of a traceback.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

import data.free_text  # noqa: F401  (registers the redacted-twin rule on every session)
from data.aggregates.cells import install_cell_hooks
from data.partner_directory import install_directory_hooks
from data.rollups import install_session_hooks

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"


class DatabaseConfigError(RuntimeError):
    """The database URL is malformed, its driver is missing, or the server cannot be reached."""


class DatabaseUnreachable(DatabaseConfigError):
    """The server cannot be reached (it may come back: the web app answers 503 meanwhile)."""


def instance_path() -> Path:
    """Folder for the demo database and the generated secret key (``INSTANCE_PATH`` overrides);
    created private to its owner."""
    path = Path(os.environ.get("INSTANCE_PATH", PROJECT_ROOT / "instance"))
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def create_private_file(path: Path, content: bytes = b"") -> bool:
    """Create ``path`` with ``content``, readable and writable by its owner only, with no moment
    at which it exists with wider permissions or without its content: the content goes into a
    temporary file opened with mode 600 (``O_EXCL``: never someone else's file), which is then
    hard-linked into place (fails if ``path`` exists). False when ``path`` already existed."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.link(temporary, path)
    except FileExistsError:
        return False
    finally:
        temporary.unlink(missing_ok=True)
    return True


def default_database_url() -> str:
    return f"sqlite:///{instance_path() / 'dashboard.db'}"


def configured_database_url() -> str:
    return os.environ.get("DATABASE_URL") or default_database_url()


def is_embedded_demo(url: str) -> bool:
    """True when the app runs on the default embedded SQLite file (no ``DATABASE_URL``)."""
    return not os.environ.get("DATABASE_URL") and url == default_database_url()


def parse_url(url: str) -> URL:
    """Parse and normalise a URL: ``postgresql://`` uses psycopg 3."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseConfigError(
            "DATABASE_URL is not a valid database URL (expected e.g. "
            "postgresql+psycopg://user@host:5432/db or sqlite:///path.db)"
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseConfigError(
            f"unsupported database {parsed.get_backend_name()!r}: use SQLite or PostgreSQL"
        )
    return parsed


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA cache_size=-200000")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.execute("PRAGMA mmap_size=4294967296")
    cursor.close()


def make_engine(url: str, *, check: bool = True) -> Engine:
    """Create an engine and (by default) prove it can connect, with a one-line error if not."""
    parsed = parse_url(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            database = parsed.database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
                create_private_file(Path(database))  # an empty file is a new database
            engine = create_engine(parsed, connect_args={"timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(
                parsed,
                pool_pre_ping=True,
                connect_args={"connect_timeout": 5},
            )
    except (NoSuchModuleError, ImportError) as exc:
        raise DatabaseConfigError(f"database driver not available: {exc}") from None
    if check:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            where = parsed.render_as_string(hide_password=True)
            raise DatabaseUnreachable(f"cannot connect to {where}: {reason}") from None
    return engine


_ENGINES: dict[str, Engine] = {}


def get_engine() -> Engine:
    """The process-wide engine for the configured URL (one pool per process)."""
    url = configured_database_url()
    if url not in _ENGINES:
        _ENGINES[url] = make_engine(url)
    return _ENGINES[url]


def reset_engine_cache() -> None:
    """Dispose and forget engines (tests switch ``DATABASE_URL`` between databases)."""
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()


#: The application's one session factory. Every write goes through a session it makes, so the
#: rules that must run inside every writer's transaction are installed here, once.
SESSIONS: sessionmaker[Session] = sessionmaker(expire_on_commit=False)
install_session_hooks(SESSIONS)  # partner rollups follow every share and review write
install_directory_hooks(SESSIONS)  # cached partner directories follow every partner edit
install_cell_hooks(SESSIONS)  # the aggregates' per-lead rows follow every lead and review write


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session inside one transaction: committed on success, rolled back on any error."""
    with SESSIONS(bind=engine or get_engine()) as session, session.begin():
        yield session


def alembic_config(engine: Engine):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade_database(engine: Engine, revision: str = "heads") -> None:
    """Bring the schema to ``revision`` with Alembic (the only way the schema is created)."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)
    if revision == "heads":  # the residue scan's indexes follow the models (issue 13)
        from data.erasure.coverage import ensure

        with engine.begin() as conn:
            ensure(conn)


def downgrade_database(engine: Engine, revision: str = "base") -> None:
    from alembic import command

    from data.erasure.coverage import drop

    with engine.begin() as conn:  # derived from the models; rebuilt by the next upgrade
        drop(conn)
    command.downgrade(alembic_config(engine), revision)


def schema_is_current(engine: Engine) -> bool:
    """True when the database is at the latest migration heads."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(engine))
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    return current == set(script.get_heads())


@contextmanager
def read_connection(engine: Engine | None = None) -> Iterator[Connection]:
    """A connection for read-only queries (data functions take a ``Connection``)."""
    with (engine or get_engine()).connect() as conn:
        yield conn

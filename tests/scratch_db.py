"""A scratch database of the same kind as the suite's, for tests that build a schema their own
way (migrations from scratch, an old revision) and must not touch the suite's database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import make_url, text

from data.db import make_engine


@contextmanager
def scratch_database(database_url: str, suffix: str, sqlite_file: Path) -> Iterator[str]:
    """Yield the URL of a new, empty database, dropped afterwards. On PostgreSQL it is named
    after the suite's (``<name>_<suffix>``), so two suites on one server never share it; on
    SQLite it is ``sqlite_file``."""
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{sqlite_file}"
        return
    base = make_url(database_url)
    scratch = f"{base.database}_{suffix}"
    admin = make_engine(database_url).execution_options(isolation_level="AUTOCOMMIT")
    drop = text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
    try:
        with admin.connect() as conn:
            conn.execute(drop)
            conn.execute(text(f'CREATE DATABASE "{scratch}"'))
        yield base.set(database=scratch).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(drop)
        admin.dispose()

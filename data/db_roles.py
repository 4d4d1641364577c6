"""The least-privilege PostgreSQL set-up: the application does not own its tables.

A role that owns ``audit_log`` can ``ALTER TABLE audit_log DISABLE TRIGGER`` and then delete
what it likes; triggers only bind those who do not own the table. So the schema is created
and migrated by one role (the *owner*, which runs ``flask --app app init-db`` and this
command), and the application connects as another (the *app role*), which gets:

* SELECT, INSERT, UPDATE, DELETE on every table, and the sequences they use, except
* ``audit_log``: SELECT and INSERT only (no UPDATE, DELETE, TRUNCATE, and no ownership, hence
  no way to switch its triggers off).

``flask --app app db-roles APP_ROLE`` applies this (idempotently: rerun it after every
``init-db`` so new tables are granted too). The statements are plain SQL, listed by
:func:`grant_statements`, so a DBA can also read and run them by hand.
"""

from __future__ import annotations

import re

from sqlalchemy import Engine, inspect, literal, text

from data.audit import MAINTENANCE_OPTION

ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
APPEND_ONLY_TABLES = ("audit_log",)


class RoleSetupError(ValueError):
    """The set-up cannot run as asked; the message is one line for the console."""


def grant_statements(app_role: str, tables: list[str], database: str) -> list[str]:
    """The SQL that gives ``app_role`` exactly the privileges above (role assumed to exist)."""
    if not ROLE_NAME.match(app_role):
        raise RoleSetupError("the role name must be lower-case letters, digits and underscores")
    role = f'"{app_role}"'
    statements = [
        f'GRANT CONNECT, TEMPORARY ON DATABASE "{database}" TO {role}',
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
    ]
    for table in sorted(tables):
        name = f'"{table}"'
        statements.append(f"REVOKE ALL ON {name} FROM {role}")
        if table in APPEND_ONLY_TABLES:
            statements.append(f"GRANT SELECT, INSERT ON {name} TO {role}")
        else:
            statements.append(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {name} TO {role}")
    return statements


def apply(engine: Engine, app_role: str, password: str | None = None) -> list[str]:
    """Create the app role if needed (LOGIN, with ``password`` when given) and grant it; run as
    the owner. Returns the statements run."""
    if engine.dialect.name != "postgresql":
        raise RoleSetupError("db-roles is for PostgreSQL (SQLite has no roles)")
    with engine.begin() as conn:
        conn.execution_options(**{MAINTENANCE_OPTION: True})
        owner = conn.scalar(text("SELECT current_user"))
        if owner == app_role:
            raise RoleSetupError("the app role must not be the role that owns the tables")
        tables = inspect(conn).get_table_names(schema="public")
        database = conn.scalar(text("SELECT current_database()"))
        statements = grant_statements(app_role, tables, database)
        exists = conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": app_role})
        if not exists:
            statements.insert(0, f'CREATE ROLE "{app_role}" LOGIN')
        if password:
            quoted = literal(password).compile(
                dialect=conn.dialect, compile_kwargs={"literal_binds": True}
            )
            statements.insert(1 if not exists else 0, f'ALTER ROLE "{app_role}" PASSWORD {quoted}')
        for statement in statements:
            conn.exec_driver_sql(statement)  # no bind markers: a ':' in a password is text
    return [
        s if " PASSWORD " not in s else f'ALTER ROLE "{app_role}" PASSWORD …' for s in statements
    ]

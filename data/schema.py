"""Every table of the database on one ``MetaData``, for Alembic and the schema drift test.

Tables are declared in several modules: the core tables in :mod:`data.models`, the privacy
desk's in :mod:`data.privacy.models`, the partner rollups in :mod:`data.rollups`. Each registers
its tables (and extra indexes) on ``Base.metadata`` only when it is imported. Alembic's
autogenerate compares the migrated database with ``target_metadata``, so a metadata that missed
a module would propose dropping that module's tables. :func:`load_all_models` imports every
such module first; ``migrations/env.py`` and ``tests/unit/test_schema_drift.py`` both use it, so
autogenerate and the test see the same schema.

The comparison options live here too (:data:`COMPARE_OPTIONS`) so that ``alembic revision
--autogenerate`` and the drift test judge differences by the same rules.
"""

from __future__ import annotations

import importlib
from typing import Any

from sqlalchemy import MetaData

#: Every module that declares tables or indexes on ``Base.metadata``. A module that adds a
#: table must be listed here, or autogenerate would propose dropping its table.
TABLE_MODULES: tuple[str, ...] = (
    "data.models",
    "data.privacy.models",
    "data.rollups",
    "data.erasure.sweep_runs",
    "data.aggregates.models",
    "data.aggregates.cells",
    "data.consent.models",
)


def _declared(_obj: Any, name: str | None, _type: str, _reflected: bool, _to: Any) -> bool:
    """Leave out the residue scan's derived indexes and tables (``search_index.is_derived``)."""
    from data.erasure.search_index import is_derived

    return name is None or not is_derived(name)


#: Options for Alembic's ``MigrationContext`` when comparing models with a database: compare
#: column types and server defaults too (Alembic compares types by default, not defaults).
COMPARE_OPTIONS: dict[str, Any] = {
    "compare_type": True,
    "compare_server_default": True,
    "include_object": _declared,
}


def load_all_models() -> MetaData:
    """Import every table-declaring module and return the shared metadata, now complete."""
    for name in TABLE_MODULES:
        importlib.import_module(name)
    from data.models import Base

    return Base.metadata

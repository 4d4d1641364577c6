"""De-identified tables as files (CSV, Excel) through the console's one export path.

The CSV is for machines as well as people: ``#`` lines carry the disclosure report, then one
header row, then the long table (one column per dimension, ``value`` empty when suppressed,
``status`` ``released`` or ``suppressed``; margins hold ``Total``). The Excel file holds the
same table as a cross-tab, the long table, and the report (the ``Filters`` sheet).

:func:`export_aggregates` is what the page's download and ``flask export-aggregates`` both call:
build the table, refuse differencing, write the ledger row and the audit entry, return the file.
With ``epsilon`` the table is the differentially private one (``data.aggregates.private``):
the year's budget is checked instead of differencing, and the ``#`` lines carry the mechanism,
ε, the sensitivity and the budget left.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy.orm import Session

from data.aggregates.dimensions import DIMENSIONS, TOTAL
from data.aggregates.ledger import (
    PrivateSpend,
    check_differencing,
    population_of,
    record_export,
    record_refusal,
)
from data.aggregates.private import MECHANISM, PrivateTable, build_private_table
from data.aggregates.table import AggregateTable, Refused, Spec, build_table
from data.export import AGGREGATES, ExportFile, ExportNotAllowed, Format, export_table
from data.roles import can
from data.timeutil import utcnow

#: What a hidden cell shows in the cross-tab and on the page.
HIDDEN_MARK = "x"


def crosstab(table: AggregateTable | PrivateTable) -> pd.DataFrame:
    """The long table as a readable cross-tab: the last dimension across, the others down;
    hidden cells show ``x``. Rows and columns keep the fixed order of the categories."""
    dims = list(table.spec.dims)
    labels = [DIMENSIONS[d].label for d in dims]
    rows: dict[tuple[str, ...], dict[str, object]] = {}
    across: dict[str, None] = {}
    for *cell, value, status in table.frame.itertuples(index=False):
        shown = HIDDEN_MARK if status != "released" else ("" if pd.isna(value) else value)
        if len(dims) == 1:
            rows[tuple(cell)] = {"value": shown}
            continue
        across[cell[-1]] = None
        rows.setdefault(tuple(cell[:-1]), {})[cell[-1]] = shown
    columns = ["value"] if len(dims) == 1 else list(across)
    down = labels if len(dims) == 1 else labels[:-1]
    records = [[*key, *(row.get(c, "") for c in columns)] for key, row in rows.items()]
    return pd.DataFrame(records, columns=[*down, *columns])


def header_lines(table: AggregateTable | PrivateTable) -> dict[str, str]:
    report = table.lines() if isinstance(table, PrivateTable) else table.report.lines(table.spec)
    return {
        **report,
        "margins": f"rows holding {TOTAL!r} sum over that dimension",
        "status": (
            "released (every value noisy)"
            if isinstance(table, PrivateTable)
            else "released or suppressed (value empty)"
        ),
    }


def export_aggregates(
    session: Session,
    spec: Spec,
    *,
    fmt: Format,
    actor: str,
    role: str | None,
    now: datetime | None = None,
    epsilon: float | None = None,
) -> ExportFile:
    """Build, check and record one export (in the caller's transaction); raises
    :class:`Refused` (after rolling that transaction back and auditing the refusal), ``BadSpec`` or
    ``data.export.ExportNotAllowed``. ``epsilon``: the differentially private mode."""
    if not can(role, AGGREGATES.capability):  # before any work, and before any refusal reason
        raise ExportNotAllowed(f"role {role!r} may not export aggregates")
    at = now or utcnow()
    table: AggregateTable | PrivateTable
    private = None
    try:
        if epsilon is None:
            table = build_table(session, spec, now=at)
            population = population_of(session, spec.period)
            check_differencing(session, spec, population)
        else:
            table = build_private_table(session, spec, epsilon, now=at)
            population = population_of(session, spec.period)
            private = PrivateSpend(MECHANISM, table.noise.epsilon, table.budget.year)
    except Refused as refused:
        # end this transaction first: it may hold the budget lock (on SQLite the database's
        # write lock), which the refusal's own audit transaction would wait for
        session.rollback()
        record_refusal(actor, spec, str(refused))
        raise
    file = export_table(
        session,
        AGGREGATES,
        table.frame,
        fmt=fmt,
        header=header_lines(table),
        actor=actor,
        role=role,
        spec={
            **spec.as_dict(),
            **({"dp_epsilon": private.epsilon} if private else {}),
            "result_digest": table.digest,
        },
        now=at,
        extra_sheets={"Cross-tab": crosstab(table)} if fmt == "xlsx" else None,
    )
    record_export(session, table, population, actor=actor, fmt=fmt, at=at, private=private)
    return file

"""``flask --app app export-aggregates --dims province,age_band --measure homeowners
--from 2025-01 --to 2025-12 --out FILE [--k K] [--dp-epsilon E]``: the aggregates page's
export, scripted.

Same code as the page (:func:`data.aggregates.exporting.export_aggregates`): the same table,
ledger, differencing refusal and audit entry (actor ``cli``). The format comes from the file's
extension (``.csv`` or ``.xlsx``). A refusal is one ``Error: …`` line on stderr and exit status 1.
``--dp-epsilon E``: the differentially private counts (``data.aggregates.private``), spending E
of the organisation's yearly budget (refused when it would be exceeded).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click
from flask import Flask

from data.aggregates.dimensions import BadSpec
from data.aggregates.exporting import export_aggregates
from data.aggregates.table import Refused, configured_k, make_spec, parse_month
from data.db import session_scope

CLI_ACTOR = "cli"
CLI_ROLE = "admin"
FORMATS = {".csv": "csv", ".xlsx": "xlsx"}


def register(
    server: Flask, engine_or_fail: Callable[[], Any], fail: Callable[[str], NoReturn]
) -> None:
    """Add the ``export-aggregates`` command to the app's CLI (from ``app.register_cli``)."""

    @server.cli.command("export-aggregates")
    @click.option("--dims", required=True, help="up to three, comma-separated: province,age_band")
    @click.option("--measure", required=True, help="homeowners, leads, hires, completed, …")
    @click.option("--from", "first", required=True, help="first month, YYYY-MM")
    @click.option("--to", "last", required=True, help="last month, YYYY-MM")
    @click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--k", "k", type=int, default=None, help="threshold (default: the setting)")
    @click.option("--round5", is_flag=True, help="round counts to base 5")
    @click.option(
        "--dp-epsilon",
        "epsilon",
        type=float,
        default=None,
        help="differentially private counts with this ε (spent from the yearly budget)",
    )
    def export_aggregates_command(
        dims: str,
        measure: str,
        first: str,
        last: str,
        out: Path,
        k: int | None,
        round5: bool,
        epsilon: float | None,
    ) -> None:
        """Export a de-identified table (docs/aggregates.md) as CSV or Excel."""
        fmt = FORMATS.get(out.suffix.lower())
        if fmt is None:
            fail(f"--out must end in .csv or .xlsx (got {out.name[:60]!r})")
        engine = engine_or_fail()
        try:
            with session_scope(engine) as session:
                spec = make_spec(
                    [d.strip() for d in dims.split(",")],
                    measure.strip(),
                    parse_month(first, "--from"),
                    parse_month(last, "--to"),
                    configured_k(session) if k is None else k,
                    rounded=round5,
                )
                file = export_aggregates(
                    session, spec, fmt=fmt, actor=CLI_ACTOR, role=CLI_ROLE, epsilon=epsilon
                )
        except (BadSpec, Refused) as exc:
            fail(str(exc))
        try:
            out.write_bytes(file.content)
        except OSError as exc:
            fail(f"cannot write {out.name[:60]!r}: {exc.strerror}")
        click.echo(f"wrote {out} ({len(file.content)} bytes, {fmt})")

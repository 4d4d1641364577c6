"""``flask --app app erase --request ID [--dry-run] [--yes]``: the request page's erasure, for
scripted use and for support; and ``flask --app app retention-sweep [--dry-run]``, the nightly
retention job (the ``/retention`` page's sweep).

Same code as the page (:mod:`data.erasure.execute`), same rules: the preview first, then a
confirmation by typing the request number (``--yes`` skips it, ``--dry-run`` stops after the
preview). The actor in the audit log is ``cli``. A refusal is one ``Error: …`` line on stderr
and exit status 1; success prints the receipt.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

import click
from flask import Flask

from data.db import session_scope
from data.erasure.execute import (
    Preview,
    Receipt,
    carry_out,
    load_request,
    preview_request,
)
from data.erasure.retention import DEFAULT_BATCH, preview, sweep
from data.privacy.workflow import Actor, WorkflowError
from data.timeutil import sa_text

CLI_ACTOR = Actor(None, "cli", "admin")


def preview_lines(request_id: int, preview: Preview) -> list[str]:
    lines = [f"Erasure of request #{request_id}: {preview.subject_type} #{preview.subject_id}"]
    for plan in preview.tables:
        what = {
            "delete": "rows deleted",
            "de-identify": "rows kept de-identified",
            "keep": "rows kept as they are",
        }[plan.action]
        line = f"  {plan.table}: {plan.rows} {what}"
        if plan.rows and plan.cleared:
            line += f"; cleared: {', '.join(plan.cleared)}"
        if plan.rows and plan.moved:
            line += f"; moved to the anonymous placeholder: {', '.join(plan.moved)}"
        lines.append(line)
    lines.append(f"  do-not-contact entries: {preview.identifiers} identifier(s)")
    lines.append(f"  partners to tell afterwards: {len(preview.recipients)}")
    lines += [
        f"    #{c.partner_id} {c.business_name} ({c.email}, {c.phone}): {c.shares} lead(s), "
        f"{c.first_shared} to {c.last_shared}"
        for c in preview.recipients
    ]
    lines += [f"  BLOCKED: {b.message}" for b in preview.blockers]
    return lines


def receipt_lines(receipt: Receipt) -> list[str]:
    lines = [
        f"Erased {receipt.subject_type} #{receipt.subject_id} at {sa_text(receipt.erased_at)}"
        f" in {receipt.seconds:.2f} s"
    ]
    for plan in receipt.tables:
        if plan.rows:
            fields = f" ({', '.join(plan.cleared + plan.moved)})" if plan.cleared else ""
            lines.append(f"  {plan.table}: {plan.rows} row(s) {plan.action}{fields}")
    lines.append(
        f"  do-not-contact: {receipt.suppressions_added} added, "
        f"{receipt.suppressions_existing} already listed"
    )
    lines.append(
        "  partners to tell: "
        + (", ".join(f"#{r.partner_id}" for r in receipt.recipients) or "none")
    )
    result = receipt.scan
    verdict = "nothing found" if result.clean else f"{len(result.findings)} finding(s)"
    lines.append(f"  residue scan of {result.columns} text columns in {result.tables} tables:")
    lines[-1] += f" {verdict}"
    lines += [
        f"    {f.table}.{f.column}: {f.rows} row(s) hold the {f.kind}" for f in result.findings
    ]
    return lines


def register(
    server: Flask, engine_or_fail: Callable[[], Any], fail: Callable[[str], NoReturn]
) -> None:
    """Add the ``erase`` command to the app's CLI (called from ``app.register_cli``)."""

    @server.cli.command("erase")
    @click.option("--request", "request_id", required=True, type=click.IntRange(1))
    @click.option("--dry-run", is_flag=True, help="print the preview only")
    @click.option("--yes", is_flag=True, help="do not ask for confirmation")
    def erase(request_id: int, dry_run: bool, yes: bool) -> None:
        """Carry out a verified erasure (or service opt-out) request: preview, confirm, erase."""
        engine = engine_or_fail()
        try:
            with session_scope(engine) as session:
                preview = preview_request(session, request_id)
                version = load_request(session, request_id).version
        except WorkflowError as exc:
            fail(str(exc))
        for line in preview_lines(request_id, preview):
            click.echo(line)
        if preview.blockers:
            fail("the erasure is blocked: " + " ".join(b.message for b in preview.blockers))
        if dry_run:
            return
        if not yes:
            typed = click.prompt("Type the request number to erase", default="", show_default=False)
            if typed.strip().lstrip("#") != str(request_id):
                fail("not confirmed: nothing was erased")
        try:
            receipt = carry_out(request_id, version, CLI_ACTOR, engine=engine)
        except WorkflowError as exc:
            fail(str(exc))
        for line in receipt_lines(receipt):
            click.echo(line)

    @server.cli.command("retention-sweep")
    @click.option("--dry-run", is_flag=True, help="print what is due only")
    @click.option("--batch-size", default=DEFAULT_BATCH, show_default=True, type=click.IntRange(1))
    def retention_sweep(dry_run: bool, batch_size: int) -> None:
        """Apply the retention rules (docs/domain.md §5.9): erase homeowners past retention,
        delete old call recordings, close unverified requests, clear old closed requests."""
        engine = engine_or_fail()
        with session_scope(engine) as session:
            due = preview(session)
        for item in due:
            oldest = f"{item.oldest:%Y-%m-%d}" if item.oldest else "-"
            click.echo(
                f"{item.rule.code}: {item.due} due (older than {item.period} {item.rule.unit}, "
                f"before {item.cutoff:%Y-%m-%d}; oldest {oldest})"
            )
        if dry_run:
            return

        def report(rule: str, done: int, total: int) -> None:
            click.echo(f"  {rule}: {done}/{total}")

        result = sweep(engine, batch_size=batch_size, progress=report)
        done = ", ".join(f"{code} {n}" for code, n in result.done.items())
        click.echo(f"swept in {result.seconds:.1f} s ({result.batches} batches): {done}")
        if result.residue:
            fail(f"the residue scan found {result.residue} finding(s): see the audit log")

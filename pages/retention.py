"""Retention (``/retention``): the rules as settings, what each would clear now, and the sweep
with its progress bar, stop and resume (``data.erasure.retention``; ``docs/erasure.md``).

The sweep is a Dash background callback (``components.background``: a disk cache by default, a
Celery worker on Redis with ``REDIS_URL``), so it runs outside the request that started it. A
background job has no request and no logged-in user, so the click is first taken by an ordinary
callback, which checks the role (behind the guard), opens the run (``data.erasure.sweep_runs``:
one at a time), audits who started it and hands the job a ticket with the chosen rules; the
job's batches are audited as ``system`` with that ticket's id.

Progress lives in the run's row, not in the starting page: the job writes it after every batch
and every ``/retention`` page polls it, so an officer on another worker, or after a reload,
sees the same bar and may stop it. Stop sets the run's flag; the job ends after the batch in
flight (each batch is one transaction), and running the sweep again resumes where it stopped.
"""

from __future__ import annotations

import secrets
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update
from flask_login import current_user

from components.actions import busy, button_with_result, done, refused
from components.background import manager
from components.privacy_common import actor_of
from data import audit
from data.db import configured_database_url, get_engine, make_engine, session_scope
from data.erasure import retention, sweep_runs
from data.privacy import workflow
from data.privacy.validation import ValidationError

P = "retention"

dash.register_page(
    __name__,
    path="/retention",
    name="Retention",
    title="Retention · Partner Operations",
    allowed_roles=["admin", "privacy_officer"],
    id_prefix=P,
)

MAX_BATCH = 1000
POLL_MS = 1500  # how often every open page reads the run's progress


def _settings_form(values: dict[str, int]) -> list[Any]:
    rows = [
        dbc.Row(
            [
                dbc.Label(rule.label, html_for=f"{P}-period-{rule.code}", width=7),
                dbc.Col(
                    dbc.InputGroup(
                        [
                            dbc.Input(
                                id=f"{P}-period-{rule.code}",
                                type="number",
                                min=rule.minimum,
                                max=rule.maximum,
                                step=1,
                                value=values[rule.code],
                            ),
                            dbc.InputGroupText(rule.unit),
                        ],
                        size="sm",
                    ),
                    width=5,
                ),
            ],
            className="mb-2",
        )
        for rule in retention.RULES
    ]
    save = dbc.Button("Save the periods", id=f"{P}-save-submit", size="sm", n_clicks=0)
    return [*rows, button_with_result(save, f"{P}-save-result")]


def layout(**_query: str) -> html.Div:
    with session_scope() as session:
        values = retention.periods(session)
    rules = [{"label": r.label, "value": r.code} for r in retention.RULES]
    return html.Div(
        [
            html.H2("Retention", className="h4"),
            html.P(
                "Personal data is kept only as long as the rules below allow; the sweep erases "
                "what is due through the same code as an erasure request.",
                className="text-muted small",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Card(
                            [dbc.CardHeader("Rules"), dbc.CardBody(_settings_form(values))],
                            className="mb-3 shadow-sm",
                        ),
                        lg=6,
                    ),
                    dbc.Col(
                        dbc.Card(
                            [
                                dbc.CardHeader("What is due now"),
                                dbc.CardBody(
                                    button_with_result(
                                        dbc.Button(
                                            "Preview",
                                            id=f"{P}-preview-submit",
                                            size="sm",
                                            n_clicks=0,
                                        ),
                                        f"{P}-preview-result",
                                    )
                                ),
                            ],
                            className="mb-3 shadow-sm",
                        ),
                        lg=6,
                    ),
                ]
            ),
            dbc.Card(
                [
                    dbc.CardHeader("Sweep"),
                    dbc.CardBody(
                        [
                            dbc.Checklist(
                                id=f"{P}-rules",
                                options=rules,
                                value=[r["value"] for r in rules],
                                className="mb-2",
                            ),
                            dbc.InputGroup(
                                [
                                    dbc.InputGroupText("batch size"),
                                    dbc.Input(
                                        id=f"{P}-batch",
                                        type="number",
                                        min=1,
                                        max=MAX_BATCH,
                                        value=retention.DEFAULT_BATCH,
                                    ),
                                ],
                                size="sm",
                                className="mb-2 w-auto",
                            ),
                            button_with_result(
                                dbc.Button(
                                    "Run the sweep", id=f"{P}-start", color="danger", n_clicks=0
                                ),
                                f"{P}-start-result",
                                dbc.Button(
                                    "Stop",
                                    id=f"{P}-stop",
                                    color="secondary",
                                    outline=True,
                                    n_clicks=0,
                                    disabled=True,
                                ),
                            ),
                            html.Div(id=f"{P}-stop-result"),
                            dbc.Progress(id=f"{P}-progress", value=0, className="my-2"),
                            html.Div(
                                id=f"{P}-status", className="small", **{"aria-live": "polite"}
                            ),
                            html.Div(id=f"{P}-sweep-result", **{"aria-live": "polite"}),
                            dcc.Store(id=f"{P}-ticket"),
                            dcc.Interval(id=f"{P}-poll", interval=POLL_MS),
                        ]
                    ),
                ],
                className="mb-3 shadow-sm",
            ),
        ],
        id=f"{P}-page",
    )


@callback(
    Output(f"{P}-save-result", "children"),
    Input(f"{P}-save-submit", "n_clicks"),
    *(State(f"{P}-period-{r.code}", "value") for r in retention.RULES),
    prevent_initial_call=True,
    running=busy(f"{P}-save-submit"),
)
def save(n_clicks: int, *values: object) -> Any:
    if not n_clicks:
        raise dash.exceptions.PreventUpdate
    chosen = {r.code: v for r, v in zip(retention.RULES, values, strict=True)}
    try:
        with session_scope() as session:
            changed = retention.save_periods(session, actor_of(current_user), chosen)
    except ValidationError as exc:
        fields = {r.code: f"{P}-period-{r.code}" for r in retention.RULES}
        return refused(exc.errors, f"{P}-save-error", fields=fields)
    except workflow.WorkflowError as exc:
        return refused(str(exc), f"{P}-save-error", colour="danger")
    return done(f"Saved: {', '.join(changed)}." if changed else "Nothing changed.")


@callback(
    Output(f"{P}-preview-result", "children"),
    Input(f"{P}-preview-submit", "n_clicks"),
    prevent_initial_call=True,
    running=busy(f"{P}-preview-submit"),
)
def preview(n_clicks: int) -> Any:
    if not n_clicks:
        raise dash.exceptions.PreventUpdate
    try:
        workflow.require_privacy_role(actor_of(current_user))
    except workflow.WorkflowError as exc:
        return refused(str(exc), f"{P}-preview-error", colour="danger")
    with session_scope() as session:
        items = retention.preview(session)
    head = html.Thead(html.Tr([html.Th(t) for t in ("rule", "older than", "due", "oldest")]))
    body = html.Tbody(
        [
            html.Tr(
                [
                    html.Td(i.rule.label),
                    html.Td(f"{i.period} {i.rule.unit} (before {i.cutoff:%Y-%m-%d})"),
                    html.Td(f"{i.due:,}", id=f"{P}-due-{i.rule.code}"),
                    html.Td(f"{i.oldest:%Y-%m-%d}" if i.oldest else "–"),
                ]
            )
            for i in items
        ]
    )
    return html.Div(
        dbc.Table([head, body], size="sm", className="small mb-0", id=f"{P}-preview-table"),
        className="action-result mt-2",
    )


@callback(
    Output(f"{P}-ticket", "data"),
    Output(f"{P}-start-result", "children"),
    Input(f"{P}-start", "n_clicks"),
    State(f"{P}-rules", "value"),
    State(f"{P}-batch", "value"),
    prevent_initial_call=True,
)
def start(n_clicks: int, rules: object, batch: object) -> tuple[Any, Any]:
    """Check, audit who starts the sweep, and hand the background job its ticket."""
    if not n_clicks:
        raise dash.exceptions.PreventUpdate
    actor = actor_of(current_user)
    try:
        workflow.require_privacy_role(actor)
        chosen, size = _clean(rules, batch)
        run = sweep_runs.begin(get_engine(), actor.username)
    except (workflow.WorkflowError, sweep_runs.SweepRunning) as exc:
        return no_update, refused(str(exc), f"{P}-start-error", colour="danger")
    ticket = {"id": secrets.token_hex(8), "rules": chosen, "batch": size, "run": run}
    audit.record_read(actor.username, "retention.sweep.start", "retention", ticket["id"], ticket)
    return ticket, None


def _clean(rules: object, batch: object) -> tuple[list[str], int]:
    """The ticket's content, checked again in the job (a browser can send anything)."""
    chosen = [r for r in rules if r in retention.RULE_BY_CODE] if isinstance(rules, list) else []
    if not chosen:
        raise workflow.TransitionRefused("Choose at least one rule to sweep.")
    try:
        size = int(str(batch))
    except ValueError:
        raise workflow.TransitionRefused(f"Batch size: 1 to {MAX_BATCH}.") from None
    if not 1 <= size <= MAX_BATCH:
        raise workflow.TransitionRefused(f"Batch size: 1 to {MAX_BATCH}.")
    return chosen, size


@callback(
    Output(f"{P}-sweep-result", "children"),
    Input(f"{P}-ticket", "data"),
    background=True,
    manager=manager(),
    prevent_initial_call=True,
)
def sweep(ticket: object) -> Any:
    """The sweep itself, in a background job: batches, each reported to the run's row, until
    done or stopped (from any page)."""
    if not isinstance(ticket, dict) or not isinstance(ticket.get("run"), int):
        raise dash.exceptions.PreventUpdate
    run = ticket["run"]
    engine = make_engine(configured_database_url())  # the job's own pool (another process)
    try:
        chosen, size = _clean(ticket.get("rules"), ticket.get("batch"))
        result = retention.sweep(
            engine,
            rules=tuple(chosen),
            batch_size=size,
            progress=lambda rule, handled, total: sweep_runs.report(
                engine, run, rule, handled, total
            ),
            should_stop=lambda: sweep_runs.stop_requested(engine, run),
        )
    except Exception as exc:
        sweep_runs.finish(engine, run, "failed", {"error": type(exc).__name__})
        engine.dispose()
        if isinstance(exc, workflow.WorkflowError):
            return refused(str(exc), f"{P}-sweep-error", colour="danger")
        raise
    summary = {
        "done": result.done,
        "batches": result.batches,
        "seconds": round(result.seconds, 1),
        "residue": result.residue,
    }
    sweep_runs.finish(engine, run, "stopped" if result.stopped else "done", summary)
    engine.dispose()
    counts = ", ".join(f"{code}: {n:,}" for code, n in result.done.items())
    verb = "stopped" if result.stopped else "finished"
    text = f"Sweep {verb} in {result.seconds:.1f} s ({result.batches} batches). {counts}."
    if result.residue:
        found = f"The residue scan found {result.residue} finding(s)."
        return refused(f"{text} {found}", colour="danger")
    return done(text, f"{P}-sweep-done")


@callback(
    Output(f"{P}-progress", "value"),
    Output(f"{P}-progress", "label"),
    Output(f"{P}-status", "children"),
    Output(f"{P}-start", "disabled"),
    Output(f"{P}-stop", "disabled"),
    Input(f"{P}-poll", "n_intervals"),
)
def show_run(_tick: object) -> tuple[Any, ...]:
    """Every open page, every :data:`POLL_MS`: the run's progress as the job last wrote it."""
    try:
        workflow.require_privacy_role(actor_of(current_user))
    except workflow.WorkflowError:
        raise dash.exceptions.PreventUpdate from None
    run = sweep_runs.current(get_engine())
    if run is None:
        return 0, "", "No sweep has run yet.", False, True
    label = f"{run.percent} %" if run.running else ""
    return run.percent, label, run.describe(), run.running, not run.running


@callback(
    Output(f"{P}-stop-result", "children"),
    Input(f"{P}-stop", "n_clicks"),
    prevent_initial_call=True,
    running=busy(f"{P}-stop"),
)
def stop(n_clicks: int) -> Any:
    """Ask the running sweep (started here or anywhere) to stop after its current batch."""
    if not n_clicks:
        raise dash.exceptions.PreventUpdate
    actor = actor_of(current_user)
    try:
        workflow.require_privacy_role(actor)
    except workflow.WorkflowError as exc:
        return refused(str(exc), f"{P}-stop-error", colour="danger")
    if not sweep_runs.request_stop(get_engine()):
        return done("No sweep is running.")
    audit.record_read(actor.username, "retention.sweep.stop", "retention", None, {})
    return done("Stopping after the batch in flight.", f"{P}-stopping")

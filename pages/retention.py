"""Retention (``/retention``): the rules as settings, what each would clear now, and the sweep
with its progress bar, stop and resume (``data.erasure.retention``; ``docs/erasure.md``).

The sweep is a Dash background callback (``components.background``: a disk cache by default, a
Celery worker on Redis with ``REDIS_URL``), so it runs outside the request that started it and
the page polls its progress. A background job has no request and no logged-in user, so the
click is first taken by an ordinary callback, which checks the role (behind the guard), audits
who started the sweep and hands the job a ticket with the chosen rules; the job's batches are
audited as ``system`` with that ticket's id. Stop cancels the job: the batch in flight rolls
back (each batch is one transaction), and running the sweep again resumes where it stopped.
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
from data.db import configured_database_url, make_engine, session_scope
from data.erasure import retention
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
                            dbc.Progress(id=f"{P}-progress", value=0, className="my-2"),
                            html.Div(id=f"{P}-sweep-result", **{"aria-live": "polite"}),
                            dcc.Store(id=f"{P}-ticket"),
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
    except workflow.WorkflowError as exc:
        return no_update, refused(str(exc), f"{P}-start-error", colour="danger")
    ticket = {"id": secrets.token_hex(8), "rules": chosen, "batch": size}
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
    running=[
        (Output(f"{P}-start", "disabled"), True, False),
        (Output(f"{P}-stop", "disabled"), False, True),
    ],
    cancel=[Input(f"{P}-stop", "n_clicks")],
    progress=[Output(f"{P}-progress", "value"), Output(f"{P}-progress", "label")],
    prevent_initial_call=True,
)
def sweep(set_progress: Any, ticket: object) -> Any:
    """The sweep itself, in a background job: batches with progress until done or stopped."""
    if not isinstance(ticket, dict):
        raise dash.exceptions.PreventUpdate
    try:
        chosen, size = _clean(ticket.get("rules"), ticket.get("batch"))
    except workflow.WorkflowError as exc:
        return refused(str(exc), f"{P}-sweep-error", colour="danger")
    engine = make_engine(configured_database_url())  # the job's own pool (another process)
    set_progress((0, "starting"))

    def report(rule: str, handled: int, total: int) -> None:
        percent = round(100 * handled / total) if total else 100
        set_progress((percent, f"{handled:,} / {total:,} ({rule})"))

    try:
        result = retention.sweep(engine, rules=tuple(chosen), batch_size=size, progress=report)
    finally:
        engine.dispose()
    set_progress((100, "done"))
    summary = ", ".join(f"{code}: {n:,}" for code, n in result.done.items())
    text = f"Sweep finished in {result.seconds:.1f} s ({result.batches} batches). {summary}."
    if result.residue:
        found = f"The residue scan found {result.residue} finding(s)."
        return refused(f"{text} {found}", colour="danger")
    return done(text, f"{P}-sweep-done")

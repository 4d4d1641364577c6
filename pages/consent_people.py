"""Consent, people (``/consent/people``): one person's consent history, the compliance
monitor's violation lists, and the marketing suppression list download.

Privacy officers and admins only (``data.roles`` ``see_people``): the page declares those roles,
so the guard answers 403 to anyone else calling a callback whose outputs carry this page's
prefix (``consent-people-``), and each callback checks the capability again before reading.
Lookups and downloads are audited (ids and counts, never the typed value).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, callback, dcc, html, no_update
from flask_login import current_user

from components.actions import busy, button_with_result, done, refused
from components.consent_figures import CHANNEL_LABELS
from components.violation_list import violations_table
from data import audit
from data.compliance.common import Window
from data.compliance.monitor import RULE_BY_CODE, RULES, violation_list
from data.consent import people
from data.db import session_scope
from data.export import SUPPRESSION_LIST, export_table
from data.identifiers import national_form
from data.privacy.optouts import PURPOSE_LABELS
from data.timeutil import sa_text, start_of, today, utcnow
from guard import current_role, current_role_can

P = "consent-people"

dash.register_page(
    __name__,
    path="/consent/people",
    name="Consent: people",
    title="Consent, people · Partner Operations",
    allowed_roles=["admin", "privacy_officer"],
    id_prefix=P,
)

LIST_DAYS = {"30": "Last 30 days", "90": "Last 90 days", "365": "Last 365 days"}


def _card(title: str, body: list[Any], id_: str) -> dbc.Card:
    return dbc.Card([dbc.CardHeader(title), dbc.CardBody(body)], className="mb-3 shadow-sm",
                    id=id_)  # fmt: skip


def layout(**_params: Any) -> html.Div:
    lookup = [
        dbc.InputGroup(
            [
                dbc.Input(id=f"{P}-lookup", placeholder="email or phone, e.g. 082 555 0101",
                          type="text", maxLength=254, debounce=False),
                dbc.Button("Find", id=f"{P}-find", n_clicks=0),
            ],
            size="sm",
        ),
        html.Div(id=f"{P}-found", className="mt-3", **{"aria-live": "polite"}),
    ]  # fmt: skip
    rule_options = [{"label": r.label, "value": r.code} for r in RULES]
    violations = [
        dbc.Row(
            [
                dbc.Col(dcc.Dropdown(id=f"{P}-rule", options=rule_options,
                                     value=RULES[0].code, clearable=False), lg=7),
                dbc.Col(dcc.Dropdown(id=f"{P}-days", value="90", clearable=False,
                                     options=[{"label": v, "value": k}
                                              for k, v in LIST_DAYS.items()]), lg=3),
            ],
            className="g-2",
        ),
        html.Div(id=f"{P}-violations", className="mt-3"),
    ]  # fmt: skip
    download = [
        html.P(
            "Everyone who must not receive marketing: the do-not-contact entries (keyed "
            "digests, no identifiers) and, for people not erased, each marketing purpose they "
            "withdrew, with their contact details. Every download is recorded in the audit log.",
            className="small text-muted",
        ),
        button_with_result(
            dbc.Button("Download the suppression list (CSV)", id=f"{P}-download-button",
                       n_clicks=0, size="sm"),
            f"{P}-download-result",
        ),
        dcc.Download(id=f"{P}-download"),
    ]  # fmt: skip
    return html.Div(
        [
            html.H2("Consent: people", className="h4"),
            dcc.Link("← Consent coverage and monitor", href="/consent", className="small"),
            dbc.Row(
                [
                    dbc.Col(_card("Find a person", lookup, f"{P}-lookup-card"), lg=7),
                    dbc.Col(_card("Marketing suppression list", download, f"{P}-list-card"),
                            lg=5),
                ],
                className="mt-3",
            ),
            _card("Violations, person by person", violations, f"{P}-violations-card"),
        ],
        id=f"{P}-page",
    )  # fmt: skip


def history_table(df: pd.DataFrame, id_: str) -> Any:
    if df.empty:
        return html.P("No consent recorded (never asked).", className="text-muted small")
    head = html.Thead(html.Tr([html.Th(h) for h in (
        "when", "purpose", "decision", "channel", "evidence", "")]))  # fmt: skip
    body = html.Tbody(
        [
            html.Tr(
                [
                    html.Td(sa_text(pd.Timestamp(r.at).to_pydatetime())),
                    html.Td(PURPOSE_LABELS.get(r.purpose, r.purpose)),
                    html.Td("granted" if r.granted else "withdrawn"),
                    html.Td(CHANNEL_LABELS.get(r.source, r.source)),
                    html.Td(r.evidence or "–"),
                    html.Td(dbc.Badge("current", color="primary") if r.current else ""),
                ],
                className="" if r.current else "text-muted",
            )
            for r in df.itertuples()
        ]
    )
    return dbc.Table([head, body], size="sm", className="small", id=id_)


def _person_block(person: people.Person, history: pd.DataFrame) -> Any:
    phone = national_form(person.phone) if person.phone else "–"
    kind = person.subject_type
    return html.Div(
        [
            html.H5(f"{person.name} ({kind} #{person.subject_id})", className="h6"),
            html.P(f"{person.email or '–'} · {phone}", className="small mb-2"),
            history_table(history, f"{P}-history-{person.subject_type}-{person.subject_id}"),
        ],
        className="mb-3",
    )


@callback(
    Output(f"{P}-found", "children"),
    Input(f"{P}-find", "n_clicks"),
    Input(f"{P}-lookup", "n_submit"),
    State(f"{P}-lookup", "value"),
    prevent_initial_call=True,
    running=busy(f"{P}-find"),
)
def find(_clicks: Any, _submits: Any, text: Any) -> Any:
    """Look a person up by email or phone and show each match's full consent history."""
    if not current_role_can("see_people"):
        return refused("Your role does not see individual people.", colour="danger")
    role = current_role()
    try:
        with session_scope() as session:
            found = people.find_people(session, role, text)
            histories = [
                people.consent_history(session, role, p.subject_type, p.subject_id) for p in found
            ]
    except people.BadLookup as exc:
        return refused(str(exc), f"{P}-lookup-error")
    audit.record_read(
        current_user.username,
        "consent.lookup",
        "consent",
        None,
        {"matches": [f"{p.subject_type}:{p.subject_id}" for p in found]},
    )
    if not found:
        return html.Div(
            dbc.Alert("Nobody found with that email address or phone number.", color="info",
                      className="mb-0 py-2"),
            id=f"{P}-nobody",
        )  # fmt: skip
    return [_person_block(p, h) for p, h in zip(found, histories, strict=True)]


@callback(
    Output(f"{P}-violations", "children"),
    Input(f"{P}-rule", "value"),
    Input(f"{P}-days", "value"),
)
def violations(code: Any, days: Any) -> Any:
    """One rule's violations, newest first (at most ``monitor.LIST_LIMIT``)."""
    if not current_role_can("see_people"):
        return refused("Your role does not see individual people.", colour="danger")
    if not all(isinstance(v, str) for v in (code, days)):
        return refused("Choose a rule and a period from the lists.")
    if code not in RULE_BY_CODE or days not in LIST_DAYS:
        return refused("Choose a rule and a period from the lists.")
    end = today()
    start = end - timedelta(days=int(days) - 1)
    window = Window(start_of(start), start_of(end + timedelta(days=1)), utcnow())
    with session_scope() as session:
        found = violation_list(session, code, window)
    note = "" if RULE_BY_CODE[code].in_window else " (counted now, whatever the period)"
    return [
        html.P(f"{len(found):,} shown{note}.", className="small text-muted"),
        violations_table(found, P),
    ]


@callback(
    Output(f"{P}-download", "data"),
    Output(f"{P}-download-result", "children"),
    Input(f"{P}-download-button", "n_clicks"),
    prevent_initial_call=True,
    running=busy(f"{P}-download-button"),
)
def download(n_clicks: Any) -> tuple[Any, Any]:
    """The suppression list through the one export path (audited in the same transaction)."""
    if not n_clicks:
        raise dash.exceptions.PreventUpdate
    role = current_role()
    if not current_role_can(SUPPRESSION_LIST.capability):
        return no_update, refused("Your role cannot download the suppression list.",
                                  colour="danger")  # fmt: skip
    with session_scope() as session:
        frame = people.suppression_list(session, role)
        file = export_table(
            session,
            SUPPRESSION_LIST,
            frame,
            fmt="csv",
            header={"list": "marketing suppression list"},
            actor=current_user.username,
            role=role,
        )
    data = dcc.send_bytes(file.content, file.filename, type=file.mime)
    return data, done(f"Downloaded {len(frame):,} rows.", f"{P}-download-done")

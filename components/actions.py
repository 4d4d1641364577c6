"""Shared action components: how every form and action button of the console behaves.

One behaviour for every action, so that pages stay thin and a new page gets it for free:

* **In flight**: the button is disabled while its callback runs (:func:`busy`, Dash's
  ``running``), so a second click cannot be sent by the page; the one-time form token
  (:func:`token_store`, ``data.submissions``) stops the clicks that got through anyway.
* **Where the eye is**: the result of an action — success, refusal or every field error — is
  rendered in the slot right under the button that caused it (:func:`button_with_result`),
  as :func:`done` or :func:`refused`. Both carry the ``action-result`` class; the client script
  ``assets/03-actions.js`` scrolls each new result into view and outlines the fields it names.
* **Plain words**: :func:`refused` lists the messages only, never field codes ("Enter the number
  of days, from 1 to 30.", not "days: days is required").
* **Reset after success**: pages return :func:`new_token` and empty values for their fields.
* **Show, then confirm**: destructive and bulk actions first show exactly what they will do
  (:func:`confirm_panel`: the list of what will change) and act only on its confirm button.

Pure layout: no database access, no callbacks (the client script needs none).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dash_bootstrap_components as dbc
from dash import Output, dcc, html

from data.submissions import new_token

__all__ = [
    "busy",
    "button_with_result",
    "clipped_text",
    "confirm_panel",
    "done",
    "new_token",
    "plain",
    "refused",
    "result_slot",
    "token_store",
]

CLIP_CHARS = 600
CLIP_LINES = 8


def busy(button_id: str) -> list[tuple[Output, bool, bool]]:
    """``running=`` for a callback: its button is disabled until the answer arrives."""
    return [(Output(button_id, "disabled"), True, False)]


def token_store(store_id: str) -> dcc.Store:
    """The one-time submission token of a create form (a fresh one per render and reset)."""
    return dcc.Store(id=store_id, data=new_token())


def result_slot(result_id: str, class_name: str = "") -> html.Div:
    """Where an action's callback puts its :func:`done` or :func:`refused` (read out by screen
    readers when it changes); ``class_name`` places it (margins, inline beside the buttons)."""
    return html.Div(
        id=result_id,
        className=f"action-result-slot {class_name}".strip(),
        **{"aria-live": "polite"},
    )


def button_with_result(button: Any, result_id: str, *extra: Any) -> html.Div:
    """A button (and any buttons beside it) with its result slot directly under it."""
    return html.Div(
        [
            html.Div([button, *extra], className="d-flex flex-wrap gap-2 align-items-center"),
            result_slot(result_id),
        ],
        className="mt-2",
    )


def plain(message: str) -> str:
    """A message as a sentence: capital first letter, final full stop."""
    text = message.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def done(text: str, id_: str | None = None, link: Any = None) -> html.Div:
    """A success result: what was done, with a link to what was made when there is one."""
    body: list[Any] = [text]
    if link is not None:
        body += [" ", link]
    return _result(dbc.Alert(body, color="success", className="mb-0 py-2"), id_, ())


def refused(
    problem: str | Mapping[str, str],
    id_: str | None = None,
    *,
    fields: Mapping[str, str] | None = None,
    colour: str = "warning",
    extra: Any = None,
) -> html.Div:
    """A refusal: one message, or every field error of a form as a list of plain sentences.

    ``fields`` maps the error keys to the ids of their controls: the client script outlines
    those controls (``is-invalid``) so each error is also marked at its field.
    """
    if isinstance(problem, str):
        body: list[Any] = [plain(problem)]
        keys: Sequence[str] = ()
    else:
        messages = [plain(m) for m in problem.values()]
        body = (
            [html.Div(messages[0])]
            if len(messages) == 1
            else [html.Ul([html.Li(m) for m in messages], className="mb-0 ps-3")]
        )
        keys = list(problem)
    if extra is not None:
        body += [" ", extra]
    marked = [fields[k] for k in keys if fields and k in fields]
    return _result(dbc.Alert(body, color=colour, className="mb-0 py-2"), id_, marked)


def _result(alert: dbc.Alert, id_: str | None, marked: Sequence[str]) -> html.Div:
    kwargs: dict[str, Any] = {"id": id_} if id_ else {}
    return html.Div(
        alert,
        className="action-result mt-2",
        role="status",
        **{"data-fields": " ".join(marked)},
        **kwargs,
    )


def confirm_panel(
    id_prefix: str,
    title: str,
    items: Sequence[Any],
    confirm_label: str,
    *,
    note: str | None = None,
    colour: str = "danger",
) -> html.Div:
    """What a destructive or bulk action will do, item by item, with its confirm and cancel
    buttons (``{id_prefix}-confirm`` / ``{id_prefix}-cancel``) and their result slot."""
    return html.Div(
        dbc.Alert(
            [
                html.Div(title, className="fw-semibold"),
                html.Ul([html.Li(i) for i in items], id=f"{id_prefix}-list", className="mb-2"),
                html.P(note, className="small mb-2") if note else None,
                html.Div(
                    [
                        dbc.Button(
                            confirm_label,
                            id=f"{id_prefix}-confirm",
                            color=colour,
                            size="sm",
                            n_clicks=0,
                        ),
                        dbc.Button(
                            "Cancel",
                            id=f"{id_prefix}-cancel",
                            color="secondary",
                            outline=True,
                            size="sm",
                            n_clicks=0,
                        ),
                    ],
                    className="d-flex gap-2",
                ),
            ],
            color="light",
            className="border mb-0",
        ),
        id=f"{id_prefix}-panel",
        className="action-result mt-2",
        **{"data-fields": ""},
    )


def clipped_text(text: str, id_: str | None = None, *, limit: int = CLIP_CHARS) -> Any:
    """Long free text clipped to its start, the rest behind "show more" (a native
    ``<details>``, so it works without a callback and keeps the page short)."""
    lines = text.splitlines()
    kwargs: dict[str, Any] = {"id": id_} if id_ else {}
    if len(text) <= limit and len(lines) <= CLIP_LINES:
        return html.Div(text, className="long-text", style=PRE_WRAP, **kwargs)
    head = "\n".join(lines[:CLIP_LINES])[:limit].rstrip()
    return html.Div(
        [
            html.Div(head + " …", style=PRE_WRAP, className="clipped-head"),
            html.Details(
                [
                    html.Summary(f"Show more ({len(text):,} characters)", className="small"),
                    html.Div(text, style=PRE_WRAP, className="clipped-full"),
                ]
            ),
        ],
        className="long-text clipped",
        **kwargs,
    )


PRE_WRAP = {"whiteSpace": "pre-wrap", "overflowWrap": "anywhere"}

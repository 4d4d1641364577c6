"""Layout pieces shared by the privacy pages (queue, intake, request, disclosures).

Everything here renders text through Dash components, which React escapes: free text typed by
requesters or officers (``<script>`` included) is shown as text, never as markup. No database
access: pages pass in what ``data/`` returned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import dash_bootstrap_components as dbc
from dash import html

STATUS_COLOURS = {
    "received": "primary",
    "verifying": "info",
    "in_progress": "warning",
    "completed": "success",
    "denied": "danger",
    "unverified": "secondary",
    "duplicate": "secondary",
}
STATUS_LABELS = {
    "received": "Received",
    "verifying": "Verifying identity",
    "in_progress": "In progress (verified)",
    "completed": "Completed",
    "denied": "Denied",
    "unverified": "Closed: unverified",
    "duplicate": "Duplicate",
}


def humanise(value: object) -> str:
    return str(value).replace("_", " ") if value is not None else ""


def status_badge(status: str, id_: str | None = None) -> dbc.Badge:
    kwargs: dict[str, Any] = {"id": id_} if id_ else {}
    return dbc.Badge(
        STATUS_LABELS.get(status, humanise(status)),
        color=STATUS_COLOURS.get(status, "secondary"),
        className="me-2",
        **kwargs,
    )


def days_left_span(label: str, css_class: str, id_: str | None = None) -> html.Span:
    """The clock in the colours of docs/domain.md (classes defined in assets/02-app.css)."""
    kwargs: dict[str, Any] = {"id": id_} if id_ else {}
    return html.Span(label, className=css_class, **kwargs)


def options(mapping: Mapping[str, str] | Iterable[str]) -> list[dict[str, str]]:
    """Dropdown options from a value → label mapping (or plain values)."""
    if isinstance(mapping, Mapping):
        return [{"label": label, "value": value} for value, label in mapping.items()]
    return [{"label": humanise(v), "value": v} for v in mapping]


def form_row(label: str, control: Any, field_id: str, help_text: str | None = None) -> dbc.Row:
    """A labelled form control; ``field_id`` is the control's id (for the label's ``for``)."""
    body = [control]
    if help_text:
        body.append(dbc.FormText(help_text))
    return dbc.Row(
        [dbc.Label(label, html_for=field_id, width=3), dbc.Col(body, width=9)],
        className="mb-2",
    )


def field_errors(errors: Mapping[str, str], id_: str | None = None) -> dbc.Alert:
    """Every field error of a refused form, in one alert."""
    kwargs: dict[str, Any] = {"id": id_} if id_ else {}
    return dbc.Alert(
        [
            html.Div("Please correct the following:", className="fw-semibold"),
            html.Ul([html.Li(f"{humanise(k)}: {v}") for k, v in errors.items()], className="mb-0"),
        ],
        color="warning",
        className="mt-2",
        **kwargs,
    )


def message(text: str, colour: str = "success", id_: str | None = None, link=None) -> dbc.Alert:
    kwargs: dict[str, Any] = {"id": id_} if id_ else {}
    body: list[Any] = [text]
    if link is not None:
        body += [" ", link]
    return dbc.Alert(body, color=colour, className="mt-2", **kwargs)


def candidate_options(candidates: Sequence[Any], *, include_none: bool = True) -> list[dict]:
    """Radio options for the subjects a request may be about, with why each one matches."""
    out = [
        {
            "label": " — ".join(
                p
                for p in (
                    c.label,
                    " ".join(x for x in (c.masked_email, c.masked_phone) if x),
                    c.place,
                    "why: " + ", ".join(c.reasons),
                )
                if p
            ),
            "value": c.key,
        }
        for c in candidates
    ]
    if include_none:
        out.append({"label": "No record found: none of these is the requester", "value": "none"})
    return out


def simple_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[tuple[str, str]],
    id_: str | None = None,
    empty: str = "Nothing to show.",
) -> Any:
    """A small read-only table (summary blocks); values are rendered as text."""
    if not rows:
        return html.P(empty, className="text-muted", id=id_) if id_ else html.P(empty)
    head = html.Thead(html.Tr([html.Th(label) for _, label in columns]))
    body = html.Tbody(
        [html.Tr([html.Td(_cell(row.get(key))) for key, _ in columns]) for row in rows]
    )
    kwargs: dict[str, Any] = {"id": id_} if id_ else {}
    return dbc.Table(
        [head, body], bordered=False, hover=True, size="sm", className="mb-0", **kwargs
    )


def _cell(value: Any) -> Any:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.1f}"
    return value if not isinstance(value, dict | list) else str(value)


def actor_of(user: Any) -> Any:
    """The data layer's ``Actor`` for the logged-in user (Flask-Login's ``current_user``)."""
    from data.privacy.workflow import Actor

    return Actor(int(user.id), str(user.username), str(user.role))

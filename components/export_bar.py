"""The export bar of every page that exports: one button per format, the download, the result.

Every export of the console goes through ``data.export.export_table`` (checked and logged
there); this module is the one place that draws its buttons and reads which one was clicked,
so the pages agree on labels, ids and behaviour:

* ids are ``<prefix>-export-<fmt>`` for the buttons, ``<prefix>-download`` for the file and
  ``<prefix>-export-result`` for the line that says what was exported (or why not);
* the buttons are disabled while the file is built (:func:`running`), so a double click makes
  one file and one audit entry, not two.

Pure layout and small callback helpers: the permission check stays in each page's callback,
on the server, before anything is read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, dcc, html

from components.actions import result_slot
from data.export import ExportFile, Format

LABELS: dict[str, str] = {"csv": "Export CSV", "xlsx": "Export Excel"}
BOTH: tuple[Format, ...] = ("csv", "xlsx")
CSV_ONLY: tuple[Format, ...] = ("csv",)


def _button_id(prefix: str, fmt: Format) -> str:
    return f"{prefix}-export-{fmt}"


def export_buttons(prefix: str, formats: Sequence[Format] = BOTH) -> list[Any]:
    """The buttons and the (invisible) download, for a page that places the result elsewhere."""
    buttons: list[Any] = [
        dbc.Button(
            LABELS[fmt],
            id=_button_id(prefix, fmt),
            size="sm",
            color="secondary",
            className="ms-2" if i else "",
        )
        for i, fmt in enumerate(formats)
    ]
    return [*buttons, dcc.Download(id=f"{prefix}-download")]


INLINE = "d-inline-block ms-2 small"  # the result beside the buttons
BELOW = "mt-2 small"  # the result under them (room for a refusal's alert)


def export_result(prefix: str, class_name: str = INLINE) -> html.Div:
    """Where the export callback says what it exported, or why it did not."""
    return result_slot(f"{prefix}-export-result", class_name)


def export_bar(
    prefix: str, formats: Sequence[Format] = BOTH, *, result_class: str = INLINE
) -> html.Div:
    """Buttons, download and result."""
    return html.Div(
        [*export_buttons(prefix, formats), export_result(prefix, result_class)], className="mb-2"
    )


def outputs(prefix: str) -> list[Output]:
    """The export callback's outputs: the file, then the result line."""
    return [Output(f"{prefix}-download", "data"), Output(f"{prefix}-export-result", "children")]


def inputs(prefix: str, formats: Sequence[Format] = BOTH) -> list[Input]:
    return [Input(_button_id(prefix, fmt), "n_clicks") for fmt in formats]


def running(prefix: str, formats: Sequence[Format] = BOTH) -> list[tuple[Output, bool, bool]]:
    """``running=`` for the export callback: every button is disabled until the file is sent."""
    return [(Output(_button_id(prefix, fmt), "disabled"), True, False) for fmt in formats]


def clicked_format(prefix: str, clicks: Sequence[Any], formats: Sequence[Format] = BOTH) -> Format:
    """The format of the button that fired; no update for a render that clicked nothing."""
    by_id = {_button_id(prefix, fmt): fmt for fmt in formats}
    fmt = by_id.get(str(dash.ctx.triggered_id))
    if fmt is None or not any(clicks):
        raise dash.exceptions.PreventUpdate
    return fmt


def send(file: ExportFile) -> dict[str, Any]:
    """The built file as the download's data."""
    return dcc.send_bytes(file.content, file.filename, type=file.mime)

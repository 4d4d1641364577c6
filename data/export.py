"""Table exports (CSV and Excel) that carry the filters they were made with.

A file that leaves the console loses its context: whoever opens it later must be able to tell
which period, trade or province it covers without asking. So every export writes its filters
(and when it was generated) into the file itself:

* CSV: a short preamble of ``# key,value`` rows, one blank row, then the table. Use
  :func:`read_csv_export` (or ``pandas.read_csv(..., skiprows=n)``) to read it back.
* Excel: the table on its own sheet starting at A1 (so the rows can be compared with the grid),
  and a second sheet, ``Filters``, listing the filters.

Both formats neutralise spreadsheet formula injection: a text cell (column headers and filter
lines included) starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return, also after
leading spaces or line breaks, is prefixed with an apostrophe (OWASP "CSV injection"), because
business names and comments are typed by outsiders.

This is the console's one export path: a page builds the DataFrame and the header lines, and
:func:`export_table` checks the role (``data.roles``), builds the file, writes the audit entry
and returns an :class:`ExportFile` (bytes, file name, MIME type) for the page to send. Every kind
of file that may leave the console is declared once here as an :class:`ExportKind`. No Dash
imports.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import pandas as pd
from sqlalchemy.orm import Session

from data import audit
from data.roles import can
from data.timeutil import utcnow

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
FILTERS_SHEET = "Filters"
_SHEET_FORBIDDEN = set("[]:*?/\\")
CSV_MARK = "#"


def _neutralise(value: object) -> object:
    """Prefix text that a spreadsheet would evaluate as a formula.

    Leading whitespace is skipped before looking for a trigger: spreadsheets trim it (or a line
    break hides it in a quoted CSV cell), so ``" =cmd()"`` and ``"\\n=cmd()"`` are as dangerous
    as ``"=cmd()"``. The original text is kept after the apostrophe.
    """
    if isinstance(value, str) and (
        value.startswith(FORMULA_TRIGGERS) or value.lstrip().startswith(FORMULA_TRIGGERS)
    ):
        return "'" + value
    return value


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with every text cell neutralised (numbers are left as numbers)."""
    out = df.copy()
    for column in out.columns:
        series = out[column]
        if isinstance(series.dtype, pd.CategoricalDtype) and not pd.api.types.is_numeric_dtype(
            series.cat.categories
        ):
            series = series.astype(object)  # categories of text are text cells too
        if series.dtype == object or pd.api.types.is_string_dtype(series):
            out[column] = series.map(_neutralise)
    out.columns = [str(_neutralise(str(c))) for c in out.columns]
    return out


def _preamble(filters: Mapping[str, str], generated_at: datetime | None) -> list[tuple[str, str]]:
    stamp = (generated_at or utcnow()).strftime("%Y-%m-%d %H:%M UTC")
    rows = [("generated", stamp)]
    rows.extend((str(k), str(v)) for k, v in filters.items())
    return rows


CSV_LINE_END = "\r\n"


def to_csv_bytes(
    df: pd.DataFrame, filters: Mapping[str, str], *, generated_at: datetime | None = None
) -> bytes:
    """UTF-8 CSV (with BOM, so Excel shows accents) with the filters in a ``#`` preamble.

    Rows end in CRLF (RFC 4180): the csv module quotes a cell that holds any character of the
    line terminator, so with CRLF a lone carriage return is quoted too. With a bare LF it was
    not, and a reader split the row there, which put ``=cmd()`` at the start of a line."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=CSV_LINE_END)
    for key, value in _preamble(filters, generated_at):
        writer.writerow([f"{CSV_MARK} {_neutralise(key)}", _neutralise(value)])
    writer.writerow([])
    safe_frame(df).to_csv(buffer, index=False, lineterminator=CSV_LINE_END)
    return buffer.getvalue().encode("utf-8-sig")


def read_csv_export(data: bytes) -> tuple[dict[str, str], pd.DataFrame]:
    """Split an export made by :func:`to_csv_bytes` into its filters and its table."""
    # One stream for both parts: a quoted filter value may span lines, and csv.reader only
    # consumes the lines of the rows it returns, so the table starts where it stopped.
    stream = io.StringIO(data.decode("utf-8-sig"), newline="")
    filters: dict[str, str] = {}
    for row in csv.reader(stream):
        if not any(cell.strip() for cell in row):
            break
        key, value = row
        filters[key.removeprefix(CSV_MARK).strip()] = value
    return filters, pd.read_csv(io.StringIO(stream.read()))


def sheet_title(name: str) -> str:
    """A valid Excel sheet name: no ``[]:*?/\\``, at most 31 characters, never empty."""
    cleaned = "".join("_" if ch in _SHEET_FORBIDDEN else ch for ch in name).strip("'").strip()
    cleaned = cleaned[:31]
    if not cleaned or cleaned == FILTERS_SHEET:
        cleaned = "Data"
    return cleaned


def to_xlsx_bytes(
    df: pd.DataFrame,
    filters: Mapping[str, str],
    sheet_name: str,
    *,
    generated_at: datetime | None = None,
    extra_sheets: Mapping[str, pd.DataFrame] | None = None,
) -> bytes:
    """An .xlsx workbook: the table (header frozen, auto-filter on) and a ``Filters`` sheet.

    ``extra_sheets`` (name → table) come first, e.g. a readable cross-tab before the long
    table; their cells are neutralised like the table's."""
    title = sheet_title(sheet_name)
    buffer = io.BytesIO()
    table = safe_frame(df)
    about = pd.DataFrame(_preamble(filters, generated_at), columns=["filter", "value"])
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, extra in (extra_sheets or {}).items():
            safe_frame(extra).to_excel(writer, sheet_name=sheet_title(name), index=False)
        table.to_excel(writer, sheet_name=title, index=False)
        safe_frame(about).to_excel(writer, sheet_name=FILTERS_SHEET, index=False)
        sheet = writer.sheets[title]
        sheet.freeze_panes = "A2"
        if len(table.columns):
            sheet.auto_filter.ref = sheet.dimensions
        for idx, column in enumerate(table.columns, start=1):
            sample = [str(column), *(str(v) for v in table[column].head(200))]
            width = min(max(len(s) for s in sample) + 2, 60)
            sheet.column_dimensions[sheet.cell(row=1, column=idx).column_letter].width = width
        writer.sheets[FILTERS_SHEET].column_dimensions["A"].width = 24
        writer.sheets[FILTERS_SHEET].column_dimensions["B"].width = 60
    return buffer.getvalue()


def read_xlsx_export(data: bytes, sheet_name: str) -> tuple[dict[str, str], pd.DataFrame]:
    """Read back a workbook made by :func:`to_xlsx_bytes` (tests and the browser journey)."""
    sheets = pd.read_excel(io.BytesIO(data), sheet_name=None, dtype=object)
    about = sheets[FILTERS_SHEET]
    filters = {str(k): str(v) for k, v in zip(about["filter"], about["value"], strict=True)}
    return filters, sheets[sheet_title(sheet_name)]


# --- the export path --------------------------------------------------------------------------

Format = Literal["csv", "xlsx"]
MIME_TYPES: Mapping[str, str] = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FILENAME_STAMP = "%Y%m%d-%H%M"


@dataclass(frozen=True)
class ExportKind:
    """One kind of file that may leave the console, declared once so that its file name, its
    audit action and the capability it needs cannot differ between callers.

    ``stem`` starts the file name (``partners`` → ``partners-20261125-0930.csv``), ``sheet`` is
    the Excel sheet holding the table, ``action``/``object_type`` name the audit entry and
    ``capability`` is the ``data.roles`` capability a role needs to receive the file.
    """

    stem: str
    sheet: str
    action: str
    object_type: str
    capability: str


PARTNER_TABLE = ExportKind(
    stem="partners",
    sheet="Partners",
    action="partners.export",
    object_type="partner",
    capability="export_partner_table",
)
LEAD_FLOW_OPERATIONS = ExportKind(
    stem="lead-operations",
    sheet="Lead operations",
    action="leads.export",
    object_type="lead",
    capability="export_lead_flow",
)
AUDIT_LOG = ExportKind(
    stem="audit-log",
    sheet="Audit log",
    action="audit.export",
    object_type="audit_log",
    capability="export_audit_log",
)
#: De-identified aggregates (``data.aggregates.exporting``): the long table; the Excel file
#: adds a cross-tab before it, and the Filters sheet holds the disclosure report.
AGGREGATES = ExportKind(
    stem="aggregates",
    sheet="Long form",
    action="aggregates.export",
    object_type="aggregate_export",
    capability="export_aggregates",
)

#: The marketing suppression list (``data.consent.people.suppression_list``): names and contact
#: details of people who must not be contacted, hence privacy officers and admins only.
SUPPRESSION_LIST = ExportKind(
    stem="suppression-list",
    sheet="Suppression list",
    action="consent.suppression_list.export",
    object_type="suppression",
    capability="see_people",
)


@dataclass(frozen=True)
class ExportFile:
    """A finished export: what the page hands to the browser (``dcc.send_bytes``)."""

    content: bytes
    filename: str
    mime: str


class ExportNotAllowed(PermissionError):
    """The role lacks the export's capability (the page should have refused first)."""


def export_filename(kind: ExportKind, fmt: Format, at: datetime) -> str:
    """``<stem>-YYYYmmdd-HHMM.<fmt>`` in UTC, the moment the file was generated."""
    return f"{kind.stem}-{at.strftime(FILENAME_STAMP)}.{fmt}"


def build_file(
    df: pd.DataFrame,
    header: Mapping[str, str],
    fmt: Format,
    sheet_name: str,
    *,
    generated_at: datetime | None = None,
    extra_sheets: Mapping[str, pd.DataFrame] | None = None,
) -> bytes:
    """The file's bytes in ``fmt``: the header lines, then the table, formulas neutralised
    (``extra_sheets``: further tables for the Excel file only)."""
    if fmt == "csv":
        return to_csv_bytes(df, header, generated_at=generated_at)
    if fmt == "xlsx":
        return to_xlsx_bytes(
            df, header, sheet_name, generated_at=generated_at, extra_sheets=extra_sheets
        )
    raise ValueError(f"unknown export format {fmt!r}")


def sort_and_filter_lines(
    sort_model: Iterable[tuple[str, bool]],
    filtered_columns: Iterable[object],
    labels: Mapping[str, str],
) -> dict[str, str]:
    """Header lines describing a grid's own sort and column filters, with readable column
    names (``labels``; unknown columns keep their id), so the file says how it was ordered."""
    lines: dict[str, str] = {}
    sort = list(sort_model)
    if sort:
        lines["sorted by"] = ", ".join(
            f"{labels.get(c, c)} {'descending' if d else 'ascending'}" for c, d in sort
        )
    filtered = [labels.get(str(c), str(c)) for c in filtered_columns]
    if filtered:
        lines["column filters"] = ", ".join(filtered)
    return lines


def export_table(
    session: Session,
    kind: ExportKind,
    df: pd.DataFrame,
    *,
    fmt: Format,
    header: Mapping[str, str],
    actor: str,
    role: str | None,
    spec: Mapping[str, Any] | None = None,
    now: datetime | None = None,
    extra_sheets: Mapping[str, pd.DataFrame] | None = None,
) -> ExportFile:
    """Build ``df`` as a ``fmt`` file carrying ``header`` and record the export in the audit
    log, in the caller's transaction (commit it, e.g. with ``session_scope``, before sending).

    ``spec`` is what the audit entry records as the export's filters (machine-readable, no raw
    PII); it defaults to ``header``. The file is built before the entry is written so that a
    failed build leaves no record of a file nobody received; one clock reading stamps the
    header, the file name and the entry. Raises :class:`ExportNotAllowed` when ``role`` lacks
    ``kind.capability`` (defence in depth behind the page's own check).
    """
    if not can(role, kind.capability):
        raise ExportNotAllowed(f"role {role!r} may not export {kind.stem}")
    at = now or utcnow()
    content = build_file(df, header, fmt, kind.sheet, generated_at=at, extra_sheets=extra_sheets)
    details = {
        "format": fmt,
        "rows": len(df),
        "filters": dict(header if spec is None else spec),
    }
    audit.record(session, actor, kind.action, kind.object_type, None, details, at=at)
    return ExportFile(content, export_filename(kind, fmt, at), MIME_TYPES[fmt])

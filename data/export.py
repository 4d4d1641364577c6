"""Table exports (CSV and Excel) that carry the filters they were made with.

A file that leaves the console loses its context: whoever opens it later must be able to tell
which period, trade or province it covers without asking. So every export writes its filters
(and when it was generated) into the file itself:

* CSV: a short preamble of ``# key,value`` rows, one blank row, then the table. Use
  :func:`read_csv_export` (or ``pandas.read_csv(..., skiprows=n)``) to read it back.
* Excel: the table on its own sheet starting at A1 (so the rows can be compared with the grid),
  and a second sheet, ``Filters``, listing the filters.

Both formats neutralise spreadsheet formula injection: a text cell starting with ``=``, ``+``,
``-``, ``@``, tab or carriage return is prefixed with an apostrophe (OWASP "CSV injection"),
because business names and comments are typed by outsiders.

Shared by the partner and privacy pages; no Dash imports.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import datetime

import pandas as pd

from data.timeutil import utcnow

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
FILTERS_SHEET = "Filters"
_SHEET_FORBIDDEN = set("[]:*?/\\")
CSV_MARK = "#"


def _neutralise(value: object) -> object:
    """Prefix text that a spreadsheet would evaluate as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with every text cell neutralised (numbers are left as numbers)."""
    out = df.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(_neutralise)
    out.columns = [str(_neutralise(str(c))) for c in out.columns]
    return out


def _preamble(filters: Mapping[str, str], generated_at: datetime | None) -> list[tuple[str, str]]:
    stamp = (generated_at or utcnow()).strftime("%Y-%m-%d %H:%M UTC")
    rows = [("generated", stamp)]
    rows.extend((str(k), str(v)) for k, v in filters.items())
    return rows


def to_csv_bytes(
    df: pd.DataFrame, filters: Mapping[str, str], *, generated_at: datetime | None = None
) -> bytes:
    """UTF-8 CSV (with BOM, so Excel shows accents) with the filters in a ``#`` preamble."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for key, value in _preamble(filters, generated_at):
        writer.writerow([f"{CSV_MARK} {_neutralise(key)}", _neutralise(value)])
    writer.writerow([])
    safe_frame(df).to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode("utf-8-sig")


def read_csv_export(data: bytes) -> tuple[dict[str, str], pd.DataFrame]:
    """Split an export made by :func:`to_csv_bytes` into its filters and its table."""
    text = data.decode("utf-8-sig")
    lines = text.split("\n")
    filters: dict[str, str] = {}
    skip = 0
    for line in lines:
        skip += 1
        if not line.strip():
            break
        key, value = next(csv.reader([line]))
        filters[key.removeprefix(CSV_MARK).strip()] = value
    return filters, pd.read_csv(io.StringIO("\n".join(lines[skip:])))


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
) -> bytes:
    """An .xlsx workbook: the table (header frozen, auto-filter on) and a ``Filters`` sheet."""
    title = sheet_title(sheet_name)
    buffer = io.BytesIO()
    table = safe_frame(df)
    about = pd.DataFrame(_preamble(filters, generated_at), columns=["filter", "value"])
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
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

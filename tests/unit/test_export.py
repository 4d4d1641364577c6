"""Exports carry their filters and never let a spreadsheet evaluate a cell as a formula."""

from __future__ import annotations

import io
from datetime import datetime

import openpyxl
import pandas as pd

from data.export import (
    FILTERS_SHEET,
    read_csv_export,
    read_xlsx_export,
    sheet_title,
    to_csv_bytes,
    to_xlsx_bytes,
)

STAMP = datetime(2026, 11, 25, 9, 30)


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Business": ["Águas Plumbing", '=HYPERLINK("x")', "Bolt, Nut & Co"],
            "Leads": [12, 0, 5],
            "Rating": [4.25, None, -1.5],
        }
    )


def test_csv_has_filters_then_the_table():
    data = to_csv_bytes(
        frame(), {"period": "2026-09-01 – 2026-11-30", "trade": "plumbing"}, generated_at=STAMP
    )
    assert data.startswith(b"\xef\xbb\xbf")  # BOM for Excel
    text = data.decode("utf-8-sig")
    assert text.splitlines()[:4] == [
        "# generated,2026-11-25 09:30 UTC",
        "# period,2026-09-01 – 2026-11-30",
        "# trade,plumbing",
        "",
    ]
    filters, table = read_csv_export(data)
    assert filters == {
        "generated": "2026-11-25 09:30 UTC",
        "period": "2026-09-01 – 2026-11-30",
        "trade": "plumbing",
    }
    assert list(table.columns) == ["Business", "Leads", "Rating"]
    assert table["Business"].tolist() == ["Águas Plumbing", '\'=HYPERLINK("x")', "Bolt, Nut & Co"]
    assert table["Leads"].tolist() == [12, 0, 5]
    assert table["Rating"].iloc[2] == -1.5  # negative numbers are not "neutralised"


def test_csv_neutralises_formulas_in_filters_too():
    data = to_csv_bytes(pd.DataFrame({"a": [1]}), {"search": "=1+1"}, generated_at=STAMP)
    filters, _ = read_csv_export(data)
    assert filters["search"] == "'=1+1"


def test_empty_frame_exports():
    empty = pd.DataFrame({"Business": pd.Series([], dtype=object), "Leads": []})
    filters, table = read_csv_export(to_csv_bytes(empty, {}, generated_at=STAMP))
    assert list(filters) == ["generated"] and table.empty
    assert list(table.columns) == ["Business", "Leads"]
    _, xtable = read_xlsx_export(to_xlsx_bytes(empty, {}, "Partners"), "Partners")
    assert xtable.empty and list(xtable.columns) == ["Business", "Leads"]


def test_xlsx_table_sheet_and_filters_sheet():
    data = to_xlsx_bytes(
        frame(), {"trade": "plumbing", "province": "Gauteng"}, "Partners", generated_at=STAMP
    )
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Partners", FILTERS_SHEET]
    sheet = book["Partners"]
    assert [c.value for c in sheet[1]] == ["Business", "Leads", "Rating"]
    assert sheet["A3"].value == '\'=HYPERLINK("x")'
    assert sheet["B2"].value == 12 and sheet["C2"].value == 4.25
    assert sheet.freeze_panes == "A2"
    filters, table = read_xlsx_export(data, "Partners")
    assert filters == {
        "generated": "2026-11-25 09:30 UTC",
        "trade": "plumbing",
        "province": "Gauteng",
    }
    assert table["Business"].tolist()[0] == "Águas Plumbing"
    assert len(table) == 3


def test_sheet_title_is_valid():
    assert sheet_title("a/b:c*d?e[f]") == "a_b_c_d_e_f_"
    assert len(sheet_title("x" * 50)) == 31
    assert sheet_title("") == "Data"
    assert sheet_title("Filters") == "Data"

"""Exports carry their filters and never let a spreadsheet evaluate a cell as a formula."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import select

from data.db import session_scope
from data.export import (
    AUDIT_LOG,
    FILTERS_SHEET,
    PARTNER_TABLE,
    ExportFile,
    ExportNotAllowed,
    build_file,
    export_table,
    read_csv_export,
    read_xlsx_export,
    safe_frame,
    sheet_title,
    sort_and_filter_lines,
    to_csv_bytes,
    to_xlsx_bytes,
)
from data.models import AuditLog

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


# --- formula neutralisation after leading blanks ------------------------------------------------

# (cell as typed, cell as written): hand-written expectations.
NEUTRALISED = [
    (" =1+1", "' =1+1"),
    ("   @SUM(A1)", "'   @SUM(A1)"),
    ('\n=HYPERLINK("x")', '\'\n=HYPERLINK("x")'),
    (" \n -2+3", "' \n -2+3"),
    ("\r\n+1", "'\r\n+1"),
    ("\t", "'\t"),
    ("\u00a0=1", "'\u00a0=1"),
    ("=1", "'=1"),
    (" plain text", " plain text"),
    ("a = b", "a = b"),
    ("O'Neill + Sons", "O'Neill + Sons"),
    ("", ""),
    ("   ", "   "),
]


def test_formulas_after_leading_spaces_and_newlines_are_neutralised():
    typed = [t for t, _ in NEUTRALISED]
    written = [w for _, w in NEUTRALISED]
    df = pd.DataFrame({" =head": typed, "n": range(len(typed))})
    safe = safe_frame(df)
    assert list(safe.columns) == ["' =head", "n"]
    assert safe["' =head"].tolist() == written
    assert safe["n"].tolist() == list(range(len(typed)))

    data = to_xlsx_bytes(df, {"\n@search": " -x"}, "Sheet", generated_at=STAMP)
    sheet = openpyxl.load_workbook(io.BytesIO(data))["Sheet"]
    assert [c.value for c in sheet[1]] == ["' =head", "n"]
    cells = [sheet.cell(row=r, column=1).value for r in range(2, len(typed) + 2)]
    # XML turns CR LF into LF, and openpyxl reads empty strings back as None
    assert cells == [w.replace("\r\n", "\n") or None for w in written]
    assert [sheet.cell(row=r, column=2).value for r in range(2, 5)] == [0, 1, 2]
    filters, _ = read_xlsx_export(data, "Sheet")
    assert filters["'\n@search"] == "' -x"

    csv_filters, table = read_csv_export(to_csv_bytes(df, {"\n@search": " -x"}))
    assert list(table.columns) == ["' =head", "n"]
    assert table["' =head"].fillna("").tolist() == written
    assert csv_filters["'\n@search"] == "' -x"


def test_text_categories_are_neutralised_and_numbers_untouched():
    df = pd.DataFrame(
        {
            "c": pd.Categorical([" =1", "ok"]),
            "k": pd.Categorical([-1, 2]),
            "s": pd.array(["@x", None], dtype="string"),
        }
    )
    safe = safe_frame(df)
    assert safe["c"].tolist() == ["' =1", "ok"]
    assert safe["k"].tolist() == [-1, 2]
    assert safe["s"].tolist()[0] == "'@x" and pd.isna(safe["s"].tolist()[1])


# --- the export path: file, name, audit entry, capability -----------------------------------------


def test_sort_and_filter_lines():
    labels = {"bayes_rating": "Bayesian rating", "shares": "Leads shared"}
    assert sort_and_filter_lines([], {}, labels) == {}
    assert sort_and_filter_lines(
        [("bayes_rating", True), ("odd", False)], {"shares": {}, "x": {}}, labels
    ) == {
        "sorted by": "Bayesian rating descending, odd ascending",
        "column filters": "Leads shared, x",
    }


def test_export_table_builds_the_file_and_logs_it(db):
    now = datetime(2026, 11, 25, 9, 30, 59)
    header = {"period": "2026-11-01 to 2026-11-25", "trade": "plumbing"}
    with session_scope(db) as s:
        file = export_table(
            s,
            PARTNER_TABLE,
            frame(),
            fmt="csv",
            header=header,
            spec={"trade": "plumbing", "period": "mtd"},
            actor="mandla",
            role="manager",
            now=now,
        )
    assert file == ExportFile(
        to_csv_bytes(frame(), header, generated_at=now),
        "partners-20261125-0930.csv",
        "text/csv",
    )
    with session_scope(db) as s:
        entry = s.scalars(select(AuditLog)).one()
        assert (entry.actor, entry.action, entry.object_type, entry.object_id) == (
            "mandla",
            "partners.export",
            "partner",
            None,
        )
        assert entry.details == {
            "format": "csv",
            "rows": 3,
            "filters": {"trade": "plumbing", "period": "mtd"},
        }
        assert entry.at.replace(tzinfo=None) == now


def test_export_table_excel_logs_the_header_when_no_spec(db):
    now = datetime(2026, 1, 2, 3, 4)
    header = {"from": "2026-01-01", "to": "2026-01-02"}
    with session_scope(db) as s:
        file = export_table(
            s, AUDIT_LOG, frame(), fmt="xlsx", header=header, actor="ada", role="admin", now=now
        )
    assert file.filename == "audit-log-20260102-0304.xlsx"
    assert file.mime == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    filters, table = read_xlsx_export(file.content, "Audit log")
    assert filters == {"generated": "2026-01-02 03:04 UTC", **header}
    assert table["Business"].tolist()[1] == '\'=HYPERLINK("x")'
    with session_scope(db) as s:
        entry = s.scalars(select(AuditLog)).one()
        assert entry.action == "audit.export" and entry.object_type == "audit_log"
        assert entry.details == {"format": "xlsx", "rows": 3, "filters": header}


@pytest.mark.parametrize("role", ["manager", "privacy_officer", "marketing", None, "root"])
def test_export_table_refuses_roles_without_the_capability(db, role):
    with pytest.raises(ExportNotAllowed), session_scope(db) as s:
        export_table(s, AUDIT_LOG, frame(), fmt="csv", header={}, actor="x", role=role)
    with session_scope(db) as s:
        assert s.scalars(select(AuditLog)).all() == []


def test_export_table_refuses_unknown_formats(db):
    with pytest.raises(ValueError, match="format"), session_scope(db) as s:
        export_table(s, AUDIT_LOG, frame(), fmt="pdf", header={}, actor="x", role="admin")  # type: ignore[arg-type]
    with session_scope(db) as s:
        assert s.scalars(select(AuditLog)).all() == []


# --- every trigger, in cells, column headers and header lines, in both formats -------------------

# (as typed, as a CSV reader gets it back, as an XLSX reader gets it back): written by hand.
# XML turns a carriage return (alone or before a line feed) into a line feed.
TRIGGERS = [
    ('=HYPERLINK("http://x.example","go")', '\'=HYPERLINK("http://x.example","go")', None),
    ("+27 82 123 4567", "'+27 82 123 4567", None),
    ("-2+3", "'-2+3", None),
    ("@SUM(A1:A9)", "'@SUM(A1:A9)", None),
    ("\t=1+1", "'\t=1+1", None),
    ("\tcmd", "'\tcmd", None),  # a tab or a carriage return is a trigger by itself
    ("\r=1+1", "'\r=1+1", "'\n=1+1"),
    ("\rcmd", "'\rcmd", "'\ncmd"),
    ("   =1+1", "'   =1+1", None),
    (" +1", "' +1", None),
    ("  -1", "'  -1", None),
    (" @x", "' @x", None),
    (" \t-1", "' \t-1", None),
    ("\n=1+1", "'\n=1+1", None),
    ("\r\n+1", "'\r\n+1", "'\n+1"),
    ("\n \n@x", "'\n \n@x", None),
]


def _csv_case(typed, csv_read, _xlsx):
    return pytest.param(typed, csv_read, id=repr(typed))


@pytest.mark.parametrize(("typed", "expected"), [_csv_case(*t) for t in TRIGGERS])
def test_csv_neutralises_every_trigger_in_cells_headers_and_header_lines(typed, expected):
    df = pd.DataFrame({typed: [typed, "plain"], "n": [1, -2]})
    data = to_csv_bytes(df, {typed: typed, "trade": "plumbing"}, generated_at=STAMP)
    filters, table = read_csv_export(data)
    assert filters == {"generated": "2026-11-25 09:30 UTC", expected: expected, "trade": "plumbing"}
    assert list(table.columns) == [expected, "n"]
    assert table[expected].tolist() == [expected, "plain"]
    assert table["n"].tolist() == [1, -2]


def test_csv_keeps_a_cell_with_a_carriage_return_inside_in_one_row():
    df = pd.DataFrame({"Business": ["Plumbing\r=HYPERLINK(1)", "Next"]})
    _, table = read_csv_export(to_csv_bytes(df, {}, generated_at=STAMP))
    assert table["Business"].tolist() == ["Plumbing\r=HYPERLINK(1)", "Next"]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [pytest.param(t, x or c, id=repr(t)) for t, c, x in TRIGGERS],
)
def test_xlsx_neutralises_every_trigger_in_cells_headers_and_header_lines(typed, expected):
    df = pd.DataFrame({typed: [typed, "plain"], "n": [1, -2]})
    data = to_xlsx_bytes(df, {typed: typed}, "Partners", generated_at=STAMP)
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book["Partners"]
    header, first, second = (sheet.cell(row=r, column=1) for r in (1, 2, 3))
    assert (header.value, first.value, second.value) == (expected, expected, "plain")
    assert (header.data_type, first.data_type) == ("s", "s")  # text, never a formula
    assert [sheet.cell(row=r, column=2).value for r in (1, 2, 3)] == ["n", 1, -2]
    about = book[FILTERS_SHEET]
    rows = [[c.value for c in row] for row in about.iter_rows()]
    assert rows == [
        ["filter", "value"],
        ["generated", "2026-11-25 09:30 UTC"],
        [expected, expected],
    ]
    assert {c.data_type for row in about.iter_rows() for c in row} == {"s"}


@pytest.mark.parametrize(
    "typed",
    ["1-2", "a=b", "O'Neill + Sons", "info@alpha.example", "Plumbing, Gauteng", "", "  ", "x\t=1"],
)
def test_text_that_does_not_start_with_a_trigger_is_left_alone(typed):
    df = pd.DataFrame({"Business": [typed]})
    assert safe_frame(df)["Business"].tolist() == [typed]
    sheet = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(df, {}, "S", generated_at=STAMP)))
    assert sheet["S"]["A2"].value == (typed or None)  # openpyxl reads "" back as None


def test_numbers_are_never_prefixed():
    df = pd.DataFrame({"Leads": [-3, 0, 5], "Rate": [-0.5, 1.25, None]})
    safe = safe_frame(df)
    assert safe["Leads"].tolist() == [-3, 0, 5]
    assert safe["Rate"].tolist()[:2] == [-0.5, 1.25]
    _, table = read_csv_export(to_csv_bytes(df, {}, generated_at=STAMP))
    assert table["Leads"].tolist() == [-3, 0, 5] and table["Rate"].tolist()[:2] == [-0.5, 1.25]


# --- the workbook's layout ------------------------------------------------------------------------


def test_xlsx_column_widths_auto_filter_and_frozen_header():
    """Widths by hand: the longest of the header and the first 200 cells as text, plus 2, at most
    60. Business: ``'=HYPERLINK("x")`` is 16 characters (with its apostrophe) → 18; Leads: the
    header's 5 → 7; Rating: the header's 6 (``nan``, ``4.25`` and ``-1.5`` are shorter) → 8."""
    data = to_xlsx_bytes(frame(), {"trade": "plumbing"}, "Partners", generated_at=STAMP)
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book["Partners"]
    widths = {col: sheet.column_dimensions[col].width for col in "ABC"}
    assert widths == {"A": 18, "B": 7, "C": 8}
    assert sheet.auto_filter.ref == "A1:C4"
    assert sheet.freeze_panes == "A2"
    about = book[FILTERS_SHEET]
    assert (about.column_dimensions["A"].width, about.column_dimensions["B"].width) == (24, 60)


def test_xlsx_widths_are_capped_and_read_from_the_first_200_rows_only():
    long = "x" * 100
    df = pd.DataFrame(
        {
            "wide": ["a", long] + ["a"] * 199,  # 100 characters: capped at 60
            "late": ["ab"] * 200 + ["y" * 30],  # the 201st row is not sampled: "late" → 4 + 2
        }
    )
    sheet = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(df, {}, "S", generated_at=STAMP)))["S"]
    assert (sheet.column_dimensions["A"].width, sheet.column_dimensions["B"].width) == (60, 6)
    assert sheet.auto_filter.ref == "A1:B202"


def test_xlsx_without_columns_has_no_auto_filter():
    data = to_xlsx_bytes(pd.DataFrame(), {}, "Empty", generated_at=STAMP)
    sheet = openpyxl.load_workbook(io.BytesIO(data))["Empty"]
    assert sheet.auto_filter.ref is None


def test_the_generated_line_defaults_to_now_in_utc():
    before = datetime.now(UTC).replace(tzinfo=None, second=0, microsecond=0)
    filters, _ = read_csv_export(to_csv_bytes(frame(), {}))
    xlsx_filters, _ = read_xlsx_export(to_xlsx_bytes(frame(), {}, "S"), "S")
    after = datetime.now(UTC).replace(tzinfo=None)
    for stamp in (filters["generated"], xlsx_filters["generated"]):
        assert stamp.endswith(" UTC")
        assert before <= datetime.strptime(stamp, "%Y-%m-%d %H:%M UTC") <= after


def test_build_file_names_the_unknown_format():
    with pytest.raises(ValueError) as exc:
        build_file(frame(), {}, "pdf", "S")  # type: ignore[arg-type]
    assert str(exc.value) == "unknown export format 'pdf'"
    assert build_file(frame(), {"a": "b"}, "csv", "S", generated_at=STAMP) == to_csv_bytes(
        frame(), {"a": "b"}, generated_at=STAMP
    )


def test_reading_a_workbook_back_keeps_the_cells_as_written():
    """``read_xlsx_export`` keeps each cell's own value (no type inference per column): whole
    numbers in a column with a gap stay whole numbers, not floats."""
    df = pd.DataFrame({"Leads": pd.array([12, None, 5], dtype=object), "Name": ["a", "b", "c"]})
    _, table = read_xlsx_export(to_xlsx_bytes(df, {}, "S", generated_at=STAMP), "S")
    leads = table["Leads"].tolist()
    assert (leads[0], leads[2]) == (12, 5)
    assert [type(leads[0]), type(leads[2])] == [int, int]
    assert pd.isna(leads[1])


def test_sheet_titles_lose_surrounding_apostrophes_only():
    # Excel refuses a sheet name that starts or ends with an apostrophe; spaces inside stay.
    assert sheet_title("'Partners'") == "Partners"
    assert sheet_title("Xmas leads'") == "Xmas leads"
    assert sheet_title("  'Audit log' ") == "'Audit log'"  # outer spaces first: no change inside


def test_a_refused_export_names_the_role_and_the_file(db):
    with pytest.raises(ExportNotAllowed) as exc, session_scope(db) as s:
        export_table(s, AUDIT_LOG, frame(), fmt="csv", header={}, actor="x", role="manager")
    assert str(exc.value) == "role 'manager' may not export audit-log"


def test_text_in_a_column_of_mixed_values_is_neutralised():
    df = pd.DataFrame({"mixed": pd.array(["=1+1", 3, None, "@x"], dtype=object)})
    assert safe_frame(df)["mixed"].tolist()[:2] == ["'=1+1", 3]
    assert safe_frame(df)["mixed"].tolist()[3] == "'@x"

"""Formula neutralisation end to end: text typed by outsiders (a partner's business name, a
username typed at the login form) and by staff (the search box, the audit filters) goes through
the pages' own export callbacks, in CSV and in Excel, and never comes back as a formula.

Every expected cell is written out by hand: the typed text with an apostrophe in front.
"""

from __future__ import annotations

import base64
import io

import openpyxl
import pytest
from sqlalchemy import select

from data import audit
from data.db import session_scope
from data.export import read_csv_export, read_xlsx_export
from data.models import AuditLog
from data.query_cache import CACHE
from tests.conftest import login
from tests.factories import add_partner
from tests.partners_world import build_world
from tests.privacy_support import call, response_of

MARCH = {"period": "custom", "from": "2026-03-01", "to": "2026-03-31"}
REQUEST = {"startRow": 0, "endRow": 100, "sortModel": [], "filterModel": {}}
WORLD_NAMES = {
    "Alpha Plumbing",
    "Bravo Plumbing",
    "Charlie Electric",
    "Delta Sparks",
    "Echo Drains",
    "Foxtrot Pipes",
    "Golf Geysers",
    "Hotel Handyman",
}
# (business name as the partner typed it, as every export must carry it)
EVIL_NAMES = [
    ('=HYPERLINK("http://evil.example","Alpha")', '\'=HYPERLINK("http://evil.example","Alpha")'),
    ("+27 Plumbing", "'+27 Plumbing"),
    ("-1+2 Drains", "'-1+2 Drains"),
    ("@SUM(A1) Geysers", "'@SUM(A1) Geysers"),
    ("\t=cmd Tiling", "'\t=cmd Tiling"),
    ("\tTabbed Tiling", "'\tTabbed Tiling"),  # a tab is a trigger by itself
    ("   =spaced Roofing", "'   =spaced Roofing"),
    ("\n+newline Solar", "'\n+newline Solar"),
]
LONE_CR = ("\r=cr Paving", "'\r=cr Paving")
# Excel's XML turns a lone carriage return into a line feed.
LONE_CR_IN_XLSX = "'\n=cr Paving"


def add_partners(engine, names) -> None:
    with session_scope(engine) as s:
        for typed, _ in names:
            add_partner(s, business_name=typed)
    CACHE.clear()


@pytest.fixture
def world(db):
    CACHE.clear()
    made = build_world(db)
    add_partners(db, EVIL_NAMES)
    return made


@pytest.fixture
def world_with_cr(db, world):
    add_partners(db, [LONE_CR])
    return world


def partners_export(client, dash_app, fmt: str, store: dict) -> tuple[bytes, str]:
    button = f"partners-export-{fmt}"
    out = response_of(
        call(
            client,
            dash_app,
            button,
            {
                "partners-export-csv": 1 if fmt == "csv" else None,
                "partners-export-xlsx": 1 if fmt == "xlsx" else None,
                "partners-query": store,
                "partners-grid": REQUEST,
                "partners-columns": ["shares"],
            },
        )
    )
    download = out["partners-download"]["data"]
    return base64.b64decode(download["content"]), download["filename"]


def audit_export(client, dash_app, fmt: str, stored: dict) -> bytes:
    out = response_of(call(client, dash_app, f"audit-export-{fmt}", {"audit-filters": stored}))
    return base64.b64decode(out["audit-download"]["data"]["content"])


def xlsx_cells(data: bytes, sheet: str) -> list[openpyxl.cell.Cell]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return [c for name in (sheet, "Filters") for row in book[name].iter_rows() for c in row]


# --- the partner ranking export -----------------------------------------------------------------


def test_partner_names_come_back_neutralised_in_csv(client_for, dash_app, world):
    data, filename = partners_export(client_for("manager"), dash_app, "csv", MARCH)
    assert filename.endswith(".csv")
    _, table = read_csv_export(data)
    assert list(table.columns) == ["Partner", "Leads shared"]
    assert sorted(table["Partner"]) == sorted(WORLD_NAMES | {w for _, w in EVIL_NAMES})


def test_a_partner_name_with_a_lone_carriage_return_stays_one_neutralised_row_in_csv(
    client_for, dash_app, world_with_cr
):
    data, _ = partners_export(client_for("manager"), dash_app, "csv", MARCH)
    _, table = read_csv_export(data)
    assert len(table) == len(WORLD_NAMES) + len(EVIL_NAMES) + 1
    assert LONE_CR[1] in set(table["Partner"])


def test_partner_names_come_back_neutralised_in_xlsx(client_for, dash_app, world_with_cr):
    data, filename = partners_export(client_for("manager"), dash_app, "xlsx", MARCH)
    assert filename.endswith(".xlsx")
    _, table = read_xlsx_export(data, "Partners")
    expected = WORLD_NAMES | {w for _, w in EVIL_NAMES} | {LONE_CR_IN_XLSX}
    assert sorted(table["Partner"]) == sorted(expected)
    assert not any(c.data_type == "f" for c in xlsx_cells(data, "Partners"))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_formula_in_the_search_box_is_neutralised_in_the_header_lines(
    client_for, dash_app, world, fmt
):
    typed = '=HYPERLINK("http://evil.example"'
    data, _ = partners_export(client_for("manager"), dash_app, fmt, {**MARCH, "q": typed})
    if fmt == "csv":
        filters, table = read_csv_export(data)
    else:
        filters, table = read_xlsx_export(data, "Partners")
    assert filters["search"] == '\'=HYPERLINK("http://evil.example"'
    assert table["Partner"].tolist() == ['\'=HYPERLINK("http://evil.example","Alpha")']


# --- the audit log export -----------------------------------------------------------------------

# Text typed at the login form used to land in the audit log as the actor of "login.failed";
# since issue 12 a failed login of an unknown user is recorded as "anonymous", so these values
# are recorded directly, as another writer might (the export must neutralise them wherever they
# come from).
TYPED_AT_LOGIN = [
    ('=HYPERLINK("http://evil.example","log")', '\'=HYPERLINK("http://evil.example","log")'),
    ("+27821234567", "'+27821234567"),
    ("-1+2", "'-1+2"),
    ("@SUM(A1)", "'@SUM(A1)"),
]
RECORDED = [
    ("\t=tab", "'\t=tab"),
    ("  =spaces", "'  =spaces"),
    ("\n@newline", "'\n@newline"),
]


@pytest.fixture
def evil_log(db, client_for):
    admin = client_for("admin")
    anonymous = client_for(None)
    for typed, _ in TYPED_AT_LOGIN:
        response = login(anonymous, typed, "wrong-password")
        assert "Unknown user or wrong password." in response.get_data(as_text=True)
    with session_scope(db) as s:
        assert not set(s.scalars(select(AuditLog.actor))) & {t for t, _ in TYPED_AT_LOGIN}
        for typed, _ in TYPED_AT_LOGIN + RECORDED:
            audit.record(s, typed, "login.failed", details={})
        audit.record(s, "admin", "user.create", "-object", "-5", {"role": "manager"})
    with session_scope(db) as s:
        actors = set(s.scalars(select(AuditLog.actor)))
    assert {t for t, _ in TYPED_AT_LOGIN + RECORDED} <= actors
    return admin


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_audit_export_neutralises_what_outsiders_typed(evil_log, dash_app, fmt):
    data = audit_export(evil_log, dash_app, fmt, {"period": "30d"})
    if fmt == "csv":
        _, table = read_csv_export(data)
    else:
        _, table = read_xlsx_export(data, "Audit log")
    actors = set(table["actor"])
    for _, written in TYPED_AT_LOGIN + RECORDED:
        assert written in actors, written
    typed = {t for t, _ in TYPED_AT_LOGIN + RECORDED}
    assert not actors & typed
    created = table[table["action"] == "user.create"]
    entry = created[created["object_type"] == "'-object"]
    assert entry["object_id"].astype(str).tolist() == ["'-5"]
    if fmt == "xlsx":
        assert not any(c.data_type == "f" for c in xlsx_cells(data, "Audit log"))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_audit_filters_with_a_formula_are_neutralised_in_the_header_lines(evil_log, dash_app, fmt):
    typed = TYPED_AT_LOGIN[0][0]
    stored = {"period": "30d", "actor": typed, "action": "login.failed"}
    data = audit_export(evil_log, dash_app, fmt, stored)
    if fmt == "csv":
        filters, table = read_csv_export(data)
    else:
        filters, table = read_xlsx_export(data, "Audit log")
    assert filters["actor"] == TYPED_AT_LOGIN[0][1]
    assert filters["action"] == "login.failed"
    assert table["actor"].tolist() == [TYPED_AT_LOGIN[0][1]]

"""``flask --app app export-aggregates`` as a user runs it: the file, the ledger, and refusals
as one ``Error: …`` line with exit status 1."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import select

from data.aggregates.models import AggregateExport
from data.db import session_scope
from data.export import read_csv_export
from data.models import AuditLog, Homeowner
from tests.aggregates_support import build_world
from tests.web.test_cli import flask

ARGS = (
    "--dims",
    "province,gender",
    "--measure",
    "homeowners",
    "--from",
    "2025-01",
    "--to",
    "2025-12",
)


def _run(database_url, tmp_path, *extra, out="t.csv"):
    env = {"DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path)}
    return flask("export-aggregates", *ARGS, "--out", str(tmp_path / out), *extra, env=env)


def _one_error(result) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), lines
    return lines[0]


def test_export_csv_and_xlsx_then_differencing_refused(db, database_url, tmp_path):
    build_world()
    result = _run(database_url, tmp_path)
    assert result.returncode == 0, result.stderr
    _, table = read_csv_export((tmp_path / "t.csv").read_bytes())
    assert list(table.columns) == ["province", "gender", "value", "status"]
    kzn = table[(table["province"] == "KwaZulu-Natal") & (table["gender"] == "female")]
    assert kzn["value"].tolist() == [20]
    result = _run(database_url, tmp_path, out="t.xlsx")
    assert result.returncode == 0, result.stderr
    assert list(pd.read_excel(tmp_path / "t.xlsx", sheet_name=None)) == [
        "Cross-tab",
        "Long form",
        "Filters",
    ]
    with session_scope() as s:
        assert [r.format for r in s.scalars(select(AggregateExport))] == ["csv", "xlsx"]
        actors = s.scalars(
            select(AuditLog.actor).where(AuditLog.action == "aggregates.export")
        ).all()
        assert actors == ["cli", "cli"]
        s.scalars(
            select(Homeowner).where(Homeowner.gender == "female")
        ).first().erased_at = datetime(2026, 1, 1)
    line = _one_error(_run(database_url, tmp_path, out="again.csv"))
    assert "differencing" in line
    assert not (tmp_path / "again.csv").exists()


def test_refusals_are_one_line(db, database_url, tmp_path):
    assert "below 5" in _one_error(_run(database_url, tmp_path, "--k", "4"))
    assert ".csv or .xlsx" in _one_error(_run(database_url, tmp_path, out="t.pdf"))
    env = {"DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path)}
    bad = flask(
        "export-aggregates",
        "--dims",
        "surname",
        "--measure",
        "homeowners",
        "--from",
        "2025-01",
        "--to",
        "2025-13",
        "--out",
        str(tmp_path / "x.csv"),
        env=env,
    )
    assert "month written YYYY-MM" in _one_error(bad)

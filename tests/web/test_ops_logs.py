"""Structured logs (issue 17): one JSON line per request with its fields, no body, no query
string, no name; a fault's traceback once."""

from __future__ import annotations

import io
import json
import logging
import logging.config

import flask
import pytest
from flask import Flask

import ops
from ops.logs import LOGCONFIG, JsonFormatter, RequestIdFilter
from tests.web.test_ops_bad_requests import CALLBACK, router_body

SECRET = "Thandeka-0821234567-secret"


class Captured:
    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    def __call__(self) -> list[dict]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]

    def clear(self) -> None:
        self.stream.seek(0)
        self.stream.truncate()


@pytest.fixture
def json_lines():
    """Every log line written meanwhile, as the JSON formatter writes it (parsed back)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield Captured(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def request_entries(lines):
    return [entry for entry in lines if entry["logger"] == "ops.request"]


def test_a_callback_writes_one_line_with_the_fields(client_for, dash_app, json_lines):
    from data.db import session_scope
    from data.models import User

    client = client_for("manager")
    with session_scope() as s:
        manager_id = s.query(User.id).filter_by(username="manager").scalar()
    json_lines.clear()  # the login's own lines
    response = client.post(
        CALLBACK + f"?q={SECRET}",
        json=router_body(dash_app, "/partners", search=f"?name={SECRET}"),
        headers={"X-Request-ID": "req-from-proxy-0001"},
    )
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "req-from-proxy-0001"
    lines = json_lines()
    entries = request_entries(lines)
    assert len(entries) == 1
    entry = entries[0]
    assert entry["level"] == "INFO" and entry["message"] == "request"
    assert entry["time"].endswith("+00:00") and "T" in entry["time"]
    assert entry["request_id"] == "req-from-proxy-0001"
    assert entry["user_id"] == manager_id
    assert entry["method"] == "POST" and entry["path"] == CALLBACK
    assert entry["callback"].startswith("..") and "_pages_content.children" in entry["callback"]
    assert entry["status"] == 200
    assert isinstance(entry["duration_ms"], float) and entry["duration_ms"] >= 0
    written = "\n".join(json.dumps(line) for line in lines)
    assert SECRET not in written  # neither the body nor the query string
    assert "manager" not in json.dumps(entry)  # the id, never the name


def test_a_page_line_and_a_refusal_line(client_for, json_lines):
    client = client_for("marketing")
    json_lines.clear()
    client.get("/admin/users?who=" + SECRET)  # a page the role may not open: 403
    client.post(CALLBACK, json={"output": 5, "inputs": SECRET})
    entries = request_entries(json_lines())
    assert [(e["path"], e["status"], e["level"]) for e in entries] == [
        ("/admin/users", 403, "WARNING"),
        (CALLBACK, 400, "WARNING"),
    ]
    assert entries[1]["error"] == "malformed callback request"
    assert "callback" not in entries[1]
    assert SECRET not in json.dumps(entries)


def test_an_insane_request_id_is_replaced(dash_app, json_lines):
    response = dash_app.server.test_client().get(
        "/login", headers={"X-Request-ID": "bad id; with spaces"}
    )
    generated = response.headers["X-Request-ID"]
    assert generated != "bad id; with spaces" and len(generated) == 32
    assert request_entries(json_lines())[0]["request_id"] == generated
    assert "user_id" not in request_entries(json_lines())[0]  # anonymous


def test_a_fault_logs_its_traceback_once(json_lines):
    app = Flask(__name__)
    ops.install(app)

    @app.get("/api/boom")
    def boom():
        raise ValueError(f"broken for {SECRET}")

    client = app.test_client()
    responses = [client.get("/api/boom") for _ in range(3)]
    assert [r.status_code for r in responses] == [500, 500, 500]
    fault_id = responses[0].get_json()["fault"]
    assert {r.get_json()["fault"] for r in responses} == {fault_id}
    lines = json_lines()
    tracebacks = [line for line in lines if "traceback" in line]
    assert len(tracebacks) == 1
    assert tracebacks[0]["fault"] == fault_id and "ValueError" in tracebacks[0]["traceback"]
    entries = request_entries(lines)
    assert len(entries) == 3
    assert all(
        e["status"] == 500 and e["fault"] == fault_id and e["level"] == "ERROR" for e in entries
    )
    assert len(lines) == 4  # three request lines and one traceback
    assert SECRET not in json.dumps(responses[0].get_json())  # the message stays in the log


def test_the_gunicorn_log_config_is_valid():
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    levels = {name: logging.getLogger(name).level for name in LOGCONFIG["loggers"]}
    try:
        logging.config.dictConfig(LOGCONFIG)
        assert any(isinstance(h.formatter, JsonFormatter) for h in root.handlers)
        assert logging.getLogger("sqlalchemy").level == logging.WARNING
    finally:
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
            logging.getLogger(name).handlers.clear()
            logging.getLogger(name).propagate = True


def test_a_failing_page_layout_logs_its_traceback_once(monkeypatch, caplog):
    """The guarded layout shows the error panel; the traceback is logged the first time only,
    and every request that meets the fault carries its id on its log line."""
    import guard

    app = Flask(__name__)
    page = {"module": "pages.broken", "allowed_roles": ["admin"], "id_prefix": "broken"}

    def broken(**_):
        raise LookupError("boom")

    layout = guard._guarded_layout(page, broken)
    monkeypatch.setattr(guard, "current_role", lambda: "admin")
    fault_ids = []
    with caplog.at_level(logging.ERROR, logger="guard"):
        for _ in range(3):
            with app.test_request_context("/"):
                layout()
                fault_ids.append(flask.g.request_fault)
    assert len(set(fault_ids)) == 1
    logged = [r for r in caplog.records if r.name == "guard"]
    assert len(logged) == 1 and logged[0].exc_info[0] is LookupError

"""Malformed callback bodies get 400 or 413 and one log line, never a 500 (issue 17).

Each hostile body below was written by hand from what Dash's renderer sends (an ``output`` key,
``outputs``, ``inputs``/``state`` entries with ``id``/``property``/``value``); the expected
status is the HTTP rule (413 past the size limit, else 400), not read from the code.
"""

from __future__ import annotations

import http.client
import importlib.metadata
import io
import json
import logging
import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import callback_payload

CALLBACK = "/_dash-update-component"
LIMIT = 2 * 1024 * 1024
USER_AGENT = f"Werkzeug/{importlib.metadata.version('werkzeug')}"


def router_key(dash_app) -> str:
    return next(k for k in dash_app.callback_map if "_pages_content.children" in k)


def router_body(dash_app, pathname="/", search="", shown=None) -> dict:
    body = callback_payload(
        dash_app,
        router_key(dash_app),
        inputs=[
            {"id": "_pages_location", "property": "pathname", "value": pathname},
            {"id": "_pages_location", "property": "search", "value": search},
        ],
    )
    body["state"] = [{"id": "shell-shown-view", "property": "data", "value": shown}]
    return body


def request_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "ops.request"]


def hostile_bodies(dash_app) -> list[tuple[str, object]]:
    """(name, body): every one must be refused with 400."""
    good = router_body(dash_app)
    deep_value = json.loads("[" * 500 + "]" * 500)  # parses, but deeper than any real value

    def with_(**changes):
        body = json.loads(json.dumps(good))
        body.update(changes)
        return body

    def input_value(value):
        body = json.loads(json.dumps(good))
        body["inputs"][0]["value"] = value
        return body

    return [
        ("not an object", [1, 2, 3]),
        ("output not a string", with_(output=12)),
        ("output missing", {"inputs": []}),
        ("unknown output", with_(output="nowhere.children")),
        ("inputs not a list", with_(inputs={"id": "x"})),
        ("inputs missing", {k: v for k, v in good.items() if k != "inputs"}),
        ("one input too few", with_(inputs=good["inputs"][:1])),
        ("one input too many", with_(inputs=[*good["inputs"], good["inputs"][0]])),
        (
            "input of another component",
            with_(
                inputs=[
                    {"id": "partners-grid", "property": "pathname", "value": "/"},
                    good["inputs"][1],
                ]
            ),
        ),
        (
            "input of another property",
            with_(
                inputs=[
                    {"id": "_pages_location", "property": "href", "value": "/"},
                    good["inputs"][1],
                ]
            ),
        ),
        ("input entry not an object", with_(inputs=["pathname", "search"])),
        ("state missing", {k: v for k, v in good.items() if k != "state"}),
        ("pathname is a number", input_value(12)),
        ("pathname is an object", input_value({"a": 1})),
        ("pathname is a list", input_value(["/"])),
        ("nested 500 deep", input_value(deep_value)),
        ("changedPropIds not strings", with_(changedPropIds=[1, 2])),
        ("outputs missing", {k: v for k, v in good.items() if k != "outputs"}),
        ("outputs wrong count", with_(outputs=[*good["outputs"], *good["outputs"]])),
    ]


def test_every_hostile_body_is_a_400_with_one_log_line(client_for, dash_app, caplog):
    client = client_for("manager")
    assert client.post(CALLBACK, json=router_body(dash_app)).status_code == 200  # the oracle
    for name, body in hostile_bodies(dash_app):
        caplog.clear()
        with caplog.at_level(logging.INFO):
            response = client.post(CALLBACK, json=body)
        assert response.status_code == 400, (name, response.get_data(as_text=True)[:300])
        assert "error" in response.get_json(), name
        lines = request_lines(caplog)
        assert len(lines) == 1 and lines[0].status == 400, name
        assert not [r for r in caplog.records if r.exc_info], name
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR], name


def test_json_nested_past_the_decoders_limit_is_a_400(client_for, caplog):
    """100 KB of ``[`` made the guard raise RecursionError (HTTP 500) before issue 17."""
    client = client_for("manager")
    for raw in ("[" * 100_000 + "]" * 100_000, '{"output": ' + "[" * 50_000):
        caplog.clear()
        with caplog.at_level(logging.INFO):
            response = client.post(CALLBACK, data=raw, content_type="application/json")
        assert response.status_code == 400
        assert len(request_lines(caplog)) == 1
        assert not [r for r in caplog.records if r.exc_info]


def test_not_json_is_a_400(client_for):
    client = client_for("manager")
    for raw, kind in (
        (b"not json", "application/json"),
        (b"\xff\xfe\x00", "application/json"),
        (b"output=x", "application/x-www-form-urlencoded"),
        (b"", "text/plain"),
    ):
        assert client.post(CALLBACK, data=raw, content_type=kind).status_code == 400, raw


def test_a_declared_oversized_body_is_a_413_before_it_is_read(client_for, caplog):
    client = client_for("manager")
    read = []

    class Unreadable(io.BytesIO):
        def read(self, *args):  # the app must refuse on the header alone
            read.append(args)
            return super().read(*args)

    with caplog.at_level(logging.INFO):
        response = client.post(
            CALLBACK,
            input_stream=Unreadable(b"{}"),
            content_type="application/json",
            environ_overrides={"CONTENT_LENGTH": str(LIMIT + 1)},
        )
    assert response.status_code == 413
    assert read == []
    lines = request_lines(caplog)
    assert len(lines) == 1 and lines[0].status == 413 and lines[0].error == "body too large"


def test_an_anonymous_oversized_body_is_a_413_too(dash_app):
    client = dash_app.server.test_client()
    response = client.post(CALLBACK, data=b"x" * (LIMIT + 1), content_type="application/json")
    assert response.status_code == 413


def test_a_chunked_oversized_body_is_a_413(client_for):
    """No Content-Length: the server says it ends the stream (``wsgi.input_terminated``) and
    the body is cut off at the limit while being read."""
    client = client_for("manager")
    body = b'{"output": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    response = client.post(
        CALLBACK,
        input_stream=io.BytesIO(body),
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413


@pytest.fixture
def live_server(dash_app):
    """The app on a real HTTP server (Werkzeug's, threaded), for real chunked uploads."""
    server = make_server("127.0.0.1", 0, dash_app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()


def test_a_chunked_upload_over_http_gets_413(client_for, live_server):
    client = client_for("manager")
    cookie = client.get_cookie("session").value
    conn = http.client.HTTPConnection("127.0.0.1", live_server, timeout=30)
    chunks = [b'{"output": "'] + [b"x" * 65536] * 80 + [b'"}']  # 5 MB
    conn.putrequest("POST", CALLBACK)
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.putheader("Cookie", f"session={cookie}")
    conn.putheader("User-Agent", USER_AGENT)  # the session is bound to the test client's
    conn.endheaders()
    try:
        for chunk in chunks:
            conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        conn.send(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server may stop reading once it has refused the body
    response = conn.getresponse()
    assert response.status == 413
    conn.close()


def test_wrong_typed_values_for_every_callback_are_refused_not_500(client_for, dash_app):
    """For every registered callback, values of the wrong JSON type for their property (a count
    that is a string, a value that is an object) are a 400 from the body check."""
    from guard import callback_roles, page_prefixes

    prefixes = page_prefixes()
    clients: dict[str, object] = {}
    wrong = {
        "n_clicks": "many",
        "n_intervals": -1,
        "value": {"$ne": 1},
        "search": 5,
        "pathname": ["/"],
        "getRowsRequest": "rows",
        "paginationInfo": [1],
        "id": 3,
    }
    checked = 0
    for key, callback in dash_app.callback_map.items():
        roles = sorted(callback_roles(callback, prefixes))
        if not roles or callback.get("background"):
            continue
        role = roles[0]
        client = clients.setdefault(role, client_for(role))
        for index, dependency in enumerate(callback["inputs"]):
            if dependency["property"] not in wrong or dependency["id"].startswith("{"):
                continue
            body = callback_payload(dash_app, key)
            body["inputs"] = [
                {"id": d["id"], "property": d["property"], "value": None}
                if not d["id"].startswith("{")
                else []
                for d in callback["inputs"]
            ]
            body["state"] = [
                {"id": d["id"], "property": d["property"], "value": None}
                if not d["id"].startswith("{")
                else []
                for d in callback["state"]
            ]
            body["inputs"][index]["value"] = wrong[dependency["property"]]
            response = client.post(CALLBACK, json=body)
            assert response.status_code == 400, (key, dependency)
            checked += 1
    assert checked > 20


def test_clientside_callbacks_are_refused_on_the_server(client_for, dash_app):
    """Dash registers clientside callbacks in its callback map with no server function; a
    hand-made request for one crashed with a TypeError (500)."""
    client = client_for("admin")
    clientside = [k for k, cb in dash_app.callback_map.items() if cb.get("callback") is None]
    assert clientside  # the shell's in-place marker and Dash's own page store
    for key in clientside:
        callback = dash_app.callback_map[key]
        body = callback_payload(dash_app, key)
        body["inputs"] = [
            {"id": d["id"], "property": d["property"], "value": None} for d in callback["inputs"]
        ]
        body["state"] = [
            {"id": d["id"], "property": d["property"], "value": None} for d in callback["state"]
        ]
        response = client.post(CALLBACK, json=body)
        assert response.status_code == 400, key
        assert "clientside" in response.get_json()["error"]


def test_a_router_request_without_a_path_is_a_400(client_for, dash_app, caplog):
    """A browser's location always has a path; Dash's router failed on None with a 500."""
    client = client_for("manager")
    for pathname in (None, "zzz", "' OR 1=1 --"):
        with caplog.at_level(logging.INFO):
            response = client.post(CALLBACK, json=router_body(dash_app, pathname=pathname))
        assert response.status_code == 400, pathname
    assert "Traceback" not in caplog.text

"""Bad input never gets a 500: every server callback, called by an administrator (who may call
every page's callbacks) with each of its inputs and states in turn set to a value of a plausible
JSON type that the page cannot use, the others left empty.

The body check (``ops/callback_body.py``) refuses wrong shapes and types with 400; this is the
other half, values of the right type: each page validates what it reads. Before this test, four
such requests got a 500 (the router given a path without "/", and two single-choice dropdowns
given a list). Background callbacks are left out (they run in a job, not the request).
"""

from __future__ import annotations

from tests.conftest import callback_payload

JUNK = ("zzz", 3, 0, "", True, {}, {"a": 1}, ["a", 5], "' OR 1=1 --")
CALLBACK = "/_dash-update-component"


def _empty(spec: dict) -> object:
    if spec["id"].startswith("{"):
        return []  # pattern-matching ids: Dash sends a list of items
    return {"id": spec["id"], "property": spec["property"], "value": None}


def test_no_server_callback_answers_junk_with_a_500(client_for, dash_app, db):
    client = client_for("admin")
    failures = []
    calls = 0
    for key, callback in dash_app.callback_map.items():
        if callback.get("callback") is None or callback.get("background"):
            continue
        dependencies = callback["inputs"] + callback.get("state", [])
        for index, dependency in enumerate(dependencies):
            if dependency["id"].startswith("{"):
                continue
            for junk in JUNK:
                body = callback_payload(dash_app, key)
                if not isinstance(callback["output"], list):
                    body["outputs"] = body["outputs"][0]
                values = [_empty(d) for d in dependencies]
                values[index]["value"] = junk
                body["inputs"] = values[: len(callback["inputs"])]
                body["state"] = values[len(callback["inputs"]) :]
                first = callback["inputs"][0]
                body["changedPropIds"] = [f"{first['id']}.{first['property']}"]
                status = client.post(CALLBACK, json=body).status_code
                calls += 1
                if status >= 500:
                    failures.append((key[:80], dependency["id"], dependency["property"], junk))
    assert calls > 500  # every page's callbacks were reached
    assert failures == []

"""The audit grid's details as key/value text (components.audit_details), against hand-written
expected strings."""

from __future__ import annotations

import pytest

from components.audit_details import readable_details


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ('{"status": "received", "version": 2}', "status: received · version: 2"),
        ('{"assignee_id": null, "previous": 7}', "assignee id: – · previous: 7"),
        ('{"no_record_found": false, "fields": ["email", "phone"]}',
         "no record found: no · fields: email, phone"),
        ('{"filters": {"object_type": "privacy_request", "period": "30d"}, "rows": 1}',
         "filters.object type: privacy_request · filters.period: 30d · rows: 1"),
        ('{"withdrawn": []}', "withdrawn: none"),
        ('{"sections": {}}', "sections: –"),
        ("{}", ""),
        ("null", ""),
        ("", ""),
        (None, ""),
        ("[1, 2]", "1, 2"),
        ("not json", "not json"),
    ],
)  # fmt: skip
def test_readable_details(raw, text):
    assert readable_details(raw) == text

"""Columns that hold nobody's personal data, each with the reason: the other half of the
registry in :mod:`data.subjects`.

Every text column and every reference of every table needs a recorded decision
(``tests/unit/test_subjects.py``): either a kind in a subject's registry (``data.subjects``) or
an entry here saying why it refers to nobody. Kept apart from the registries so that each
module stays readable; :func:`decisions` reads both.
"""

from __future__ import annotations

from sqlalchemy import Table

from data.subjects import REGISTRIES, ROLLUPS, FieldKind, SubjectField, fields_of

# --- columns that hold nobody's data (a decision too) -----------------------------------------

_NOT_SUBJECT_TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "trade": ("reference data", {"code name": "a trade's code and name"}),
    "service_type": ("reference data", {"code name": "a service type's code and name"}),
    "suppression": (
        "keyed HMACs of opted-out or erased identifiers, what an erasure leaves on purpose",
        {"kind reason": "enum codes", "digest": "keyed HMAC, no plain identifier"},
    ),
    "audit_log": (
        "staff actions; details hold ids, counts and field names, never raw PII (data.audit)",
        {
            "actor": "staff username or system",
            "action object_type object_id": "codes and an id",
            "details": "JSON without raw PII",
            "prev_hash entry_hash": "SHA-256 links of the tamper-evident chain (data.audit_chain)",
        },
    ),
    "audit_chain_head": (
        "the audit chain's newest hash, no personal data",
        {"last_hash entries": "a SHA-256 hash and a count"},
    ),
    "app_user": (
        "staff accounts, not homeowners or partners",
        {"username password_hash role": "", "session_version": "a counter ending old sessions"},
    ),
    "login_attempt": (
        "staff login throttling, not homeowners or partners",
        {"username address": "", "throttled": "whether the throttle refused the attempt"},
    ),
    "setting": ("operational settings", {"key value": ""}),
    "submission_token": (
        "one-time tokens of staff forms (data.submissions)",
        {
            "token form actor": "a random token, the form's name and the staff username",
            "object_type object_id": "the code and id of the record the form created",
        },
    ),
    "data_meta": ("facts about the dataset (seed, as-of date)", {"key value": ""}),
    "aggregate_export": (
        "the aggregates export ledger (data.aggregates.ledger): what was released, about nobody",
        {
            "actor": "staff username",
            "format spec": "the file format and the table's specification (dimensions, months, k)",
            "population_digest result_digest": "SHA-256 digests of the population and the result",
            "mechanism": "the name of the differential-privacy mechanism (a constant)",
        },
    ),
    "consent_day": (
        "the consent page's daily counts (data.consent.rollup), totals over everybody",
        {"subject_type purpose channel site": "codes of the counted group"},
    ),
    "consent_population_day": (
        "daily counts of new subjects per source site (data.consent.rollup)",
        {"subject_type site": "codes of the counted group"},
    ),
    "retention_run": (
        "the retention sweep's progress (data.erasure.sweep_runs)",
        {
            "started_by": "staff username",
            "state rule": "codes",
            "summary": "counts per rule, batches and seconds",
        },
    ),
}

#: Columns, outside every subject's registry, that refer to nobody or hold text about nobody
#: (each with its reason): listing them is how a new one is noticed.
NOT_SUBJECT_DATA: tuple[SubjectField, ...] = tuple(
    item
    for table, (table_why, groups) in _NOT_SUBJECT_TABLES.items()
    for group, why in groups.items()
    for item in fields_of(table, not_personal={group: f"{table_why}: {why}" if why else table_why})
)


def decisions(table: Table, column: str) -> dict[str, FieldKind]:
    """Every recorded decision on one column: subject type (or ``"none"`` for
    :data:`NOT_SUBJECT_DATA`, ``"derived"`` for a derived family's totals) → kind."""
    found: dict[str, FieldKind] = {}
    for subject_type, reg in REGISTRIES.items():
        kind = reg.kind_of(table.name, column)
        if kind is not None:
            found[subject_type] = kind
    for item in NOT_SUBJECT_DATA:
        if (item.table, item.column) == (table.name, column):
            found["none"] = item.kind
    if not found and ROLLUPS.matches(table.name):
        kind = ROLLUPS.kind_of(table.c[column])
        if kind is not None:
            found["derived"] = kind
    return found

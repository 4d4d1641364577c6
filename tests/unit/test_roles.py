"""The capability map (data/roles.py) against a matrix written out by hand.

The expected table below is the oracle: it restates docs/security.md and is deliberately not
derived from the module, so that a change to the map fails here until someone changes the
table on purpose too.
"""

from __future__ import annotations

import pytest

from data.roles import ALL_ROLES, CAPABILITIES, can, roles_with

ROLES = ("admin", "manager", "privacy_officer", "marketing")

# capability -> (admin, manager, privacy_officer, marketing)
EXPECTED: dict[str, tuple[bool, bool, bool, bool]] = {
    "export_partner_table": (True, True, False, False),
    "export_lead_flow": (True, True, False, False),
    "export_audit_log": (True, False, False, False),
    "view_aggregates": (True, False, False, True),
    "export_aggregates": (True, False, False, True),
    "see_people": (True, False, True, False),
    "handle_privacy_requests": (True, False, True, False),
    "manage_users": (True, False, False, False),
    "overview_lead_volume": (True, True, True, True),
    "overview_partner_kpis": (True, True, False, True),
    "overview_privacy_kpis": (True, False, True, False),
}

CELLS = [
    (capability, role, allowed)
    for capability, row in EXPECTED.items()
    for role, allowed in zip(ROLES, row, strict=True)
]


def test_the_map_holds_exactly_the_expected_capabilities_and_roles():
    assert set(CAPABILITIES) == set(EXPECTED)
    assert set(ALL_ROLES) == set(ROLES)


@pytest.mark.parametrize(("capability", "role", "allowed"), CELLS)
def test_every_cell(capability, role, allowed):
    assert can(role, capability) is allowed


@pytest.mark.parametrize("capability", sorted(EXPECTED))
@pytest.mark.parametrize("role", [None, "", "root", "Admin", "admin ", "system", 1, ["admin"]])
def test_unknown_or_malformed_roles_fail_closed(role, capability):
    assert can(role, capability) is False


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    "capability", ["", "export", "EXPORT_AUDIT_LOG", "export_everything", None, 3]
)
def test_unknown_capabilities_fail_closed(role, capability):
    assert can(role, capability) is False


def test_roles_with_lists_the_holders_sorted():
    assert roles_with("handle_privacy_requests") == ("admin", "privacy_officer")
    assert roles_with("export_audit_log") == ("admin",)
    assert roles_with("overview_lead_volume") == (
        "admin",
        "manager",
        "marketing",
        "privacy_officer",
    )
    with pytest.raises(KeyError):
        roles_with("no_such_capability")


def test_the_map_cannot_be_changed_at_run_time():
    with pytest.raises(TypeError):
        CAPABILITIES["export_audit_log"] = frozenset({"marketing"})  # type: ignore[index]
    assert all(isinstance(roles, frozenset) for roles in CAPABILITIES.values())

"""The one map of role rules finer than "who may open which page".

Page access is declared on each page (``allowed_roles=`` in ``dash.register_page``) and enforced
by ``guard.py``. Everything finer (who may export which table, who sees individual people
rather than counts, which overview KPIs a role gets, who may act on privacy requests) lives
here, once, so that a security review reads one table and a rule cannot drift between a page
that hides a button and the callback or data function that must refuse the action anyway.

The map is read by the guard (``guard.current_role_can``), by the pages (to show or hide
controls and to refuse in callbacks) and by the data layer (defence in depth, e.g.
``data.privacy.workflow.require_privacy_role`` and ``data.export.export_table``). It has no
Flask or Dash import so that the data layer can use it without a request.

Unknown roles and unknown capabilities are refused (:func:`can` fails closed). The table is
mirrored, by hand, in ``docs/security.md`` and in ``tests/unit/test_roles.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from data.models import ROLES

ALL_ROLES: frozenset[str] = frozenset(ROLES)


def _roles(*names: str) -> frozenset[str]:
    return frozenset(names)


CAPABILITIES: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        # Exports (data/export.py checks these again before building a file).
        "export_partner_table": _roles("admin", "manager"),
        "export_lead_flow": _roles("admin", "manager"),  # the lead-flow operations list
        "export_audit_log": _roles("admin"),
        # De-identified aggregates (/aggregates, docs/aggregates.md): counts and shares only.
        "view_aggregates": _roles("admin", "marketing"),
        "export_aggregates": _roles("admin", "marketing"),
        # Individual people (names, per-person consent lists) rather than counts. Declared for
        # the consent and subject pages; roles without it get counts and aggregates only.
        "see_people": _roles("admin", "privacy_officer"),
        # Every action on a privacy request (intake, verify, extend, deny, fulfil, erase) and
        # who may be assigned one.
        "handle_privacy_requests": _roles("admin", "privacy_officer"),
        # Staff accounts (create, deactivate, change role, reset password).
        "manage_users": _roles("admin"),
        # Overview (home page) KPI groups.
        "overview_lead_volume": ALL_ROLES,
        "overview_partner_kpis": _roles("admin", "manager", "marketing"),
        "overview_privacy_kpis": _roles("admin", "privacy_officer"),
    }
)

_unknown = {role for roles in CAPABILITIES.values() for role in roles} - ALL_ROLES
if _unknown:  # a typo in the map must stop the app, not silently grant nothing
    raise RuntimeError(f"data.roles names unknown roles: {sorted(_unknown)}")


def can(role: object, capability: object) -> bool:
    """Whether ``role`` has ``capability``. Anything unknown (no role, a role or capability
    not in the map, a non-string) is refused: permissions fail closed."""
    if not isinstance(role, str) or not isinstance(capability, str):
        return False
    return role in CAPABILITIES.get(capability, frozenset())


def roles_with(capability: str) -> tuple[str, ...]:
    """The roles holding ``capability``, sorted (for SQL filters such as "who may be assigned a
    privacy request"). An unknown capability is a programming error, hence ``KeyError``."""
    return tuple(sorted(CAPABILITIES[capability]))

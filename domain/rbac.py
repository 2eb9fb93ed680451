"""Roles and permissions: which role may do what, and which roles a role may grant.

A permission is also an API-key scope: a key carries a subset of its member's
permissions, and a request needs the route's permission in both. The route-by-role
matrix in `docs/rbac.md` is checked against this module and the live app by the tests.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    EDITOR = "editor"
    VIEWER = "viewer"


class Permission(StrEnum):
    CATALOG_READ = "catalog:read"
    WORKFLOWS_READ = "workflows:read"
    WORKFLOWS_WRITE = "workflows:write"
    LISTINGS_READ = "listings:read"
    DESIGNS_READ = "designs:read"
    INTEGRATIONS_READ = "integrations:read"
    INTEGRATIONS_WRITE = "integrations:write"
    MEMBERS_READ = "members:read"
    MEMBERS_WRITE = "members:write"
    KEYS_READ = "keys:read"
    KEYS_WRITE = "keys:write"
    BILLING_READ = "billing:read"
    TEMPLATES_READ = "templates:read"
    TEMPLATES_WRITE = "templates:write"
    BRIEFS_READ = "briefs:read"
    TRENDS_READ = "trends:read"
    TRENDS_WRITE = "trends:write"
    SCHEDULES_READ = "schedules:read"
    SCHEDULES_WRITE = "schedules:write"
    CAMPAIGNS_READ = "campaigns:read"
    CAMPAIGNS_WRITE = "campaigns:write"
    PROTECTED_NAMES_READ = "protected_names:read"
    PROTECTED_NAMES_WRITE = "protected_names:write"
    ORDERS_READ = "orders:read"
    ORDERS_WRITE = "orders:write"


_VIEWER = frozenset(
    {
        Permission.CATALOG_READ,
        Permission.WORKFLOWS_READ,
        Permission.LISTINGS_READ,
        Permission.DESIGNS_READ,
        Permission.INTEGRATIONS_READ,
        Permission.MEMBERS_READ,
        Permission.BILLING_READ,
        Permission.TEMPLATES_READ,
        Permission.BRIEFS_READ,
        Permission.TRENDS_READ,
        Permission.SCHEDULES_READ,
        Permission.CAMPAIGNS_READ,
        Permission.PROTECTED_NAMES_READ,
        Permission.ORDERS_READ,
    }
)
_EDITOR = _VIEWER | {
    Permission.WORKFLOWS_WRITE,
    Permission.TEMPLATES_WRITE,
    Permission.TRENDS_WRITE,
    Permission.SCHEDULES_WRITE,
    Permission.CAMPAIGNS_WRITE,
    Permission.PROTECTED_NAMES_WRITE,
    Permission.ORDERS_WRITE,
}
_ADMIN = _EDITOR | {
    Permission.INTEGRATIONS_WRITE,
    Permission.MEMBERS_WRITE,
    Permission.KEYS_READ,
    Permission.KEYS_WRITE,
}
# Owners hold the same permissions; what sets them apart is managing owners (`can_manage`).
_OWNER = _ADMIN

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: _VIEWER,
    Role.EDITOR: frozenset(_EDITOR),
    Role.ADMIN: frozenset(_ADMIN),
    Role.OWNER: frozenset(_OWNER),
}

# Higher ranks may manage members and keys of equal or lower rank only.
ROLE_RANK: dict[Role, int] = {Role.VIEWER: 0, Role.EDITOR: 1, Role.ADMIN: 2, Role.OWNER: 3}


def can_manage(actor: Role, target: Role) -> bool:
    """Whether `actor` may grant, change or remove the role `target` (owners: only owners)."""
    if target is Role.OWNER:
        return actor is Role.OWNER
    return ROLE_RANK[actor] >= ROLE_RANK[target]


def may_issue_for(actor: Role, target: Role) -> bool:
    """Whether `actor` may create an API key for another member with role `target`.

    Stricter than `can_manage`: a key acts as its member, so peers (admin for admin) may
    not mint each other's credentials; owners may for anyone.
    """
    return actor is Role.OWNER or ROLE_RANK[actor] > ROLE_RANK[target]


def effective_permissions(role: Role, scopes: list[str] | None) -> frozenset[Permission]:
    """What a key may do now: its scopes, cut down to its member's current role."""
    allowed = ROLE_PERMISSIONS[role]
    if scopes is None:
        return allowed
    return frozenset(p for p in allowed if p.value in scopes)

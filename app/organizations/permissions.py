"""What each organization role may do: data, consulted by models and `user.can_*` methods.

A module-level mapping, like app/events/permissions.py, rather than a table admins edit:
the rules it encodes (only an OWNER transfers ownership, members are managed within one's
own level) are invariants the services and tests rely on, so a change to them is a reviewed
code change, not a setting that could lock every owner out of their organization.
"""

from __future__ import annotations

import enum


class OrgRole(enum.Enum):
    OWNER = "owner"
    ADMIN = "admin"
    MANAGER = "manager"
    MEMBER = "member"

    @property
    def level(self) -> int:
        return ROLE_LEVELS[self]

    def outranks_or_equals(self, other: OrgRole) -> bool:
        return self.level >= other.level


# Seed 001's OWNER > ADMIN > MEMBER, with seed 003's MANAGER between ADMIN and MEMBER.
ROLE_LEVELS: dict[OrgRole, int] = {
    OrgRole.OWNER: 4,
    OrgRole.ADMIN: 3,
    OrgRole.MANAGER: 2,
    OrgRole.MEMBER: 1,
}


class OrgPermission(enum.Enum):
    VIEW_ORGANIZATION = "view_organization"  # dashboard, member list
    VIEW_EVENTS = "view_events"  # the organization's private events and drafts
    CREATE_EVENTS = "create_events"
    EDIT_EVENTS = "edit_events"
    MANAGE_TEMPLATES = "manage_templates"  # certificate templates
    MANAGE_MEMBERS = "manage_members"  # invite, change roles, remove
    VIEW_ACTIVITY = "view_activity"
    EDIT_SETTINGS = "edit_settings"  # name, logo, colour
    MANAGE_BILLING = "manage_billing"
    TRANSFER_OWNERSHIP = "transfer_ownership"


# Permission → the lowest role level that holds it; higher roles hold it too (seed 001
# get_user_permissions: permissions cascade down the hierarchy).
PERMISSION_LEVELS: dict[OrgPermission, int] = {
    OrgPermission.VIEW_ORGANIZATION: 1,
    OrgPermission.VIEW_EVENTS: 1,
    OrgPermission.CREATE_EVENTS: 2,
    OrgPermission.EDIT_EVENTS: 2,
    OrgPermission.MANAGE_TEMPLATES: 3,
    OrgPermission.MANAGE_MEMBERS: 3,
    OrgPermission.VIEW_ACTIVITY: 3,
    OrgPermission.EDIT_SETTINGS: 3,
    OrgPermission.MANAGE_BILLING: 4,
    OrgPermission.TRANSFER_OWNERSHIP: 4,
}


def permissions_of(role: OrgRole | None) -> frozenset[OrgPermission]:
    if role is None:
        return frozenset()
    return frozenset(p for p, level in PERMISSION_LEVELS.items() if role.level >= level)


def role_allows(role: OrgRole | None, permission: OrgPermission) -> bool:
    return role is not None and role.level >= PERMISSION_LEVELS[permission]


def roles_with(permission: OrgPermission) -> tuple[OrgRole, ...]:
    """The roles holding `permission` (for queries: `role IN (...)`)."""
    return tuple(role for role in OrgRole if role_allows(role, permission))


def event_permission_via_org(permission) -> OrgPermission | None:
    """Which organization permission grants an event permission on the organization's
    events (None: only the event's own people have it)."""
    from app.events.permissions import EventPermission

    return {
        EventPermission.VIEW: OrgPermission.VIEW_EVENTS,
        EventPermission.EDIT: OrgPermission.EDIT_EVENTS,
        EventPermission.MANAGE_SPEAKERS: OrgPermission.EDIT_EVENTS,
        EventPermission.MANAGE_ATTENDEES: OrgPermission.EDIT_EVENTS,
    }.get(permission)

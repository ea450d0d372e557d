"""What each event role may do: data, consulted by `user.can_*` methods, never by views."""

from __future__ import annotations

import enum

from app.events.models import EventRole


class EventPermission(enum.Enum):
    VIEW = "view"  # see the event even when it is private or a draft
    EDIT = "edit"  # details, sessions, custom fields, status
    MANAGE_SPEAKERS = "manage_speakers"
    MANAGE_ATTENDEES = "manage_attendees"
    VIEW_OWN_SESSIONS = "view_own_sessions"


ROLE_PERMISSIONS: dict[EventRole, frozenset[EventPermission]] = {
    EventRole.ORGANIZER: frozenset(EventPermission),
    EventRole.SPEAKER: frozenset({EventPermission.VIEW, EventPermission.VIEW_OWN_SESSIONS}),
    EventRole.ATTENDEE: frozenset({EventPermission.VIEW}),
}


def role_allows(role: EventRole | None, permission: EventPermission) -> bool:
    return role is not None and permission in ROLE_PERMISSIONS[role]

"""Invitations to register: an organizer invites addresses; the link pre-fills the form, and
registering (through the link, or with the invited address) records it."""

from __future__ import annotations

import sqlalchemy as sa

from app.core.types import utcnow
from app.events.models import Event
from app.extensions import db
from app.registrations.models import EventInvitation, Registration


class InvitationService:
    @staticmethod
    def for_token(event: Event, token: str | None) -> EventInvitation | None:
        """The invitation to `event` with this token, or None (a wrong or foreign token)."""
        if not token or len(token) > 64:
            return None
        return db.session.scalar(
            sa.select(EventInvitation).where(
                EventInvitation.event_id == event.id, EventInvitation.token == token
            )
        )

    @staticmethod
    def record_registration(registration: Registration) -> EventInvitation | None:
        """Mark the invitation of the registration's address (if any) as registered."""
        invitation = db.session.scalar(
            sa.select(EventInvitation).where(
                EventInvitation.event_id == registration.event_id,
                EventInvitation.email == registration.email,
            )
        )
        if invitation is not None and invitation.registered_at is None:
            invitation.registered_at = utcnow()
            invitation.registration = registration
        return invitation

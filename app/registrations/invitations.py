"""Invitations to register: an organizer invites addresses; the link pre-fills the form, and
registering (through the link, or with the invited address) records it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.core.bearer import lookup_hash
from app.core.errors import ValidationError
from app.core.templating import datetime_long, zone_name
from app.core.types import InvalidEmail, canonical_email, utcnow
from app.core.urls import external_url
from app.events.models import Event
from app.extensions import db
from app.mailing.services import MailService
from app.registrations.models import LIVE_STATUSES, EventInvitation, Registration
from app.states import EventStatus

MAX_PER_PASTE = 500
PAGE_SIZE = 50
_SEPARATORS = re.compile(r"[\n\r,;]+")
_ANGLE = re.compile(r"<([^<>]*)>\s*$")  # "Ada Lovelace <ada@example.com>"


def split_addresses(text: str) -> list[str]:
    """The addresses in pasted text, as typed: one per line, or separated by commas or
    semicolons; "Name <address>" gives the address. Empty pieces are dropped."""
    pieces = []
    for piece in _SEPARATORS.split(text or ""):
        piece = piece.strip()
        match = _ANGLE.search(piece)
        if match:
            piece = match.group(1).strip()
        if piece:
            pieces.append(piece)
    return pieces


@dataclass
class InviteResult:
    """What became of each pasted address."""

    invited: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)  # as typed
    duplicates: list[str] = field(default_factory=list)  # pasted more than once
    already_invited: list[str] = field(default_factory=list)
    already_registered: list[str] = field(default_factory=list)

    @property
    def not_invited(self) -> int:
        return (len(self.invalid) + len(self.duplicates) + len(self.already_invited)
                + len(self.already_registered))


@dataclass(frozen=True)
class InvitationCounts:
    total: int
    registered: int

    @property
    def pending(self) -> int:
        return self.total - self.registered


def invitation_refusal(event: Event, now: datetime | None = None) -> str | None:
    """Why the event cannot take invitations now, or None."""
    now = now or utcnow()
    if event.status == EventStatus.DRAFT:
        return _("Publish the event first: the invitation link opens its registration form.")
    if event.status == EventStatus.CANCELLED:
        return _("This event is cancelled: nobody can register.")
    if event.status not in (EventStatus.PUBLISHED, EventStatus.LIVE) or now >= event.end_at:
        return _("This event is over: nobody can register.")
    closes = event.registration_closes_at
    if closes is not None and now >= closes:
        return _("Registration for this event has closed.")
    return None


class InvitationService:
    @staticmethod
    def for_token(event: Event, token: str | None) -> EventInvitation | None:
        """The invitation to `event` with this token, or None (a wrong or foreign token)."""
        token_hash = lookup_hash(token)
        if token_hash is None:
            return None
        return db.session.scalar(
            sa.select(EventInvitation).where(
                EventInvitation.event_id == event.id, EventInvitation.token_hash == token_hash
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

    @staticmethod
    def invite(event: Event, inviter, text: str) -> InviteResult:
        """Invite every valid new address of the pasted `text` and queue their emails (sent
        after the caller commits). Bad addresses are reported, not fatal; a refusal of the
        whole paste (too many, event closed) writes nothing."""
        refused = invitation_refusal(event)
        if refused:
            raise ValidationError(refused)
        pieces = split_addresses(text)
        if not pieces:
            raise ValidationError(_l("Paste at least one email address."), field="addresses")
        if len(pieces) > MAX_PER_PASTE:
            raise ValidationError(
                _l("Paste at most %(max)d addresses at once (this has %(count)d); send the "
                   "rest in a second paste.", max=MAX_PER_PASTE, count=len(pieces)),
                field="addresses",
            )
        result = InviteResult()
        wanted: list[str] = []
        for piece in pieces:
            try:
                address = canonical_email(piece)
            except InvalidEmail:
                result.invalid.append(piece)
                continue
            if address in wanted:
                if address not in result.duplicates:
                    result.duplicates.append(address)
                continue
            wanted.append(address)
        if not wanted:
            return result
        invited = set(db.session.scalars(
            sa.select(EventInvitation.email).where(
                EventInvitation.event_id == event.id, EventInvitation.email.in_(wanted)
            )
        ))
        registered = set(db.session.scalars(
            sa.select(Registration.email).where(
                Registration.event_id == event.id,
                Registration.email.in_(wanted),
                Registration.status.in_(LIVE_STATUSES),
                Registration.deleted_at.is_(None),
            )
        ))
        now = utcnow()
        fresh: list[tuple[EventInvitation, str]] = []  # each with its link's token
        for address in wanted:
            if address in registered:
                result.already_registered.append(address)
            elif address in invited:
                result.already_invited.append(address)
            else:
                invitation = EventInvitation(event_id=event.id, email=address, sent_at=now,
                                             invited_by_id=getattr(inviter, "id", None))
                fresh.append((invitation, invitation.new_link_token()))
        try:
            with db.session.begin_nested():
                db.session.add_all(invitation for invitation, _token in fresh)
                db.session.flush()
        except sa.exc.IntegrityError:
            # Another organizer invited one of these addresses a moment ago.
            raise ValidationError(_l(
                "Some of these addresses were invited at the same moment by someone else. "
                "Nothing was sent: paste them again."
            )) from None
        for invitation, token in fresh:
            _send(event, invitation, token, inviter)
            result.invited.append(invitation.email)
        return result

    @staticmethod
    def resend(event: Event, invitation: EventInvitation, inviter) -> None:
        """Email the invitation again, with a new link (only the link's hash is kept, so the
        first one cannot be sent again; it stops working); `sent_at` becomes now."""
        _check_belongs(event, invitation)
        refused = invitation_refusal(event)
        if refused:
            raise ValidationError(refused)
        if invitation.registered_at is not None:
            raise ValidationError(
                _l("%(email)s has already registered.", email=invitation.email)
            )
        invitation.sent_at = utcnow()
        _send(event, invitation, invitation.new_link_token(), inviter)
        db.session.flush()

    @staticmethod
    def delete(event: Event, invitation: EventInvitation) -> None:
        """Remove the invitation (hard delete, seed 003): its link stops pre-filling the form.
        A registration made through it stays."""
        _check_belongs(event, invitation)
        db.session.delete(invitation)
        db.session.flush()

    @staticmethod
    def counts(event: Event) -> InvitationCounts:
        total, registered = db.session.execute(
            sa.select(
                sa.func.count(EventInvitation.id),
                sa.func.count(EventInvitation.registered_at),
            ).where(EventInvitation.event_id == event.id)
        ).one()
        return InvitationCounts(total, registered)

    @staticmethod
    def page(event: Event, page: int = 1, size: int = PAGE_SIZE) -> list[EventInvitation]:
        """One page of the event's invitations, newest first (one query)."""
        return list(db.session.scalars(
            sa.select(EventInvitation)
            .where(EventInvitation.event_id == event.id)
            .order_by(EventInvitation.created_at.desc(), EventInvitation.id.desc())
            .offset((max(page, 1) - 1) * size)
            .limit(size)
        ))


def _check_belongs(event: Event, invitation: EventInvitation) -> None:
    if invitation.event_id != event.id:
        raise ValidationError(_l("That invitation belongs to another event."))


def register_url(event: Event, token: str) -> str:
    return external_url("registrations.register", slug=event.slug, invite=token)


def _send(event: Event, invitation: EventInvitation, token: str, inviter) -> None:
    MailService.send(
        "event_invitation",
        invitation.email,
        {
            "event_title": event.title,
            "event_when": (f"{datetime_long(event.start_at, event.timezone)} "
                           f"({zone_name(event.timezone)})"),
            "inviter_name": getattr(inviter, "display_name", None) or _("The organizers"),
            "register_url": register_url(event, token),
        },
    )

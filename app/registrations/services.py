"""Registering for an event and cancelling: the seat is taken, or given to the next person in
line, in one transaction that never oversells (issue 4 "Concurrency: never oversell").

Services only flush. The caller commits — promptly: the lock taken here is held until then.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import aliased, contains_eager

from app.core import privacy
from app.core.errors import ValidationError
from app.core.types import SystemEmail, utcnow
from app.core.urls import external_url
from app.events.models import (
    Event,
    EventRole,
    EventSession,
    EventUser,
)
from app.extensions import db
from app.mailing.services import MailService
from app.registrations import signals
from app.registrations.answers import Answer, AnswerErrors, check_answers, store_answers
from app.registrations.invitations import InvitationService
from app.registrations.models import (
    LIVE_STATUSES,
    SEAT_HOLDING_STATUSES,
    EventInvitation,
    Registration,
    SessionRegistration,
)
from app.registrations.seats import SeatPool, free_seats, lock_capacity
from app.states import EventStatus, RegistrationStatus

OPEN_STATUSES = (EventStatus.PUBLISHED, EventStatus.LIVE)


class RegistrationStateKind(enum.Enum):
    """What the event page says about registering, for one person (or for anyone)."""

    REGISTERED = "registered"
    WAITLISTED = "waitlisted"
    OPEN = "open"  # seats left (or no limit)
    WAITLIST_OPEN = "waitlist_open"  # full, newcomers join the waitlist
    FULL = "full"  # full, no waitlist
    NOT_YET_OPEN = "not_yet_open"
    CLOSED = "closed"
    EVENT_CANCELLED = "event_cancelled"
    EVENT_OVER = "event_over"
    UNAVAILABLE = "unavailable"  # a draft, or not visible to this person


@dataclass(frozen=True)
class RegistrationState:
    kind: RegistrationStateKind
    registration: Registration | None = None
    position: int | None = None
    seats_left: int | None = None
    opens_at: datetime | None = None

    @property
    def can_register(self) -> bool:
        return self.kind in (RegistrationStateKind.OPEN, RegistrationStateKind.WAITLIST_OPEN)


@dataclass(frozen=True)
class RegistrationOutcome:
    """What one registration attempt did: `created` is False for a double submit (the live
    registration is returned); `password_link_sent` when a new guest account was emailed."""

    registration: Registration
    created: bool
    password_link_sent: bool = False
    position: int | None = None  # in the waitlist, as decided under the lock
    # Read when the outcome is made: after the commit, reading the row would load it again.
    status: RegistrationStatus = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", self.registration.status)


class RegistrationService:
    @staticmethod
    def refusal(event: Event, user, invitation: EventInvitation | None = None):
        """(kind, message) when `user` (None: anyone) may not register for `event` now, else
        None. An invitation to this event lets its holder register for a private event."""
        invited = invitation is not None and invitation.event_id == event.id
        if event.is_deleted or not (
            invited
            or event.is_publicly_visible
            or (user is not None and user.can_view_event(event))
        ):
            # Private events are not revealed to people who may not see them.
            return RegistrationStateKind.UNAVAILABLE, _("This event does not exist.")
        if event.status == EventStatus.CANCELLED:
            return (RegistrationStateKind.EVENT_CANCELLED,
                    _("This event was cancelled; it takes no registrations."))
        if event.status in (EventStatus.COMPLETED, EventStatus.CLOSED):
            return (RegistrationStateKind.EVENT_OVER,
                    _("This event is over; it takes no registrations."))
        if event.status not in OPEN_STATUSES:
            return (RegistrationStateKind.UNAVAILABLE,
                    _("This event is not open for registration yet."))
        now = utcnow()
        if event.registration_opens_at is not None and now < event.registration_opens_at:
            return (RegistrationStateKind.NOT_YET_OPEN,
                    _("Registration for this event has not opened yet."))
        if event.registration_closes_at is not None and now >= event.registration_closes_at:
            return RegistrationStateKind.CLOSED, _("Registration for this event has closed.")
        if now >= event.end_at:
            return RegistrationStateKind.CLOSED, _("Registration for this event has closed.")
        return None

    @classmethod
    def check_open(cls, event: Event, user, invitation: EventInvitation | None = None) -> None:
        """Refuse with a clear message when `user` may not register for `event` now."""
        refused = cls.refusal(event, user, invitation)
        if refused is not None:
            raise ValidationError(refused[1])

    @classmethod
    def state_for(cls, event: Event, user=None) -> RegistrationState:
        """What the event page shows about registering: the person's own registration, or
        whether (and how) they could register. `user` None: an anonymous visitor."""
        if user is not None:
            registration = cls.find_live(event, user)
            if registration is not None:
                if registration.status == RegistrationStatus.WAITLISTED:
                    return RegistrationState(
                        RegistrationStateKind.WAITLISTED, registration,
                        position=cls.waitlist_position(registration),
                    )
                return RegistrationState(RegistrationStateKind.REGISTERED, registration)
        refused = cls.refusal(event, user)
        if refused is not None:
            return RegistrationState(refused[0], opens_at=event.registration_opens_at)
        seats_left = SeatPool.of_event(event).free()
        if seats_left == 0:
            kind = (RegistrationStateKind.WAITLIST_OPEN if event.waitlist_enabled
                    else RegistrationStateKind.FULL)
            return RegistrationState(kind, seats_left=0)
        return RegistrationState(RegistrationStateKind.OPEN, seats_left=seats_left)

    @staticmethod
    def find_live(event: Event, user) -> Registration | None:
        return db.session.scalar(
            sa.select(Registration).where(
                Registration.event_id == event.id,
                Registration.user_id == user.id,
                Registration.status.in_(LIVE_STATUSES),
            )
        )

    @classmethod
    def register(
        cls,
        event: Event,
        user,
        *,
        answers: Mapping | None = None,
        sessions: Sequence[EventSession] | None = None,
        invitation: EventInvitation | None = None,
    ) -> Registration:
        """Register `user` for `event`: CONFIRMED while seats are left, else WAITLISTED (or
        refused when the waitlist is off). A second submit returns the live registration.

        `answers`: the submitted form (answers to the event's questions, checked here and
        stored with the registration); None skips the questions (an organizer adding someone).
        `sessions`: the sessions picked when the event offers session sign-up; each place is
        taken like a seat. `invitation`: the invitation whose link was followed."""
        return cls.submit(
            event, user, answers=answers, sessions=sessions, invitation=invitation
        ).registration

    @classmethod
    def submit(
        cls,
        event: Event,
        user,
        *,
        answers: Mapping | None = None,
        sessions: Sequence[EventSession] | None = None,
        invitation: EventInvitation | None = None,
    ) -> RegistrationOutcome:
        """register(), telling whether the registration is new."""
        cls.check_open(event, user, invitation)
        checked, picked = cls.check_choices(event, answers, sessions)
        # Read before the lock (it is held until the commit: keep what runs under it short).
        invited = invitation is not None or _has_invitation(event, user.email)
        role = event.get_role(user)
        lock_capacity(event)
        db.session.refresh(event, ["capacity", "waitlist_enabled", "status"])
        # Under the lock: a double submit that raced us has committed by now.
        existing = cls.find_live(event, user)
        if existing is not None:
            return RegistrationOutcome(existing, created=False)
        status = SeatPool.of_event(event).place()
        now = utcnow()
        registration = Registration(
            event=event,
            user_id=user.id,
            email=SystemEmail(user.email),  # already canonical (or a system address)
            full_name=user.full_name or "",
            status=status,
            confirmed_at=now if status == RegistrationStatus.CONFIRMED else None,
            waitlisted_at=now if status == RegistrationStatus.WAITLISTED else None,
        )
        db.session.add(registration)
        if role is None:
            # Not event.add_member(): that loads every member of the event, under the lock.
            db.session.add(EventUser(event=event, user=user, role=EventRole.ATTENDEE))
        store_answers(registration, checked)
        _take_session_places(registration, picked)
        db.session.flush()
        if invited:
            InvitationService.record_registration(registration)
        _seats_changed([registration])
        if status == RegistrationStatus.CONFIRMED:
            _notify(registration, "registration_confirmed", ics=True)
            return RegistrationOutcome(registration, created=True)
        position = RegistrationService.waitlist_position(registration)
        _notify(registration, "registration_waitlisted", position=position)
        return RegistrationOutcome(registration, created=True, position=position)

    @staticmethod
    def check_choices(
        event: Event, answers: Mapping | None, sessions: Sequence[EventSession] | None
    ) -> tuple[list[Answer], list[EventSession]]:
        """The answers and session picks, checked together: every problem is raised at once
        (AnswerErrors; a session problem under the "sessions" key). None skips a check."""
        picked, errors = [], {}
        if sessions is not None:
            try:
                picked = check_session_picks(event, sessions)
            except ValidationError as error:
                errors["sessions"] = error.message
        checked = []
        if answers is not None:
            try:
                checked = check_answers(event.custom_fields, answers)
            except AnswerErrors as error:
                errors.update(error.errors)
        if errors:
            raise AnswerErrors(errors)
        return checked, picked

    @classmethod
    def register_guest(
        cls,
        event: Event,
        *,
        email: str,
        full_name: str,
        answers: Mapping | None = None,
        sessions: Sequence[EventSession] | None = None,
        invitation: EventInvitation | None = None,
    ) -> RegistrationOutcome:
        """Register someone who is not logged in: the account with this address, or a new
        INVITED one (one account per canonical email), which is emailed a link to choose a
        password."""
        from app.accounts import tokens
        from app.accounts.models import UserStatus
        from app.accounts.services import AccountService

        if not (full_name or "").strip():
            raise ValidationError(_("Enter your name."), field="full_name")
        user = AccountService.invite(email, full_name)
        outcome = cls.submit(
            event, user, answers=answers, sessions=sessions, invitation=invitation
        )
        if not outcome.created or user.status != UserStatus.INVITED:
            return outcome
        token = tokens.make_token(user, tokens.RESET_PASSWORD)
        MailService.send(
            "guest_registration",
            user.email,
            {
                "user_name": user.display_name,
                "event_title": event.title,
                "set_password_url": external_url("accounts.reset_password", token=token),
            },
            user=user,
        )
        return dataclasses.replace(outcome, password_link_sent=True)

    @classmethod
    def cancel(cls, registration: Registration, actor=None) -> list[Registration]:
        """Cancel (a second cancel does nothing), with the registration's session places; a
        freed seat, in the event or in a session, goes to the first in line. Returns the
        registrations promoted in the event."""
        if registration.status == RegistrationStatus.CANCELLED:
            return []
        event = registration.event
        SeatPool.of_event(event).lock()
        # Another request may have cancelled it, or changed its sessions, before our lock.
        db.session.refresh(registration, ["status", "session_places"])
        if registration.status == RegistrationStatus.CANCELLED:
            return []
        places = [place for place in registration.session_places if _is_live(place)]
        sessions = _lock_sessions(place.session for place in places)
        registration.cancel(actor)
        for place in places:
            place.cancel(actor)
        db.session.flush()
        _seats_changed([registration])
        for session in sessions:
            _fill_session(session, actor)
        return cls.fill_from_waitlist(event, actor)

    @staticmethod
    def fill_from_waitlist(event: Event, actor=None) -> list[Registration]:
        """Promote waitlisted registrations, first come first served, while seats are free,
        and tell them. Call under the event's lock."""
        promoted = SeatPool.of_event(event).fill_from_waitlist(actor)
        for registration in promoted:
            _notify(registration, "registration_promoted", ics=True)
        _seats_changed(promoted)
        return promoted

    @staticmethod
    def promote(registration: Registration, actor=None) -> None:
        """Move one waitlisted registration to a seat out of turn (an organizer's choice); a
        full event is refused: raise the capacity or cancel someone first."""
        pool = SeatPool.of_event(registration.event)
        pool.lock()
        db.session.refresh(registration, ["status"])
        if registration.status != RegistrationStatus.WAITLISTED:
            raise ValidationError(_("Only a waitlisted registration can be moved to a seat."))
        if pool.free() == 0:
            raise ValidationError(
                _("The event is full: raise its capacity or cancel a registration first.")
            )
        registration.promote(actor)
        db.session.flush()
        _seats_changed([registration])
        _notify(registration, "registration_promoted", ics=True)

    @staticmethod
    def waitlist_position(registration: Registration) -> int | None:
        """1 for the first in line; None when the registration is not waitlisted."""
        return SeatPool.of_event(registration.event).position(registration)

    # --- Session sign-up (DESIGN.md "Decisions")

    @staticmethod
    def add_sessions(registration: Registration, sessions: Sequence[EventSession]) -> None:
        """Take places in more sessions for a live registration (each placed like a seat)."""
        event = registration.event
        if not registration.is_live:
            raise ValidationError(_("This registration is cancelled."))
        if event.status not in OPEN_STATUSES:
            raise ValidationError(_("This event no longer takes changes to registrations."))
        picked = check_session_picks(event, sessions)
        SeatPool.of_event(event).lock()
        db.session.refresh(registration, ["status", "session_places"])
        if not registration.is_live:
            raise ValidationError(_("This registration is cancelled."))
        held = {place.session_id for place in registration.session_places if _is_live(place)}
        _take_session_places(registration, [s for s in picked if s.id not in held])
        db.session.flush()
        _seats_changed([registration])

    @staticmethod
    def drop_session(registration: Registration, session: EventSession, actor=None) -> bool:
        """Give up the place in one session (a second drop does nothing); the first in that
        session's line gets it. Returns whether a place was given up."""
        event = registration.event
        SeatPool.of_event(event).lock()
        db.session.refresh(registration, ["status", "session_places"])
        live = [place for place in registration.session_places if _is_live(place)]
        place = next((p for p in live if p.session_id == session.id), None)
        if place is None:
            return False
        if registration.is_live and len(live) == 1:
            raise ValidationError(
                _("Keep at least one session, or cancel your registration instead.")
            )
        _lock_sessions([session])
        db.session.refresh(place, ["status"])
        if not _is_live(place):
            return False
        place.cancel(actor)
        db.session.flush()
        _seats_changed([registration])
        _fill_session(session, actor)
        return True

    @staticmethod
    def session_position(place: SessionRegistration) -> int | None:
        return SeatPool.of_session(place.session).position(place)


def _has_invitation(event: Event, email: str) -> bool:
    """Whether this address was invited to the event (then registering records it)."""
    return db.session.scalar(
        sa.select(EventInvitation.id)
        .where(EventInvitation.event_id == event.id, EventInvitation.email == email)
        .limit(1)
    ) is not None


def check_session_picks(event: Event, sessions: Sequence[EventSession]) -> list[EventSession]:
    """The sessions picked, checked: the event offers session sign-up, at least one is
    picked, and each is a session of this event that is not cancelled."""
    if not event.session_signup:
        return []
    picked = list({s.id: s for s in sessions}.values())
    if not picked:
        raise ValidationError(_("Choose at least one session."), field="sessions")
    for session in picked:
        if session.event_id != event.id or session.is_cancelled:
            raise ValidationError(
                _("Choose sessions from the list; “%(session)s” cannot be chosen.",
                  session=session.title),
                field="sessions",
            )
    return sorted(picked, key=lambda s: s.id)


def _is_live(place: SessionRegistration) -> bool:
    return place.status in LIVE_STATUSES


def _lock_sessions(sessions: Iterable[EventSession]) -> list[EventSession]:
    """Lock sessions in id order (after their event: the one order every seat-taker uses,
    so that two requests never wait for each other)."""
    ordered = sorted({s.id: s for s in sessions}.values(), key=lambda s: s.id)
    for session in ordered:
        SeatPool.of_session(session).lock()
    return ordered


def _take_session_places(registration: Registration, sessions: list[EventSession]) -> None:
    """A SessionRegistration for each session, CONFIRMED or WAITLISTED by the session's own
    capacity (a session without one never fills). Call under the event's lock."""
    for session in _lock_sessions(sessions):
        status = SeatPool.of_session(session).place()
        now = utcnow()
        db.session.add(
            SessionRegistration(
                registration=registration,
                session=session,
                status=status,
                confirmed_at=now if status == RegistrationStatus.CONFIRMED else None,
                waitlisted_at=now if status == RegistrationStatus.WAITLISTED else None,
            )
        )
        db.session.flush()  # the next count (a double pick cannot happen) sees it


def _fill_session(session: EventSession, actor=None) -> list[SessionRegistration]:
    """Promote the first in the session's line while it has places, and tell them."""
    promoted = SeatPool.of_session(session).fill_from_waitlist(actor)
    for place in promoted:
        registration = place.registration
        _notify(registration, "session_place_confirmed", session_title=session.title,
                registration_url=_registration_url(registration.event))
    _seats_changed([place.registration for place in promoted])
    return promoted


def _seats_changed(registrations: list[Registration]) -> None:
    """Send `seats_changed` for registrations of one event (none: nothing to say)."""
    if registrations:
        signals.seats_changed.send(registrations[0].event, registrations=list(registrations))


def session_seats(event: Event) -> dict[int, int | None]:
    """Seats left in each session of `event` (None: no limit), in one query."""
    taken = dict(
        db.session.execute(
            sa.select(SessionRegistration.session_id, sa.func.count(SessionRegistration.id))
            .join(EventSession, EventSession.id == SessionRegistration.session_id)
            .where(
                EventSession.event_id == event.id,
                SessionRegistration.status.in_(SEAT_HOLDING_STATUSES),
            )
            .group_by(SessionRegistration.session_id)
        ).all()
    )
    return {session.id: free_seats(session, taken.get(session.id, 0))
            for session in event.sessions}


@dataclass(frozen=True)
class RegistrationEntry:
    """One line of a person's "My registrations"."""

    registration: Registration
    position: int | None


def upcoming_registrations(user, now: datetime | None = None) -> list[RegistrationEntry]:
    """The person's live registrations for events that have not ended, soonest first, with
    their waitlist positions, in a fixed number of queries."""
    now = now or utcnow()
    registrations = list(
        db.session.scalars(
            sa.select(Registration)
            .join(Event, Event.id == Registration.event_id)
            .where(
                Registration.user_id == user.id,
                Registration.status.in_(LIVE_STATUSES),
                Event.end_at > now,
                Event.deleted_at.is_(None),
            )
            .options(contains_eager(Registration.event))
            .order_by(Event.start_at, Registration.id)
        )
    )
    positions = waitlist_positions(registrations)
    return [RegistrationEntry(r, positions.get(r.id)) for r in registrations]


def registered_event_ids(user) -> set[int]:
    """Events the person ever registered for (cancelled ones too): the dashboard lists those
    as registrations, not as plain "events I attend"."""
    return set(
        db.session.scalars(
            sa.select(Registration.event_id).where(Registration.user_id == user.id).distinct()
        )
    )


def waitlist_positions(registrations: Sequence[Registration]) -> dict[int, int]:
    """SeatPool.position for many registrations at once (one query): id -> place in line."""
    waiting = [r.id for r in registrations if r.status == RegistrationStatus.WAITLISTED]
    if not waiting:
        return {}
    ahead = aliased(Registration)
    rows = db.session.execute(
        sa.select(Registration.id, sa.func.count(ahead.id))
        .outerjoin(
            ahead,
            sa.and_(
                ahead.event_id == Registration.event_id,
                ahead.status == RegistrationStatus.WAITLISTED,
                sa.or_(
                    ahead.waitlisted_at < Registration.waitlisted_at,
                    sa.and_(ahead.waitlisted_at == Registration.waitlisted_at,
                            ahead.id < Registration.id),
                ),
            ),
        )
        .where(Registration.id.in_(waiting))
        .group_by(Registration.id)
    )
    return {registration_id: count + 1 for registration_id, count in rows}


def _notify(registration: Registration, template: str, ics: bool = False, **extra) -> None:
    from app.organizations.branding import email_branding

    event = registration.event
    MailService.send(
        template,
        registration.email,
        {
            "user_name": registration.display_name,
            "event_title": event.title,
            "event_url": _event_url(event),
            **email_branding(event),  # the organization's logo and colour (issue 7)
            **extra,
        },
        user=registration.user,
        attachments=[{"kind": "event_ics", "id": event.id}] if ics else None,
    )


def _event_url(event: Event) -> str:
    return external_url("events.event_detail", slug=event.slug)


def _registration_url(event: Event) -> str:
    return external_url("registrations.my_registration", slug=event.slug)


# --- Privacy


def export_registrations(user) -> list[dict]:
    rows = db.session.execute(
        sa.select(Registration, Event.title)
        .join(Event, Event.id == Registration.event_id)
        .where(Registration.user_id == user.id)
        .order_by(Registration.created_at, Registration.id)
        .execution_options(include_deleted=True)
    )
    return [
        {
            "event": title,
            "email": registration.email,
            "full_name": registration.full_name,
            "status": registration.status.value,
            "registered_at": registration.created_at.isoformat(),
            "confirmed_at": registration.confirmed_at and registration.confirmed_at.isoformat(),
            "waitlisted_at": registration.waitlisted_at and registration.waitlisted_at.isoformat(),
            "cancelled_at": registration.cancelled_at and registration.cancelled_at.isoformat(),
        }
        for registration, title in rows
    ]


def anonymise_registrations(user) -> None:
    """Keep the rows for the organizer's counts and records; drop what names the person."""
    db.session.execute(
        sa.update(Registration)
        .where(Registration.user_id == user.id)
        .values(
            email=privacy.anonymised_email(user),
            full_name="Deleted User",
        )
        .execution_options(synchronize_session="fetch")
    )


privacy.register("registrations", export=export_registrations, anonymise=anonymise_registrations)


# --- Capacity changes (receivers of the events area's capacity signals)


def refuse_capacity_below_seats(holder: Event | EventSession, capacity: int | None) -> None:
    """Refuse a capacity (of an event, or of a session) below the seats already confirmed:
    nobody loses a confirmed seat. The seats are counted under the seat lock, held until the
    caller commits, so that no registration slips in between."""
    if capacity is None:
        return
    pool = SeatPool.of_event(holder) if isinstance(holder, Event) else SeatPool.of_session(holder)
    pool.lock()
    taken = pool.taken()
    if capacity < taken:
        raise ValidationError(
            _("%(count)s seats are already confirmed: the capacity cannot be lower than that. "
              "Cancel registrations first to go lower.", count=taken),
            field="capacity",
        )


def fill_freed_seats(holder: Event | EventSession) -> None:
    """More seats (or none limited): the first in line get them, and are told."""
    if isinstance(holder, Event):
        RegistrationService.fill_from_waitlist(holder)
    else:
        _fill_session(holder)

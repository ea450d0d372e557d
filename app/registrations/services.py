"""Registering for an event and cancelling: the seat is taken, or given to the next person in
line, in one transaction that never oversells (issue 4 "Concurrency: never oversell").

Services only flush. The caller commits — promptly: the lock taken here is held until then.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa
from flask_babel import gettext as _

from app.core import privacy
from app.core.errors import ValidationError
from app.core.types import SystemEmail, utcnow
from app.core.urls import external_url
from app.events.models import Event, EventRole, EventSession, EventUser
from app.extensions import db
from app.mailing.services import MailService
from app.registrations.models import (
    LIVE_STATUSES,
    SEAT_HOLDING_STATUSES,
    Registration,
    SessionRegistration,
)
from app.states import EventStatus, RegistrationStatus

OPEN_STATUSES = (EventStatus.PUBLISHED, EventStatus.LIVE)


# --- Capacity: the same code for an event and for a session with its own capacity


class CapacityHolder(Protocol):
    """Anything that has seats: an Event, or an EventSession with its own capacity."""

    id: int
    capacity: int | None  # None: unlimited


def lock_capacity(holder: CapacityHolder) -> None:
    """Serialise seat-taking on `holder` until the transaction ends.

    PostgreSQL: lock the holder's row (SELECT ... FOR UPDATE); other seat-takers of the same
    holder wait, everyone else goes on. SQLite has no row locks: this transaction becomes a
    write transaction now (BEGIN IMMEDIATE), so concurrent seat-takers wait on the busy
    timeout, while reads elsewhere stay concurrent (only this operation is immediate).
    """
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        _begin_immediate(connection)
        return
    model = type(holder)
    db.session.execute(sa.select(model.id).where(model.id == holder.id).with_for_update())


def _begin_immediate(connection: sa.Connection) -> None:
    """Open the SQLite transaction as IMMEDIATE (taking the write lock, waiting for it).

    The pysqlite driver (legacy transaction control) runs SELECTs outside a transaction and
    opens one (deferred) right before the first INSERT/UPDATE/DELETE. So when none is open
    yet, we open it ourselves; when one is open, a write has already taken the write lock,
    which is what IMMEDIATE would have given us.
    """
    dbapi_connection = connection.connection.driver_connection
    if not dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def place_in(holder: CapacityHolder, taken: int, waitlist_enabled: bool) -> RegistrationStatus:
    """Where a new registration goes, given the seats already `taken` (count under the lock)."""
    if holder.capacity is None or taken < holder.capacity:
        return RegistrationStatus.CONFIRMED
    if waitlist_enabled:
        return RegistrationStatus.WAITLISTED
    if isinstance(holder, EventSession):
        raise ValidationError(_("“%(session)s” is full.", session=holder.title))
    raise ValidationError(_("This event is full."))


def free_seats(holder: CapacityHolder, taken: int) -> int | None:
    """Seats left (None: unlimited)."""
    if holder.capacity is None:
        return None
    return max(holder.capacity - taken, 0)


@dataclass(frozen=True)
class SeatPool:
    """The seats of one holder and the rows that take them: an event's registrations, or a
    session's session registrations. Every seat decision goes through here, so an event
    and a session fill, waitlist and promote the same way."""

    holder: Event | EventSession
    rows: type[Registration] | type[SessionRegistration]
    belongs: sa.ColumnElement[bool]  # "this row is for this holder"
    waitlist_enabled: bool

    @classmethod
    def of_event(cls, event: Event) -> SeatPool:
        return cls(event, Registration, Registration.event_id == event.id,
                   event.waitlist_enabled)

    @classmethod
    def of_session(cls, session: EventSession) -> SeatPool:
        return cls(session, SessionRegistration, SessionRegistration.session_id == session.id,
                   session.event.waitlist_enabled)

    def lock(self) -> None:
        lock_capacity(self.holder)
        db.session.refresh(self.holder, ["capacity"])

    def taken(self) -> int:
        return db.session.scalar(
            sa.select(sa.func.count(self.rows.id)).where(
                self.belongs, self.rows.status.in_(SEAT_HOLDING_STATUSES)
            )
        )

    def place(self) -> RegistrationStatus:
        """The status of a newcomer. Call under lock()."""
        return place_in(self.holder, self.taken(), self.waitlist_enabled)

    def free(self) -> int | None:
        return free_seats(self.holder, self.taken())

    def next_in_line(self, limit: int | None = None) -> list:
        query = (
            sa.select(self.rows)
            .where(self.belongs, self.rows.status == RegistrationStatus.WAITLISTED)
            .order_by(self.rows.waitlisted_at, self.rows.id)
        )
        if limit is not None:
            query = query.limit(limit)
        return list(db.session.scalars(query))

    def fill_from_waitlist(self, actor=None) -> list:
        """Promote waitlisted rows, first come first served, while seats are free. Call under
        lock(); returns the rows promoted."""
        free = self.free()
        if free == 0:
            return []
        promoted = self.next_in_line(free)
        for row in promoted:
            row.promote(actor)
        db.session.flush()
        return promoted

    def position(self, row) -> int | None:
        """1 for the first in line; None when `row` is not waitlisted."""
        if row.status != RegistrationStatus.WAITLISTED:
            return None
        ahead = db.session.scalar(
            sa.select(sa.func.count(self.rows.id)).where(
                self.belongs,
                self.rows.status == RegistrationStatus.WAITLISTED,
                sa.or_(
                    self.rows.waitlisted_at < row.waitlisted_at,
                    sa.and_(self.rows.waitlisted_at == row.waitlisted_at, self.rows.id < row.id),
                ),
            )
        )
        return ahead + 1


# --- Registrations


class RegistrationService:
    @staticmethod
    def check_open(event: Event, user) -> None:
        """Refuse with a clear message when `user` may not register for `event` now."""
        if event.is_deleted or not user.can_view_event(event):
            # Private events are not revealed to people who may not see them.
            raise ValidationError(_("This event does not exist."))
        if event.status == EventStatus.CANCELLED:
            raise ValidationError(_("This event was cancelled; it takes no registrations."))
        if event.status in (EventStatus.COMPLETED, EventStatus.CLOSED):
            raise ValidationError(_("This event is over; it takes no registrations."))
        if event.status not in OPEN_STATUSES:
            raise ValidationError(_("This event is not open for registration yet."))
        now = utcnow()
        if event.registration_opens_at is not None and now < event.registration_opens_at:
            raise ValidationError(_("Registration for this event has not opened yet."))
        if event.registration_closes_at is not None and now >= event.registration_closes_at:
            raise ValidationError(_("Registration for this event has closed."))

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
    def register(cls, event: Event, user) -> Registration:
        """Register `user` for `event`: CONFIRMED while seats are left, else WAITLISTED (or
        refused when the waitlist is off). A second submit returns the live registration."""
        cls.check_open(event, user)
        pool = SeatPool.of_event(event)
        pool.lock()
        # Under the lock: a double submit that raced us has committed by now.
        existing = cls.find_live(event, user)
        if existing is not None:
            return existing
        db.session.refresh(event, ["waitlist_enabled", "status"])
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
        if event.get_role(user) is None:
            # Not event.add_member(): that loads every member of the event, under the lock.
            db.session.add(EventUser(event=event, user=user, role=EventRole.ATTENDEE))
        db.session.flush()
        if status == RegistrationStatus.CONFIRMED:
            _notify(registration, "registration_confirmed")
        else:
            _notify(
                registration,
                "registration_waitlisted",
                position=RegistrationService.waitlist_position(registration),
            )
        return registration

    @classmethod
    def cancel(cls, registration: Registration, actor=None) -> list[Registration]:
        """Cancel (a second cancel does nothing); a freed seat goes to the first in line.
        Returns the registrations promoted."""
        if registration.status == RegistrationStatus.CANCELLED:
            return []
        event = registration.event
        SeatPool.of_event(event).lock()
        db.session.refresh(registration, ["status"])  # another request may have cancelled it
        if registration.status == RegistrationStatus.CANCELLED:
            return []
        registration.cancel(actor)
        db.session.flush()
        return cls.fill_from_waitlist(event, actor)

    @staticmethod
    def fill_from_waitlist(event: Event, actor=None) -> list[Registration]:
        """Promote waitlisted registrations, first come first served, while seats are free,
        and tell them. Call under the event's lock."""
        promoted = SeatPool.of_event(event).fill_from_waitlist(actor)
        for registration in promoted:
            _notify(registration, "registration_promoted")
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
        _notify(registration, "registration_promoted")

    @staticmethod
    def waitlist_position(registration: Registration) -> int | None:
        """1 for the first in line; None when the registration is not waitlisted."""
        return SeatPool.of_event(registration.event).position(registration)


def _notify(registration: Registration, template: str, **extra) -> None:
    event = registration.event
    MailService.send(
        template,
        registration.email,
        {
            "user_name": registration.full_name or registration.email,
            "event_title": event.title,
            "event_url": _event_url(event),
            **extra,
        },
        user=registration.user,
    )


def _event_url(event: Event) -> str:
    return external_url("events.event_detail", slug=event.slug)


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

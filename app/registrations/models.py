"""Registrations: a person's place at an event — a seat, a place in line, or a cancellation
(seed 003 Registration; DESIGN.md "Decisions": registration is to an event)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.bearer import new_token
from app.core.errors import ValidationError
from app.core.models import Model, SoftDeleteMixin
from app.core.types import Email, UTCDateTime, enum_column, utcnow
from app.events.models import Event, EventCustomField, EventSession
from app.extensions import db
from app.states import REGISTRATION_MACHINE, RegistrationStatus

# The one place that says which statuses hold a seat (DESIGN.md "Decisions"). Later states
# (pending approval, pending payment with an expiry) are added here and nowhere else.
SEAT_HOLDING_STATUSES: tuple[RegistrationStatus, ...] = (RegistrationStatus.CONFIRMED,)

# A registration that still counts: it holds a seat or waits for one.
LIVE_STATUSES: tuple[RegistrationStatus, ...] = (
    RegistrationStatus.CONFIRMED,
    RegistrationStatus.WAITLISTED,
)

_LIVE_ROW = "status != 'cancelled' AND deleted_at IS NULL"


class SeatStatusMixin:
    """What a registration and a session place share: a status that holds a seat or waits
    for one, moved by REGISTRATION_MACHINE (promotion, cancellation) with its timestamps."""

    status: RegistrationStatus
    confirmed_at: datetime | None
    cancelled_at: datetime | None

    @property
    def holds_seat(self) -> bool:
        return self.status in SEAT_HOLDING_STATUSES

    def promote(self, actor=None) -> None:
        REGISTRATION_MACHINE.fire(self, "promote", actor=actor)
        self.confirmed_at = utcnow()

    def cancel(self, actor=None) -> None:
        REGISTRATION_MACHINE.fire(self, "cancel", actor=actor)
        self.cancelled_at = utcnow()


class Registration(SeatStatusMixin, SoftDeleteMixin, Model):
    """One person's registration for one event. Name and email are copied when they register,
    so the organizer's records survive the account (user_id is set NULL on user deletion)."""

    __tablename__ = "registrations"
    __table_args__ = (
        # At most one live registration per person and event; a cancelled one may be followed
        # by a new one. Double submits and races end here at the latest.
        sa.Index(
            "uq_registrations_live_event_user",
            "event_id",
            "user_id",
            unique=True,
            sqlite_where=sa.text(_LIVE_ROW),
            postgresql_where=sa.text(_LIVE_ROW),
        ),
        # Seat counts and the waitlist read (event, status) in order of arrival.
        sa.Index("ix_registrations_event_status", "event_id", "status", "waitlisted_at", "id"),
    )

    # A soft-deleted event keeps its registrations (seed 003): never removed with it.
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="RESTRICT"))
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    email: Mapped[str] = mapped_column(Email)
    full_name: Mapped[str] = mapped_column(sa.String(200), default="")
    status: Mapped[RegistrationStatus] = mapped_column(enum_column(RegistrationStatus))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    waitlisted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # In-person check-in at the door; None: not checked in.
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The organizer decided this registration gets no certificate (DESIGN.md "Decisions":
    # a decision on the registration, not a certificate state).
    certificate_declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    certificate_declined_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    certificate_decline_reason: Mapped[str] = mapped_column(
        sa.Text, default="", server_default=""
    )

    event: Mapped[Event] = relationship()
    user = relationship("User", foreign_keys=[user_id])
    answers: Mapped[list[CustomFieldResponse]] = relationship(
        back_populates="registration",
        cascade="all, delete-orphan",
        order_by="(CustomFieldResponse.field_id, CustomFieldResponse.id)",
    )
    session_places: Mapped[list[SessionRegistration]] = relationship(
        back_populates="registration",
        cascade="all, delete-orphan",
        order_by="SessionRegistration.id",
    )

    def __str__(self) -> str:
        return f"{self.display_name} · {self.status.value}"

    @property
    def display_name(self) -> str:
        """The name the person registered with, else their address."""
        return self.full_name or self.email

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES and not self.is_deleted


class CustomFieldResponse(Model):
    """One answer to one registration question (seed 003 CustomFieldResponse; hard-deleted
    with its registration). A multiple-choice answer is one row per chosen option, so that
    "who answered X" is the same query for every question type."""

    __tablename__ = "custom_field_responses"

    registration_id: Mapped[int] = mapped_column(
        sa.ForeignKey("registrations.id", ondelete="CASCADE"), index=True
    )
    field_id: Mapped[int] = mapped_column(
        sa.ForeignKey("event_custom_fields.id", ondelete="CASCADE"), index=True
    )
    value: Mapped[str] = mapped_column(sa.Text)

    registration: Mapped[Registration] = relationship(back_populates="answers")
    field: Mapped[EventCustomField] = relationship()


class SessionRegistration(SeatStatusMixin, Model):
    """A registered attendee's place in one session of an event that offers session sign-up
    (DESIGN.md "Decisions"). Fills and waitlists like a registration, through the same code."""

    __tablename__ = "session_registrations"
    __table_args__ = (
        sa.Index(
            "uq_session_registrations_live",
            "registration_id",
            "session_id",
            unique=True,
            sqlite_where=sa.text("status != 'cancelled'"),
            postgresql_where=sa.text("status != 'cancelled'"),
        ),
        sa.Index(
            "ix_session_registrations_session_status",
            "session_id",
            "status",
            "waitlisted_at",
            "id",
        ),
    )

    registration_id: Mapped[int] = mapped_column(
        sa.ForeignKey("registrations.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[int] = mapped_column(
        sa.ForeignKey("event_sessions.id", ondelete="CASCADE")
    )
    status: Mapped[RegistrationStatus] = mapped_column(enum_column(RegistrationStatus))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    waitlisted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    registration: Mapped[Registration] = relationship(back_populates="session_places")
    session: Mapped[EventSession] = relationship()



class EventInvitation(Model):
    """An invitation to register, sent by an organizer to an address (seed 003; hard-deleted).
    The link carries a token, of which only the hash is stored (app/core/bearer); registering
    through it records `registered_at`."""

    __tablename__ = "event_invitations"
    __table_args__ = (sa.UniqueConstraint("event_id", "email"),)

    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(Email)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    registration_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("registrations.id", ondelete="SET NULL"), index=True
    )

    event: Mapped[Event] = relationship()
    invited_by = relationship("User")
    registration: Mapped[Registration | None] = relationship()

    def new_link_token(self) -> str:
        """A new token for the link about to be emailed, returned this once; an earlier
        email's link stops working."""
        token, self.token_hash = new_token()
        return token


class EventReminder(Model):
    """A reminder sent to the confirmed attendees `offset_minutes` before the event starts
    (seed 003; hard-deleted). `send_at` is stored so the tick reads an index; rescheduling the
    event moves it while the reminder is pending (`enqueued_at` is None)."""

    __tablename__ = "event_reminders"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "offset_minutes"),
        sa.CheckConstraint("offset_minutes > 0", name="offset_positive"),
        sa.Index("ix_event_reminders_due", "enqueued_at", "send_at"),
    )

    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"))
    offset_minutes: Mapped[int] = mapped_column()
    send_at: Mapped[datetime] = mapped_column(UTCDateTime)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[Event] = relationship()


class ReminderDelivery(Model):
    """Proof that one registration received one reminder: the unique row decides, so a
    second tick or a retried job never sends it twice."""

    __tablename__ = "reminder_deliveries"
    __table_args__ = (sa.UniqueConstraint("reminder_id", "registration_id"),)

    reminder_id: Mapped[int] = mapped_column(
        sa.ForeignKey("event_reminders.id", ondelete="CASCADE")
    )
    registration_id: Mapped[int] = mapped_column(
        sa.ForeignKey("registrations.id", ondelete="CASCADE"), index=True
    )


class AttendeeMessage(Model):
    """A message an organizer sent to the event's attendees ("email attendees"): what was
    sent, by whom, to which group and how many people."""

    __tablename__ = "attendee_messages"

    event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    sent_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    audience: Mapped[str] = mapped_column(sa.String(20))
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    recipient_count: Mapped[int] = mapped_column(default=0)

    event: Mapped[Event] = relationship()
    sent_by = relationship("User")


def refuse_deleting_with_registrations(event: Event) -> None:
    """`event_deleting`: a draft with registrations stays (cancel the event instead)."""
    has_any = db.session.scalar(
        sa.select(Registration.id).where(Registration.event_id == event.id).limit(1)
    )
    if has_any is not None:
        raise ValidationError(_l("This event has registrations and cannot be deleted."))


def _watch_for_page_cache() -> None:
    from app.core.cache import watch

    watch(Registration)


_watch_for_page_cache()

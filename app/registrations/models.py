"""Registrations: a person's place at an event — a seat, a place in line, or a cancellation
(seed 003 Registration; DESIGN.md "Decisions": registration is to an event)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.errors import ValidationError
from app.core.models import Model, SoftDeleteMixin
from app.core.types import Email, UTCDateTime, enum_column, utcnow
from app.events.models import DELETE_CHECKS, Event
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


class Registration(SoftDeleteMixin, Model):
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

    event: Mapped[Event] = relationship()
    user = relationship("User")

    def __str__(self) -> str:
        return f"{self.full_name or self.email} · {self.status.value}"

    @property
    def holds_seat(self) -> bool:
        return self.status in SEAT_HOLDING_STATUSES

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES and not self.is_deleted

    def promote(self, actor=None) -> None:
        REGISTRATION_MACHINE.fire(self, "promote", actor=actor)
        self.confirmed_at = utcnow()

    def cancel(self, actor=None) -> None:
        REGISTRATION_MACHINE.fire(self, "cancel", actor=actor)
        self.cancelled_at = utcnow()


def seats_taken(*criteria) -> int:
    """How many registrations matching `criteria` hold a seat."""
    return db.session.scalar(
        sa.select(sa.func.count(Registration.id)).where(
            *criteria, Registration.status.in_(SEAT_HOLDING_STATUSES)
        )
    )


def _refuse_deleting_with_registrations(event: Event) -> None:
    has_any = db.session.scalar(
        sa.select(Registration.id).where(Registration.event_id == event.id).limit(1)
    )
    if has_any is not None:
        raise ValidationError(_l("This event has registrations and cannot be deleted."))


DELETE_CHECKS.append(_refuse_deleting_with_registrations)


def _watch_for_page_cache() -> None:
    from app.core.cache import watch

    watch(Registration)


_watch_for_page_cache()

"""Building completed events with attendance, for the issuing tests (services and pages)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

from app.accounts.models import User
from app.certificates.models import CertificateTemplate
from app.core.types import utcnow
from app.events.models import Event
from app.extensions import db
from app.registrations.models import Registration
from app.states import EventStatus, RegistrationStatus
from app.zoom.models import SessionAttendance
from tests.factories import EventFactory, SessionFactory, UserFactory


def default_template() -> CertificateTemplate:
    """The shipped default design (app/certificates/defaults.py)."""
    from app.certificates.defaults import default_template as shipped

    return shipped()


def completed_event(organizer: User | None = None, *, sessions: int = 1,
                    title: str = "Cardiology update", **fields) -> Event:
    """A COMPLETED event of the past week with `sessions` sessions of one hour each."""
    start = utcnow() - timedelta(days=7)
    fields.setdefault("cpd_credits", Decimal("6"))
    fields.setdefault("status", EventStatus.COMPLETED)
    event = EventFactory(title=title, start_at=start, end_at=start + timedelta(hours=8),
                         **({"organizer": organizer} if organizer else {}), **fields)
    for n in range(sessions):
        SessionFactory(event=event, title=f"Talk {n + 1}",
                       start_at=start + timedelta(hours=n), end_at=start + timedelta(hours=n + 1))
    db.session.flush()
    return event


def register(event: Event, name: str, *, user: User | None = None,
             status: RegistrationStatus = RegistrationStatus.CONFIRMED) -> Registration:
    user = user or UserFactory(full_name=name)
    registration = Registration(event=event, user_id=user.id, email=user.email, full_name=name,
                                status=status, confirmed_at=utcnow())
    db.session.add(registration)
    db.session.flush()
    return registration


def attend(registration: Registration, percent: int, session=None) -> SessionAttendance:
    """Attendance as the attendance service would have computed it."""
    event = registration.event
    session = session if session is not None else (event.sessions[0] if event.sessions else None)
    row = SessionAttendance(event_id=event.id, session_id=session.id if session else None,
                            registration_id=registration.id, minutes=percent * 60 // 100,
                            percent=percent, attended=percent >= event.attendance_threshold,
                            sources="zoom")
    db.session.add(row)
    db.session.flush()
    return row


def event_with_attendees(count: int, organizer: User | None = None,
                         **fields) -> SimpleNamespace:
    """A completed one-session event with `count` eligible attendees (90 %)."""
    default_template()
    event = completed_event(organizer, **fields)
    registrations = [register(event, f"Attendee {n:02d}") for n in range(count)]
    for registration in registrations:
        attend(registration, 90)
    return SimpleNamespace(event=event, registrations=registrations)

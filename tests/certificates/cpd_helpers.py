"""Rows for the CPD tests: certificates written directly (issuing has its own tests),
requirements and activities through the models."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from app.certificates.cpd_models import CPDActivity, CPDPeriodKind, CPDRequirement
from app.certificates.models import Certificate, CertificateTemplate
from app.core.types import UTC
from app.extensions import db
from app.registrations.models import Registration
from app.states import CertificateStatus, RegistrationStatus
from tests.factories import EventFactory


def certificate(user, ends_at: datetime, credits: str = "6", *, timezone: str = "UTC",
                title: str = "Clinical update", revoked: bool = False) -> Certificate:
    """An issued certificate of `user` for an event that ended at `ends_at` (aware, UTC)."""
    event = EventFactory(title=title, start_at=ends_at - timedelta(hours=8), end_at=ends_at,
                         timezone=timezone)
    registration = Registration(
        event_id=event.id, user_id=user.id, email=user.email, full_name=user.full_name,
        status=RegistrationStatus.CONFIRMED, confirmed_at=ends_at,
    )
    template = CertificateTemplate(name="Plain", html="<p>{{ attendee_name }}</p>")
    db.session.add_all([registration, template])
    db.session.flush()
    issued = Certificate(
        registration_id=registration.id, event_id=event.id, user_id=user.id,
        template_id=template.id, attendee_name=user.full_name, attendee_email=user.email,
        event_title=title, event_starts_at=event.start_at, event_ends_at=ends_at,
        event_timezone=timezone, cpd_credits=Decimal(credits), organizer_name="Olivia Organizer",
    )
    db.session.add(issued)
    issued.record_transition(None, CertificateStatus.ACTIVE)
    db.session.flush()
    if revoked:
        issued.revoke(None, "Issued in error")
        db.session.flush()
    return issued


def requirement(user, credits: str = "30", kind: CPDPeriodKind = CPDPeriodKind.YEARLY,
                body: str = "Royal College", **fields) -> CPDRequirement:
    row = CPDRequirement(user_id=user.id)
    row.update(professional_body=body, credits_required=credits, period_kind=kind, **fields)
    db.session.add(row)
    db.session.flush()
    return row


def activity(user, completed_on: date, credits: str = "2", title: str = "Journal club",
             **fields) -> CPDActivity:
    row = CPDActivity(user_id=user.id)
    row.update(title=title, completed_on=completed_on, credits=credits,
               today=date(2100, 1, 1), **fields)
    db.session.add(row)
    db.session.flush()
    return row


def at(year: int, month: int, day: int, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)

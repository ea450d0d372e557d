"""Certificates written directly for the verification and credential tests (issuing rules
are the issuing service's tests)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

from app.certificates.models import Certificate, CertificateTemplate
from app.certificates.status_list import assign_status_entries
from app.core.types import utcnow
from app.extensions import db
from app.registrations.models import Registration
from app.states import CertificateStatus, RegistrationStatus
from tests.factories import EventFactory, UserFactory


def issue_certificate(app, *, name: str = "Ada Lovelace", email: str | None = None,
                      title: str = "Clinical update", credits: str = "6.5",
                      organizer_name: str = "Olivia Organizer") -> SimpleNamespace:
    """An ACTIVE certificate with its history row; returns plain values."""
    with app.test_request_context():
        organizer = UserFactory(full_name=organizer_name)
        start = (utcnow() - timedelta(days=3)).replace(microsecond=0)
        event = EventFactory(organizer=organizer, title=title, cpd_credits=Decimal(credits),
                             start_at=start, end_at=start + timedelta(hours=8))
        attendee = UserFactory(full_name=name, **({"email": email} if email else {}))
        registration = Registration(
            event_id=event.id, user_id=attendee.id, email=attendee.email, full_name=name,
            status=RegistrationStatus.CONFIRMED, confirmed_at=utcnow(),
        )
        template = CertificateTemplate(name="Plain", html="<p>{{ attendee_name }}</p>")
        db.session.add_all([registration, template])
        db.session.flush()
        certificate = Certificate(
            registration_id=registration.id, event_id=event.id, user_id=attendee.id,
            template_id=template.id, attendee_name=name, attendee_email=attendee.email,
            event_title=event.title, event_starts_at=event.start_at,
            event_ends_at=event.end_at, event_timezone=event.timezone,
            cpd_credits=event.cpd_credits, organizer_name=organizer_name,
            issued_by_id=organizer.id,
        )
        assign_status_entries([certificate])  # as save_certificates does
        db.session.add(certificate)
        certificate.record_transition(None, CertificateStatus.ACTIVE, actor=organizer)
        db.session.commit()
        return SimpleNamespace(id=certificate.id, uuid=certificate.uuid,
                               code=certificate.verification_code, email=attendee.email,
                               event_id=event.id, event_uuid=event.uuid,
                               organizer_id=organizer.id)


def revoke(app, certificate_id: int, reason: str = "Issued in error") -> None:
    with app.test_request_context():
        certificate = db.session.get(Certificate, certificate_id)
        certificate.revoke(SimpleNamespace(id=None), reason)
        db.session.commit()

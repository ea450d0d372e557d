"""Read side of the issuing pages: the organizer's rows and the attendee's certificates, each
in a constant number of queries whatever the number of registrations or certificates."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from flask import abort

from app.certificates.models import Certificate
from app.certificates.services import Eligibility, EventEligibility
from app.events.models import Event
from app.extensions import db
from app.registrations.models import Registration
from app.states import RegistrationStatus


@dataclass
class CertificateRow:
    """One registration on the organizer's page: eligibility and its certificate, if any."""

    registration: Registration
    eligibility: Eligibility
    certificate: Certificate | None  # the ACTIVE one, else the latest revoked one

    @property
    def is_declined(self) -> bool:
        return self.registration.certificate_declined_at is not None

    @property
    def has_active(self) -> bool:
        return self.certificate is not None and self.certificate.is_active

    @property
    def is_pending(self) -> bool:
        """Eligible and waiting: what "issue to all" issues and what closing refuses."""
        return self.eligibility.eligible and not self.has_active and not self.is_declined


FILTERS = {
    "eligible": lambda row: row.eligibility.eligible,
    "pending": lambda row: row.is_pending,
    "issued": lambda row: row.has_active,
    "declined": lambda row: row.is_declined,
}


def certificate_rows(event: Event) -> list[CertificateRow]:
    """Confirmed registrations, and any other one that holds a certificate, by name."""
    has_certificate = sa.exists().where(Certificate.registration_id == Registration.id)
    registrations = db.session.scalars(
        sa.select(Registration)
        .where(Registration.event_id == event.id,
               sa.or_(Registration.status == RegistrationStatus.CONFIRMED, has_certificate))
        .order_by(Registration.full_name, Registration.id)
    ).all()
    judged = EventEligibility(event).of(registrations)
    latest: dict[int, Certificate] = {}
    if registrations:
        for certificate in db.session.scalars(
            sa.select(Certificate)
            .where(Certificate.registration_id.in_([r.id for r in registrations]))
            .order_by(Certificate.id)
        ):
            current = latest.get(certificate.registration_id)
            if current is None or not current.is_active:
                latest[certificate.registration_id] = certificate
    return [CertificateRow(r, judged[r.id], latest.get(r.id)) for r in registrations]


def row_of(rows: list[CertificateRow], registration_uuid: uuid.UUID) -> CertificateRow:
    row = next((row for row in rows if row.registration.uuid == registration_uuid), None)
    if row is None:
        abort(404)
    return row


def my_certificates(user) -> list[Certificate]:
    """A person's certificates, newest first (one query: the frozen data is on the row)."""
    return db.session.scalars(
        sa.select(Certificate).where(Certificate.user_id == user.id)
        .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
    ).all()


def own_certificate_or_404(certificate_uuid: uuid.UUID, user) -> Certificate:
    """The certificate, for its attendee or an organizer of its event; 404 for anyone else
    (nobody learns that a certificate exists)."""
    certificate = db.session.scalar(
        sa.select(Certificate).where(Certificate.uuid == certificate_uuid)
    )
    if certificate is None:
        abort(404)
    if certificate.user_id == user.id:
        return certificate
    event = db.session.scalar(
        sa.select(Event).where(Event.id == certificate.event_id)
        .execution_options(include_deleted=True)
    )
    if event is None or not user.can_edit_event(event):
        abort(404)
    return certificate

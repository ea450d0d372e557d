"""A person's certificates in "download my data" and account deletion (seed 003 "GDPR":
certificates are kept as a historical record; what names the person is anonymised, and the
PDFs, which print the name, are deleted — a download renders the anonymised one again)."""

from __future__ import annotations

import sqlalchemy as sa

from app.certificates.models import Certificate
from app.certificates.rendering import format_credits
from app.core import privacy
from app.core.storage import get_storage
from app.extensions import db

ANONYMOUS_NAME = "Deleted User"


def export_certificates(user) -> list[dict]:
    certificates = db.session.scalars(
        sa.select(Certificate).where(Certificate.user_id == user.id)
        .order_by(Certificate.issued_at, Certificate.id)
    )
    return [
        {
            "verification_code": certificate.verification_code,
            "verify_url": certificate.verify_url(),
            "status": certificate.status.value,
            "attendee_name": certificate.attendee_name,
            "attendee_email": certificate.attendee_email,
            "event_title": certificate.event_title,
            "event_starts_at": certificate.event_starts_at.isoformat(),
            "event_ends_at": certificate.event_ends_at.isoformat(),
            "cpd_credits": format_credits(certificate.cpd_credits),
            "organizer_name": certificate.organizer_name,
            "issued_at": certificate.issued_at.isoformat(),
            "revoked_at": certificate.revoked_at and certificate.revoked_at.isoformat(),
            "revocation_reason": certificate.revocation_reason,
        }
        for certificate in certificates
    ]


def anonymise_certificates(user) -> None:
    storage = get_storage()
    certificates = db.session.scalars(sa.select(Certificate).where(Certificate.user_id == user.id))
    for certificate in certificates:
        if certificate.pdf_key:
            storage.delete(certificate.pdf_key)
        certificate.pdf_key = None
        certificate.pdf_rendered_at = None
        certificate.attendee_name = ANONYMOUS_NAME
        certificate.attendee_email = privacy.anonymised_email(user)
    db.session.flush()


# After the signed credentials (order 50), which find the certificates by user too.
privacy.register("certificates", export=export_certificates, anonymise=anonymise_certificates,
                 order=60)

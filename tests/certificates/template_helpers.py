"""Certificates made directly (the issuing service is tested on its own) and template form
data, for the template, rendering and PDF job tests."""

from __future__ import annotations

import shutil
import subprocess
from decimal import Decimal

from app.certificates.defaults import DEFAULT_CSS, DEFAULT_HTML, default_template
from app.certificates.models import Certificate, CertificateTemplate
from app.core.types import utcnow
from app.extensions import db
from app.registrations.models import Registration
from app.states import CertificateStatus, RegistrationStatus
from tests.factories import EventFactory, UserFactory


def pdf_text(pdf: bytes, tmp_path) -> str:
    """The text of a PDF, as pdftotext reads it (the content streams are compressed: a search
    in the bytes finds nothing of it, and finds short strings in the noise)."""
    assert shutil.which("pdftotext"), "pdftotext (poppler-utils) is needed"
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def make_certificate(template: CertificateTemplate | None = None, *, name: str = "Ada Lovelace",
                     title: str = "Analytical Engines 101", **fields) -> Certificate:
    """An ACTIVE certificate for a new registration, its data frozen from the event."""
    attendee = UserFactory(full_name=name)
    event = EventFactory(title=title, cpd_credits=Decimal("2.5"))
    registration = Registration(event=event, user_id=attendee.id, email=attendee.email,
                                full_name=name, status=RegistrationStatus.CONFIRMED,
                                confirmed_at=utcnow())
    db.session.add(registration)
    db.session.flush()
    certificate = Certificate(
        registration_id=registration.id,
        event_id=event.id,
        user_id=attendee.id,
        template_id=(template or default_template()).id,
        attendee_name=name,
        attendee_email=attendee.email,
        event_title=event.title,
        event_starts_at=event.start_at,
        event_ends_at=event.end_at,
        event_timezone=event.timezone,
        cpd_credits=event.cpd_credits,
        organizer_name="Babbage & Co",
        **fields,
    )
    certificate.record_transition(None, CertificateStatus.ACTIVE, reason="Issued")
    db.session.add(certificate)
    db.session.flush()
    return certificate


def html_form(**overrides) -> dict:
    """The template form as a browser posts it for an HTML template."""
    data = {
        "name": "Gala design",
        "kind": "html",
        "page_size": "A4",
        "orientation": "landscape",
        "html": DEFAULT_HTML,
        "css": DEFAULT_CSS,
        "field_positions": "",
    }
    data.update(overrides)
    return data

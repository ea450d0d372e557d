"""Certificate PDFs: render, store, email (once).

`render_certificate_pdf(certificate_id)` is enqueued when a certificate is issued. It renders
the PDF from the certificate's frozen data, stores it at "<CERTIFICATE_STORAGE_PREFIX>/<uuid>
.pdf", and emails it to the attendee the first time only: a retried or repeated job, or a
re-render, never sends it again. `ensure_pdf` gives the bytes for a download, rendering them
again when the file is missing.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from app.certificates import privacy as _privacy  # noqa: F401  (registers its handlers)
from app.certificates.defaults import default_fields
from app.certificates.models import Certificate, CertificateTemplate
from app.certificates.rendering import certificate_context, render_pdf, sample_context
from app.certificates.template_service import BACKGROUND_PREFIX
from app.core.storage import get_storage
from app.core.types import utcnow
from app.extensions import db
from app.jobs import periodic, warm_up
from app.mailing.attachments import Attachment
from app.mailing.attachments import register as register_attachment
from app.mailing.services import MailService

log = logging.getLogger(__name__)


def render_certificate_pdf(certificate_id: int) -> None:
    """The job: (re-)render and store the PDF, then email it if it was never emailed."""
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None:
        return
    store_pdf(certificate)
    if certificate.is_active:
        email_certificate(certificate)
    db.session.commit()


def email_certificates(certificate_ids: list[int]) -> None:
    """The job a bulk run queues after each batch: the emails of the certificates it issued
    (and rendered itself), sent once each."""
    certificates = db.session.scalars(
        sa.select(Certificate).where(Certificate.id.in_(certificate_ids))
    ).all()
    for certificate in certificates:
        if certificate.is_active:
            email_certificate(certificate)
    db.session.commit()


@warm_up
def warm_pdf_renderer() -> None:
    """Render the shipped design once (nothing stored) so that fonts, the CSS parser and the
    locale data are loaded in the worker before it forks a work horse per job."""
    render_pdf(CertificateTemplate(**default_fields()), sample_context())


def pdf_key(certificate: Certificate) -> str:
    return f"{pdf_prefix()}/{certificate.uuid}.pdf"


def pdf_prefix() -> str:
    return (current_app.config.get("CERTIFICATE_STORAGE_PREFIX") or "certificates").strip("/")


def store_pdf(certificate: Certificate) -> bytes:
    """Render the certificate and store the file; the caller commits the new key.

    A certificate's first file is written in place (nobody can read it before its key is
    committed); a file that replaces one that readers know is swapped in atomically."""
    pdf = certificate_pdf(certificate)
    first = certificate.pdf_key is None
    key = record_pdf(certificate)
    if first:
        get_storage().save_new(key, pdf)
    else:
        get_storage().save(key, pdf)
    return pdf


def certificate_pdf(certificate: Certificate) -> bytes:
    """The certificate's PDF, rendered from its frozen data (RenderError / PdfError)."""
    return render_pdf(certificate.template, certificate_context(certificate))


def record_pdf(certificate: Certificate) -> str:
    """Point the certificate at its file and return the key; the caller writes the file
    before it commits."""
    certificate.pdf_key = pdf_key(certificate)
    certificate.pdf_rendered_at = utcnow()
    return certificate.pdf_key


def ensure_pdf(certificate: Certificate) -> bytes:
    """The stored PDF, rendered again when it is missing (the caller commits)."""
    storage = get_storage()
    if certificate.pdf_key and storage.exists(certificate.pdf_key):
        return storage.read(certificate.pdf_key)
    log.info("certificate %s has no PDF on disk: rendering it", certificate.id)
    return store_pdf(certificate)


def email_certificate(certificate: Certificate) -> bool:
    """Queue the "certificate_issued" email unless it was already sent; returns whether
    it queued it. The conditional UPDATE decides, so two jobs at once send one message."""
    claimed = db.session.execute(
        sa.update(Certificate)
        .where(Certificate.id == certificate.id, Certificate.emailed_at.is_(None))
        .values(emailed_at=utcnow())
        .execution_options(synchronize_session="fetch")
    ).rowcount
    if not claimed:
        return False
    MailService.send(
        "certificate_issued",
        certificate.attendee_email,
        {
            "user_name": certificate.attendee_name,
            "event_title": certificate.event_title,
            "verification_code": certificate.verification_code,
            "verify_url": certificate.verify_url(),
        },
        user=certificate.user,
        attachments=[{"kind": "certificate_pdf", "id": certificate.id}],
    )
    return True


def certificate_attachment(certificate_id: int) -> Attachment | None:
    """The PDF attached to the "certificate_issued" email (none once revoked)."""
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None or not certificate.is_active:
        return None
    return Attachment(
        filename=f"certificate-{certificate.verification_code}.pdf",
        content_type="application/pdf",
        content=ensure_pdf(certificate),
    )


register_attachment("certificate_pdf", certificate_attachment)


# A file nothing refers to is deleted this long after it was written: long enough for a
# render under way to finish reading a background that was just replaced.
ORPHAN_AGE = timedelta(days=1)
SWEEP_CHUNK = 500  # keys per lookup


@periodic(every=timedelta(days=1))
def sweep_orphaned_certificate_files() -> int:
    """Delete certificate PDFs and template backgrounds that no row refers to: a background
    that was replaced or removed (kept a day for renders under way), and the files of a batch
    or an upload whose transaction rolled back or whose worker died. Returns how many."""
    storage = get_storage()
    cutoff = utcnow() - ORPHAN_AGE
    deleted = 0
    for prefix, column in ((pdf_prefix(), Certificate.pdf_key),
                           (BACKGROUND_PREFIX, CertificateTemplate.background_key)):
        # Only files named as this app names them there: the folder may be shared.
        named = re.compile(re.escape(prefix) + r"/[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}"
                           r"\.(pdf|png|jpg)")
        candidates = [key for key in storage.keys_written_before(prefix, cutoff)
                      if named.fullmatch(key)]
        for start in range(0, len(candidates), SWEEP_CHUNK):
            chunk = candidates[start:start + SWEEP_CHUNK]
            referenced = set(db.session.scalars(
                sa.select(column).where(column.in_(chunk))
                .execution_options(include_deleted=True)  # a deleted template may come back
            ))
            for key in chunk:
                if key not in referenced:
                    storage.delete(key)
                    deleted += 1
    if deleted:
        log.info("deleted %d certificate files that nothing refers to", deleted)
    return deleted

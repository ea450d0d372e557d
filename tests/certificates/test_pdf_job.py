"""The PDF job: render → store → email once; ensure_pdf for downloads; frozen data."""

from __future__ import annotations

import sqlalchemy as sa

from app.certificates.jobs import ensure_pdf, render_certificate_pdf
from app.certificates.models import Certificate
from app.core.storage import get_storage
from app.extensions import db
from app.jobs import enqueue
from app.mailing.models import EmailLog
from tests.certificates.template_helpers import make_certificate, pdf_text
from tests.conftest import read_mail


def issue(app, **fields) -> int:
    with app.test_request_context():
        certificate = make_certificate(**fields)
        db.session.commit()
        return certificate.id


def load(certificate_id: int) -> Certificate:
    db.session.expire_all()
    return db.session.get(Certificate, certificate_id)


def run_job(app, certificate_id: int) -> None:
    """As the issuer does: enqueue, commit (inline jobs run after the commit)."""
    with app.test_request_context():
        enqueue(render_certificate_pdf, certificate_id)
        db.session.commit()


def test_the_job_stores_the_pdf_and_emails_it(app, tmp_path):
    certificate_id = issue(app, name="Katherine Johnson")

    run_job(app, certificate_id)

    with app.test_request_context():
        certificate = load(certificate_id)
        assert certificate.pdf_key == f"certificates/{certificate.uuid}.pdf"
        assert certificate.pdf_rendered_at is not None
        assert certificate.emailed_at is not None
        stored = get_storage().read(certificate.pdf_key)
        code, email = certificate.verification_code, certificate.attendee_email
    text = pdf_text(stored, tmp_path)
    assert "Katherine Johnson" in text and code in text
    [message] = read_mail(app)
    assert message["To"] == email
    assert message["Subject"] == "Your certificate for Analytical Engines 101"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"certificate-{code}.pdf"
    assert attachment.get_content() == stored
    assert f"/verify/{code}" in message.get_body(preferencelist=("plain",)).get_content()


def test_a_rerender_never_emails_twice(app):
    certificate_id = issue(app)
    run_job(app, certificate_id)
    with app.test_request_context():
        first_rendered = load(certificate_id).pdf_rendered_at

    run_job(app, certificate_id)

    assert len(read_mail(app)) == 1
    with app.test_request_context():
        assert load(certificate_id).pdf_rendered_at >= first_rendered
        assert db.session.scalar(sa.select(sa.func.count()).select_from(EmailLog)) == 1


def test_a_revoked_certificate_is_not_emailed(app):
    certificate_id = issue(app)
    with app.test_request_context():
        load(certificate_id).revoke(None, "Issued by mistake")
        db.session.commit()

    run_job(app, certificate_id)

    assert read_mail(app) == []
    with app.test_request_context():
        certificate = load(certificate_id)
        assert certificate.pdf_key is not None
        assert certificate.emailed_at is None


def test_ensure_pdf_renders_again_when_the_file_is_missing(app, tmp_path):
    certificate_id = issue(app, name="Dorothy Vaughan")
    run_job(app, certificate_id)
    with app.test_request_context():
        certificate = load(certificate_id)
        get_storage().delete(certificate.pdf_key)

        pdf = ensure_pdf(certificate)
        db.session.commit()

        assert get_storage().exists(certificate.pdf_key)
    assert "Dorothy Vaughan" in pdf_text(pdf, tmp_path)


def test_ensure_pdf_reads_the_stored_file(app):
    certificate_id = issue(app)
    run_job(app, certificate_id)
    with app.test_request_context():
        certificate = load(certificate_id)
        get_storage().save(certificate.pdf_key, b"%PDF-stored")

        assert ensure_pdf(certificate) == b"%PDF-stored"


def test_editing_the_event_after_issue_changes_no_certificate(app, tmp_path):
    certificate_id = issue(app, title="Original title")
    run_job(app, certificate_id)
    with app.test_request_context():
        certificate = load(certificate_id)
        certificate.event.title = "A new title"
        db.session.commit()
        get_storage().delete(certificate.pdf_key)

        pdf = ensure_pdf(load(certificate_id))

    text = pdf_text(pdf, tmp_path)
    assert "Original title" in text
    assert "A new title" not in text


def test_the_storage_directory_is_configurable(make_app):
    app = make_app(CERTIFICATE_STORAGE_PREFIX="archive/pdfs")
    certificate_id = issue(app)

    run_job(app, certificate_id)

    with app.test_request_context():
        certificate = load(certificate_id)
        assert certificate.pdf_key == f"archive/pdfs/{certificate.uuid}.pdf"
        assert get_storage().exists(certificate.pdf_key)


def test_the_job_for_a_certificate_that_is_gone_does_nothing(app):
    with app.test_request_context():
        render_certificate_pdf(999_999)
    assert read_mail(app) == []

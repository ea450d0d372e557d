"""The PDF job on an RQ worker (fakeredis, and real Redis when TEST_REDIS_URL is set):
rendered, stored and emailed by the worker; an endless template is stopped by the
time limit and recorded as a failure to retry, never a hung worker."""

from __future__ import annotations

import sqlalchemy as sa

from app.certificates.jobs import render_certificate_pdf
from app.certificates.models import Certificate, CertificateTemplate
from app.extensions import db
from app.jobs import JobFailure, enqueue
from tests.certificates.template_helpers import make_certificate
from tests.conftest import read_mail
from tests.jobs.test_rq import finished, rq_app, work  # noqa: F401 (rq_app: fixture)


def issue_and_enqueue(app, template: CertificateTemplate | None = None) -> int:
    with app.test_request_context():
        if template is not None:
            db.session.add(template)
            db.session.flush()
        certificate = make_certificate(template)
        enqueue(render_certificate_pdf, certificate.id)
        db.session.commit()
        return certificate.id


def run_worker(app) -> list:
    with app.test_request_context():
        results = finished(work())
        db.session.remove()
    return results


def test_the_worker_renders_stores_and_emails(rq_app):  # noqa: F811
    certificate_id = issue_and_enqueue(rq_app)

    # The burst worker also runs the email job the render job queued.
    assert [ok for _, ok in run_worker(rq_app)] == [True]

    with rq_app.app_context():
        certificate = db.session.get(Certificate, certificate_id)
        assert certificate.pdf_key and certificate.emailed_at
    [message] = read_mail(rq_app)
    assert [part.get_content_type() for part in message.iter_attachments()] == [
        "application/pdf"
    ]


def test_an_endless_template_is_stopped_on_the_worker(rq_app):  # noqa: F811
    rq_app.config["TEMPLATE_RENDER_SECONDS"] = 0.5
    loops = "{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}"
    endless = CertificateTemplate(name="Endless", html=loops + "{% endfor %}" * 3,
                                  field_positions={})
    certificate_id = issue_and_enqueue(rq_app, endless)

    assert [ok for _, ok in run_worker(rq_app)] == [False]

    with rq_app.app_context():
        failure = db.session.scalar(sa.select(JobFailure))
        assert "took too long to render (more than 0.5 seconds)" in failure.error
        assert db.session.get(Certificate, certificate_id).pdf_key is None
    assert read_mail(rq_app) == []

"""With Redis configured, "issue to all eligible" only creates the run and queues its job: the
page polls a progress bar at 0 % until a worker has issued everything, then shows 100 %."""

import re

import sqlalchemy as sa

from app.accounts.models import User
from app.certificates.models import Certificate
from app.certificates.run_models import CertificateIssueRun
from app.certificates.runs import issue_certificates_run
from app.extensions import db
from app.jobs import job_path
from app.states import IssueRunStatus
from tests.certificates.issuing_helpers import event_with_attendees
from tests.conftest import create_user, csrf_token, log_in
from tests.jobs.test_rq import finished, queued, rq_app, work  # noqa: F401 (rq_app: fixture)


def test_the_run_is_issued_by_the_worker_while_the_page_polls(rq_app):  # noqa: F811
    organizer = create_user(rq_app, email="olga@example.com", full_name="Olga Organizer")
    with rq_app.test_request_context():
        built = event_with_attendees(3, db.session.get(User, organizer.id))
        db.session.commit()
        page = f"/events/{built.event.uuid}/certificates"
    client = rq_app.test_client()
    log_in(client, organizer.email)

    client.post(page + "/issue-all", data={"csrf_token": csrf_token(client, page)})

    html = client.get(page).get_data(as_text=True)
    assert 'hx-trigger="load delay:1s"' in html and 'value="0"' in html
    with rq_app.app_context():
        run = db.session.scalar(sa.select(CertificateIssueRun))
        assert run.status == IssueRunStatus.QUEUED and run.total == 3
        run_id, run_uuid = run.id, run.uuid
        assert queued()["default"] == [
            ("app.jobs.execute", (job_path(issue_certificates_run), [run_id], "default", None))
        ]
        db.session.rollback()
    with rq_app.test_request_context():
        job_ids = work()  # the run, then the PDFs it queued
        assert [value for _, value in finished(job_ids)] == [True]
        db.session.remove()
        work()

    progress = client.get(f"{page}/runs/{run_uuid}", headers={"HX-Request": "true"})
    fragment = progress.get_data(as_text=True)
    assert 'value="100"' in fragment and "3 issued" in fragment
    assert "Show the certificates" in fragment  # the table below was drawn before
    assert "hx-trigger" not in re.search(r"<div[^>]*>", fragment).group(0)
    with rq_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Certificate.id))) == 3

"""With Redis configured, the request only verifies, stores and enqueues; a worker processes."""

import sqlalchemy as sa

from app.extensions import db
from app.jobs import job_path
from app.zoom.jobs import process_zoom_webhook
from app.zoom.models import AttendanceRecord, WebhookStatus, ZoomWebhookLog
from tests.factories import EventFactory, SessionFactory
from tests.jobs.test_rq import finished, queued, rq_app, work  # noqa: F401 (rq_app: fixture)
from tests.zoom.helpers import MEETING_ID, SECRET, deliver, participant_event


def test_processing_runs_on_the_worker_not_in_the_request(rq_app):  # noqa: F811
    rq_app.config["ZOOM_WEBHOOK_SECRET_TOKEN"] = SECRET
    with rq_app.app_context():
        SessionFactory(event=EventFactory(), zoom_meeting_id=MEETING_ID)
        db.session.commit()
    body = participant_event("meeting.participant_joined", "2024-06-20T16:20:00Z")
    client = rq_app.test_client()
    assert deliver(client, body).get_json() == {"status": "received"}
    assert deliver(client, body).get_json() == {"status": "duplicate"}
    with rq_app.app_context():
        entry = db.session.scalar(sa.select(ZoomWebhookLog))
        assert entry.status == WebhookStatus.RECEIVED
        assert db.session.scalar(sa.select(sa.func.count(AttendanceRecord.id))) == 0
        assert queued()["default"] == [
            ("app.jobs.execute", (job_path(process_zoom_webhook), [entry.id], "default", None))
        ]
        db.session.rollback()
    with rq_app.test_request_context():
        job_ids = work()
        assert [value for _, value in finished(job_ids)] == [True]
        db.session.remove()
    with rq_app.app_context():
        assert db.session.scalar(sa.select(ZoomWebhookLog.status)) == WebhookStatus.PROCESSED
        assert db.session.scalar(sa.select(sa.func.count(AttendanceRecord.id))) == 1

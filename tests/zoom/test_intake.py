"""POST /webhooks/zoom: what is accepted, what is refused, and what is logged."""

import io
import json
import time

import sqlalchemy as sa

from app.extensions import db
from app.jobs import JobFailure
from app.zoom.models import AttendanceRecord, WebhookStatus, ZoomWebhookLog
from tests.zoom.helpers import deliver, meeting_event, participant_event


def logs(app) -> list[ZoomWebhookLog]:
    with app.app_context():
        rows = db.session.scalars(sa.select(ZoomWebhookLog).order_by(ZoomWebhookLog.id)).all()
        db.session.expunge_all()
        return rows


def record_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(AttendanceRecord))


def test_url_validation_is_answered_as_documented(app, client):
    body = {
        "payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"},
        "event_ts": 1718900000123,
        "event": "endpoint.url_validation",
    }
    response = deliver(client, body)
    assert response.status_code == 200
    assert response.get_json() == {
        "plainToken": "qgg8vlvZRS6UYooatFL8Aw",
        "encryptedToken": "2df5fa03ed8ac736e86fd42dfeb323dea9b55490e8b5c6dab0b21c00a852fe26",
    }
    [entry] = logs(app)
    assert entry.event_type == "endpoint.url_validation" and entry.signature_valid
    assert entry.status == WebhookStatus.PROCESSED


def test_url_validation_needs_a_valid_signature(app, client):
    body = {"payload": {"plainToken": "abc"}, "event": "endpoint.url_validation"}
    response = deliver(client, body, signature="v0=" + "0" * 64)
    assert response.status_code == 401
    assert "encryptedToken" not in response.get_data(as_text=True)


def test_url_validation_without_a_token_is_400(app, client):
    body = {"payload": {}, "event": "endpoint.url_validation"}
    assert deliver(client, body).status_code == 400


def test_bad_signature_is_401_logged_and_not_processed(app, client, zoom_session):
    body = participant_event("meeting.participant_joined", "2024-06-20T16:20:00Z")
    response = deliver(client, body, signature="v0=" + "0" * 64)
    assert response.status_code == 401
    [entry] = logs(app)
    assert entry.signature_valid is False
    assert entry.status == WebhookStatus.IGNORED
    assert "does not match" in entry.error
    assert entry.dedupe_key is None
    assert record_count(app) == 0


def test_missing_headers_stale_and_future_timestamps_are_401(app, client, zoom_session):
    body = participant_event("meeting.participant_joined", "2024-06-20T16:20:00Z")
    unsigned = client.post("/webhooks/zoom", json=body)
    assert unsigned.status_code == 401
    now = int(time.time())
    assert deliver(client, body, timestamp=now - 301).status_code == 401
    assert deliver(client, body, timestamp=now + 301).status_code == 401
    errors = [entry.error for entry in logs(app)]
    assert "missing" in errors[0]
    assert all("window" in error for error in errors[1:])
    assert record_count(app) == 0


def test_no_secret_configured_refuses_everything(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "ZOOM_WEBHOOK_SECRET_TOKEN", "")
    response = deliver(client, meeting_event("meeting.started"), secret="")
    assert response.status_code == 401


def test_non_json_body_is_400_and_logged(app, client):
    response = deliver(client, b"this is not json{")
    assert response.status_code == 400
    [entry] = logs(app)
    assert entry.signature_valid and entry.status == WebhookStatus.IGNORED
    assert entry.error == "the body is not JSON"


def test_invalid_utf8_is_400(app, client):
    assert deliver(client, b"\xff\xfe{}").status_code == 400


def test_json_of_the_wrong_shape_is_logged_and_ignored(app, client):
    for body in ([1, 2, 3], {"event": "meeting.started"}, {"payload": {}}, "text"):
        assert deliver(client, body).status_code == 200
    entries = logs(app)
    assert len(entries) == 4
    assert all(e.status == WebhookStatus.IGNORED for e in entries)
    assert all(e.error.startswith("not a Zoom event") for e in entries)


def test_a_body_over_one_megabyte_is_413(app, client):
    body = meeting_event("meeting.started", topic="x" * (5 * 1024 * 1024))
    response = deliver(client, body)
    assert response.status_code == 413
    assert logs(app) == []


def test_a_chunked_body_over_one_megabyte_is_413(app, client):
    # No Content-Length: the limit applies while the body is read.
    response = client.post(
        "/webhooks/zoom",
        input_stream=io.BytesIO(b"x" * (2 * 1024 * 1024)),
        headers={"Transfer-Encoding": "chunked", "x-zm-request-timestamp": "1",
                 "x-zm-signature": "v0=0"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413
    assert logs(app) == []


def test_a_valid_delivery_is_stored_and_processed(app, client, zoom_session):
    body = participant_event("meeting.participant_joined", "2024-06-20T16:20:00Z")
    response = deliver(client, body)
    assert response.status_code == 200
    assert response.get_json() == {"status": "received"}
    [entry] = logs(app)
    assert entry.signature_valid and entry.status == WebhookStatus.PROCESSED
    assert entry.event_type == "meeting.participant_joined"
    assert entry.event_ts == 1718900000123
    assert json.loads(entry.payload) == body
    assert entry.processed_at is not None
    assert record_count(app) == 1


def test_the_same_delivery_twice_is_stored_and_processed_once(app, client, zoom_session):
    body = participant_event("meeting.participant_joined", "2024-06-20T16:20:00Z")
    assert deliver(client, body).status_code == 200
    second = deliver(client, body)  # Zoom's retry: another timestamp, same event
    assert second.status_code == 200
    assert second.get_json() == {"status": "duplicate"}
    assert len(logs(app)) == 1
    assert record_count(app) == 1


def test_a_different_event_ts_on_a_retry_is_still_the_same_delivery(app, client, zoom_session):
    body = participant_event("meeting.participant_joined", "2024-06-20T16:20:00Z")
    deliver(client, body)
    body["event_ts"] += 5000
    assert deliver(client, body).get_json() == {"status": "duplicate"}
    assert record_count(app) == 1


def test_a_processing_error_marks_the_row_failed_and_the_job_retries(
    app, client, zoom_session, monkeypatch
):
    from app.zoom.services import ZoomEventProcessor

    def broken(delivery):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(ZoomEventProcessor, "_joined", staticmethod(broken))
    body = participant_event("meeting.participant_joined", "2024-06-20T16:20:00Z")
    assert deliver(client, body).status_code == 200  # Zoom is answered regardless
    [entry] = logs(app)
    assert entry.status == WebhookStatus.FAILED
    assert entry.error == "RuntimeError: database on fire"
    with app.app_context():
        [failure] = db.session.scalars(sa.select(JobFailure)).all()
        assert failure.func == "app.zoom.jobs:process_zoom_webhook"
        assert failure.args == [entry.id]
    assert record_count(app) == 0

    monkeypatch.undo()
    monkeypatch.setitem(app.config, "ZOOM_WEBHOOK_SECRET_TOKEN", "zoom_secret_token_123")
    from app import jobs

    with app.app_context():
        assert jobs.execute(failure.func, failure.args, failure.queue, failure.id)
    [entry] = logs(app)
    assert entry.status == WebhookStatus.PROCESSED and entry.error == ""
    assert record_count(app) == 1


def test_the_webhook_needs_no_csrf_token_or_login(app, client, zoom_session):
    # The test client has CSRF on (tests/conftest.py): a signed POST without a token passes.
    body = meeting_event("meeting.started")
    assert deliver(client, body).status_code == 200


def test_the_same_uuid_for_another_meeting_id_is_another_delivery(app, client, zoom_session):
    deliver(client, participant_event("meeting.participant_joined", "2024-06-20T16:20:00Z"))
    other = participant_event(
        "meeting.participant_joined", "2024-06-20T16:20:00Z", meeting_id="999"
    )
    assert deliver(client, other).get_json() == {"status": "received"}
    assert len(logs(app)) == 2


def test_a_duplicate_stored_at_the_same_moment_is_acknowledged(
    app, client, zoom_session, monkeypatch
):
    # Two workers take the same delivery at once: neither sees the other's row in a look-up;
    # the unique key decides (INSERT ... ON CONFLICT DO NOTHING), the loser answers
    # "duplicate", nothing breaks.
    from app.zoom import services

    body = participant_event("meeting.participant_joined", "2024-06-20T16:20:00Z")
    assert deliver(client, body).status_code == 200
    monkeypatch.setattr(services, "find_delivery", lambda key: None)  # the row is not seen
    second = deliver(client, body)
    assert second.status_code == 200 and second.get_json() == {"status": "duplicate"}
    assert len(logs(app)) == 1
    assert record_count(app) == 1


def test_an_unsigned_body_is_kept_only_in_part(app, client):
    deliver(client, b"x" * 100_000, signature="v0=nope")
    [entry] = logs(app)
    assert len(entry.payload) == 4096

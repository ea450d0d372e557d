"""Turning deliveries into session status and attendance intervals."""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from app.events.models import Event, EventSession
from app.extensions import db
from app.states import EventStatus, SessionStatus
from app.zoom.models import AttendanceRecord, AttendanceSource, WebhookStatus, ZoomWebhookLog
from tests.factories import EventFactory
from tests.zoom.helpers import MEETING_ID, deliver, meeting_event, participant_event

JOINED, LEFT = "meeting.participant_joined", "meeting.participant_left"


def at(minute: int) -> str:
    return f"2024-06-20T16:{minute:02d}:00Z"


def utc(minute: int) -> datetime:
    return datetime(2024, 6, 20, 16, minute, tzinfo=UTC)


def records(app) -> list[tuple]:
    with app.app_context():
        rows = db.session.scalars(
            sa.select(AttendanceRecord).order_by(AttendanceRecord.join_at)
        ).all()
        return [(r.session_id, r.participant_key, r.join_at, r.leave_at) for r in rows]


def last_log(app) -> ZoomWebhookLog:
    with app.app_context():
        entry = db.session.scalar(sa.select(ZoomWebhookLog).order_by(ZoomWebhookLog.id.desc()))
        db.session.expunge(entry)
        return entry


def session_status(app, session_id) -> SessionStatus:
    with app.app_context():
        return db.session.get(EventSession, session_id).status


def test_join_then_leave_makes_one_closed_interval(app, client, zoom_session):
    deliver(client, participant_event(JOINED, at(20)))
    deliver(client, participant_event(LEFT, at(45)))
    key = "participant_uuid:55555AAAiAAAAAiAiAiiAii"
    assert records(app) == [(zoom_session["session_id"], key, utc(20), utc(45))]
    with app.app_context():
        record = db.session.scalar(sa.select(AttendanceRecord))
        assert record.event_id == zoom_session["event_id"]
        assert record.email == "jill@example.com" and record.user_name == "Jill Chill"
        assert record.registrant_id == "abcdefghij0-klmnopq23456"
        assert record.participant_user_id == "16778240"
        assert record.meeting_id == MEETING_ID and record.source == AttendanceSource.ZOOM
        assert record.registration_id is None


def test_a_rejoin_makes_a_new_interval(app, client, zoom_session):
    for event, minute in ((JOINED, 20), (LEFT, 30), (JOINED, 35), (LEFT, 50)):
        assert deliver(client, participant_event(event, at(minute))).status_code == 200
    assert [(r[2], r[3]) for r in records(app)] == [(utc(20), utc(30)), (utc(35), utc(50))]


def test_leave_arriving_twice_closes_once(app, client, zoom_session):
    deliver(client, participant_event(JOINED, at(20)))
    left = participant_event(LEFT, at(30))
    deliver(client, left)
    left["event_ts"] += 1
    assert deliver(client, left).get_json() == {"status": "duplicate"}
    assert [(r[2], r[3]) for r in records(app)] == [(utc(20), utc(30))]


def test_leave_before_join_is_logged_and_ignored(app, client, zoom_session):
    assert deliver(client, participant_event(LEFT, at(30))).status_code == 200
    entry = last_log(app)
    assert entry.status == WebhookStatus.IGNORED
    assert "left before joining" in entry.error
    assert records(app) == []


def test_a_leave_earlier_than_the_open_join_is_ignored(app, client, zoom_session):
    deliver(client, participant_event(JOINED, at(30)))
    deliver(client, participant_event(LEFT, at(20)))
    assert last_log(app).status == WebhookStatus.IGNORED
    assert [(r[2], r[3]) for r in records(app)] == [(utc(30), None)]


def test_a_participant_without_email_or_uuid_is_recorded(app, client, zoom_session):
    guest = {"participant_uuid": None, "id": "", "email": None, "registrant_id": None}
    deliver(client, participant_event(JOINED, at(20), user_id="999", **guest))
    deliver(client, participant_event(LEFT, at(25), user_id="999", **guest))
    [(_, key, joined, left)] = records(app)
    assert key == "user_id:999" and (joined, left) == (utc(20), utc(25))


def test_two_people_keep_their_own_intervals(app, client, zoom_session):
    deliver(client, participant_event(JOINED, at(20)))
    deliver(client, participant_event(JOINED, at(21), participant_uuid="other", user_id="2"))
    deliver(client, participant_event(LEFT, at(40), participant_uuid="other", user_id="2"))
    assert {(r[1], r[3]) for r in records(app)} == {
        ("participant_uuid:55555AAAiAAAAAiAiAiiAii", None),
        ("participant_uuid:other", utc(40)),
    }


def test_webinar_participants_are_recorded_likewise(app, client, zoom_session):
    deliver(client, participant_event("webinar.participant_joined", at(20)))
    deliver(client, participant_event("webinar.participant_left", at(22)))
    assert [(r[2], r[3]) for r in records(app)] == [(utc(20), utc(22))]


def test_an_unknown_meeting_is_ignored_with_a_reason(app, client, zoom_session):
    deliver(client, participant_event(JOINED, at(20), meeting_id="111"))
    entry = last_log(app)
    assert entry.status == WebhookStatus.IGNORED and entry.error == "unknown meeting id 111"
    assert records(app) == []


def test_an_unknown_event_type_is_ignored_with_a_reason(app, client, zoom_session):
    assert deliver(client, meeting_event("meeting.sharing_started")).status_code == 200
    entry = last_log(app)
    assert entry.status == WebhookStatus.IGNORED
    assert entry.error == "unhandled event type meeting.sharing_started"


def test_a_join_time_that_is_not_a_time_is_ignored(app, client, zoom_session):
    assert deliver(client, participant_event(JOINED, "soon")).status_code == 200
    entry = last_log(app)
    assert entry.status == WebhookStatus.IGNORED and "not a Zoom event" in entry.error
    assert records(app) == []


def test_meeting_started_and_ended_move_the_session(app, client, zoom_session):
    session_id = zoom_session["session_id"]
    deliver(client, meeting_event("meeting.started"))
    assert session_status(app, session_id) == SessionStatus.LIVE
    assert last_log(app).status == WebhookStatus.PROCESSED
    again = deliver(client, meeting_event("meeting.started"))
    assert again.get_json() == {"status": "duplicate"}  # Zoom's retry: stored once
    # The host restarts the meeting (a new instance uuid): a repeated signal is a no-op.
    deliver(client, meeting_event("meeting.started", uuid="restarted=="))
    assert last_log(app).status == WebhookStatus.IGNORED
    assert session_status(app, session_id) == SessionStatus.LIVE
    deliver(client, meeting_event("meeting.ended", end_time="2024-06-20T17:13:20Z"))
    assert session_status(app, session_id) == SessionStatus.COMPLETED
    assert last_log(app).status == WebhookStatus.PROCESSED
    with app.app_context():
        others = db.session.scalars(
            sa.select(EventSession.status).where(EventSession.id != session_id)
        ).all()
        assert others == [SessionStatus.SCHEDULED]


def test_meeting_ended_for_a_session_that_never_started_is_a_no_op(app, client, zoom_session):
    deliver(client, meeting_event("meeting.ended", end_time="2024-06-20T17:13:20Z"))
    assert session_status(app, zoom_session["session_id"]) == SessionStatus.SCHEDULED
    assert last_log(app).status == WebhookStatus.IGNORED


def test_a_single_session_event_follows_its_meeting(app, client):
    with app.app_context():
        event = EventFactory(zoom_meeting_id="777")
        db.session.commit()
        event_id = event.id
    deliver(client, meeting_event("meeting.started", meeting_id="777"))
    deliver(client, participant_event(JOINED, at(20), meeting_id="777"))
    deliver(client, meeting_event("meeting.ended", meeting_id="777", end_time=at(59)))
    with app.app_context():
        event = db.session.get(Event, event_id)
        assert event.status == EventStatus.COMPLETED
        assert [h.reason for h in event.history][-2:] == [
            "Zoom meeting started", "Zoom meeting ended"
        ]
        record = db.session.scalar(sa.select(AttendanceRecord))
        assert record.event_id == event_id and record.session_id is None


def test_a_reused_meeting_id_goes_to_the_nearest_session(app, client, zoom_session):
    with app.app_context():
        first = db.session.get(EventSession, zoom_session["session_id"])
        other = db.session.scalar(
            sa.select(EventSession).where(EventSession.id != first.id)
        )
        other.zoom_meeting_id = MEETING_ID
        db.session.commit()
        when = other.start_at + timedelta(minutes=5)
        other_id = other.id
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    deliver(client, participant_event(JOINED, stamp))
    assert records(app)[0][0] == other_id


def test_deleting_a_session_deletes_its_records(app, client, zoom_session):
    deliver(client, participant_event(JOINED, at(20)))
    with app.app_context():
        db.session.execute(
            sa.delete(EventSession).where(EventSession.id == zoom_session["session_id"])
        )
        db.session.commit()
    assert records(app) == []


def test_a_leave_without_the_participant_uuid_closes_by_user_id(app, client, zoom_session):
    deliver(client, participant_event(JOINED, at(20)))
    deliver(client, participant_event(LEFT, at(30), participant_uuid=None, id=None))
    assert [(r[2], r[3]) for r in records(app)] == [(utc(20), utc(30))]


def test_processing_a_delivery_again_changes_nothing(app, client, zoom_session):
    from app.zoom.jobs import process_zoom_webhook

    deliver(client, participant_event(JOINED, at(20)))
    entry = last_log(app)
    with app.app_context():
        process_zoom_webhook(entry.id)
        db.session.commit()
        process_zoom_webhook(12345)  # a purged row: nothing to do
    assert len(records(app)) == 1
    assert last_log(app).processed_at == entry.processed_at

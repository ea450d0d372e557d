"""Zoom's past-meeting participants report, pulled after meeting.ended: it fills in the
intervals the webhooks missed, never twice, and the attendance is recomputed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import responses
import sqlalchemy as sa

from app.extensions import db
from app.jobs import JobFailure
from app.registrations.models import Registration
from app.states import RegistrationStatus
from app.zoom import client as zoom_client
from app.zoom.models import AttendanceRecord, AttendanceSource, SessionAttendance
from app.zoom.report import import_participants_report
from tests.zoom.connection_helpers import make_connection, zoom_oauth  # noqa: F401
from tests.zoom.helpers import MEETING_ID, MEETING_UUID, deliver, meeting_event, participant_event

JOINED, LEFT = "meeting.participant_joined", "meeting.participant_left"


def at(minute: int, second: int = 0) -> str:
    return f"2024-06-20T16:{minute:02d}:{second:02d}Z"


def utc(minute: int, second: int = 0) -> datetime:
    return datetime(2024, 6, 20, 16, minute, second, tzinfo=UTC)


def reported(name: str, email: str, join: str, leave: str, *, user_id: str,
             registrant_id: str = "") -> dict:
    """A participant as GET /past_meetings/{uuid}/participants lists them."""
    return {"id": "", "name": name, "user_id": user_id, "registrant_id": registrant_id,
            "user_email": email, "join_time": join, "leave_time": leave, "duration": 0,
            "failover": False, "status": "in_meeting", "internal_user": False}


JILL = dict(user_id="16778240")  # the webhooks' participant (tests/zoom/helpers.py)


class StubZoom:
    def __init__(self, participants=(), error: Exception | None = None):
        self.participants, self.error, self.asked = list(participants), error, []

    def past_meeting_participants(self, meeting_uuid: str):
        self.asked.append(meeting_uuid)
        if self.error:
            raise self.error
        yield from self.participants


@pytest.fixture
def stub(monkeypatch):
    holder = StubZoom()
    monkeypatch.setattr(zoom_client, "zoom_api_for", lambda user: holder)
    return holder


@pytest.fixture
def session_times(app, zoom_session):
    """The session runs 16:00–17:00 on the day of the webhooks' times; Bob and Jill are
    registered."""
    from app.events.models import EventSession

    with app.app_context():
        session = db.session.get(EventSession, zoom_session["session_id"])
        session.event.start_at, session.event.end_at = utc(0), utc(0).replace(hour=23)
        session.start_at, session.end_at = utc(0), utc(0).replace(hour=17)
        for name, email in (("Jill Chill", "jill@example.com"), ("Bob Brown", "bob@example.com")):
            db.session.add(Registration(event_id=session.event_id, email=email, full_name=name,
                                        status=RegistrationStatus.CONFIRMED))
        db.session.commit()
    return zoom_session


def records(app) -> list[tuple]:
    with app.app_context():
        return [
            (r.email, r.join_at, r.leave_at, r.source)
            for r in db.session.scalars(
                sa.select(AttendanceRecord).order_by(AttendanceRecord.join_at, AttendanceRecord.id))
        ]


def minutes_of(app) -> dict[str, int]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(Registration.email, SessionAttendance.minutes)
            .join(Registration, Registration.id == SessionAttendance.registration_id)
        )
        return {str(email): minutes for email, minutes in rows}


def end_meeting(client) -> None:
    assert deliver(client, meeting_event("meeting.ended", end_time=at(59))).status_code == 200


def test_meeting_ended_pulls_the_report_and_fills_what_the_webhooks_missed(
        app, client, session_times, stub):
    deliver(client, participant_event(JOINED, at(10)))
    deliver(client, participant_event(LEFT, at(40)))
    stub.participants = [
        # Jill as the webhooks saw her, 20 seconds apart: the same interval.
        reported("Jill Chill", "jill@example.com", at(10, 20), at(40), **JILL),
        # Bob's webhooks never came.
        reported("Bob Brown", "bob@example.com", at(5), at(35), user_id="16778999"),
    ]
    end_meeting(client)
    assert stub.asked == [MEETING_UUID]
    assert records(app) == [
        ("bob@example.com", utc(5), utc(35), AttendanceSource.ZOOM_REPORT),
        ("jill@example.com", utc(10), utc(40), AttendanceSource.ZOOM),
    ]
    assert minutes_of(app) == {"jill@example.com": 30, "bob@example.com": 30}
    with app.app_context():
        assert set(db.session.scalars(sa.select(AttendanceRecord.meeting_id))) == {MEETING_ID}
        bob = db.session.scalar(sa.select(SessionAttendance).join(
            Registration, Registration.id == SessionAttendance.registration_id).where(
            Registration.email == "bob@example.com"))
        assert bob.sources == "zoom_report"


def test_running_the_report_again_adds_nothing(app, client, session_times, stub):
    stub.participants = [
        reported("Bob Brown", "bob@example.com", at(5), at(20), user_id="1"),
        reported("Bob Brown", "bob@example.com", at(30), at(35), user_id="1"),  # a re-join
    ]
    end_meeting(client)
    first = records(app)
    assert len(first) == 2
    with app.app_context():
        import_participants_report(MEETING_UUID)
        db.session.commit()
    assert records(app) == first


def test_a_quick_rejoin_within_the_minute_is_still_its_own_interval(app, client, session_times,
                                                                  stub):
    deliver(client, participant_event(JOINED, at(10)))
    deliver(client, participant_event(LEFT, at(10, 20)))
    stub.participants = [
        reported("Jill Chill", "jill@example.com", at(10), at(10, 20), **JILL),
        reported("Jill Chill", "jill@example.com", at(10, 40), at(30), **JILL),  # missed
    ]
    end_meeting(client)
    assert [(r[1], r[2], r[3]) for r in records(app)] == [
        (utc(10), utc(10, 20), AttendanceSource.ZOOM),
        (utc(10, 40), utc(30), AttendanceSource.ZOOM_REPORT),
    ]


def test_an_interval_the_webhooks_left_open_takes_the_reports_leave_time(
        app, client, session_times, stub):
    deliver(client, participant_event(JOINED, at(10)))  # the "left" never came
    stub.participants = [reported("Jill Chill", "jill@example.com", at(10), at(25), **JILL)]
    end_meeting(client)
    assert records(app) == [("jill@example.com", utc(10), utc(25), AttendanceSource.ZOOM)]
    assert minutes_of(app) == {"jill@example.com": 15}


def test_rows_without_a_join_time_or_an_identity_are_skipped(app, client, session_times, stub):
    stub.participants = [
        {"name": "No Time", "user_email": "nt@example.com"},
        {"join_time": at(5), "leave_time": at(6)},
        {"name": "Bad Time", "join_time": "yesterday"},
        "junk",
        reported("Bob Brown", "bob@example.com", at(5), at(4), user_id="9"),  # leaves first
    ]
    end_meeting(client)
    assert records(app) == [("bob@example.com", utc(5), utc(5), AttendanceSource.ZOOM_REPORT)]


def test_the_fake_zoom_report_changes_nothing(app, client, session_times, monkeypatch):
    monkeypatch.setitem(app.config, "ZOOM_FAKE", True)
    deliver(client, participant_event(JOINED, at(10)))
    deliver(client, participant_event(LEFT, at(40)))
    deliver(client, participant_event(JOINED, at(45), participant_uuid="", id="",
                                      user_id="", email="", user_name="Guest Person"))
    before = records(app)
    end_meeting(client)
    assert records(app) == before
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(JobFailure.id))) == 0


def test_a_zoom_outage_fails_the_job_for_a_retry(app, client, session_times, stub):
    stub.error = zoom_client.ZoomError("Zoom is down", status=503, retryable=True)
    end_meeting(client)
    with app.app_context():
        failure = db.session.scalar(sa.select(JobFailure))
        assert failure.func == "app.zoom.report:import_participants_report"
        assert failure.args[0] == MEETING_UUID and "Zoom is down" in failure.error
    assert records(app) == []


def test_a_refusal_that_will_not_pass_is_logged_not_retried(app, client, session_times, stub):
    stub.error = zoom_client.ZoomError("Meeting does not exist.", status=404, code=3001)
    end_meeting(client)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(JobFailure.id))) == 0


@pytest.mark.usefixtures("zoom_oauth")
def test_the_real_client_pages_through_zooms_report(app, client, session_times):
    with app.app_context():
        from app.events.models import Event

        creator = db.session.get(Event, session_times["event_id"]).created_by_id
        make_connection(creator)
        db.session.commit()
    path = "https://api.zoom.us/v2/past_meetings/4444AAAiAAAAAiAiAiiAii%3D%3D/participants"
    with responses.RequestsMock() as mock:
        mock.get(path, match=[responses.matchers.query_param_matcher({"page_size": "300"})],
                 json={"page_size": 300, "total_records": 2, "next_page_token": "page-2",
                       "participants": [reported("Bob Brown", "bob@example.com", at(5),
                                                 at(35), user_id="7")]})
        mock.get(path, match=[responses.matchers.query_param_matcher(
            {"page_size": "300", "next_page_token": "page-2"})],
                 json={"page_size": 300, "total_records": 2, "next_page_token": "",
                       "participants": [reported("Jill Chill", "jill@example.com", at(10),
                                                 at(20), user_id="8")]})
        end_meeting(client)
        assert [call.request.headers["Authorization"] for call in mock.calls] == [
            "Bearer old-access-token"] * 2
    assert [(r[0], r[3]) for r in records(app)] == [
        ("bob@example.com", AttendanceSource.ZOOM_REPORT),
        ("jill@example.com", AttendanceSource.ZOOM_REPORT),
    ]
    assert minutes_of(app) == {"bob@example.com": 30, "jill@example.com": 10}

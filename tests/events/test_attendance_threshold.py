"""The attendance threshold on the event form (issue 5): the share of a session an attendee
must be present for to count as attended; changing it recomputes who attended."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.core.types import utcnow
from app.events.models import Event
from app.events.services import EventDetails, EventService
from app.extensions import db
from app.registrations.models import Registration, RegistrationStatus
from app.zoom.attendance import AttendanceService
from app.zoom.models import AttendanceRecord, SessionAttendance
from tests.conftest import create_user, log_in, post_form
from tests.factories import EventFactory, SessionFactory

T0 = datetime(2031, 7, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def organizer(app, client):
    user = create_user(app, email="organizer@example.com")
    log_in(client, user.email)
    return user


def make_event(app, organizer, **fields):
    with app.test_request_context():
        event = EventFactory(organizer=db.session.get(User, organizer.id),
                             start_at=T0, end_at=T0 + timedelta(hours=8), **fields)
        db.session.commit()
        return event.uuid


def form(**overrides) -> dict:
    data = {
        "title": "Summer school", "summary": "", "description": "", "timezone": "UTC",
        "start_at": "2031-07-10T09:00", "end_at": "2031-07-10T17:00", "format": "virtual",
        "venue_id": "", "capacity": "", "max_speakers": "", "cpd_credits": "0",
        "registration_opens_at": "", "registration_closes_at": "", "visibility": "public",
        "calendar_id": "",
    }
    data.update(overrides)
    return data


def threshold_of(app, event_uuid) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Event.attendance_threshold)
                                 .where(Event.uuid == event_uuid))


def test_the_edit_form_shows_and_saves_the_threshold(app, client, organizer):
    event_uuid = make_event(app, organizer, attendance_threshold=80)
    edit = f"/events/{event_uuid}/edit"
    page = client.get(edit).get_data(as_text=True)
    assert '<label for="attendance_threshold">Attendance threshold (%)</label>' in page
    assert 'name="attendance_threshold"' in page and 'value="80"' in page
    response = post_form(client, edit, form(attendance_threshold="60"))
    assert response.status_code == 303
    assert threshold_of(app, event_uuid) == 60
    post_form(client, edit, form(attendance_threshold="0"))
    assert threshold_of(app, event_uuid) == 0


def test_an_empty_threshold_means_the_default(app, client, organizer):
    event_uuid = make_event(app, organizer, attendance_threshold=40)
    post_form(client, f"/events/{event_uuid}/edit", form(attendance_threshold=""))
    assert threshold_of(app, event_uuid) == 75


def test_a_new_event_gets_the_threshold_typed(app, client, organizer):
    response = post_form(client, "/events/new", form(attendance_threshold="90"),
                         page="/events/new")
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(sa.select(Event.attendance_threshold)) == 90


@pytest.mark.parametrize("typed, message", [
    ("101", "The attendance threshold is a percentage from 0 to 100."),
    ("-1", "The attendance threshold is a percentage from 0 to 100."),
    ("most", "Not a valid integer value."),
])
def test_a_threshold_out_of_range_is_refused(app, client, organizer, typed, message):
    event_uuid = make_event(app, organizer, attendance_threshold=80)
    response = post_form(client, f"/events/{event_uuid}/edit",
                         form(title="Renamed", attendance_threshold=typed))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        event = db.session.scalar(sa.select(Event).where(Event.uuid == event_uuid))
        assert event.attendance_threshold == 80 and event.title != "Renamed"


def details_of(event: Event, threshold: int) -> EventDetails:
    return EventDetails(title=event.title, start_at=event.start_at, end_at=event.end_at,
                        timezone=event.timezone, format=event.format,
                        cpd_credits=event.cpd_credits, attendance_threshold=threshold)


def test_changing_the_threshold_recomputes_who_attended(ctx):
    event = EventFactory(start_at=T0, end_at=T0 + timedelta(hours=8), attendance_threshold=80)
    session = SessionFactory(event=event, start_at=T0, end_at=T0 + timedelta(minutes=60))
    ann = Registration(event=event, email="ann@example.com", full_name="Ann Archer",
                       status=RegistrationStatus.CONFIRMED, confirmed_at=utcnow())
    db.session.add(ann)
    db.session.flush()
    db.session.add(AttendanceRecord(
        event=event, session=session, registration_id=ann.id, meeting_id="1",
        meeting_uuid="u", participant_key="k", join_at=T0, leave_at=T0 + timedelta(minutes=45),
    ))
    db.session.flush()
    AttendanceService.recompute(event, session)
    row = db.session.scalar(sa.select(SessionAttendance))
    assert (row.percent, row.attended) == (75, False)

    EventService.update(event, details_of(event, 70))
    assert db.session.scalar(sa.select(SessionAttendance.attended)) is True
    EventService.update(event, details_of(event, 0))
    assert db.session.scalar(sa.select(SessionAttendance.attended)) is True
    EventService.update(event, details_of(event, 100))
    assert db.session.scalar(sa.select(SessionAttendance.attended)) is False

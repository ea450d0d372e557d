"""Zoom pages exist for online and hybrid events only; the attendance page counts check-ins
(in person) and Zoom minutes or check-ins (hybrid), and its figures agree with certificate
eligibility (app/certificates/services.py)."""

import re

import pytest

from app.accounts.models import User
from app.core.types import utcnow
from app.events.models import EventFormat
from app.extensions import db
from app.registrations.models import Registration
from app.states import EventStatus, RegistrationStatus
from app.zoom.models import SessionAttendance
from tests.conftest import create_user, log_in
from tests.factories import EventFactory, SessionFactory, VenueFactory

ZOOM_PAGES = ("zoom", "manage/recordings", "recordings")


def organizer_client(app):
    organizer = create_user(app, full_name="Olga Organizer")
    client = app.test_client()
    log_in(client, organizer.email)
    return client, organizer.id


def make_event(app, organizer_id, event_format: EventFormat, *, sessions: int = 1,
               people=(), status=EventStatus.COMPLETED):
    """An event of `event_format`, its sessions, and confirmed registrations: `people` are
    (name, checked in, {session number: attended} or None for the event's own meeting)."""
    with app.test_request_context():
        venue = VenueFactory() if event_format.has_venue else None
        event = EventFactory(organizer=db.session.get(User, organizer_id), format=event_format,
                             venue=venue, status=status)
        made = [SessionFactory(event=event, title=f"Talk {n + 1}",
                               start_at=event.start_at.replace(hour=9 + n),
                               end_at=event.start_at.replace(hour=10 + n))
                for n in range(sessions)]
        for name, checked_in, attended in people:
            registration = Registration(
                event=event, email=f"{name.lower()}@example.com", full_name=name,
                status=RegistrationStatus.CONFIRMED, confirmed_at=utcnow(),
                checked_in_at=utcnow() if checked_in else None)
            db.session.add(registration)
            db.session.flush()
            for number, present in (attended or {}).items():
                db.session.add(SessionAttendance(
                    event_id=event.id, registration_id=registration.id,
                    session_id=made[number].id if number is not None else None,
                    minutes=60 if present else 10, percent=100 if present else 16,
                    attended=present, sources="zoom"))
        db.session.commit()
        return event.uuid


def html(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def eligible_on_certificates_page(client, event_uuid) -> int:
    page = html(client, f"/events/{event_uuid}/certificates")
    return page.count('<span class="badge badge-live">Eligible</span>')


@pytest.mark.parametrize("event_format", list(EventFormat))
def test_zoom_pages_exist_for_online_and_hybrid_events_only(app, event_format):
    client, organizer_id = organizer_client(app)
    event_uuid = make_event(app, organizer_id, event_format, status=EventStatus.PUBLISHED)
    overview = html(client, f"/events/{event_uuid}/manage")
    nav = overview[overview.index('<nav class="side-nav"'):overview.index("</nav>",
                                                                   overview.index("side-nav"))]
    assert ">Attendance</a>" in nav  # check-ins count as attendance in person too
    online = event_format.is_online
    assert (">Zoom meetings</a>" in nav) is online
    assert (">Recordings</a>" in nav) is online
    for page in ZOOM_PAGES:
        expected = 200 if online else 404
        assert client.get(f"/events/{event_uuid}/{page}").status_code == expected, page


def test_in_person_attendance_counts_check_ins_as_certificates_do(app):
    client, organizer_id = organizer_client(app)
    event_uuid = make_event(app, organizer_id, EventFormat.IN_PERSON, sessions=3, people=[
        ("Ann", True, None), ("Bob", True, None), ("Cy", False, None)])
    page = html(client, f"/events/{event_uuid}/attendance")
    assert "Zoom" not in page and "Minutes" not in page
    assert page.count("2 of 3 attended") == 1  # one block: check-ins are per event
    assert "2 of 3 attendees qualify for a certificate." in page
    assert "Attendees checked in at the door count as attended" in page
    assert eligible_on_certificates_page(client, event_uuid) == 2


def test_hybrid_attendance_is_zoom_or_check_in_as_certificates_count_it(app):
    client, organizer_id = organizer_client(app)
    event_uuid = make_event(app, organizer_id, EventFormat.HYBRID, sessions=2, people=[
        ("Ann", False, {0: True, 1: True}),  # online, both talks
        ("Bob", True, None),  # in the room
        ("Cy", False, {0: True, 1: False}),  # online, left early from the second talk
    ])
    page = html(client, f"/events/{event_uuid}/attendance")
    blocks = re.findall(r"(\d+) of (\d+) attended", page)
    assert blocks == [("3", "3"), ("2", "3")]  # Talk 1: all three; Talk 2: Ann and Bob
    assert "2 of 3 attendees qualify for a certificate." in page
    assert "Checked in" in page and "Minutes" in page
    assert eligible_on_certificates_page(client, event_uuid) == 2


def test_hybrid_event_meeting_counts_the_room_and_zoom(app):
    client, organizer_id = organizer_client(app)
    event_uuid = make_event(app, organizer_id, EventFormat.HYBRID, sessions=0, people=[
        ("Ann", False, {None: True}), ("Bob", True, {None: False}), ("Cy", False, None)])
    page = html(client, f"/events/{event_uuid}/attendance")
    assert re.findall(r"(\d+) of (\d+) attended", page) == [("2", "3")]
    assert "2 of 3 attendees qualify for a certificate." in page
    assert eligible_on_certificates_page(client, event_uuid) == 2


def test_recordings_page_has_a_heading(app):
    client, organizer_id = organizer_client(app)
    event_uuid = make_event(app, organizer_id, EventFormat.VIRTUAL)
    page = html(client, f"/events/{event_uuid}/recordings")
    assert re.search(r"<h1>Recordings of Clinical update \d+</h1>", page)

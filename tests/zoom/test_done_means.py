"""Issue 5's "done means", end to end with ZOOM_FAKE: publishing a virtual two-session event
creates a (fake) Zoom meeting per session and registers the attendees in them; `flask zoom
simulate` sends joins, leaves and a re-join through the real endpoint; the organizer's
attendance page shows each person's minutes and percentages."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from app.accounts.models import User
from app.events.models import EventFormat
from app.extensions import db
from app.registrations.services import RegistrationService
from app.zoom.models import ZoomMeeting, ZoomRegistrant
from tests.conftest import create_user, log_in
from tests.factories import EventFactory, SessionFactory, UserFactory
from tests.zoom.test_simulate import run


def published_two_session_event(app, organizer_id: int):
    with app.test_request_context():
        organizer = db.session.get(User, organizer_id)
        event = EventFactory(format=EventFormat.VIRTUAL, status=None, organizer=organizer)
        for n in range(2):
            start = event.start_at + timedelta(hours=2 * n)
            SessionFactory(event=event, title=f"Part {n + 1}", start_at=start,
                           end_at=start + timedelta(hours=1))
        db.session.flush()
        event.publish(organizer)
        db.session.commit()
        for name in ("Ada Lovelace", "Grace Hopper"):
            RegistrationService.register(event, UserFactory(full_name=name), answers={})
            db.session.commit()
        return event.uuid, event.id


def test_publish_simulate_and_read_the_attendance_page(app, client):
    organizer = create_user(app, email="organizer@example.com", full_name="Olga Organizer")
    event_uuid, event_id = published_two_session_event(app, organizer.id)
    with app.app_context():
        meetings = db.session.scalars(
            sa.select(ZoomMeeting).where(ZoomMeeting.event_id == event_id)
        ).all()
        assert len(meetings) == 2 and all(m.session_id for m in meetings)
        assert db.session.scalar(sa.select(sa.func.count(ZoomRegistrant.id))) == 4

    answers, _lines = run(app, client, event_uuid)
    assert answers and all(status == 200 for status, _ in answers)

    log_in(client, "organizer@example.com")
    page = client.get(f"/events/{event_uuid}/attendance").get_data(as_text=True)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    # Each one-hour part: Ada joins at 0, drops out at 20 and is back at 30 until 60 (50 min,
    # 83 %); Grace joins at 2 and leaves at 58 (56 min, 93 %).
    for part in ("Part 1", "Part 2"):
        rows = text.split(f"Attendance of {part}")[1].split("Attendance of")[0]
        assert re.search(r"Ada Lovelace \S+ 50 83 % Yes", rows), rows
        assert re.search(r"Grace Hopper \S+ 56 93 % Yes", rows), rows
    assert "Part 1 2 of 2 Part 2 2 of 2" in text

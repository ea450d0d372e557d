"""An organizer cannot lower an event's or a session's capacity below the seats already
confirmed (nobody loses a seat), and can switch on session sign-up on the event form."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.core.errors import ValidationError
from app.events.models import Event, EventSession
from app.events.services import EventService
from app.extensions import db
from app.registrations.models import Registration
from app.registrations.services import RegistrationService, refuse_capacity_below_seats
from tests.conftest import create_user, log_in, post_form
from tests.events.test_manage import event_form
from tests.factories import EventFactory, SessionFactory, UserFactory


def test_lowering_capacity_below_confirmed_seats_is_refused(ctx):
    event = EventFactory(capacity=3)
    for _ in range(2):
        RegistrationService.register(event, UserFactory())
    with pytest.raises(ValidationError, match="2 seats are already confirmed") as refused:
        refuse_capacity_below_seats(event, 1)
    assert refused.value.field == "capacity"
    refuse_capacity_below_seats(event, 2)  # down to exactly the seats taken is fine
    refuse_capacity_below_seats(event, None)  # no limit is fine
    assert db.session.get(Event, event.id).capacity == 3


def test_waitlisted_people_do_not_count_as_confirmed_seats(ctx):
    event = EventFactory(capacity=1)
    for _ in range(3):
        RegistrationService.register(event, UserFactory())
    refuse_capacity_below_seats(event, 1)
    with pytest.raises(ValidationError):
        refuse_capacity_below_seats(event, 0)


def test_raising_capacity_gives_the_new_seats_to_the_first_in_line(ctx):
    event = EventFactory(capacity=1)
    people = [RegistrationService.register(event, UserFactory()) for _ in range(4)]
    assert [r.status.value for r in people] == ["confirmed"] + ["waitlisted"] * 3
    EventService.update(event, details_of(event, capacity=3))
    statuses = dict(db.session.execute(sa.select(Registration.id, Registration.status)).all())
    assert [statuses[r.id].value for r in people] == ["confirmed", "confirmed", "confirmed",
                                                      "waitlisted"]
    EventService.update(event, details_of(event, capacity=None))  # no limit: everyone
    statuses = dict(db.session.execute(sa.select(Registration.id, Registration.status)).all())
    assert {status.value for status in statuses.values()} == {"confirmed"}


def details_of(event, **changes):
    from dataclasses import replace

    from app.events.services import EventDetails

    details = EventDetails(
        title=event.title, summary=event.summary, description=event.description,
        timezone=event.timezone, start_at=event.start_at, end_at=event.end_at,
        format=event.format, venue_id=event.venue_id, capacity=event.capacity,
        waitlist_enabled=event.waitlist_enabled, visibility=event.visibility,
    )
    return replace(details, **changes)


def organizer_with_event(app, **fields):
    user = create_user(app, email="organizer@example.com")
    with app.test_request_context():
        event = EventFactory(organizer=db.session.get(User, user.id),
                             start_at=datetime(2031, 7, 10, 8, tzinfo=UTC),
                             end_at=datetime(2031, 7, 10, 16, tzinfo=UTC), **fields)
        session = SessionFactory(event=event, capacity=5)
        for _ in range(2):
            RegistrationService.register(event, UserFactory(),
                                         sessions=[session] if event.session_signup else None)
        db.session.commit()
        return user, event.uuid, event.id, session.uuid, session.id


def test_event_form_refuses_a_capacity_below_confirmed_seats(app, client):
    user, event_uuid, event_id, _, _ = organizer_with_event(app, capacity=3)
    log_in(client, user.email)
    response = post_form(client, f"/events/{event_uuid}/edit", event_form(capacity="1"))
    assert response.status_code == 422
    assert "2 seats are already confirmed" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Event, event_id).capacity == 3
        db.session.remove()
    assert post_form(client, f"/events/{event_uuid}/edit",
                     event_form(capacity="2")).status_code == 303


def test_session_form_refuses_a_capacity_below_confirmed_places(app, client):
    user, event_uuid, _, session_uuid, session_id = organizer_with_event(
        app, capacity=10, session_signup=True
    )
    log_in(client, user.email)
    path = f"/events/{event_uuid}/sessions/{session_uuid}/edit"
    page = client.get(path).get_data(as_text=True)
    assert page
    data = {
        "title": "Opening", "start_at": "2031-07-10T09:00", "end_at": "2031-07-10T10:00",
        "capacity": "1",
    }
    response = post_form(client, path, data)
    assert response.status_code == 422, response.status_code
    assert "2 seats are already confirmed" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(EventSession, session_id).capacity == 5
        db.session.remove()


def test_event_form_switches_session_signup_on_and_off(app, client):
    user, event_uuid, event_id, _, _ = organizer_with_event(app, capacity=None)
    log_in(client, user.email)
    page = client.get(f"/events/{event_uuid}/edit").get_data(as_text=True)
    assert "Attendees pick their sessions" in page

    def signup() -> bool:
        with app.app_context():
            value = db.session.scalar(sa.select(Event.session_signup)
                                      .where(Event.id == event_id))
            db.session.remove()
            return value

    assert post_form(client, f"/events/{event_uuid}/edit",
                     event_form(session_signup="y")).status_code == 303
    assert signup() is True
    assert post_form(client, f"/events/{event_uuid}/edit", event_form()).status_code == 303
    assert signup() is False

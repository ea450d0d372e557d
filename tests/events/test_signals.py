"""The events area sends each of its signals where the operation happens, with the sender
and the keyword data its declaration documents; a receiver's refusal stops the operation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.core.errors import ValidationError
from app.events import signals
from app.events.models import EventFormat
from app.events.services import EventDetails, EventService
from app.states import EventStatus
from tests.factories import EventFactory, SessionFactory, UserFactory, VenueFactory, in_days


@pytest.fixture
def heard():
    """Every events signal sent during the test, as (name, sender, keyword data), in order."""
    calls: list[tuple[str, object, dict]] = []
    listeners = []
    for name, signal in signals.namespace.items():
        def listen(sender, _name=name, **data):
            calls.append((_name, sender, data))
        listeners.append((signal, listen))
        signal.connect(listen, weak=False)
    yield calls
    for signal, listen in listeners:
        signal.disconnect(listen)


def details_of(event, **changes) -> EventDetails:
    values = dict(title=event.title, start_at=event.start_at, end_at=event.end_at,
                  timezone=event.timezone, format=event.format, capacity=event.capacity,
                  cpd_credits=event.cpd_credits,
                  attendance_threshold=event.attendance_threshold)
    return EventDetails(**{**values, **changes})


def test_creating_an_event_sends_event_created(ctx, heard):
    start = in_days(10, 9)
    event = EventService.create(UserFactory(), EventDetails(
        title="Cardiology update", start_at=start, end_at=start + timedelta(hours=2),
        timezone="Europe/London", format=EventFormat.VIRTUAL))
    assert heard == [("event_created", event, {})]
    assert event.id is not None  # flushed before the receivers run


def test_rescheduling_sends_start_moved_then_schedule_changed(ctx, heard):
    event = EventFactory(status=EventStatus.DRAFT, format=EventFormat.VIRTUAL)
    new_start = event.start_at + timedelta(days=1)
    event.reschedule(new_start, new_start + (event.end_at - event.start_at))
    assert heard == [("event_start_moved", event, {}), ("event_schedule_changed", event, {})]


def test_the_event_form_sends_what_changed(ctx, heard):
    event = EventFactory(status=EventStatus.DRAFT, format=EventFormat.VIRTUAL, capacity=10,
                         attendance_threshold=75)
    shift = timedelta(days=1)
    EventService.update(event, details_of(event, start_at=event.start_at + shift,
                                          end_at=event.end_at + shift, capacity=20,
                                          attendance_threshold=60))
    assert heard == [
        ("capacity_changing", event, {"capacity": 20}),
        ("attendance_threshold_changed", event, {}),
        ("event_start_moved", event, {}),
        ("event_schedule_changed", event, {}),
        ("capacity_changed", event, {}),
    ]


def test_an_unchanged_form_sends_only_schedule_changed(ctx, heard):
    event = EventFactory(status=EventStatus.DRAFT, format=EventFormat.VIRTUAL, capacity=10)
    EventService.update(event, details_of(event))
    assert heard == [("event_schedule_changed", event, {})]


def test_a_session_capacity_sends_the_capacity_signals_with_the_session(ctx, heard):
    event = EventFactory(status=EventStatus.DRAFT, format=EventFormat.VIRTUAL)
    session = SessionFactory(event=event, capacity=5)
    heard.clear()
    EventService.update_session(event, session, capacity=8)
    names = [(name, sender, data) for name, sender, data in heard
             if name.startswith("capacity")]
    assert names == [("capacity_changing", session, {"capacity": 8}),
                     ("capacity_changed", session, {})]


def test_publishing_sends_event_published_with_the_actor(ctx, heard):
    organizer = UserFactory()
    event = EventFactory(status=EventStatus.DRAFT, format=EventFormat.IN_PERSON,
                         venue=VenueFactory(), organizer=organizer)
    event.publish(organizer)
    assert heard == [("event_published", event, {"actor": organizer})]


def test_cancelling_sends_event_cancelled(ctx, heard):
    organizer = UserFactory()
    event = EventFactory(format=EventFormat.IN_PERSON, organizer=organizer)
    event.cancel(organizer, "Venue flooded")
    assert heard == [("event_cancelled", event, {})]


def test_deleting_a_draft_and_closing_ask_the_other_areas_first(ctx, heard):
    draft = EventFactory(status=EventStatus.DRAFT, format=EventFormat.IN_PERSON)
    draft.delete_draft()
    done = EventFactory(status=EventStatus.COMPLETED, format=EventFormat.IN_PERSON)
    done.check_ready_to_close()
    assert heard == [("event_deleting", draft, {}), ("event_closing", done, {})]


def test_a_receiver_that_refuses_stops_the_operation(ctx):
    event = EventFactory(status=EventStatus.DRAFT, format=EventFormat.IN_PERSON)

    def refuse(sender, **data):
        raise ValidationError("Not now.")

    with signals.event_deleting.connected_to(refuse), pytest.raises(ValidationError,
                                                                     match="Not now."):
        event.delete_draft()
    assert not event.is_deleted
    event.delete_draft()  # disconnected again
    assert event.is_deleted

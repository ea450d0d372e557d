"""Organizer pages over HTTP (with CSRF): creating and editing events, status changes with
their history, sessions, registration questions, and who may use them."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from babel.dates import format_date

from app.accounts.models import User
from app.core.errors import ValidationError
from app.events.models import (
    CustomFieldType,
    Event,
    EventCustomField,
    EventLocation,
    EventSession,
    EventStatusHistory,
    EventVisibility,
)
from app.extensions import db
from app.states import EventStatus, SessionStatus
from tests.conftest import create_user, log_in, post_form, query_counter
from tests.factories import EventFactory, SessionFactory, UserFactory, VenueFactory

HTMX = {"HX-Request": "true"}


@contextmanager
def database(app):
    """A fresh session to read what the requests wrote."""
    with app.app_context():
        try:
            yield db.session
        finally:
            db.session.remove()


def get_event(session, event_uuid) -> Event:
    return session.scalar(
        sa.select(Event).where(Event.uuid == event_uuid).execution_options(include_deleted=True)
    )


@pytest.fixture
def organizer(app, client):
    user = create_user(app, email="organizer@example.com")
    log_in(client, user.email)
    return user


def make_event(app, organizer=None, sessions: int = 0, **fields):
    """An event (published, public, a week away unless told) and its uuid."""
    with app.test_request_context():
        if organizer is not None:
            fields["organizer"] = db.session.get(User, organizer.id)
        event = EventFactory(**fields)
        for number in range(sessions):
            start = event.start_at + timedelta(hours=number % 8)
            SessionFactory(event=event, start_at=start, end_at=start + timedelta(minutes=50),
                           position=number + 1)
        db.session.commit()
        return event.uuid


def manage(event_uuid, suffix: str = "manage") -> str:
    return f"/events/{event_uuid}/{suffix}"


def event_form(**overrides) -> dict:
    data = {
        "title": "Summer school",
        "summary": "Three days of practice.",
        "description": "Hello **world**",
        "timezone": "Europe/London",
        "start_at": "2031-07-10T09:00",
        "end_at": "2031-07-10T17:00",
        "format": "virtual",
        "venue_id": "",
        "capacity": "100",
        "waitlist_enabled": "y",
        "max_speakers": "",
        "cpd_credits": "6",
        "registration_opens_at": "",
        "registration_closes_at": "",
        "visibility": "public",
        "calendar_id": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def count(app, model) -> int:
    with database(app) as session:
        query = sa.select(sa.func.count()).select_from(model)
        return session.scalar(query.execution_options(include_deleted=True))


def text(response) -> str:
    return response.get_data(as_text=True)


# --- Creating


def test_new_event_page_shows_the_form_with_inline_validation(app, client, organizer):
    page = client.get("/events/new")
    assert page.status_code == 200
    body = text(page)
    assert 'hx-post="/events/validate"' in body
    assert 'hx-trigger="change, keyup changed delay:500ms"' in body
    assert 'aria-live="polite"' in body and "<legend>" in body


def test_create_event_stores_utc_times_from_the_event_timezone(app, client, organizer):
    response = post_form(client, "/events/new", event_form(), page="/events/new")
    assert response.status_code == 303
    with database(app) as session:
        event = session.scalar(sa.select(Event))
        assert response.headers["Location"] == f"/events/{event.uuid}/manage"
        assert event.status == EventStatus.DRAFT
        # 09:00 in London in July (BST) is 08:00 UTC.
        assert event.start_at == datetime(2031, 7, 10, 8, 0, tzinfo=UTC)
        assert event.end_at == datetime(2031, 7, 10, 16, 0, tzinfo=UTC)
        assert event.timezone == "Europe/London"
        assert event.capacity == 100 and event.cpd_credits == Decimal("6")
        assert "<strong>world</strong>" in event.description_html
        assert [h.to_status for h in event.history] == [EventStatus.DRAFT]
        assert event.members[0].user_id == organizer.id
    page = client.get(response.headers["Location"])
    assert page.status_code == 200 and "Summer school" in text(page)


def test_create_in_a_winter_timezone_and_with_a_venue(app, client, organizer):
    with app.test_request_context():
        venue_id = VenueFactory(name="Town Hall").id
        db.session.commit()
    data = event_form(timezone="America/New_York", start_at="2031-01-15T09:00",
                      end_at="2031-01-15T12:00", format="in_person", venue_id=str(venue_id),
                      registration_closes_at="2031-01-14T18:00")
    assert post_form(client, "/events/new", data, page="/events/new").status_code == 303
    with database(app) as session:
        event = session.scalar(sa.select(Event))
        assert event.start_at == datetime(2031, 1, 15, 14, 0, tzinfo=UTC)
        assert event.registration_closes_at == datetime(2031, 1, 14, 23, 0, tzinfo=UTC)
        assert event.venue_id == venue_id


@pytest.mark.parametrize("overrides, message", [
    ({"end_at": "2031-07-10T08:00"}, "The event must end after it starts."),
    ({"capacity": "-5"}, "Enter a whole number from 0 to"),
    ({"timezone": "Mars/Olympus_Mons"}, "Unknown timezone: Mars/Olympus_Mons."),
    ({"format": "in_person"}, "Choose a venue for an in-person or hybrid event."),
    ({"title": ""}, "This field is required."),
    ({"cpd_credits": "lots"}, "CPD credits are a number from 0 to 9999."),
    ({"start_at": "not a date"}, "Not a valid datetime value."),
])
def test_create_refuses_bad_input_and_writes_nothing(app, client, organizer, overrides, message):
    response = post_form(client, "/events/new", event_form(**overrides), page="/events/new")
    assert response.status_code == 422
    assert message in text(response)
    assert count(app, Event) == 0


def test_create_shows_every_problem_at_once(app, client, organizer):
    data = event_form(end_at="2031-07-10T08:00", capacity="-1", max_speakers="-2",
                      format="hybrid")
    response = post_form(client, "/events/new", data, page="/events/new")
    assert response.status_code == 422
    body = text(response)
    for message in ("The event must end after it starts.", "Enter a whole number from 0 to",
                    "Choose a venue for an in-person or hybrid event."):
        assert message in body
    assert body.count("Enter a whole number from 0 to") == 2
    assert count(app, Event) == 0


def test_markdown_with_script_is_sanitised_not_refused(app, client, organizer):
    data = event_form(description="Hi <script>alert(1)</script> [x](javascript:alert(2))")
    assert post_form(client, "/events/new", data, page="/events/new").status_code == 303
    with database(app) as session:
        event = session.scalar(sa.select(Event))
        assert "<script" not in event.description_html
        assert 'href="javascript' not in event.description_html
        assert event.description.startswith("Hi <script>")  # kept as typed, shown sanitised


def test_inline_validation_reports_typed_fields_and_writes_nothing(app, client, organizer):
    data = event_form(end_at="2031-07-10T08:00", capacity="-3", title="")
    response = post_form(client, "/events/validate", data, page="/events/new", headers=HTMX)
    assert response.status_code == 200
    body = text(response)
    assert "The event must end after it starts." in body
    assert "Enter a whole number from 0 to" in body
    assert 'href="#end_at"' in body
    assert "This field is required." not in body  # the title is not typed yet
    assert count(app, Event) == 0
    ok = post_form(client, "/events/validate", event_form(), page="/events/new", headers=HTMX)
    assert ok.status_code == 200 and "alert" not in text(ok)
    assert count(app, Event) == 0


def test_inline_validation_of_an_existing_event(app, client, organizer):
    event_uuid = make_event(app, organizer)
    data = event_form(capacity="-1")
    response = post_form(client, manage(event_uuid, "validate"), data,
                         page=manage(event_uuid, "edit"), headers=HTMX)
    assert response.status_code == 200 and "Enter a whole number from 0 to" in text(response)


def test_add_a_venue_and_come_back(app, client, organizer):
    page = client.get("/venues/new?next=/events/new")
    assert page.status_code == 200
    response = post_form(client, "/venues/new", {"name": "Civic Hall", "city": "Leeds",
                                                 "next": "/events/new"}, page="/venues/new")
    assert response.status_code == 303 and response.headers["Location"] == "/events/new"
    assert "Civic Hall, Leeds" in text(client.get("/events/new"))
    refused = post_form(client, "/venues/new", {"name": ""}, page="/venues/new")
    assert refused.status_code == 422
    assert count(app, EventLocation) == 1


# --- Editing


def test_edit_shows_local_times_and_saves(app, client, organizer):
    event_uuid = make_event(app, organizer, start_at=datetime(2031, 7, 10, 8, tzinfo=UTC),
                            end_at=datetime(2031, 7, 10, 16, tzinfo=UTC))
    page = client.get(manage(event_uuid, "edit"))
    assert page.status_code == 200 and 'value="2031-07-10T09:00"' in text(page)
    data = event_form(title="Renamed", end_at="2031-07-10T18:00")
    response = post_form(client, manage(event_uuid, "edit"), data)
    assert response.status_code == 303
    with database(app) as session:
        event = get_event(session, event_uuid)
        assert event.title == "Renamed"
        assert event.end_at == datetime(2031, 7, 10, 17, tzinfo=UTC)


def test_edit_refuses_bad_input(app, client, organizer):
    event_uuid = make_event(app, organizer)
    response = post_form(client, manage(event_uuid, "edit"), event_form(capacity="-1"))
    assert response.status_code == 422 and "Enter a whole number from 0 to" in text(response)
    with database(app) as session:
        assert get_event(session, event_uuid).capacity is None


@pytest.mark.parametrize("status", [EventStatus.CANCELLED, EventStatus.CLOSED])
def test_editing_a_cancelled_or_closed_event_is_refused(app, client, organizer, status):
    event_uuid = make_event(app, organizer, status=status, title="Original")
    page = client.get(manage(event_uuid, "edit"))
    assert "This event can no longer be changed." in text(page)
    response = post_form(client, manage(event_uuid, "edit"), event_form(title="Changed"),
                         page=manage(event_uuid))
    assert response.status_code == 303
    followed = client.get(response.headers["Location"])
    assert f"This event is {status.value} and can no longer be changed." in text(followed)
    with database(app) as session:
        assert get_event(session, event_uuid).title == "Original"


# --- Status changes


def history(app, event_uuid) -> list[tuple]:
    with database(app) as session:
        event = get_event(session, event_uuid)
        return [(h.from_status, h.to_status, h.changed_by_id, h.reason) for h in event.history]


def test_publish_writes_history_with_the_organizer(app, client, organizer):
    event_uuid = make_event(app, organizer, status=EventStatus.DRAFT)
    page = client.get(manage(event_uuid))
    assert f'action="/events/{event_uuid}/publish"' in text(page)
    response = post_form(client, manage(event_uuid, "publish"), page=manage(event_uuid))
    assert response.status_code == 303
    assert history(app, event_uuid)[-1][:3] == (
        EventStatus.DRAFT, EventStatus.PUBLISHED, organizer.id
    )
    page = text(client.get(manage(event_uuid)))
    assert "The event is published." in page
    assert f'action="/events/{event_uuid}/publish"' not in page


def test_publish_refusal_is_a_message(app, client, organizer):
    with app.test_request_context():
        user = db.session.get(User, organizer.id)
        event = EventFactory(organizer=user, status=EventStatus.DRAFT, format=_in_person())
        event_uuid = event.uuid
        db.session.commit()
    response = post_form(client, manage(event_uuid, "publish"), page=manage(event_uuid))
    assert response.status_code == 303
    assert "Before publishing, add a venue" in text(client.get(manage(event_uuid)))
    with database(app) as session:
        assert get_event(session, event_uuid).status == EventStatus.DRAFT


def _in_person():
    from app.events.models import EventFormat

    return EventFormat.IN_PERSON


def test_htmx_status_change_returns_the_status_panel(app, client, organizer):
    event_uuid = make_event(app, organizer, status=EventStatus.DRAFT)
    response = post_form(client, manage(event_uuid, "publish"), page=manage(event_uuid),
                         headers=HTMX)
    assert response.status_code == 200
    body = text(response)
    assert body.lstrip().startswith('<div id="event-status">')
    assert "The event is published." in body and "<html" not in body
    refused = post_form(client, manage(event_uuid, "publish"), page=manage(event_uuid),
                        headers=HTMX)
    assert "Cannot publish: the event is published." in text(refused)


def test_cancel_needs_a_reason(app, client, organizer):
    event_uuid = make_event(app, organizer, sessions=2)
    response = post_form(client, manage(event_uuid, "cancel"), {"reason": "  "},
                         page=manage(event_uuid))
    assert response.status_code == 303
    assert "Give a reason" in text(client.get(manage(event_uuid)))
    with database(app) as session:
        assert get_event(session, event_uuid).status == EventStatus.PUBLISHED
    response = post_form(client, manage(event_uuid, "cancel"), {"reason": "Venue flooded"},
                         page=manage(event_uuid))
    assert response.status_code == 303
    with database(app) as session:
        event = get_event(session, event_uuid)
        assert event.status == EventStatus.CANCELLED and event.cancel_reason == "Venue flooded"
        assert {s.status for s in event.sessions} == {SessionStatus.CANCELLED}
    assert history(app, event_uuid)[-1] == (
        EventStatus.PUBLISHED, EventStatus.CANCELLED, organizer.id, "Venue flooded"
    )
    assert "Venue flooded" in text(client.get(manage(event_uuid)))


def test_start_complete_close_reopen(app, client, organizer):
    event_uuid = make_event(app, organizer)
    for action, status in [("start", EventStatus.LIVE), ("complete", EventStatus.COMPLETED),
                           ("close", EventStatus.CLOSED), ("reopen", EventStatus.COMPLETED)]:
        confirmed = {"confirm": "yes"} if action == "start" else {}  # a week early
        response = post_form(client, manage(event_uuid, action), confirmed,
                             page=manage(event_uuid))
        assert response.status_code == 303
        with database(app) as session:
            assert get_event(session, event_uuid).status == status, action
    moves = [(before, after) for before, after, *_ in history(app, event_uuid)]
    assert moves[-4:] == [
        (EventStatus.PUBLISHED, EventStatus.LIVE),
        (EventStatus.LIVE, EventStatus.COMPLETED),
        (EventStatus.COMPLETED, EventStatus.CLOSED),
        (EventStatus.CLOSED, EventStatus.COMPLETED),
    ]
    page = text(client.get(manage(event_uuid)))
    assert page.count("organizer@example.com") == 0  # the timeline names, not addresses


def test_session_ordering_hint_and_cancel_button_say_what_is_there(app, client, organizer):
    lonely = make_event(app, organizer, sessions=1)
    page = text(client.get(manage(lonely, "sessions")))
    assert "arrows" not in page and "↑" not in page  # one session a day: nothing to order
    assert "Order the sessions of a day" not in page
    assert ">Cancel session<span class=\"visually-hidden\">" in page
    assert ">Cancel<span" not in page
    busy = make_event(app, organizer, sessions=2)
    page = text(client.get(manage(busy, "sessions")))
    assert "Order the sessions of a day with their ↑ and ↓ buttons." in page
    assert ">↑<span" in page and ">↓<span" in page


def slug_of(app, event_uuid) -> str:
    with database(app) as session:
        return get_event(session, event_uuid).slug


def test_overview_links_to_the_public_page_with_an_absolute_share_link(app, client, organizer):
    event_uuid = make_event(app, organizer, status=EventStatus.DRAFT)
    slug = slug_of(app, event_uuid)
    draft = text(client.get(manage(event_uuid)))
    assert f'href="/events/{slug}">Preview the event page' in draft
    assert 'id="share-url"' not in draft  # nobody else could open it yet
    published = text(post_form(client, manage(event_uuid, "publish"), page=manage(event_uuid),
                               headers=HTMX))
    for page in (published, text(client.get(manage(event_uuid)))):
        assert f'href="/events/{slug}">View public page' in page
        assert (f'<input type="text" id="share-url" value="http://localhost/events/{slug}" '
                "readonly>") in page
        assert f'data-copy="http://localhost/events/{slug}"' in page
        assert '<script src="/static/js/copy-link.js" defer></script>' in page
    assert client.get(f"/events/{slug}").status_code == 200


def test_starting_an_event_hours_ahead_is_confirmed_first(app, client, organizer):
    from app.events.models import EARLY_START_NOTICE

    event_uuid = make_event(app, organizer, start_at=datetime(2031, 7, 10, 8, tzinfo=UTC),
                            end_at=datetime(2031, 7, 10, 16, tzinfo=UTC))
    for headers in ({}, HTMX):  # without JavaScript, then with HTMX in place of the panel
        asked = post_form(client, manage(event_uuid, "start"), page=manage(event_uuid),
                          headers=headers)
        assert asked.status_code == 200
        body = text(asked)
        assert "Start the event now?" in body
        assert "scheduled to start on Thursday 10 July 2031" in body
        assert "This cannot be undone" in body
        assert 'name="confirm" value="yes"' in body
        with database(app) as session:
            assert get_event(session, event_uuid).status == EventStatus.PUBLISHED
    assert text(asked).lstrip().startswith('<div id="event-status">')
    # A confirmation that is not "yes" is no confirmation: the model refuses it too.
    refused = post_form(client, manage(event_uuid, "start"), {"confirm": "maybe"},
                        page=manage(event_uuid))
    assert refused.status_code == 200 and "Start the event now?" in text(refused)
    with app.test_request_context():
        event = get_event(db.session, event_uuid)
        with pytest.raises(ValidationError, match="confirm that it starts now"):
            event.start_by_hand(None)
        soon = event.start_at - EARLY_START_NOTICE + timedelta(minutes=1)
        assert not event.start_needs_confirmation(now=soon)
        assert event.start_needs_confirmation(now=soon - timedelta(minutes=2))
    started = post_form(client, manage(event_uuid, "start"), {"confirm": "yes"},
                        page=manage(event_uuid))
    assert started.status_code == 303
    assert history(app, event_uuid)[-1][1:] == (EventStatus.LIVE, organizer.id,
                                                "Started by hand")


def test_an_event_about_to_start_starts_without_a_confirmation(app, client, organizer):
    from app.core.types import utcnow

    soon = utcnow() + timedelta(minutes=30)
    event_uuid = make_event(app, organizer, start_at=soon, end_at=soon + timedelta(hours=2))
    response = post_form(client, manage(event_uuid, "start"), page=manage(event_uuid))
    assert response.status_code == 303
    with database(app) as session:
        assert get_event(session, event_uuid).status == EventStatus.LIVE


def test_an_event_that_is_over_cannot_be_published(app, client, organizer):
    event_uuid = make_event(app, organizer, status=EventStatus.DRAFT,
                            start_at=datetime(2020, 1, 1, 9, tzinfo=UTC),
                            end_at=datetime(2020, 1, 1, 17, tzinfo=UTC))
    response = post_form(client, manage(event_uuid, "publish"), page=manage(event_uuid))
    assert response.status_code == 303
    page = text(client.get(manage(event_uuid)))
    assert ("This event ended on Wednesday 1 January 2020, 17:00: an event that is over "
            "cannot be published. Reschedule it to a future date first.") in page
    assert "The event is published" not in page
    with database(app) as session:
        assert get_event(session, event_uuid).status == EventStatus.DRAFT
    assert history(app, event_uuid) == []


def test_a_repeating_listing_whose_first_date_passed_can_still_be_published(app, organizer):
    from app.events.models import RecurrenceFrequency, RecurringRule

    with app.test_request_context():
        user = db.session.get(User, organizer.id)
        event = EventFactory(organizer=user, status=EventStatus.DRAFT,
                             start_at=datetime(2020, 1, 2, 18, tzinfo=UTC),
                             end_at=datetime(2020, 1, 2, 19, tzinfo=UTC))
        event.recurring_rule = RecurringRule(frequency=RecurrenceFrequency.WEEKLY)
        event.publish(user)
        assert event.status == EventStatus.PUBLISHED
        ended = EventFactory(organizer=user, status=EventStatus.DRAFT,
                             start_at=datetime(2020, 1, 2, 18, tzinfo=UTC),
                             end_at=datetime(2020, 1, 2, 19, tzinfo=UTC))
        ended.recurring_rule = RecurringRule(frequency=RecurrenceFrequency.WEEKLY, count=3)
        with pytest.raises(ValidationError, match="an event that is over"):
            ended.publish(user)


def test_publishing_says_when_the_event_goes_live(app, client, organizer):
    event_uuid = make_event(app, organizer, status=EventStatus.DRAFT,
                            start_at=datetime(2031, 7, 10, 8, tzinfo=UTC),
                            end_at=datetime(2031, 7, 10, 16, tzinfo=UTC))
    post_form(client, manage(event_uuid, "publish"), page=manage(event_uuid))
    page = text(client.get(manage(event_uuid)))
    assert ("The event is published. It goes live by itself on Thursday 10 July 2031, "
            "09:00.") in page
    assert "It goes live by itself at its start time" not in page


def test_reschedule_moves_sessions_and_keeps_the_duration(app, client, organizer):
    start = datetime(2031, 7, 10, 8, tzinfo=UTC)
    event_uuid = make_event(app, organizer, sessions=2, start_at=start,
                            end_at=start + timedelta(hours=8))
    page = client.get(manage(event_uuid, "reschedule"))
    assert page.status_code == 200 and 'value="2031-07-10T09:00"' in text(page)
    response = post_form(client, manage(event_uuid, "reschedule"),
                         {"start_at": "2031-07-12T10:00"})
    assert response.status_code == 303
    with database(app) as session:
        event = get_event(session, event_uuid)
        assert event.start_at == datetime(2031, 7, 12, 9, tzinfo=UTC)
        assert event.end_at == event.start_at + timedelta(hours=8)
        assert [s.start_at for s in event.sessions] == [
            datetime(2031, 7, 12, 9, tzinfo=UTC), datetime(2031, 7, 12, 10, tzinfo=UTC)
        ]
    refused = post_form(client, manage(event_uuid, "reschedule"), {"start_at": ""})
    assert refused.status_code == 422


def test_delete_only_a_draft(app, client, organizer):
    published = make_event(app, organizer)
    response = post_form(client, manage(published, "delete"), page=manage(published))
    assert response.status_code == 303
    assert "Only a draft can be deleted" in text(client.get(manage(published)))
    draft = make_event(app, organizer, status=EventStatus.DRAFT)
    response = post_form(client, manage(draft, "delete"), page=manage(draft))
    assert response.status_code == 303 and response.headers["Location"] == "/dashboard"
    with database(app) as session:
        assert get_event(session, draft).is_deleted
        assert not get_event(session, published).is_deleted
    assert client.get(manage(draft)).status_code == 404


# --- Sessions


def session_form(**overrides) -> dict:
    data = {"title": "Keynote", "start_at": "2031-07-10T09:00", "end_at": "2031-07-10T10:00",
            "room": "Hall A", "description": "", "capacity": "", "speaker_capacity": "2",
            "required_certification": "", "cpd_credits": "1.5"}
    data.update(overrides)
    return data


@pytest.fixture
def summer_event(app, organizer):
    start = datetime(2031, 7, 10, 8, tzinfo=UTC)  # 09:00–17:00 in London
    return make_event(app, organizer, start_at=start, end_at=start + timedelta(hours=8))


def sessions_of(app, event_uuid) -> list[EventSession]:
    with database(app) as session:
        return list(session.scalars(
            sa.select(EventSession).join(Event).where(Event.uuid == event_uuid)
            .order_by(EventSession.position)
        ))


def test_sessions_page_empty_state(app, client, summer_event):
    page = client.get(manage(summer_event, "sessions"))
    assert page.status_code == 200
    assert "No sessions yet — add the first one below." in text(page)


def test_add_session_in_the_event_timezone(app, client, summer_event):
    url = manage(summer_event, "sessions")
    response = post_form(client, url, session_form())
    assert response.status_code == 303
    [added] = sessions_of(app, summer_event)
    assert added.start_at == datetime(2031, 7, 10, 8, tzinfo=UTC)
    assert added.speaker_capacity == 2 and added.cpd_credits == Decimal("1.5")
    page = text(client.get(url))
    assert "Keynote" in page and "09:00" in page


@pytest.mark.parametrize("overrides, message", [
    ({"start_at": "2031-07-10T09:30", "end_at": "2031-07-10T10:30"}, "overlaps “Opening”"),
    ({"start_at": "2031-07-10T16:30", "end_at": "2031-07-10T18:00"},
     "The session must lie within the event"),
    ({"end_at": "2031-07-10T08:00", "start_at": "2031-07-10T11:00"},
     "A session must end after it starts."),
    ({"capacity": "-1"}, "Enter a whole number from 0 to 1000000."),
])
def test_add_session_refusals(app, client, summer_event, overrides, message):
    url = manage(summer_event, "sessions")
    post_form(client, url, session_form(title="Opening"))
    response = post_form(client, url, session_form(title="Second", **overrides))
    assert response.status_code == 422
    assert message in text(response)
    assert [s.title for s in sessions_of(app, summer_event)] == ["Opening"]


def test_live_warning_for_session_times(app, client, summer_event):
    url = manage(summer_event, "sessions")
    post_form(client, url, session_form(title="Opening"))
    check = manage(summer_event, "sessions/check")
    overlap = post_form(client, check, session_form(start_at="2031-07-10T09:30"), page=url,
                        headers=HTMX)
    assert overlap.status_code == 200 and "overlaps “Opening”" in text(overlap)
    outside = post_form(client, check, session_form(start_at="2031-07-10T07:00",
                                                    end_at="2031-07-10T08:00"),
                        page=url, headers=HTMX)
    assert "within the event" in text(outside)
    fine = post_form(client, check, session_form(start_at="2031-07-10T11:00",
                                                 end_at="2031-07-10T12:00"),
                     page=url, headers=HTMX)
    assert "alert" not in text(fine)
    partial = post_form(client, check, session_form(end_at=""), page=url, headers=HTMX)
    assert partial.status_code == 200 and "alert" not in text(partial)
    assert len(sessions_of(app, summer_event)) == 1
    # Editing a session does not warn about itself.
    [opening] = sessions_of(app, summer_event)
    itself = post_form(client, check, session_form(session_uuid=str(opening.uuid)), page=url,
                       headers=HTMX)
    assert "alert" not in text(itself)


def test_edit_session(app, client, summer_event):
    url = manage(summer_event, "sessions")
    post_form(client, url, session_form(title="Opening"))
    post_form(client, url, session_form(title="Later", start_at="2031-07-10T11:00",
                                        end_at="2031-07-10T12:00"))
    opening, later = sessions_of(app, summer_event)
    edit = manage(summer_event, f"sessions/{opening.uuid}/edit")
    assert 'value="2031-07-10T09:00"' in text(client.get(edit))
    clash = post_form(client, edit, session_form(title="Opening", end_at="2031-07-10T11:30"))
    assert clash.status_code == 422 and "overlaps “Later”" in text(clash)
    response = post_form(client, edit, session_form(title="Welcome", end_at="2031-07-10T09:45"))
    assert response.status_code == 303
    opening = sessions_of(app, summer_event)[0]
    assert opening.title == "Welcome"
    assert opening.end_at == datetime(2031, 7, 10, 8, 45, tzinfo=UTC)


def test_reorder_sessions_within_a_day(app, client, summer_event):
    url = manage(summer_event, "sessions")
    for title, start in (("A", "09:00"), ("B", "10:00"), ("C", "11:00")):
        hour = int(start[:2])
        post_form(client, url, session_form(title=title, start_at=f"2031-07-10T{start}",
                                            end_at=f"2031-07-10T{hour:02d}:50"))
    a, b, c = sessions_of(app, summer_event)
    response = post_form(client, manage(summer_event, f"sessions/{c.uuid}/move-up"), page=url,
                         headers=HTMX)
    assert response.status_code == 200
    assert text(response).lstrip().startswith('<div id="session-list">')
    assert [s.title for s in sessions_of(app, summer_event)] == ["A", "C", "B"]
    response = post_form(client, manage(summer_event, f"sessions/{a.uuid}/move-down"), page=url)
    assert response.status_code == 303
    assert [s.title for s in sessions_of(app, summer_event)] == ["C", "A", "B"]
    post_form(client, manage(summer_event, f"sessions/{c.uuid}/move-up"), page=url)
    assert [s.title for s in sessions_of(app, summer_event)] == ["C", "A", "B"]  # first stays
    page = text(client.get(url))
    assert page.index("<strong>C</strong>") < page.index("<strong>A</strong>")


def test_cancel_session(app, client, summer_event):
    url = manage(summer_event, "sessions")
    post_form(client, url, session_form())
    [keynote] = sessions_of(app, summer_event)
    response = post_form(client, manage(summer_event, f"sessions/{keynote.uuid}/cancel"),
                         page=url, headers=HTMX)
    assert response.status_code == 200 and "is cancelled" in text(response)
    assert sessions_of(app, summer_event)[0].status == SessionStatus.CANCELLED
    again = post_form(client, manage(summer_event, f"sessions/{keynote.uuid}/cancel"), page=url)
    assert again.status_code == 303
    assert "Cannot cancel: the session is cancelled." in text(client.get(url))


def test_sessions_of_another_event_are_404(app, client, organizer, summer_event):
    other = make_event(app, organizer, sessions=1)
    [foreign] = sessions_of(app, other)
    url = manage(summer_event, f"sessions/{foreign.uuid}/edit")
    assert client.get(url).status_code == 404


def test_sessions_page_query_count_does_not_grow(app, client, organizer):
    small = make_event(app, organizer, sessions=2)
    large = make_event(app, organizer, sessions=20)
    for event_uuid in (small, large):  # warm up: the login session's first touch
        assert client.get(manage(event_uuid, "sessions")).status_code == 200
    with app.app_context():
        engine = db.engine  # counted outside: each request gets its own app context
    with query_counter(engine) as few:
        assert client.get(manage(small, "sessions")).status_code == 200
    with query_counter(engine) as many:
        page = client.get(manage(large, "sessions"))
    assert page.status_code == 200
    assert len(few) == len(many), many
    assert page.get_data(as_text=True).count('<li class="session-row') == 20


def test_schedule_groups_sessions_by_day_in_the_event_timezone(app, client, organizer):
    # 23:30 UTC on 10 July is 00:30 on 11 July in London.
    start = datetime(2031, 7, 10, 22, tzinfo=UTC)
    event_uuid = make_event(app, organizer, start_at=start, end_at=start + timedelta(hours=4))
    url = manage(event_uuid, "sessions")
    post_form(client, url, session_form(title="Late", start_at="2031-07-10T23:00",
                                        end_at="2031-07-10T23:45"))
    post_form(client, url, session_form(title="After midnight", start_at="2031-07-11T00:30",
                                        end_at="2031-07-11T01:00"))
    page = text(client.get(url))
    # Day headings read like every other date: "Thursday 10 July 2031".
    for day in (date(2031, 7, 10), date(2031, 7, 11)):
        assert format_date(day, "EEEE d MMMM y", locale="en") in page


# --- Custom registration fields


def test_custom_fields_add_delete_and_reorder(app, client, summer_event):
    url = manage(summer_event, "fields")
    assert "No questions yet" in text(client.get(url))
    refused = post_form(client, url, {"label": "Diet", "field_type": "single_choice",
                                      "options": "Vegan"})
    assert refused.status_code == 422
    assert "A choice question needs at least two options." in text(refused)
    assert count(app, EventCustomField) == 0
    for label, kind, options in (("Diet", "single_choice", "Vegan\nVegetarian\n\nAny"),
                                 ("Licence number", "short_text", ""),
                                 ("Agree to terms", "checkbox", "")):
        response = post_form(client, url, {"label": label, "field_type": kind,
                                           "options": options, "required": "y"})
        assert response.status_code == 303
    with database(app) as session:
        fields = session.scalars(sa.select(EventCustomField).order_by("position")).all()
        assert [f.label for f in fields] == ["Diet", "Licence number", "Agree to terms"]
        assert fields[0].options == ["Vegan", "Vegetarian", "Any"]
        assert fields[0].field_type == CustomFieldType.SINGLE_CHOICE and fields[0].required
        diet, licence, terms = (f.uuid for f in fields)
    moved = post_form(client, f"{url}/{terms}/move-up", page=url, headers=HTMX)
    assert moved.status_code == 200 and 'id="field-list"' in text(moved)
    deleted = post_form(client, f"{url}/{diet}/delete", page=url)
    assert deleted.status_code == 303
    with database(app) as session:
        labels = session.scalars(sa.select(EventCustomField.label).order_by("position")).all()
        assert labels == ["Agree to terms", "Licence number"]
    refused = post_form(client, url, {"label": "Size", "field_type": "number", "options": "S\nM"})
    assert "Only choice questions have options." in text(refused)


# --- Who may use these pages


def manage_routes(event_uuid, session_uuid, field_uuid) -> list[tuple[str, str]]:
    base = f"/events/{event_uuid}"
    return [
        ("GET", f"{base}/manage"), ("GET", f"{base}/edit"), ("POST", f"{base}/edit"),
        ("POST", f"{base}/validate"), ("POST", f"{base}/publish"), ("POST", f"{base}/start"),
        ("POST", f"{base}/complete"), ("POST", f"{base}/close"), ("POST", f"{base}/reopen"),
        ("POST", f"{base}/cancel"), ("GET", f"{base}/reschedule"),
        ("POST", f"{base}/reschedule"), ("POST", f"{base}/delete"),
        ("GET", f"{base}/sessions"), ("POST", f"{base}/sessions"),
        ("POST", f"{base}/sessions/check"),
        ("GET", f"{base}/sessions/{session_uuid}/edit"),
        ("POST", f"{base}/sessions/{session_uuid}/edit"),
        ("POST", f"{base}/sessions/{session_uuid}/cancel"),
        ("POST", f"{base}/sessions/{session_uuid}/move-up"),
        ("POST", f"{base}/sessions/{session_uuid}/move-down"),
        ("GET", f"{base}/fields"), ("POST", f"{base}/fields"),
        ("POST", f"{base}/fields/{field_uuid}/delete"),
        ("POST", f"{base}/fields/{field_uuid}/move-up"),
        ("POST", f"{base}/fields/{field_uuid}/move-down"),
    ]


def test_every_manage_route_is_in_the_list(app):
    listed = {(method, re.sub(r"/[0-9a-f-]{36}", "/<>", path))
              for method, path in manage_routes("0" * 8 + "-0000-0000-0000-" + "0" * 12,
                                                "1" * 8 + "-1111-1111-1111-" + "1" * 12,
                                                "2" * 8 + "-2222-2222-2222-" + "2" * 12)}
    ours = {
        (method, re.sub(r"<uuid:[a-z_]+>", "<>", rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("events.") and "<uuid:event_uuid>" in rule.rule
        and rule.endpoint.split(".")[1] in MANAGE_ENDPOINTS
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert ours == listed


MANAGE_ENDPOINTS = {
    "manage_event", "edit_event", "validate_event", "publish_event", "start_event",
    "complete_event", "close_event", "reopen_event", "cancel_event", "reschedule_event",
    "delete_event", "manage_sessions", "add_session", "check_session_times", "edit_session",
    "cancel_session", "move_session_up", "move_session_down", "manage_fields", "add_field",
    "delete_field", "move_field_up", "move_field_down",
}


@pytest.mark.parametrize("visibility, status, expected", [
    (EventVisibility.PUBLIC, EventStatus.PUBLISHED, 403),  # they can see it, not edit it
    (EventVisibility.UNLISTED, EventStatus.PUBLISHED, 403),
    (EventVisibility.PRIVATE, EventStatus.PUBLISHED, 404),  # they cannot even see it
    (EventVisibility.PUBLIC, EventStatus.DRAFT, 404),
])
def test_non_organizers_are_refused_everywhere(app, client, visibility, status, expected):
    owner = create_user(app, email="owner@example.com")
    with app.test_request_context():
        event = EventFactory(organizer=db.session.get(User, owner.id), visibility=visibility,
                             status=status, title="Untouched")
        session = SessionFactory(event=event, title="Untouched session")
        field = EventCustomField(event=event, label="Q", field_type=CustomFieldType.SHORT_TEXT)
        db.session.add(field)
        # A speaker and an attendee see the event but may not edit it.
        speaker = UserFactory(email="speaker@example.com")
        attendee = UserFactory(email="attendee@example.com")
        from app.events.models import EventRole

        event.add_member(speaker, EventRole.SPEAKER)
        event.add_member(attendee, EventRole.ATTENDEE)
        other = EventFactory(title="Their own")  # organizer of another event
        other_organizer = db.session.get(User, other.created_by_id).email
        db.session.commit()
        ids = (event.uuid, session.uuid, field.uuid)
    # Site admins see every event; editing is for its organizers (admins use /admin).
    people = {"user@example.com": expected, other_organizer: expected,
              "admin@example.com": 403}
    create_user(app, email="user@example.com")
    create_user(app, email="admin@example.com", is_admin=True)
    # A speaker and an attendee of the event may see a private or draft event: 403 for them.
    people.update({"speaker@example.com": 403, "attendee@example.com": 403})
    anonymous = app.test_client()
    mismatches = []
    for method, path in manage_routes(*ids):
        got = anonymous.open(path, method=method).status_code
        if got not in (302, 400):  # to the login page (or the CSRF check first)
            mismatches.append(f"anonymous {method} {path}: {got}")
    for email, wanted in people.items():
        browser = app.test_client()
        log_in(browser, email)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"',
                          text(browser.get("/account/profile"))).group(1)
        for method, path in manage_routes(*ids):
            data = {"csrf_token": token, "reason": "x", "title": "Hacked", "label": "Hacked"}
            got = browser.open(path, method=method, data=data).status_code
            if got != wanted:
                mismatches.append(f"{email} {method} {path}: {got}, expected {wanted}")
    assert mismatches == []
    with database(app) as db_session:
        event = get_event(db_session, ids[0])
        assert event.title == "Untouched" and event.status == status
        assert [s.title for s in event.sessions] == ["Untouched session"]
        assert [f.label for f in event.custom_fields] == ["Q"]


def test_new_event_needs_login(app, client):
    response = client.get("/events/new")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_an_organizer_of_the_event_reaches_every_page(app, client, organizer):
    event_uuid = make_event(app, organizer, sessions=1)
    [only] = sessions_of(app, event_uuid)
    for suffix in ("manage", "edit", "sessions", "fields", "reschedule",
                   f"sessions/{only.uuid}/edit"):
        assert client.get(manage(event_uuid, suffix)).status_code == 200, suffix


def test_history_rows_are_not_written_for_refusals(app, client, organizer):
    event_uuid = make_event(app, organizer, status=EventStatus.DRAFT)
    before = count(app, EventStatusHistory)
    post_form(client, manage(event_uuid, "close"), page=manage(event_uuid))
    post_form(client, manage(event_uuid, "cancel"), {"reason": "x"}, page=manage(event_uuid))
    assert count(app, EventStatusHistory) == before


def test_tampered_choices_are_field_errors(app, client, organizer):
    data = event_form(format="teleport", visibility="secret", venue_id="abc")
    response = post_form(client, "/events/new", data, page="/events/new")
    assert response.status_code == 422
    assert "Not a valid choice." in text(response)
    assert count(app, Event) == 0


def test_session_titles_in_refusals_are_shown_as_text_not_html(app, client, summer_event):
    url = manage(summer_event, "sessions")
    post_form(client, url, session_form(title="<b>Opening</b>"))
    refused = post_form(client, url, session_form(title="Second", start_at="2031-07-10T09:30",
                                                  end_at="2031-07-10T10:30"))
    assert refused.status_code == 422
    assert "overlaps “&lt;b&gt;Opening&lt;/b&gt;”" in text(refused)
    assert "<b>Opening</b>" not in text(refused)
    check = post_form(client, manage(summer_event, "sessions/check"),
                      session_form(start_at="2031-07-10T09:30"), page=url, headers=HTMX)
    assert "overlaps “&lt;b&gt;Opening&lt;/b&gt;”" in text(check)
    assert "<b>Opening</b>" not in text(check)

"""Zoom meetings of online events (app/zoom/meetings.py): created when the event is published
(or refused with Zoom's message, nothing half-published), then kept in step by jobs when it is
rescheduled, gains or cancels a session, or is cancelled; failures visible and retried."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from datetime import timedelta

import pytest
import responses
import sqlalchemy as sa

from app.accounts.models import User
from app.events.models import Event, EventFormat
from app.extensions import db
from app.jobs import JobFailure, JobFailureStatus, tick
from app.states import EventStatus
from app.zoom.models import MeetingSyncStatus, ZoomMeeting
from tests.conftest import create_user, log_in, post_form
from tests.factories import EventFactory, SessionFactory, VenueFactory, in_days
from tests.zoom.connection_helpers import API, make_connection


@contextmanager
def database(app):
    with app.app_context():
        try:
            yield db.session
        finally:
            db.session.remove()


@pytest.fixture
def organizer(app, client):
    user = create_user(app, email="organizer@example.com")
    log_in(client, user.email)
    return user


def make_event(app, organizer, sessions: int = 0, **fields) -> uuid.UUID:
    """An event organised by `organizer` (a draft unless told), with `sessions` one-hour
    sessions an hour apart; returns its uuid."""
    fields.setdefault("status", EventStatus.DRAFT)
    with app.test_request_context():
        if fields.pop("with_venue", False):
            fields["venue"] = VenueFactory()
        event = EventFactory(organizer=db.session.get(User, organizer.id), **fields)
        for n in range(sessions):
            SessionFactory(event=event, title=f"Talk {n + 1}",
                           start_at=event.start_at + timedelta(hours=n),
                           end_at=event.start_at + timedelta(hours=n + 1))
        db.session.commit()
        return event.uuid


def manage(event_uuid, action: str = "manage") -> str:
    return f"/events/{event_uuid}/{action}"


def publish(client, event_uuid):
    return post_form(client, manage(event_uuid, "publish"), page=manage(event_uuid))


def meetings_of(session, event_uuid) -> list[ZoomMeeting]:
    return session.scalars(
        sa.select(ZoomMeeting).join(Event).where(Event.uuid == event_uuid)
        .order_by(ZoomMeeting.id)
    ).all()


def event_of(session, event_uuid) -> Event:
    return session.scalar(sa.select(Event).where(Event.uuid == event_uuid))


def text(response) -> str:
    return response.get_data(as_text=True)


# --- Publishing


def test_publishing_a_virtual_event_creates_its_meeting(app, client, organizer, zoom):
    event_uuid = make_event(app, organizer, title="Wound care", summary="Dressings")

    assert publish(client, event_uuid).status_code == 303

    [(_, spec, meeting_id)] = zoom.of("create")
    assert zoom.hosts == [organizer.id]  # through the publishing organizer's account
    with database(app) as session:
        event = event_of(session, event_uuid)
        [meeting] = meetings_of(session, event_uuid)
        assert event.status == EventStatus.PUBLISHED
        assert (spec.topic, spec.start_at, spec.duration_minutes, spec.timezone, spec.agenda) == (
            "Wound care", event.start_at, 480, "Europe/London", "Dressings"
        )
        assert meeting.meeting_id == meeting_id == event.zoom_meeting_id
        assert meeting.session_id is None and meeting.host_user_id == organizer.id
        assert meeting.sync_status == MeetingSyncStatus.SYNCED
        assert meeting.join_url.endswith(f"/zoom/fake/{meeting_id}")
        assert meeting.start_url and meeting.synced_at is not None


def test_a_multi_session_event_gets_one_meeting_per_scheduled_session(
    app, client, organizer, zoom
):
    event_uuid = make_event(app, organizer, sessions=3, title="Summer school",
                            format=EventFormat.HYBRID, with_venue=True)
    with database(app) as session:
        event = event_of(session, event_uuid)
        event.cancel_session(event.sessions[2], "No speaker")
        session.commit()

    publish(client, event_uuid)

    topics = [call[1].topic for call in zoom.of("create")]
    assert topics == ["Summer school: Talk 1", "Summer school: Talk 2"]
    with database(app) as session:
        event = event_of(session, event_uuid)
        meetings = meetings_of(session, event_uuid)
        assert [m.session_id for m in meetings] == [s.id for s in event.sessions[:2]]
        assert [s.zoom_meeting_id for s in event.sessions] == [
            meetings[0].meeting_id, meetings[1].meeting_id, None
        ]
        assert event.zoom_meeting_id is None
        assert meetings[1].duration_minutes == 60


def test_a_single_session_event_gets_one_meeting_for_the_event(app, client, organizer, zoom):
    event_uuid = make_event(app, organizer, sessions=1)
    publish(client, event_uuid)
    with database(app) as session:
        [meeting] = meetings_of(session, event_uuid)
        assert meeting.session_id is None
        assert event_of(session, event_uuid).zoom_meeting_id == meeting.meeting_id


def test_an_in_person_event_has_no_zoom(app, client, organizer, zoom):
    event_uuid = make_event(app, organizer, format=EventFormat.IN_PERSON, with_venue=True)
    publish(client, event_uuid)
    assert zoom.calls == []
    with database(app) as session:
        assert event_of(session, event_uuid).status == EventStatus.PUBLISHED
        assert meetings_of(session, event_uuid) == []
    page = text(client.get(manage(event_uuid)))
    assert 'id="zoom-meetings"' in page and 'id="zoom-meetings-heading"' not in page


def test_zoom_refusing_a_meeting_refuses_publishing_and_deletes_those_created(
    app, client, organizer, zoom
):
    event_uuid = make_event(app, organizer, sessions=3)
    zoom.refuse["create"] = (2, "Invalid meeting start time.")  # the third create fails

    response = publish(client, event_uuid)

    assert response.status_code == 303
    page = text(client.get(manage(event_uuid)))
    assert "Zoom refused to create the meeting, so the event is not published: Invalid " \
           "meeting start time." in page
    created = [call[2] for call in zoom.of("create")]
    assert len(created) == 2
    assert [call[1] for call in zoom.of("delete")] == created
    with database(app) as session:
        event = event_of(session, event_uuid)
        assert event.status == EventStatus.DRAFT and event.published_at is None
        assert meetings_of(session, event_uuid) == []
        assert [s.zoom_meeting_id for s in event.sessions] == [None, None, None]


# --- Zoom for real: the requests the real client makes when an event is published


def test_publishing_with_real_zoom_calls_zooms_api(app, client, organizer, zoom_oauth):
    with app.test_request_context():
        make_connection(organizer.id)
        db.session.commit()
    event_uuid = make_event(app, organizer, title="Live Q&A", start_at=in_days(5, 18),
                            end_at=in_days(5, 19))
    created = {"id": 85746065432, "uuid": "4444AAAiAAAAAiAiAiiAii==",
               "join_url": "https://us05web.zoom.us/j/85746065432?pwd=abc",
               "start_url": "https://us05web.zoom.us/s/85746065432?zak=xyz",
               "registration_url": "https://us05web.zoom.us/meeting/register/tZAkcu"}
    with responses.RequestsMock() as mock:
        mock.post(f"{API}/users/me/meetings", status=201, json=created)
        assert publish(client, event_uuid).status_code == 303
        [call] = mock.calls
    import json

    body = json.loads(call.request.body)
    assert call.request.headers["Authorization"] == "Bearer old-access-token"
    assert body["type"] == 2 and body["settings"] == {"approval_type": 0}
    assert (body["topic"], body["duration"], body["timezone"]) == (
        "Live Q&A", 60, "Europe/London"
    )
    with database(app) as session:
        [meeting] = meetings_of(session, event_uuid)
        assert meeting.meeting_id == "85746065432"
        assert meeting.start_url == created["start_url"]
        stored = session.execute(
            sa.text("SELECT start_url FROM zoom_meetings WHERE id = :id"), {"id": meeting.id}
        ).scalar()
        assert "zak=" not in stored  # the host's link is encrypted at rest


def test_zooms_own_refusal_with_the_real_client_deletes_the_first_meeting(
    app, client, organizer, zoom_oauth
):
    with app.test_request_context():
        make_connection(organizer.id)
        db.session.commit()
    event_uuid = make_event(app, organizer, sessions=2)
    first = {"id": 111000111, "uuid": "u1", "join_url": "https://zoom.us/j/111000111",
             "start_url": "https://zoom.us/s/111000111", "registration_url": ""}
    with responses.RequestsMock() as mock:
        mock.post(f"{API}/users/me/meetings", status=201, json=first)
        mock.post(f"{API}/users/me/meetings", status=429,
                  json={"code": 429, "message": "You have reached the maximum daily limit."})
        mock.delete(f"{API}/meetings/111000111", status=204)
        publish(client, event_uuid)
        assert [c.request.method for c in mock.calls] == ["POST", "POST", "DELETE"]
    assert "You have reached the maximum daily limit." in text(client.get(manage(event_uuid)))
    with database(app) as session:
        assert event_of(session, event_uuid).status == EventStatus.DRAFT
        assert meetings_of(session, event_uuid) == []


def test_without_a_zoom_connection_publishing_asks_to_connect_first(
    app, client, organizer, zoom_oauth
):
    event_uuid = make_event(app, organizer)
    page = text(client.get(manage(event_uuid)))
    assert "Your Zoom account is not connected" in page
    assert 'href="/zoom/account"' in page

    publish(client, event_uuid)

    assert "Connect your Zoom account first" in text(client.get(manage(event_uuid)))
    with database(app) as session:
        assert event_of(session, event_uuid).status == EventStatus.DRAFT


# --- Keeping Zoom in step (jobs; inline here: they run right after the commit)


def published(app, client, organizer, zoom, sessions: int = 0, **fields) -> uuid.UUID:
    event_uuid = make_event(app, organizer, sessions=sessions, **fields)
    publish(client, event_uuid)
    zoom.calls.clear()
    return event_uuid


def test_rescheduling_updates_the_meetings(app, client, organizer, zoom):
    event_uuid = published(app, client, organizer, zoom, sessions=2)
    page = manage(event_uuid, "reschedule")
    with database(app) as session:
        event = event_of(session, event_uuid)
        new_start = event.local(event.start_at + timedelta(days=1))

    response = post_form(client, page, {"start_at": new_start.strftime("%Y-%m-%dT%H:%M")})

    assert response.status_code == 303
    updates = zoom.of("update")
    assert len(updates) == 2
    with database(app) as session:
        event = event_of(session, event_uuid)
        meetings = meetings_of(session, event_uuid)
        assert [(u[1], u[2].start_at) for u in updates] == [
            (m.meeting_id, s.start_at) for m, s in zip(meetings, event.sessions, strict=True)
        ]
        assert all(m.sync_status == MeetingSyncStatus.SYNCED for m in meetings)
        assert [m.start_at for m in meetings] == [s.start_at for s in event.sessions]


def test_a_renamed_session_updates_only_its_meeting(app, client, organizer, zoom):
    event_uuid = published(app, client, organizer, zoom, sessions=2)
    with database(app) as session:
        event = event_of(session, event_uuid)
        event.update_session(event.sessions[1], title="Closing")
        session.commit()
        [(_, meeting_id, spec)] = zoom.of("update")
        assert spec.topic.endswith(": Closing")
        assert meeting_id == event.sessions[1].zoom_meeting_id


def test_a_session_added_later_gets_a_meeting(app, client, organizer, zoom):
    event_uuid = published(app, client, organizer, zoom, sessions=2)
    with database(app) as session:
        event = event_of(session, event_uuid)
        event.add_session(title="Encore", start_at=event.start_at + timedelta(hours=3),
                          end_at=event.start_at + timedelta(hours=4))
        session.commit()
    [(_, spec, meeting_id)] = zoom.of("create")
    assert spec.topic.endswith(": Encore")
    with database(app) as session:
        meetings = meetings_of(session, event_uuid)
        assert len(meetings) == 3 and meetings[2].meeting_id == meeting_id
        assert meetings[2].sync_status == MeetingSyncStatus.SYNCED
        assert meetings[2].host_user_id == organizer.id


def test_a_cancelled_session_loses_its_meeting(app, client, organizer, zoom):
    event_uuid = published(app, client, organizer, zoom, sessions=3)
    with database(app) as session:
        event = event_of(session, event_uuid)
        session_uuid = event.sessions[1].uuid
        gone = event.sessions[1].zoom_meeting_id
    response = post_form(client, manage(event_uuid, f"sessions/{session_uuid}/cancel"),
                         page=manage(event_uuid, "sessions"))
    assert response.status_code == 303
    assert zoom.of("delete") == [("delete", gone)]
    with database(app) as session:
        event = event_of(session, event_uuid)
        statuses = [m.sync_status for m in meetings_of(session, event_uuid)]
        assert statuses == [MeetingSyncStatus.SYNCED, MeetingSyncStatus.DELETED,
                            MeetingSyncStatus.SYNCED]
        assert event.sessions[1].zoom_meeting_id is None


def test_cancelling_the_event_deletes_its_meetings(app, client, organizer, zoom):
    event_uuid = published(app, client, organizer, zoom)
    with database(app) as session:
        meeting_id = event_of(session, event_uuid).zoom_meeting_id
    post_form(client, manage(event_uuid, "cancel"), {"reason": "Speaker ill"},
              page=manage(event_uuid))
    assert zoom.of("delete") == [("delete", meeting_id)]
    with database(app) as session:
        [meeting] = meetings_of(session, event_uuid)
        assert meeting.sync_status == MeetingSyncStatus.DELETED
        assert event_of(session, event_uuid).zoom_meeting_id is None


def test_a_failed_update_is_shown_retried_by_the_tick_and_by_hand(app, client, organizer, zoom):
    event_uuid = published(app, client, organizer, zoom)
    zoom.refuse["update"] = (0, "Meeting can not be updated right now.")
    with database(app) as session:
        event = event_of(session, event_uuid)
        event.title = "Wound care, revised"
        event.schedule_changed()
        session.commit()

    with database(app) as session:
        [meeting] = meetings_of(session, event_uuid)
        assert meeting.sync_status == MeetingSyncStatus.FAILED
        assert meeting.last_error == "Meeting can not be updated right now."
        [failure] = session.scalars(sa.select(JobFailure)).all()
        assert failure.func == "app.zoom.meeting_jobs:sync_zoom_meetings"
        assert failure.status == JobFailureStatus.RETRYING
        due = failure.next_attempt_at
        meeting_uuid = meeting.uuid
    page = text(client.get(manage(event_uuid)))
    assert "Zoom said: Meeting can not be updated right now." in page
    retry_url = f"/events/{event_uuid}/zoom/{meeting_uuid}/retry"
    assert f'action="{retry_url}"' in page

    # The tick retries it once its delay is over: still refused, it stays FAILED.
    with app.test_request_context():
        tick(now=due + timedelta(seconds=1))
    with database(app) as session:
        assert meetings_of(session, event_uuid)[0].sync_status == MeetingSyncStatus.FAILED

    # Zoom accepts again; the organizer's "retry now" brings it up to date.
    zoom.refuse.clear()
    response = post_form(client, retry_url, page=manage(event_uuid),
                         headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "Up to date" in text(response)
    assert zoom.of("update")[-1][2].topic == "Wound care, revised"
    with database(app) as session:
        [meeting] = meetings_of(session, event_uuid)
        assert meeting.sync_status == MeetingSyncStatus.SYNCED and meeting.last_error == ""
        assert meeting.topic == "Wound care, revised"


def test_only_a_failed_meeting_can_be_retried(app, client, organizer, zoom):
    event_uuid = published(app, client, organizer, zoom)
    with database(app) as session:
        meeting_uuid = meetings_of(session, event_uuid)[0].uuid
    response = post_form(client, f"/events/{event_uuid}/zoom/{meeting_uuid}/retry",
                         page=manage(event_uuid), follow_redirects=True)
    assert "Only a meeting whose sync failed can be retried." in text(response)
    assert zoom.calls == []


def test_the_zoom_page_lists_the_meetings(app, client, organizer, zoom):
    event_uuid = published(app, client, organizer, zoom, sessions=2)
    page = text(client.get(f"/events/{event_uuid}/zoom"))
    assert page.count("Up to date") == 2
    assert "Talk 1" in page and "Talk 2" in page
    assert "Start as host" in page


def test_admins_see_meetings_and_registrants_without_their_secret_links(app, client, organizer,
                                                                          zoom):
    from app.registrations.services import RegistrationService
    from app.zoom.models import ZoomRegistrant
    from tests.admin.test_admin import admin_client
    from tests.factories import UserFactory

    event_uuid = published(app, client, organizer, zoom)
    with database(app) as session:
        event = event_of(session, event_uuid)
        RegistrationService.register(event, UserFactory(email="ada@example.com"))
        session.commit()
        [meeting] = meetings_of(session, event_uuid)
        registrant = session.scalar(sa.select(ZoomRegistrant))
        secrets = (meeting.start_url, registrant.join_url)
        ids = (meeting.id, registrant.id)
    admin = admin_client(app)
    listing = text(admin.get("/admin/zoommeeting/"))
    assert meeting.meeting_id in listing and "Synced" in listing
    details = text(admin.get(f"/admin/zoommeeting/details/?id={ids[0]}"))
    assert meeting.meeting_id in details and secrets[0] not in details
    registrants = text(admin.get(f"/admin/zoomregistrant/details/?id={ids[1]}"))
    assert registrant.registrant_id in registrants and secrets[1] not in registrants
    assert admin.get(f"/admin/zoommeeting/edit/?id={ids[0]}").status_code == 302


def test_publishing_through_htmx_refreshes_the_zoom_panel_too(app, client, organizer, zoom):
    event_uuid = make_event(app, organizer)
    response = post_form(client, manage(event_uuid, "publish"), page=manage(event_uuid),
                         headers={"HX-Request": "true"})
    page = text(response)
    assert response.status_code == 200
    assert '<div id="zoom-meetings" hx-swap-oob="true"' in page
    assert "Up to date" in page and "Start as host" in page

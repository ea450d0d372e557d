"""Zoom registrants (app/zoom/meetings.py): each confirmed registration is registered in its
event's meetings (through a job), a promotion too, a cancellation cancels it; the attendee's
own join link shows only to them; Zoom's registrant id is the first rung of matching."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import sqlalchemy as sa

from app.accounts.models import User
from app.core.types import utcnow
from app.events.models import Event
from app.extensions import db
from app.jobs import JobFailure, tick
from app.registrations.models import Registration
from app.registrations.services import RegistrationService
from app.states import EventStatus
from app.zoom.attendance import AttendanceService
from app.zoom.models import AttendanceRecord, RegistrantStatus, ZoomMeeting, ZoomRegistrant
from tests.conftest import log_in, post_form, query_counter
from tests.factories import EventFactory, SessionFactory, UserFactory, in_days


def published_event(app, sessions: int = 0, **fields) -> SimpleNamespace:
    """A virtual event published through Zoom (fake), with `sessions` one-hour sessions."""
    with app.test_request_context():
        organizer = UserFactory(email="organizer@example.com")
        event = EventFactory(organizer=organizer, status=EventStatus.DRAFT, **fields)
        for n in range(sessions):
            SessionFactory(event=event, title=f"Talk {n + 1}",
                           start_at=event.start_at + timedelta(hours=n),
                           end_at=event.start_at + timedelta(hours=n + 1))
        db.session.flush()
        event.publish(organizer)
        db.session.commit()
        return SimpleNamespace(id=event.id, uuid=event.uuid, slug=event.slug,
                               organizer_id=organizer.id)


def register(app, event_id: int, email: str, full_name: str = "Ada Lovelace",
             session_titles: tuple[str, ...] | None = None) -> int:
    with app.test_request_context():
        user = db.session.scalar(sa.select(User).where(User.email == email)) or UserFactory(
            email=email, full_name=full_name
        )
        event = db.session.get(Event, event_id)
        picked = None
        if session_titles is not None:
            picked = [s for s in event.sessions if s.title in session_titles]
        registration = RegistrationService.register(event, user, sessions=picked)
        db.session.commit()
        return registration.id


def cancel(app, registration_id: int) -> None:
    with app.test_request_context():
        RegistrationService.cancel(db.session.get(Registration, registration_id))
        db.session.commit()


def registrants(app, registration_id: int) -> list[tuple]:
    """(session title or None, status, registrant id, join url) of the registration."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(ZoomRegistrant, ZoomMeeting)
            .join(ZoomMeeting, ZoomMeeting.id == ZoomRegistrant.zoom_meeting_id)
            .where(ZoomRegistrant.registration_id == registration_id)
            .order_by(ZoomMeeting.id)
        ).all()
        result = [
            (meeting.session.title if meeting.session else None, row.status, row.registrant_id,
             row.join_url)
            for row, meeting in rows
        ]
        db.session.remove()
        return result


# --- Registering attendees at Zoom


def test_a_confirmed_registration_is_registered_in_the_meeting(app, zoom):
    event = published_event(app)
    registration_id = register(app, event.id, "ada@example.com", "Ada King Lovelace")

    [(_, meeting_id, email, first, last)] = zoom.of("add_registrant")
    assert (email, first, last) == ("ada@example.com", "Ada King", "Lovelace")
    [(title, status, registrant_id, join_url)] = registrants(app, registration_id)
    assert (title, status) == (None, RegistrantStatus.ACTIVE)
    assert registrant_id and join_url.endswith(f"/zoom/fake/{meeting_id}?tk={registrant_id}")
    assert zoom.hosts[-1] == event.organizer_id  # in the host's meeting, through their account


def test_waitlisted_then_promoted_and_cancelled(app, zoom):
    event = published_event(app, capacity=1)
    first = register(app, event.id, "first@example.com")
    second = register(app, event.id, "second@example.com")
    assert registrants(app, second) == []  # waitlisted: no link yet
    [(_, _, first_registrant, _)] = registrants(app, first)

    cancel(app, first)

    with app.app_context():
        meeting_id = db.session.scalar(sa.select(ZoomMeeting.meeting_id))
    assert zoom.of("cancel_registrant") == [
        ("cancel_registrant", meeting_id, first_registrant, "first@example.com")
    ]
    assert registrants(app, first)[0][1] == RegistrantStatus.CANCELLED
    assert [row[1] for row in registrants(app, second)] == [RegistrantStatus.ACTIVE]


def test_an_organizer_promoting_out_of_turn_registers_the_attendee(app, zoom):
    event = published_event(app, capacity=1)
    register(app, event.id, "first@example.com")
    second = register(app, event.id, "second@example.com")
    with app.test_request_context():
        db.session.get(Event, event.id).capacity = 2
        RegistrationService.promote(db.session.get(Registration, second))
        db.session.commit()
    assert [row[1] for row in registrants(app, second)] == [RegistrantStatus.ACTIVE]


def test_with_session_signup_only_the_chosen_sessions(app, zoom):
    event = published_event(app, sessions=3, session_signup=True)
    registration_id = register(app, event.id, "ada@example.com",
                               session_titles=("Talk 1", "Talk 3"))
    assert [(row[0], row[1]) for row in registrants(app, registration_id)] == [
        ("Talk 1", RegistrantStatus.ACTIVE), ("Talk 3", RegistrantStatus.ACTIVE)
    ]
    with app.test_request_context():
        registration = db.session.get(Registration, registration_id)
        talk_3 = next(s for s in registration.event.sessions if s.title == "Talk 3")
        RegistrationService.drop_session(registration, talk_3)
        db.session.commit()
    assert [(row[0], row[1]) for row in registrants(app, registration_id)] == [
        ("Talk 1", RegistrantStatus.ACTIVE), ("Talk 3", RegistrantStatus.CANCELLED)
    ]


def test_a_meeting_created_later_registers_the_confirmed_attendees(app, zoom):
    event = published_event(app, sessions=2)
    registration_id = register(app, event.id, "ada@example.com")
    with app.test_request_context():
        record = db.session.get(Event, event.id)
        record.add_session(title="Encore", start_at=record.start_at + timedelta(hours=3),
                           end_at=record.start_at + timedelta(hours=4))
        db.session.commit()
    assert [row[0] for row in registrants(app, registration_id)] == [
        "Talk 1", "Talk 2", "Encore"
    ]


def test_a_refused_registrant_is_failed_visible_and_retried(app, client, zoom):
    event = published_event(app)
    zoom.refuse["add_registrant"] = (0, "Registration has not been enabled for this meeting.")
    registration_id = register(app, event.id, "ada@example.com")
    [(_, status, _, _)] = registrants(app, registration_id)
    assert status == RegistrantStatus.FAILED
    with app.app_context():
        row = db.session.scalar(sa.select(ZoomRegistrant))
        assert row.last_error == "Registration has not been enabled for this meeting."
        failure = db.session.scalar(sa.select(JobFailure))
        assert failure.func == "app.zoom.meeting_jobs:sync_zoom_registrants"
        due = failure.next_attempt_at
        db.session.remove()

    log_in(client, "organizer@example.com")
    overview = f"/events/{event.uuid}/manage"
    assert "1 failed" in client.get(overview).get_data(as_text=True)

    zoom.refuse.clear()
    with app.test_request_context():
        tick(now=due + timedelta(seconds=1))
    assert registrants(app, registration_id)[0][1] == RegistrantStatus.ACTIVE
    assert "1 failed" not in client.get(overview).get_data(as_text=True)


def test_the_organizer_can_register_the_failed_attendees_again(app, client, zoom):
    event = published_event(app)
    zoom.refuse["add_registrant"] = (0, "Zoom is down.")
    registration_id = register(app, event.id, "ada@example.com")
    zoom.refuse.clear()
    log_in(client, "organizer@example.com")
    response = post_form(client, f"/events/{event.uuid}/zoom/registrants/retry",
                         page=f"/events/{event.uuid}/manage")
    assert response.status_code == 303
    assert registrants(app, registration_id)[0][1] == RegistrantStatus.ACTIVE


def test_cancelling_the_event_leaves_no_registrant_active(app, zoom):
    event = published_event(app)
    registration_id = register(app, event.id, "ada@example.com")
    with app.test_request_context():
        record = db.session.get(Event, event.id)
        record.cancel(db.session.get(User, event.organizer_id), "Speaker ill")
        db.session.commit()
    assert registrants(app, registration_id)[0][1] == RegistrantStatus.CANCELLED


# --- Join links: the attendee's own, and only theirs


def join_url_of(app, registration_id: int) -> str:
    return registrants(app, registration_id)[0][3]


def test_join_links_show_only_to_their_confirmed_attendee(app, zoom):
    event = published_event(app, capacity=2)
    ada = register(app, event.id, "ada@example.com")
    bob = register(app, event.id, "bob@example.com", "Bob Builder")
    register(app, event.id, "cy@example.com", "Cy Waiting")  # waitlisted
    ada_link, bob_link = join_url_of(app, ada), join_url_of(app, bob)
    assert ada_link != bob_link
    registration_page = f"/events/{event.slug}/registration"

    client = app.test_client()
    log_in(client, "ada@example.com")
    page = client.get(registration_page).get_data(as_text=True)
    assert "Join on Zoom" in page and ada_link in page and bob_link not in page
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert ada_link in dashboard and bob_link not in dashboard
    public = client.get(f"/events/{event.slug}").get_data(as_text=True)
    assert ada_link not in public and "/zoom/fake/" not in public

    waiting = app.test_client()
    log_in(waiting, "cy@example.com")
    for path in (registration_page, "/dashboard", f"/events/{event.slug}"):
        page = waiting.get(path).get_data(as_text=True)
        assert "Join on Zoom" not in page and "/zoom/fake/" not in page

    anonymous = app.test_client().get(f"/events/{event.slug}").get_data(as_text=True)
    assert "/zoom/fake/" not in anonymous

    cancel(app, ada)
    page = client.get(registration_page).get_data(as_text=True)
    assert "Join on Zoom" not in page and ada_link not in page


def test_dashboard_queries_stay_the_same_with_join_links(app, zoom):
    counts = []
    for count in (2, 20):
        email = f"me{count}@example.com"
        with app.test_request_context():
            me = UserFactory(email=email)
            organizer = UserFactory()
            for number in range(count):
                event = EventFactory(organizer=organizer, status=EventStatus.DRAFT,
                                     start_at=in_days(1 + number),
                                     end_at=in_days(1 + number) + timedelta(hours=1))
                event.publish(organizer)
                db.session.flush()
                RegistrationService.register(event, me)
            db.session.commit()
        client = app.test_client()
        log_in(client, email)
        client.get("/dashboard")  # the first visit makes the feed token
        with app.app_context(), query_counter(db.engine) as statements:
            page = client.get("/dashboard")
        assert page.get_data(as_text=True).count("Join on Zoom<") == count
        counts.append(len(statements))
    assert counts[0] == counts[1]


# --- Matching: the registrant id first


def test_a_participant_is_matched_by_registrant_id_before_email(app, zoom):
    event = published_event(app)
    ada = register(app, event.id, "ada@example.com", "Ada Lovelace")
    bob = register(app, event.id, "bob@example.com", "Bob Builder")
    ada_registrant = registrants(app, ada)[0][2]
    with app.test_request_context():
        record = db.session.get(Event, event.id)
        joined = utcnow() - timedelta(minutes=5)
        common = dict(event_id=record.id, meeting_id=record.zoom_meeting_id,
                      meeting_uuid="instance==", join_at=joined)
        db.session.add_all([
            # Ada joined with her own link from a Zoom account under another address.
            AttendanceRecord(participant_key="p1", registrant_id=ada_registrant,
                             email="ada.personal@example.org", user_name="A. L.", **common),
            # Her link, but Bob's address: the registrant id wins.
            AttendanceRecord(participant_key="p2", registrant_id=ada_registrant,
                             email="bob@example.com", user_name="Bob Builder", **common),
            # No registrant id: the email rung still matches.
            AttendanceRecord(participant_key="p3", email="bob@example.com", **common),
            # An unknown registrant id falls through to the name.
            AttendanceRecord(participant_key="p4", registrant_id="unknown",
                             user_name="bob builder", **common),
        ])
        db.session.flush()
        assert AttendanceService.match(record) == 4
        matched = dict(db.session.execute(
            sa.select(AttendanceRecord.participant_key, AttendanceRecord.registration_id)
        ).all())
        db.session.rollback()
    assert matched == {"p1": ada, "p2": ada, "p3": bob, "p4": bob}


def test_a_cancelled_registrations_registrant_id_matches_nobody(app, zoom):
    event = published_event(app)
    ada = register(app, event.id, "ada@example.com", "Ada Lovelace")
    registrant_id = registrants(app, ada)[0][2]
    cancel(app, ada)
    with app.test_request_context():
        record = db.session.get(Event, event.id)
        db.session.add(AttendanceRecord(
            event_id=record.id, meeting_id=record.zoom_meeting_id, meeting_uuid="i==",
            participant_key="p1", registrant_id=registrant_id, email="x@example.org",
            join_at=utcnow(),
        ))
        db.session.flush()
        assert AttendanceService.match(record) == 0
        db.session.rollback()


def test_registrant_rows_go_with_their_registration(app, zoom):
    """CASCADE: deleting a registration row (an admin's hard delete) takes its registrants."""
    event = published_event(app)
    ada = register(app, event.id, "ada@example.com")
    with app.app_context():
        db.session.execute(sa.delete(Registration).where(Registration.id == ada))
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count(ZoomRegistrant.id))) == 0
        db.session.remove()


def test_registrants_are_exported_and_their_links_go_with_the_account(app, zoom):
    from app.core import privacy

    event = published_event(app, title="Wound care")
    ada = register(app, event.id, "ada@example.com")
    bob = register(app, event.id, "bob@example.com", "Bob Builder")
    registrant_id = registrants(app, ada)[0][2]
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "ada@example.com"))
        [exported] = privacy.export_user_data(user)["zoom_registrants"]
        assert (exported["meeting"], exported["registrant_id"], exported["status"]) == (
            "Wound care", registrant_id, "active"
        )
        assert exported["join_url"].endswith(registrant_id)
        privacy.anonymise_user(user)
        db.session.commit()
        db.session.remove()
    assert registrants(app, ada)[0][2:] == (registrant_id, "")
    assert registrants(app, bob)[0][3] != ""  # someone else's link stays


def test_an_event_that_gains_sessions_moves_to_a_meeting_per_session(app, zoom):
    event = published_event(app)
    registration_id = register(app, event.id, "ada@example.com")
    [(_, _, _, event_link)] = registrants(app, registration_id)
    with app.test_request_context():
        record = db.session.get(Event, event.id)
        for n in (1, 2):
            record.add_session(title=f"Part {n}", start_at=record.start_at + timedelta(hours=n),
                               end_at=record.start_at + timedelta(hours=n + 1))
            db.session.commit()
    rows = registrants(app, registration_id)
    assert [(row[0], row[1]) for row in rows] == [
        (None, RegistrantStatus.CANCELLED),  # the event's own meeting is deleted
        ("Part 1", RegistrantStatus.ACTIVE), ("Part 2", RegistrantStatus.ACTIVE),
    ]
    with app.app_context():
        record = db.session.get(Event, event.id)
        assert record.zoom_meeting_id is None
        assert all(s.zoom_meeting_id for s in record.sessions)
        assert len(zoom.of("delete")) == 1
        db.session.remove()

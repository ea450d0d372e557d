"""Who may use which organizer route of an event: every such rule of app.url_map against a
written-out matrix, exercised over HTTP for five people.

The people are: anonymous, an attendee of the event, a speaker of one of its sessions, the
organizer of ANOTHER event, and the event's organizer. Statuses are written in that order.
302 for anonymous means "sent to the login page" (checked). 404 means "that event does not
exist for you" (a private event, to people outside it); 403 means "you may see the event but
not do this". A route added without an expectation here fails
`test_every_event_route_has_an_expectation`.

Every route runs against its own freshly built event, and the organizer goes last, so that
a destructive POST (delete, cancel, publish...) never changes what another request sees.
POSTs carry a valid CSRF token and no other data: the point is the status code per person,
not the form. Before the organizer's request, the event must be exactly as it was.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.certificates.run_models import CertificateIssueRun
from app.core.bearer import hash_token
from app.core.types import utcnow
from app.events.models import (
    CustomFieldType,
    Event,
    EventCustomField,
    EventRole,
    EventVisibility,
)
from app.extensions import db
from app.registrations.models import (
    AttendeeMessage,
    EventInvitation,
    EventReminder,
    Registration,
)
from app.states import IssueRunStatus, RegistrationStatus
from app.zoom.models import (
    AttendanceRecord,
    MeetingSyncStatus,
    ZoomMeeting,
    ZoomRecording,
    ZoomRecordingFile,
)
from tests.certificates import routes_issuing
from tests.conftest import create_user, csrf_token, log_in
from tests.factories import EventFactory, SessionFactory
from tests.organizations import routes_orgs
from tests.registrations import routes_attend, routes_outreach, routes_roster
from tests.zoom import routes_attendance, routes_meetings, routes_recordings

ROLES = ("anonymous", "attendee", "speaker", "other_organizer", "organizer")

# Routes of the organizer area that do not name an event: anyone logged in may start an
# event (they become its organizer) or add a venue for it.
EVENTLESS_ROUTES = {"/events/new", "/events/validate", "/venues/new"}
ORGANIZER_MODULES = {
    "app.events.views.manage",
    "app.events.views.speakers",
    "app.registrations.views.roster",
    "app.registrations.views.outreach",
    "app.zoom.manage",
}

# The rules under one event, shortened so that each row fits on a line.
E = "/events/<uuid:event_uuid>"
S = E + "/sessions/<uuid:session_uuid>"
F = E + "/fields/<uuid:field_uuid>"

# A PUBLISHED PUBLIC event: everyone may see it, so the wrong people get 403. The organizer's
# statuses are what each route does with an empty form: 422 when it re-renders a form with
# errors, 303 when it redirects (a change, or a refusal shown as a message: publishing an
# event that is already published, deleting one that is not a draft, cancelling without a
# reason...), 200 for pages and for the live checks that save nothing.
EXPECTED_PUBLIC = {
    # Starting an event and adding a venue: open to every logged-in person.
    ("GET", "/events/new"): (302, 200, 200, 200, 200),
    ("POST", "/events/new"): (302, 422, 422, 422, 422),
    ("POST", "/events/validate"): (302, 200, 200, 200, 200),
    ("GET", "/venues/new"): (302, 200, 200, 200, 200),
    ("POST", "/venues/new"): (302, 422, 422, 422, 422),
    # Details and status (app/events/views/manage.py)
    ("GET", E + "/manage"): (302, 403, 403, 403, 200),
    ("GET", E + "/edit"): (302, 403, 403, 403, 200),
    # An edit POST without the fields is a form error, not a crash (the saved event's and
    # session's Decimal CPD credits must not reach the Length validator).
    ("POST", E + "/edit"): (302, 403, 403, 403, 422),
    ("POST", E + "/validate"): (302, 403, 403, 403, 200),
    ("POST", E + "/publish"): (302, 403, 403, 403, 303),
    # A week early: the organizer is asked to confirm (the page, 200), nothing changes.
    ("POST", E + "/start"): (302, 403, 403, 403, 200),
    ("POST", E + "/complete"): (302, 403, 403, 403, 303),
    ("POST", E + "/close"): (302, 403, 403, 403, 303),
    ("POST", E + "/reopen"): (302, 403, 403, 403, 303),
    ("POST", E + "/cancel"): (302, 403, 403, 403, 303),
    ("POST", E + "/delete"): (302, 403, 403, 403, 303),
    ("GET", E + "/reschedule"): (302, 403, 403, 403, 200),
    ("POST", E + "/reschedule"): (302, 403, 403, 403, 422),
    # Sessions
    ("GET", E + "/sessions"): (302, 403, 403, 403, 200),
    ("POST", E + "/sessions"): (302, 403, 403, 403, 422),
    ("POST", E + "/sessions/check"): (302, 403, 403, 403, 200),
    ("GET", S + "/edit"): (302, 403, 403, 403, 200),
    ("POST", S + "/edit"): (302, 403, 403, 403, 422),
    ("POST", S + "/cancel"): (302, 403, 403, 403, 303),
    ("POST", S + "/move-up"): (302, 403, 403, 403, 303),
    ("POST", S + "/move-down"): (302, 403, 403, 403, 303),
    # Registration questions
    ("GET", E + "/fields"): (302, 403, 403, 403, 200),
    ("POST", E + "/fields"): (302, 403, 403, 403, 422),
    ("POST", F + "/delete"): (302, 403, 403, 403, 303),
    ("POST", F + "/move-up"): (302, 403, 403, 403, 303),
    ("POST", F + "/move-down"): (302, 403, 403, 403, 303),
    # Speakers (app/events/views/speakers.py). The typeahead answers HTMX; a plain GET is
    # sent (302) to the speakers page with the search in its address.
    ("GET", E + "/speakers"): (302, 403, 403, 403, 200),
    ("GET", E + "/speakers/search"): (302, 403, 403, 403, 302),
    ("POST", E + "/speakers"): (302, 403, 403, 403, 303),
    ("POST", E + "/speakers/invite"): (302, 403, 403, 403, 422),
    ("POST", E + "/speakers/<uuid:user_uuid>/remove"): (302, 403, 403, 403, 303),
    ("POST", S + "/speakers"): (302, 403, 403, 403, 303),
    ("POST", S + "/speakers/<uuid:user_uuid>/remove"): (302, 403, 403, 403, 303),
    # A speaker's own sessions: the speaker (and the organizer) only.
    ("GET", E + "/my-sessions"): (302, 403, 200, 403, 200),
    # The repeat rule (app/events/views/calendars.py)
    ("GET", E + "/recurrence"): (302, 403, 403, 403, 200),
    ("POST", E + "/recurrence"): (302, 403, 403, 403, 303),
    ("POST", E + "/recurrence/delete"): (302, 403, 403, 403, 303),
}

# A PUBLISHED PRIVATE event: invisible (404) to the organizer of another event; its attendee
# and speaker see it, so they get 403 where they may not act.
EXPECTED_PRIVATE = {
    ("GET", "/events/new"): (302, 200, 200, 200, 200),
    ("POST", "/events/new"): (302, 422, 422, 422, 422),
    ("POST", "/events/validate"): (302, 200, 200, 200, 200),
    ("GET", "/venues/new"): (302, 200, 200, 200, 200),
    ("POST", "/venues/new"): (302, 422, 422, 422, 422),
    ("GET", E + "/manage"): (302, 403, 403, 404, 200),
    ("GET", E + "/edit"): (302, 403, 403, 404, 200),
    ("POST", E + "/edit"): (302, 403, 403, 404, 422),
    ("POST", E + "/validate"): (302, 403, 403, 404, 200),
    ("POST", E + "/publish"): (302, 403, 403, 404, 303),
    ("POST", E + "/start"): (302, 403, 403, 404, 200),
    ("POST", E + "/complete"): (302, 403, 403, 404, 303),
    ("POST", E + "/close"): (302, 403, 403, 404, 303),
    ("POST", E + "/reopen"): (302, 403, 403, 404, 303),
    ("POST", E + "/cancel"): (302, 403, 403, 404, 303),
    ("POST", E + "/delete"): (302, 403, 403, 404, 303),
    ("GET", E + "/reschedule"): (302, 403, 403, 404, 200),
    ("POST", E + "/reschedule"): (302, 403, 403, 404, 422),
    ("GET", E + "/sessions"): (302, 403, 403, 404, 200),
    ("POST", E + "/sessions"): (302, 403, 403, 404, 422),
    ("POST", E + "/sessions/check"): (302, 403, 403, 404, 200),
    ("GET", S + "/edit"): (302, 403, 403, 404, 200),
    ("POST", S + "/edit"): (302, 403, 403, 404, 422),
    ("POST", S + "/cancel"): (302, 403, 403, 404, 303),
    ("POST", S + "/move-up"): (302, 403, 403, 404, 303),
    ("POST", S + "/move-down"): (302, 403, 403, 404, 303),
    ("GET", E + "/fields"): (302, 403, 403, 404, 200),
    ("POST", E + "/fields"): (302, 403, 403, 404, 422),
    ("POST", F + "/delete"): (302, 403, 403, 404, 303),
    ("POST", F + "/move-up"): (302, 403, 403, 404, 303),
    ("POST", F + "/move-down"): (302, 403, 403, 404, 303),
    ("GET", E + "/speakers"): (302, 403, 403, 404, 200),
    ("GET", E + "/speakers/search"): (302, 403, 403, 404, 302),
    ("POST", E + "/speakers"): (302, 403, 403, 404, 303),
    ("POST", E + "/speakers/invite"): (302, 403, 403, 404, 422),
    ("POST", E + "/speakers/<uuid:user_uuid>/remove"): (302, 403, 403, 404, 303),
    ("POST", S + "/speakers"): (302, 403, 403, 404, 303),
    ("POST", S + "/speakers/<uuid:user_uuid>/remove"): (302, 403, 403, 404, 303),
    ("GET", E + "/my-sessions"): (302, 403, 200, 404, 200),
    ("GET", E + "/recurrence"): (302, 403, 403, 404, 200),
    ("POST", E + "/recurrence"): (302, 403, 403, 404, 303),
    ("POST", E + "/recurrence/delete"): (302, 403, 403, 404, 303),
}


# The registrations area keeps its rows next to its tests.
for _table in (routes_attend, routes_roster, routes_outreach, routes_attendance, routes_recordings,
               routes_issuing, routes_orgs, routes_meetings):
    EXPECTED_PUBLIC.update(_table.EVENT_PUBLIC)
    EXPECTED_PRIVATE.update(_table.EVENT_PRIVATE)


def event_routes(app) -> set[tuple[str, str]]:
    """(method, rule) of every route that belongs to the organizers of an event."""
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if "<uuid:event_uuid>" in rule.rule
        or rule.rule in EVENTLESS_ROUTES
        or app.view_functions[rule.endpoint].__module__ in ORGANIZER_MODULES
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


# --- Test data


def make_people(app) -> SimpleNamespace:
    """The four people with an account; the other organizer organises an event of their own."""
    people = SimpleNamespace(
        organizer=create_user(app, email="organizer@example.com", full_name="Olga Organizer"),
        other_organizer=create_user(app, email="other@example.com", full_name="Otto Other"),
        speaker=create_user(app, email="speaker@example.com", full_name="Sara Speaker"),
        attendee=create_user(app, email="attendee@example.com", full_name="Anna Attendee"),
    )
    with app.test_request_context():
        EventFactory(organizer=db.session.get(User, people.other_organizer.id),
                     title="Someone else's event")
        db.session.commit()
    return people


def build_event(app, people, visibility: EventVisibility) -> SimpleNamespace:
    """A fresh published event with one session (its speaker), one registration question,
    one attendee (registered, with a confirmed registration), one invitation and one
    reminder; returns the uuids the routes need."""
    with app.test_request_context():
        get = lambda person: db.session.get(User, person.id)  # noqa: E731
        event = EventFactory(organizer=get(people.organizer), visibility=visibility)
        session = SessionFactory(event=event, title="Opening talk", cpd_credits=Decimal("1.5"))
        session.add_speaker(get(people.speaker))  # gives the SPEAKER role in the event
        event.add_member(get(people.attendee), EventRole.ATTENDEE)
        field = EventCustomField(event=event, label="Dietary needs", position=1,
                                 field_type=CustomFieldType.SHORT_TEXT)
        now = utcnow()
        registration = Registration(
            event=event, user_id=people.attendee.id, email=people.attendee.email,
            full_name="Anna Attendee", status=RegistrationStatus.CONFIRMED, confirmed_at=now,
        )
        invitation = EventInvitation(event=event, email="guest@example.com",
                                     token_hash=hash_token(secrets.token_urlsafe()), sent_at=now)
        reminder = EventReminder(event=event, offset_minutes=60,
                                 send_at=event.start_at - timedelta(hours=1))
        participant = AttendanceRecord(  # an unmatched Zoom participant
            event=event, session=session, meeting_id="1", meeting_uuid=f"run-{event.uuid}",
            participant_key="p-1", user_name="Zed Zoom", join_at=session.start_at,
        )
        run = CertificateIssueRun(event=event, status=IssueRunStatus.DONE, total=1, issued=1)
        recording = ZoomRecording(event=event, session=session, meeting_id="1",
                                  meeting_uuid=f"rec-{event.uuid}", files=[ZoomRecordingFile(
                                      file_id="f-1", play_url="https://zoom.us/rec/play/1",
                                      download_url="https://zoom.us/rec/download/1")])
        meeting = ZoomMeeting(event=event, meeting_id="1", join_url="https://zoom.us/j/1",
                              sync_status=MeetingSyncStatus.SYNCED)
        db.session.add_all([field, registration, invitation, reminder, participant, run,
                            recording, meeting])
        db.session.commit()
        return SimpleNamespace(event_uuid=event.uuid, session_uuid=session.uuid,
                               field_uuid=field.uuid, user_uuid=people.speaker.uuid,
                               registration_uuid=registration.uuid,
                               invitation_uuid=invitation.uuid, reminder_uuid=reminder.uuid,
                               record_uuid=participant.uuid, run_uuid=run.uuid,
                               file_uuid=recording.files[0].uuid, meeting_uuid=meeting.uuid)


def event_state(app, event_uuid) -> tuple:
    """Everything a request could change about the event, to compare before and after."""
    with app.app_context():
        event = db.session.scalar(
            sa.select(Event).where(Event.uuid == event_uuid)
            .execution_options(include_deleted=True)
        )
        state = (
            event.status, event.deleted_at, event.title, event.start_at, event.end_at,
            event.recurring_rule is not None,
            sorted((s.uuid, s.status, s.position, s.start_at, s.title) for s in event.sessions),
            sorted((link.session.uuid, link.user_id, link.role)
                   for session in event.sessions for link in session.speakers),
            sorted((m.user_id, m.role) for m in event.members),
            sorted((f.uuid, f.position, f.label) for f in event.custom_fields),
            len(event.history),
            sorted(db.session.execute(
                sa.select(Registration.uuid, Registration.status, Registration.checked_in_at)
                .where(Registration.event_id == event.id)
            )),
            sorted(db.session.execute(
                sa.select(EventInvitation.email, EventInvitation.sent_at)
                .where(EventInvitation.event_id == event.id)
            )),
            sorted(db.session.execute(
                sa.select(EventReminder.offset_minutes, EventReminder.enqueued_at)
                .where(EventReminder.event_id == event.id)
            )),
            db.session.scalar(sa.select(sa.func.count(AttendeeMessage.id))
                              .where(AttendeeMessage.event_id == event.id)),
        )
        db.session.remove()
        return state


def concrete_path(rule: str, data: SimpleNamespace) -> str:
    return re.sub(r"<uuid:([^>]+)>", lambda m: str(getattr(data, m.group(1))), rule)


def logged_in_clients(app, people) -> tuple[dict, dict]:
    clients = {role: app.test_client() for role in ROLES}
    for role in ROLES[1:]:
        log_in(clients[role], getattr(people, role).email)
    tokens = {
        role: csrf_token(client, "/login" if role == "anonymous" else "/account/profile")
        for role, client in clients.items()
    }
    return clients, tokens


def walk(app, visibility: EventVisibility, expected: dict) -> list[str]:
    """Run every route of `expected` for each person; returns the mismatches."""
    people = make_people(app)
    clients, tokens = logged_in_clients(app, people)
    mismatches = []
    for method, rule in sorted(expected):
        data = build_event(app, people, visibility)
        path = concrete_path(rule, data)
        before = event_state(app, data.event_uuid)
        for role, want in zip(ROLES, expected[(method, rule)], strict=True):
            if role == "organizer" and event_state(app, data.event_uuid) != before:
                mismatches.append(f"{method} {rule}: someone else changed the event")
            client = clients[role]
            if method == "GET":
                response = client.get(path)
            else:
                response = client.open(path, method=method, data={"csrf_token": tokens[role]})
            got = response.status_code
            if got != want:
                mismatches.append(f"{method} {rule} as {role}: {got}, expected {want}")
            location = response.headers.get("Location", "")
            if role == "anonymous" and got == 302 and not location.startswith("/login?next="):
                mismatches.append(f"{method} {rule} as anonymous: 302 to {location}, not login")
            if role != "anonymous" and location.startswith("/login"):
                mismatches.append(f"{method} {rule} as {role}: sent to the login page")
    return mismatches


# --- Tests


def test_every_event_route_has_an_expectation(app):
    for expected in (EXPECTED_PUBLIC, EXPECTED_PRIVATE):
        assert event_routes(app) - set(expected) == set(), "add the new routes to EXPECTED"
        assert set(expected) - event_routes(app) == set(), "remove routes that no longer exist"


def test_no_one_but_the_organizer_may_act_in_the_written_matrix():
    """The review of the table, kept as a test: outside the routes open to every logged-in
    person, only the organizer succeeds (and a speaker reads their own sessions)."""
    for expected in (EXPECTED_PUBLIC, EXPECTED_PRIVATE):
        for (method, rule), statuses in expected.items():
            anonymous, *others, organizer = statuses
            assert anonymous == 302, rule
            if rule in EVENTLESS_ROUTES:
                continue
            allowed = {"speaker"} if rule.endswith("/my-sessions") else set()
            if (method, rule) in routes_recordings.ATTENDEE_ROUTES:
                allowed = {"attendee"}  # a registered attendee watches the recordings
            for role, status in zip(ROLES[1:4], others, strict=True):
                if role not in allowed:
                    assert status in (403, 404), (method, rule, role)
            if expected is EXPECTED_PRIVATE:  # invisible to people outside the event
                assert statuses[ROLES.index("other_organizer")] == 404, (method, rule)
            redirect = (302,) if method == "GET" else ()  # the typeahead, without HTMX
            assert organizer in (200, 303, 400, 422, *redirect), (method, rule)


@pytest.mark.parametrize(
    ("visibility", "expected"),
    [(EventVisibility.PUBLIC, EXPECTED_PUBLIC), (EventVisibility.PRIVATE, EXPECTED_PRIVATE)],
    ids=["public", "private"],
)
def test_each_person_gets_the_expected_status(app, visibility, expected):
    mismatches = walk(app, visibility, expected)
    assert not mismatches, "\n".join(mismatches)


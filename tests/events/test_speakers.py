"""The organizer's speakers page over HTTP: typeahead, adding, assigning, removing, inviting by
email, each seed-001 rule as one message, a speaker's own sessions, access, and SQL counts."""

import re
from datetime import date, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from babel.dates import format_time

from app.accounts.models import User
from app.core.types import utcnow
from app.events.models import (
    Event,
    EventRole,
    EventSession,
    EventUser,
    EventVisibility,
    SessionSpeaker,
)
from app.events.services import SpeakerService
from app.extensions import db
from app.mailing.models import EmailLog
from app.states import EventStatus, UserStatus
from tests.conftest import (
    create_user,
    link_in,
    log_in,
    post_form,
    query_counter,
    read_mail,
)
from tests.factories import EventFactory, SessionFactory, UserFactory

HTMX = {"HX-Request": "true"}
ORGANIZER = "org@example.com"


def make_event(app, sessions: int = 1, session_fields: dict | None = None, **fields):
    """An event of ORGANIZER (created on first use) with `sessions` one-hour sessions two
    hours apart; returns plain values."""
    with app.test_request_context():
        organizer = db.session.scalar(sa.select(User).where(User.email == ORGANIZER))
        organizer = organizer or UserFactory(email=ORGANIZER, full_name="Olga Organizer")
        event = EventFactory(organizer=organizer, **fields)
        made = [
            SessionFactory(event=event, title=f"Talk {n + 1}",
                           start_at=event.start_at + timedelta(hours=2 * n),
                           **(session_fields or {}))
            for n in range(sessions)
        ]
        db.session.commit()
        return SimpleNamespace(
            uuid=event.uuid, id=event.id, start_at=event.start_at,
            sessions=[s.uuid for s in made], session_ids=[s.id for s in made],
        )


def person(app, email: str, full_name: str, **fields):
    return create_user(app, email=email, full_name=full_name, **fields)


def organizer_client(app, event=None):
    client = app.test_client()
    if event is None:
        create_user(app, email=ORGANIZER, full_name="Olga Organizer")
    log_in(client, ORGANIZER)
    return client


def speakers_page(event) -> str:
    return f"/events/{event.uuid}/speakers"


def add(client, event, user, session=None, role="speaker", **kwargs):
    data = {"user": str(user.uuid), "session": str(session) if session else "", "role": role}
    return post_form(client, speakers_page(event), data, page=speakers_page(event), **kwargs)


def assign(client, event, session, user, role="speaker", **kwargs):
    path = f"/events/{event.uuid}/sessions/{session}/speakers"
    data = {"user": str(user.uuid), "role": role}
    return post_form(client, path, data, page=speakers_page(event), **kwargs)


def invite(client, event, **data):
    path = f"/events/{event.uuid}/speakers/invite"
    headers = data.pop("headers", None)
    return post_form(client, path, data, page=speakers_page(event), headers=headers,
                     follow_redirects=data.pop("follow", False))


def role_of(app, event, user):
    with app.app_context():
        return db.session.scalar(
            sa.select(EventUser.role).where(
                EventUser.event_id == event.id, EventUser.user_id == user.id
            )
        )


def text(response) -> str:
    return response.get_data(as_text=True)


# --- Typeahead


def test_typeahead_finds_active_people_by_name_or_email_with_masked_addresses(app):
    event = make_event(app)
    client = organizer_client(app, event)
    person(app, "ysolde@example.com", "Ysolde Lovelace", professional_title="Analyst")
    person(app, "gone@example.com", "Ysolde Gone", deleted_at=utcnow())
    person(app, "off@example.com", "Ysolde Off", status=UserStatus.DEACTIVATED)
    person(app, "new@example.com", "Ysolde New", status=UserStatus.INVITED)
    search = f"/events/{event.uuid}/speakers/search"

    found = client.get(search, query_string={"q": "ySOLDE"}, headers=HTMX)
    assert found.status_code == 200
    body = text(found)
    assert "Ysolde Lovelace" in body and "Analyst" in body
    assert "y***@example.com" in body and "ysolde@example.com" not in body
    assert "Ysolde Gone" not in body and "Ysolde Off" not in body and "Ysolde New" not in body
    assert "Add as speaker" in body
    assert "1 person matches" in body

    by_surname = text(client.get(search, query_string={"q": "LOVELACE"}, headers=HTMX))
    assert "Ysolde Lovelace" in by_surname
    by_email = text(client.get(search, query_string={"q": "YSOLDE@exa"}, headers=HTMX))
    assert "Ysolde Lovelace" in by_email and "y***@example.com" in by_email
    wildcard = text(client.get(search, query_string={"q": "%_"}, headers=HTMX))
    assert "Ysolde Lovelace" not in wildcard  # LIKE wildcards are escaped
    short = text(client.get(search, query_string={"q": "a"}, headers=HTMX))
    assert "at least 2 characters" in short and "Ysolde Lovelace" not in short

    # Without HTMX the search is the page itself, with the results in it.
    plain = client.get(search, query_string={"q": "ysolde"})
    assert plain.status_code == 302
    page = text(client.get(plain.headers["Location"]))
    assert "Ysolde Lovelace" in page and 'aria-live="polite"' in page


def test_typeahead_returns_at_most_ten_and_marks_existing_speakers(app):
    event = make_event(app)
    client = organizer_client(app, event)
    people = [person(app, f"p{n}@example.com", f"Pat Person {n:02}") for n in range(12)]
    add(client, event, people[0])
    body = text(client.get(f"/events/{event.uuid}/speakers/search", query_string={"q": "pat"},
                           headers=HTMX))
    assert body.count('class="candidate"') == 10
    assert "Already a speaker" in body


# --- Adding, and each rule as one message


def test_adding_a_speaker_to_the_event_and_a_duplicate(app):
    event = make_event(app)
    client = organizer_client(app, event)
    ada = person(app, "ada@example.com", "Ada Lovelace")

    added = add(client, event, ada, follow_redirects=True)
    assert "Ada Lovelace is now a speaker of this event." in text(added)
    assert role_of(app, event, ada) == EventRole.SPEAKER

    again = add(client, event, ada)
    assert again.status_code == 303
    page = text(client.get(again.headers["Location"]))
    assert "Ada Lovelace is already a speaker of this event." in page

    htmx = add(client, event, ada, headers=HTMX)
    assert htmx.status_code == 422
    body = text(htmx)
    assert 'id="speaker-messages" hx-swap-oob="innerHTML"' in body
    assert "Ada Lovelace is already a speaker of this event." in body
    assert 'id="speakers-card"' in body and "<html" not in body


def test_event_speaker_limit(app):
    event = make_event(app, max_speakers=1)
    client = organizer_client(app, event)
    first = person(app, "one@example.com", "First Speaker")
    second = person(app, "two@example.com", "Second Speaker")
    assert add(client, event, first, headers=HTMX).status_code == 200
    refused = add(client, event, second, headers=HTMX)
    assert refused.status_code == 422
    assert "This event already has its 1 speaker(s)." in text(refused)
    assert role_of(app, event, second) is None
    page = text(organizer_client(app, event).get(speakers_page(event)))
    assert "1 of 1 speakers" in page


def test_schedule_conflict_across_events(app):
    event = make_event(app)
    ada = person(app, "ada@example.com", "Ada Lovelace")
    with app.test_request_context():
        other = EventFactory(start_at=event.start_at, end_at=event.start_at + timedelta(hours=8))
        clash = SessionFactory(event=other, start_at=event.start_at + timedelta(minutes=30))
        SpeakerService.register_speaker_for_session(clash, db.session.get(User, ada.id))
        db.session.commit()
    client = organizer_client(app, event)
    refused = add(client, event, ada, session=event.sessions[0], headers=HTMX)
    assert refused.status_code == 422
    assert "Ada Lovelace speaks at another session at that time." in text(refused)
    assert role_of(app, event, ada) is None


def test_session_speaker_capacity_and_the_speaker_role(app):
    event = make_event(app, session_fields={"speaker_capacity": 1})
    client = organizer_client(app, event)
    ada = person(app, "ada@example.com", "Ada Lovelace")
    bob = person(app, "bob@example.com", "Bob Babbage")
    done = add(client, event, ada, session=event.sessions[0], role="moderator", headers=HTMX)
    assert done.status_code == 200
    assert "Ada Lovelace now speaks at “Talk 1”." in text(done)
    assert role_of(app, event, ada) == EventRole.SPEAKER  # seed 000 Session.add_speaker
    with app.app_context():
        link = db.session.scalar(sa.select(SessionSpeaker))
        assert (link.user_id, link.role.value) == (ada.id, "moderator")

    add(client, event, bob)  # an event speaker without a session
    refused = assign(client, event, event.sessions[0], bob, headers=HTMX)
    assert refused.status_code == 422
    assert "This session already has its 1 speaker(s)." in text(refused)


def test_at_most_three_sessions_a_day(app):
    event = make_event(app, sessions=4, allow_parallel_sessions=True)
    client = organizer_client(app, event)
    ada = person(app, "ada@example.com", "Ada Lovelace")
    add(client, event, ada)
    for session in event.sessions[:3]:
        assert assign(client, event, session, ada, headers=HTMX).status_code == 200
    refused = assign(client, event, event.sessions[3], ada, headers=HTMX)
    assert refused.status_code == 422
    assert "Ada Lovelace already speaks at 3 sessions that day, the most one speaker may." in (
        text(refused)
    )


def test_required_certification_is_added_on_the_profile_page(app):
    event = make_event(app, session_fields={"required_certification": "ACLS"})
    client = organizer_client(app, event)
    ada = person(app, "ada@example.com", "Ada Lovelace")
    message = "This session needs a valid “ACLS” certification, and Ada Lovelace has none"

    missing = add(client, event, ada, session=event.sessions[0], headers=HTMX)
    assert missing.status_code == 422 and message in text(missing)

    speaker = app.test_client()
    log_in(speaker, "ada@example.com")
    expired = {"cert_type": "ACLS", "issuer": "Resus Council", "issued_on": "2018-01-01",
               "expires_on": "2020-01-01"}
    assert post_form(speaker, "/account/certifications", expired).status_code == 303
    still = add(client, event, ada, session=event.sessions[0], headers=HTMX)
    assert still.status_code == 422 and message in text(still)

    valid_until = (event.start_at.date() + timedelta(days=30)).isoformat()
    valid = {"cert_type": "acls ", "issuer": "Resus Council", "issued_on": "2024-01-01",
             "expires_on": valid_until}
    assert post_form(speaker, "/account/certifications", valid).status_code == 303
    done = add(client, event, ada, session=event.sessions[0], headers=HTMX)
    assert done.status_code == 200, text(done)
    assert role_of(app, event, ada) == EventRole.SPEAKER


def test_an_unknown_or_inactive_person_cannot_be_added(app):
    event = make_event(app)
    client = organizer_client(app, event)
    off = person(app, "off@example.com", "Ada Off", status=UserStatus.DEACTIVATED)
    refused = add(client, event, off, headers=HTMX)
    assert refused.status_code == 422
    assert "Choose a person from the search results." in text(refused)
    nobody = SimpleNamespace(uuid="not-a-uuid")
    assert add(client, event, nobody, headers=HTMX).status_code == 422
    assert role_of(app, event, off) is None


# --- Removing


def test_removing_from_a_session_then_from_the_event(app):
    event = make_event(app)
    client = organizer_client(app, event)
    ada = person(app, "ada@example.com", "Ada Lovelace")
    add(client, event, ada, session=event.sessions[0])
    remove_event = f"/events/{event.uuid}/speakers/{ada.uuid}/remove"
    remove_session = f"/events/{event.uuid}/sessions/{event.sessions[0]}/speakers/{ada.uuid}/remove"

    blocked = post_form(client, remove_event, page=speakers_page(event), headers=HTMX)
    assert blocked.status_code == 422
    assert "Ada Lovelace still speaks at “Talk 1”. Remove them from those sessions first." in (
        text(blocked)
    )
    assert role_of(app, event, ada) == EventRole.SPEAKER

    done = post_form(client, remove_session, page=speakers_page(event), follow_redirects=True)
    assert "Ada Lovelace no longer speaks at “Talk 1”." in text(done)
    assert role_of(app, event, ada) == EventRole.SPEAKER  # still a speaker of the event
    assert post_form(client, remove_session, page=speakers_page(event)).status_code == 404

    gone = post_form(client, remove_event, page=speakers_page(event), headers=HTMX)
    assert gone.status_code == 200
    assert "Ada Lovelace is no longer a speaker of this event." in text(gone)
    assert role_of(app, event, ada) is None
    assert "No speakers yet. Search for someone below or invite them by email." in text(gone)


def test_changes_to_a_cancelled_event_are_refused(app):
    event = make_event(app)
    ada = person(app, "ada@example.com", "Ada Lovelace")
    client = organizer_client(app, event)
    with app.test_request_context():
        loaded = db.session.get(Event, event.id)
        loaded.cancel(loaded.members[0].user, "Venue flooded")
        db.session.commit()
    page = text(client.get(speakers_page(event)))
    assert "This event can no longer be changed" in page and "Add as speaker" not in page
    refused = add(client, event, ada, headers=HTMX)
    assert refused.status_code == 422
    assert "This event is cancelled and can no longer be changed." in text(refused)


# --- Inviting by email


def test_inviting_a_new_address_creates_an_invited_account_that_can_log_in(app):
    event = make_event(app)
    client = organizer_client(app, event)
    response = invite(client, event, email=" Mary.Seacole@Example.com ", full_name="Mary Seacole",
                      session=str(event.sessions[0]), role="panelist", headers=HTMX)
    assert response.status_code == 200, text(response)
    body = text(response)
    assert "mary.seacole@example.com is invited: we emailed them a link to set a password." in body
    assert 'id="invite-form" method="post"' in body and 'hx-swap-oob="true"' in body

    with app.app_context():
        [mary] = db.session.scalars(sa.select(User).where(User.email.like("mary%"))).all()
        assert mary.status == UserStatus.INVITED and not mary.has_password
        mary_id = mary.id
    assert role_of(app, event, SimpleNamespace(id=mary_id)) == EventRole.SPEAKER

    [message] = read_mail(app)
    assert message["To"] == "mary.seacole@example.com"
    assert "Olga Organizer invited you to speak at" in message["Subject"]
    link = link_in(message, "/reset-password/")

    mary_client = app.test_client()
    form_page = mary_client.get(link)
    assert form_page.status_code == 200
    password = "Copper-harbour-Lantern-57"
    set_password = post_form(mary_client, link, {"password": password})
    assert set_password.status_code == 303
    with app.app_context():
        assert db.session.get(User, mary_id).status == UserStatus.ACTIVE

    log_in(mary_client, "mary.seacole@example.com", password)
    mine = mary_client.get(f"/events/{event.uuid}/my-sessions")
    assert mine.status_code == 200
    assert "Talk 1" in text(mine) and "Panelist" in text(mine)
    assert mary_client.get(speakers_page(event)).status_code == 403


def test_inviting_an_existing_account_adds_it_without_a_second_account_or_email(app):
    event = make_event(app)
    client = organizer_client(app, event)
    ada = person(app, "ada@example.com", "Ada Lovelace")
    response = invite(client, event, email="ADA@example.com", full_name="Somebody Else",
                      follow=True)
    assert "Ada Lovelace already has an account and is now a speaker." in text(response)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User).where(
            User.email == "ada@example.com")) == 1
        assert db.session.get(User, ada.id).full_name == "Ada Lovelace"
    assert role_of(app, event, ada) == EventRole.SPEAKER
    assert read_mail(app) == []


def test_inviting_twice_the_same_new_address_keeps_one_account(app):
    event = make_event(app, sessions=2)
    client = organizer_client(app, event)
    invite(client, event, email="new@example.com", session=str(event.sessions[0]))
    invite(client, event, email="new@example.com", session=str(event.sessions[1]))
    with app.app_context():
        users = db.session.scalars(sa.select(User).where(User.email == "new@example.com")).all()
        assert len(users) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SessionSpeaker)) == 2
    assert len(read_mail(app)) == 2  # still without a password: each invitation has a link


@pytest.mark.parametrize("email", ["not-an-address", "", "a@b@c.com"])
def test_an_invalid_address_is_refused_and_nothing_is_created(app, email):
    event = make_event(app)
    client = organizer_client(app, event)
    with app.app_context():
        users_before = db.session.scalar(sa.select(sa.func.count()).select_from(User))
    plain = invite(client, event, email=email, full_name="Nobody")
    assert plain.status_code == 422
    assert 'aria-invalid="true"' in text(plain) and 'value="Nobody"' in text(plain)
    htmx = invite(client, event, email=email, headers=HTMX)
    assert htmx.status_code == 422
    assert 'id="invite-form"' in text(htmx) and "field-error" in text(htmx)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == users_before
        assert db.session.scalar(sa.select(sa.func.count()).select_from(EmailLog)) == 0
        speakers = sa.select(sa.func.count()).select_from(EventUser).where(
            EventUser.role == EventRole.SPEAKER)
        assert db.session.scalar(speakers) == 0


def test_an_invitation_refused_by_a_rule_creates_no_account(app):
    event = make_event(app, max_speakers=0)
    client = organizer_client(app, event)
    refused = invite(client, event, email="new@example.com", headers=HTMX)
    assert refused.status_code == 422
    assert "This event already has its 0 speaker(s)." in text(refused)
    with app.app_context():
        assert db.session.scalar(sa.select(User).where(User.email == "new@example.com")) is None
    assert read_mail(app) == []


# --- A speaker's own sessions


def test_my_sessions_shows_times_in_the_viewers_timezone(app):
    event = make_event(app, sessions=2)
    ada = person(app, "ada@example.com", "Ada Lovelace", timezone="Asia/Tokyo")
    client = organizer_client(app, event)
    add(client, event, ada, session=event.sessions[1])
    speaker = app.test_client()
    log_in(speaker, "ada@example.com")
    page = text(speaker.get(f"/events/{event.uuid}/my-sessions"))
    assert "Talk 2" in page and "Talk 1" not in page
    start = event.start_at + timedelta(hours=2)
    tokyo = format_time(start, "HH:mm", tzinfo=ZoneInfo("Asia/Tokyo"), locale="en")
    london = format_time(start, "HH:mm", tzinfo=ZoneInfo("Europe/London"), locale="en")
    shown = re.sub(r"<[^>]+>", "", page)  # not the UTC in <time datetime="…">
    assert tokyo in shown and london not in shown and "Asia/Tokyo" in shown


# --- Access


def routes(event, user_uuid):
    session = event.sessions[0]
    base = f"/events/{event.uuid}"
    return [
        ("GET", f"{base}/speakers"),
        ("GET", f"{base}/speakers/search?q=ada"),
        ("POST", f"{base}/speakers"),
        ("POST", f"{base}/speakers/invite"),
        ("POST", f"{base}/speakers/{user_uuid}/remove"),
        ("POST", f"{base}/sessions/{session}/speakers"),
        ("POST", f"{base}/sessions/{session}/speakers/{user_uuid}/remove"),
    ]


@pytest.mark.parametrize("visibility, stranger_status", [
    (EventVisibility.PUBLIC, 403),
    (EventVisibility.PRIVATE, 404),
])
def test_only_organizers_reach_the_speakers_routes(app, visibility, stranger_status):
    event = make_event(app, visibility=visibility)
    other = make_event(app)  # Olga organises this one: she is "organizer of another event"
    speaker = person(app, "speaker@example.com", "Sam Speaker")
    attendee = person(app, "attendee@example.com", "Alex Attendee")
    person(app, "stranger@example.com", "Stella Stranger")
    person(app, "boss@example.com", "Other Organizer")
    with app.test_request_context():
        loaded = db.session.get(Event, event.id)
        loaded.add_member(db.session.get(User, speaker.id), EventRole.SPEAKER)
        loaded.add_member(db.session.get(User, attendee.id), EventRole.ATTENDEE)
        db.session.get(Event, other.id).add_member(
            db.session.scalar(sa.select(User).where(User.email == "boss@example.com")),
            EventRole.ORGANIZER,
        )
        db.session.commit()

    clients = {"anonymous": app.test_client()}
    for name in ("speaker", "attendee", "stranger", "boss"):
        clients[name] = app.test_client()
        log_in(clients[name], f"{name}@example.com")
    # Insiders see private events (VIEW), so they get 403; outsiders of a private one 404.
    expected = {"anonymous": 302, "speaker": 403, "attendee": 403, "stranger": stranger_status,
                "boss": stranger_status}
    tokens = {name: _token(client) for name, client in clients.items()}
    for method, path in routes(event, speaker.uuid):
        for name, client in clients.items():
            if method == "GET":
                got = client.get(path).status_code
            else:
                got = client.post(path, data={"csrf_token": tokens[name]}).status_code
            assert got == expected[name], (method, path, name, got)

    my_sessions = f"/events/{event.uuid}/my-sessions"
    assert clients["anonymous"].get(my_sessions).status_code == 302
    assert clients["speaker"].get(my_sessions).status_code == 200
    assert clients["attendee"].get(my_sessions).status_code == 403
    assert clients["stranger"].get(my_sessions).status_code == stranger_status
    assert organizer_client(app, event).get(my_sessions).status_code == 200


def _token(client) -> str:
    from tests.conftest import csrf_token

    return csrf_token(client, "/login") if not _logged_in(client) else csrf_token(
        client, "/account/profile"
    )


def _logged_in(client) -> bool:
    return client.get("/account/profile").status_code == 200


def test_an_unknown_event_or_session_is_404(app):
    event = make_event(app)
    client = organizer_client(app, event)
    other = make_event(app)
    assert client.get("/events/00000000-0000-0000-0000-000000000000/speakers").status_code == 404
    wrong_session = f"/events/{event.uuid}/sessions/{other.sessions[0]}/speakers"
    assert post_form(client, wrong_session, {"user": ""}, page=speakers_page(event)
                     ).status_code == 404


# --- Page content and SQL queries


def populate(app, event, count: int) -> None:
    """`count` sessions, each with its own speaker (and one more event speaker)."""
    with app.test_request_context():
        loaded = db.session.get(Event, event.id)
        loaded.allow_parallel_sessions = True
        for n in range(count):
            session = SessionFactory(event=loaded, title=f"Extra {n}",
                                     start_at=loaded.start_at + timedelta(minutes=5 * n))
            SpeakerService.register_speaker_for_session(
                session, UserFactory(full_name=f"Speaker {n:02}")
            )
        SpeakerService.add_event_speaker(loaded, UserFactory(full_name="Unassigned Person"))
        db.session.commit()


def test_the_page_runs_the_same_number_of_queries_with_2_and_20_speakers(app):
    counts = []
    for size in (2, 20):
        event = make_event(app, sessions=0)
        populate(app, event, size)
        client = organizer_client(app, event)
        client.get(speakers_page(event))  # warm up: login session touch, caches
        with app.app_context():
            engine = db.engine
        with query_counter(engine) as statements:
            response = client.get(speakers_page(event))
        assert response.status_code == 200
        page = text(response)
        assert f"Speaker {size - 1:02}" in page and f"Extra {size - 1}" in page
        assert "Unassigned Person" in page and "No session yet." in page
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


def test_the_page_lists_speakers_with_their_sessions_and_the_empty_states(app):
    event = make_event(app, sessions=0)
    client = organizer_client(app, event)
    page = text(client.get(speakers_page(event)))
    assert "No speakers yet. Search for someone below or invite them by email." in page
    assert "This event has no sessions yet." in page
    assert 'hx-trigger="keyup changed delay:300ms, search"' in page
    assert f'hx-get="/events/{event.uuid}/speakers/search"' in page

    event = make_event(app, sessions=2)
    ada = person(app, "ada@example.com", "Ada Lovelace", professional_title="Analyst")
    add(client, event, ada, session=event.sessions[1])
    page = text(client.get(speakers_page(event)))
    assert "Ada Lovelace" in page and "Analyst" in page and "Talk 2" in page
    assert f"/sessions/{event.sessions[1]}/speakers/{ada.uuid}/remove" in page
    assert f"/sessions/{event.sessions[0]}/speakers" in page  # "Add to session"


def test_status_transitions_do_not_hide_the_page_from_its_organizer(app):
    event = make_event(app, status=EventStatus.DRAFT, visibility=EventVisibility.PRIVATE)
    client = organizer_client(app, event)
    assert client.get(speakers_page(event)).status_code == 200


def test_certification_expiry_on_the_day_counts(app):
    event = make_event(app, session_fields={"required_certification": "BLS"})
    ada = person(app, "ada@example.com", "Ada Lovelace")
    with app.test_request_context():
        from app.accounts.models import UserCertification

        db.session.add(UserCertification(user_id=ada.id, cert_type="BLS",
                                         issued_on=date(2024, 1, 1),
                                         expires_on=event.start_at.date()))
        db.session.commit()
    client = organizer_client(app, event)
    assert add(client, event, ada, session=event.sessions[0], headers=HTMX).status_code == 200


# --- Locked sessions, and names in messages


def test_a_live_sessions_speakers_cannot_be_removed(app):
    event = make_event(app)
    client = organizer_client(app, event)
    ada = person(app, "ada@example.com", "Ada Lovelace")
    add(client, event, ada, session=event.sessions[0])
    with app.test_request_context():
        assert db.session.get(EventSession, event.session_ids[0]).go_live()
        db.session.commit()
    remove_session = f"/events/{event.uuid}/sessions/{event.sessions[0]}/speakers/{ada.uuid}/remove"
    refused = post_form(client, remove_session, page=speakers_page(event), headers=HTMX)
    assert refused.status_code == 422
    assert "“Talk 1” is live: its speakers can no longer be changed." in text(refused)
    remove_event = f"/events/{event.uuid}/speakers/{ada.uuid}/remove"
    refused = post_form(client, remove_event, page=speakers_page(event), headers=HTMX)
    assert refused.status_code == 422
    assert ("Ada Lovelace speaks at “Talk 1”, which is live or over: they stay a speaker of "
            "this event.") in text(refused)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SessionSpeaker)) == 1
    assert role_of(app, event, ada) == EventRole.SPEAKER


def test_names_in_refusals_are_shown_as_text_not_html(app):
    event = make_event(app)
    client = organizer_client(app, event)
    mallory = person(app, "mal@example.com", "<b>Mallory</b>")
    add(client, event, mallory)
    refused = add(client, event, mallory, headers=HTMX)
    assert refused.status_code == 422
    body = text(refused)
    assert "&lt;b&gt;Mallory&lt;/b&gt; is already a speaker of this event." in body
    assert "<b>Mallory</b>" not in body
    flashed = add(client, event, mallory, follow_redirects=True)
    assert "&lt;b&gt;Mallory&lt;/b&gt; is already a speaker of this event." in text(flashed)
    assert "<b>Mallory</b>" not in text(flashed)

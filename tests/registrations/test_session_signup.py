"""Session sign-up (DESIGN.md "Decisions"): attendees pick sessions; a session with its own
capacity fills and waitlists like an event, through the same SeatPool; dropping a session or
cancelling the registration promotes the first in that session's line (FIFO) and emails
them; and 30 people racing for 5 places of one session never oversell it."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.core.errors import ValidationError
from app.events.models import Event, EventSession
from app.extensions import db
from app.registrations.models import Registration, SessionRegistration
from app.registrations.services import RegistrationService
from app.states import RegistrationStatus, SessionStatus
from tests.conftest import csrf_token, post_form, read_mail
from tests.factories import EventFactory, SessionFactory, UserFactory
from tests.registrations.racing import race
from tests.registrations.test_attend import logged_in, make, register, text_of

CONFIRMED = RegistrationStatus.CONFIRMED
WAITLISTED = RegistrationStatus.WAITLISTED
CANCELLED = RegistrationStatus.CANCELLED


def signup_event(app, capacities=(1, None), cancelled=False, **fields) -> SimpleNamespace:
    """An event with session sign-up and one session per capacity (plus a cancelled one)."""
    def build():
        event = EventFactory(session_signup=True, **fields)
        sessions = []
        for number, capacity in enumerate(capacities):
            start = event.start_at + timedelta(hours=number)
            sessions.append(SessionFactory(event=event, title=f"Talk {number}",
                                           room=f"Room {number}", capacity=capacity,
                                           start_at=start, end_at=start + timedelta(minutes=50)))
        gone = None
        if cancelled:
            gone = SessionFactory(event=event, title="Withdrawn talk",
                                  status=SessionStatus.CANCELLED)
        db.session.flush()
        return SimpleNamespace(id=event.id, slug=event.slug,
                               sessions=[str(s.uuid) for s in sessions],
                               cancelled=str(gone.uuid) if gone else None)

    return make(app, build)


def places(app, event_id) -> list[tuple[str, str, RegistrationStatus]]:
    """(email, session title, status) of every session place of the event, in order."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(Registration.email, EventSession.title, SessionRegistration.status)
            .join(Registration, Registration.id == SessionRegistration.registration_id)
            .join(EventSession, EventSession.id == SessionRegistration.session_id)
            .where(Registration.event_id == event_id)
            .order_by(SessionRegistration.id)
        ).all()
        db.session.remove()
        return [tuple(row) for row in rows]


def registration_uuid(app, email):
    with app.app_context():
        value = db.session.scalar(
            sa.select(Registration.uuid).where(Registration.email == email,
                                               Registration.status != CANCELLED)
        )
        db.session.remove()
        return value


def test_form_lists_sessions_with_what_is_left(app):
    event = signup_event(app, capacities=(1, 3, None), cancelled=True)
    register(logged_in(app, "first@example.com"), event.slug, {"sessions": event.sessions[0]})
    client = logged_in(app, "ann@example.com")
    page = text_of(client.get(f"/events/{event.slug}/register"))
    assert "Talk 0" in page and "Talk 1" in page and "Talk 2" in page
    assert "Room 1" in page
    assert "Full: waitlist" in page  # Talk 0
    assert "3 places left" in page  # Talk 1
    assert "Withdrawn talk" not in page


def test_at_least_one_session_and_only_this_events_sessions(app):
    event = signup_event(app, cancelled=True)
    other = signup_event(app)
    client = logged_in(app, "ann@example.com")
    none = register(client, event.slug, {})
    assert none.status_code == 422 and "Choose at least one session." in text_of(none)
    for forged in (other.sessions[0], event.cancelled, "not-a-uuid"):
        response = register(client, event.slug, {"sessions": forged})
        assert response.status_code == 422, forged
        assert "Choose sessions from the list" in text_of(response)
    assert places(app, event.id) == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Registration.id))) == 0
        db.session.remove()


def test_a_full_session_waitlists_and_a_session_without_capacity_never_fills(app):
    event = signup_event(app, capacities=(1, None))
    for name in ("a", "b", "c"):
        client = logged_in(app, f"{name}@example.com")
        response = register(client, event.slug, {"sessions": event.sessions})
        assert response.status_code == 303
    assert places(app, event.id) == [
        ("a@example.com", "Talk 0", CONFIRMED), ("a@example.com", "Talk 1", CONFIRMED),
        ("b@example.com", "Talk 0", WAITLISTED), ("b@example.com", "Talk 1", CONFIRMED),
        ("c@example.com", "Talk 0", WAITLISTED), ("c@example.com", "Talk 1", CONFIRMED),
    ]
    page = text_of(client.get(f"/events/{event.slug}/registration"))
    assert "Waitlisted: number 2" in page and "Place confirmed" in page


def test_full_session_without_waitlist_refuses_the_whole_registration(app):
    event = signup_event(app, capacities=(1,), waitlist_enabled=False)
    register(logged_in(app, "a@example.com"), event.slug, {"sessions": event.sessions})
    late = logged_in(app, "late@example.com")
    response = register(late, event.slug, {"sessions": event.sessions})
    assert response.status_code == 422
    assert "“Talk 0” is full." in text_of(response)
    with app.app_context():
        emails = db.session.scalars(sa.select(Registration.email)).all()
        db.session.remove()
    assert emails == ["a@example.com"]  # no registration left behind without its session


def test_dropping_a_session_promotes_the_first_in_its_line_and_emails_them(app):
    event = signup_event(app, capacities=(1, None))
    clients = {}
    for name in ("a", "b", "c"):
        clients[name] = logged_in(app, f"{name}@example.com")
        register(clients[name], event.slug, {"sessions": event.sessions})
    before = len(read_mail(app))
    uuid = registration_uuid(app, "a@example.com")
    drop = f"/registrations/{uuid}/sessions/{event.sessions[0]}/drop"
    response = post_form(clients["a"], drop, page=f"/events/{event.slug}/registration")
    assert response.status_code == 303
    assert places(app, event.id)[:3] == [
        ("a@example.com", "Talk 0", CANCELLED), ("a@example.com", "Talk 1", CONFIRMED),
        ("b@example.com", "Talk 0", CONFIRMED),
    ]
    assert ("c@example.com", "Talk 0", WAITLISTED) in places(app, event.id)
    mails = read_mail(app)[before:]
    assert [(m["To"], "Talk 0" in m["Subject"]) for m in mails] == [("b@example.com", True)]
    # Dropping it again is harmless; dropping the last session is refused with advice.
    assert post_form(clients["a"], drop, page="/account/profile").status_code == 303
    last = f"/registrations/{uuid}/sessions/{event.sessions[1]}/drop"
    post_form(clients["a"], last, page="/account/profile")
    page = text_of(clients["a"].get(f"/events/{event.slug}/registration"))
    assert "Keep at least one session" in page
    assert ("a@example.com", "Talk 1", CONFIRMED) in places(app, event.id)


def test_adding_a_session_later(app):
    event = signup_event(app, capacities=(1, 2))
    client = logged_in(app, "a@example.com")
    register(client, event.slug, {"sessions": event.sessions[0]})
    page = text_of(client.get(f"/events/{event.slug}/registration"))
    assert "Add sessions" in page and "Talk 1" in page
    uuid = registration_uuid(app, "a@example.com")
    response = post_form(client, f"/registrations/{uuid}/sessions",
                         {"sessions": event.sessions[1]},
                         page=f"/events/{event.slug}/registration")
    assert response.status_code == 303
    assert places(app, event.id) == [("a@example.com", "Talk 0", CONFIRMED),
                                     ("a@example.com", "Talk 1", CONFIRMED)]
    # Adding one already held changes nothing; a stranger cannot add to this registration.
    post_form(client, f"/registrations/{uuid}/sessions", {"sessions": event.sessions[1]},
              page="/account/profile")
    assert len(places(app, event.id)) == 2
    stranger = logged_in(app, "z@example.com")
    token = csrf_token(stranger, "/account/profile")
    assert stranger.post(f"/registrations/{uuid}/sessions",
                         data={"csrf_token": token, "sessions": event.sessions[0]}
                         ).status_code == 404


def test_cancelling_the_registration_frees_its_sessions_and_promotes_there(app):
    event = signup_event(app, capacities=(1,), capacity=1)
    holder = logged_in(app, "a@example.com")
    waiting = logged_in(app, "b@example.com")
    register(holder, event.slug, {"sessions": event.sessions})
    register(waiting, event.slug, {"sessions": event.sessions})
    uuid = registration_uuid(app, "a@example.com")
    post_form(holder, f"/registrations/{uuid}/cancel", page="/account/profile")
    assert places(app, event.id) == [("a@example.com", "Talk 0", CANCELLED),
                                     ("b@example.com", "Talk 0", CONFIRMED)]
    with app.app_context():
        query = sa.select(Registration.email, Registration.status)
        statuses = dict(db.session.execute(query).all())
        db.session.remove()
    assert statuses == {"a@example.com": CANCELLED, "b@example.com": CONFIRMED}


def test_sessions_are_ignored_when_the_event_has_no_session_signup(ctx):
    event = EventFactory(session_signup=False)
    session = SessionFactory(event=event)
    registration = RegistrationService.register(event, UserFactory(), sessions=[session])
    assert registration.session_places == []


def test_adding_sessions_to_a_cancelled_registration_is_refused(ctx):
    event = EventFactory(session_signup=True)
    first, second = SessionFactory(event=event), SessionFactory(event=event)
    registration = RegistrationService.register(event, UserFactory(), sessions=[first])
    RegistrationService.cancel(registration)
    with pytest.raises(ValidationError, match="cancelled"):
        RegistrationService.add_sessions(registration, [second])


# --- Never oversell a session

ATTEMPTS = 30
PLACES = 5


def test_thirty_concurrent_registrations_for_five_session_places(make_app):
    """Each thread registers for an event without a limit and picks the same session: the
    session's lock (after the event's) decides, so exactly PLACES are confirmed."""
    app = make_app(
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": ATTEMPTS, "max_overflow": ATTEMPTS + 10}
    )
    with app.app_context():
        event = EventFactory(capacity=None, waitlist_enabled=True, session_signup=True)
        session = SessionFactory(event=event, capacity=PLACES)
        users = [UserFactory() for _ in range(ATTEMPTS)]
        db.session.commit()
        event_id, session_id, user_ids = event.id, session.id, [u.id for u in users]
        db.session.remove()

    def prepare(user_id: int):
        event = db.session.get(Event, event_id)
        chosen = db.session.get(EventSession, session_id)
        user = db.session.get(User, user_id)
        event.custom_fields  # noqa: B018 - loaded before the race, like a request
        return lambda: RegistrationService.register(event, user, sessions=[chosen])

    assert race(app, user_ids, prepare) == []
    with app.app_context():
        statuses = Counter(
            db.session.scalars(
                sa.select(SessionRegistration.status)
                .where(SessionRegistration.session_id == session_id)
            )
        )
        line = list(db.session.scalars(
            sa.select(SessionRegistration)
            .where(SessionRegistration.status == WAITLISTED)
            .order_by(SessionRegistration.waitlisted_at, SessionRegistration.id)
        ))
        positions = [RegistrationService.session_position(p) for p in line]
        registered = db.session.scalar(sa.select(sa.func.count(Registration.id)))
        db.session.remove()
    assert statuses == {CONFIRMED: PLACES, WAITLISTED: ATTEMPTS - PLACES}
    assert positions == list(range(1, ATTEMPTS - PLACES + 1))
    assert registered == ATTEMPTS

"""The attendee's side of registration over HTTP: registering (logged in, as a guest, through
an invitation), the confirmation page, cancelling, the event page's registration box and the
dashboard's "My registrations"."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.core.types import utcnow
from app.events.models import CustomFieldType, EventCustomField, EventVisibility
from app.extensions import db
from app.registrations.models import CustomFieldResponse, EventInvitation, Registration
from app.states import EventStatus, RegistrationStatus, UserStatus
from tests.conftest import (
    create_user,
    csrf_token,
    link_in,
    log_in,
    mail_text,
    post_form,
    query_counter,
    read_mail,
)
from tests.factories import EventFactory, UserFactory, in_days

CONFIRMED = RegistrationStatus.CONFIRMED
WAITLISTED = RegistrationStatus.WAITLISTED
CANCELLED = RegistrationStatus.CANCELLED


# --- Helpers (shared with the other test_attend*/test_answers/test_session_signup modules)


def make(app, build):
    """Run `build()` in a request context and commit; returns what it returns."""
    with app.test_request_context():
        result = build()
        db.session.commit()
        return result


def make_event(app, **fields) -> SimpleNamespace:
    def build():
        event = EventFactory(**fields)
        return SimpleNamespace(id=event.id, slug=event.slug, uuid=event.uuid)

    return make(app, build)


def add_field(app, event_id: int, label: str, kind: CustomFieldType, required=False,
              options=None) -> str:
    """A question on the event's form; returns its input name."""
    def build():
        field = EventCustomField(event_id=event_id, label=label, field_type=kind,
                                 required=required, options=options or [],
                                 position=event_id * 100 + len(label))
        db.session.add(field)
        db.session.flush()
        return f"answer-{field.uuid}"

    return make(app, build)


def registrations(app, event_id: int) -> list[tuple[str, RegistrationStatus]]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(Registration.email, Registration.status)
            .where(Registration.event_id == event_id)
            .order_by(Registration.id)
        ).all()
        db.session.remove()
        return [tuple(row) for row in rows]


def answer_rows(app) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(EventCustomField.label, CustomFieldResponse.value)
            .join(EventCustomField, EventCustomField.id == CustomFieldResponse.field_id)
            .order_by(CustomFieldResponse.id)
        ).all()
        db.session.remove()
        return [tuple(row) for row in rows]


def logged_in(app, email: str, **fields):
    create_user(app, email=email, **fields)
    client = app.test_client()
    log_in(client, email)
    return client


def register(client, slug: str, data: dict | None = None, query: str = ""):
    path = f"/events/{slug}/register{query}"
    return post_form(client, path, data or {})


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


# --- Registering, logged in


def test_logged_in_person_registers_and_sees_the_confirmation(app):
    event = make_event(app, capacity=10, title="Wound care day")
    diet = add_field(app, event.id, "Dietary needs", CustomFieldType.SHORT_TEXT)
    client = logged_in(app, "ann@example.com", full_name="Ann Attendee")

    form = client.get(f"/events/{event.slug}/register")
    assert form.status_code == 200
    assert "Dietary needs" in text_of(form)
    assert 'name="email"' not in text_of(form)  # a logged-in person is who they are

    response = register(client, event.slug, {diet: "Vegetarian"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/events/{event.slug}/registration"
    assert registrations(app, event.id) == [("ann@example.com", CONFIRMED)]
    assert answer_rows(app) == [("Dietary needs", "Vegetarian")]

    page = text_of(client.get(response.headers["Location"]))
    assert "A seat is yours" in page
    assert "Vegetarian" in page
    assert f"/events/{event.slug}.ics" in page
    assert "Cancel registration" in page

    [mail] = read_mail(app)
    assert mail["To"] == "ann@example.com"
    assert "Wound care day" in mail["Subject"]
    attachments = [part.get_filename() for part in mail.iter_attachments()]
    assert attachments == [f"{event.slug}.ics"]


def test_full_event_puts_people_on_the_waitlist_with_their_position(app):
    event = make_event(app, capacity=1, waitlist_enabled=True)
    first = logged_in(app, "first@example.com")
    second = logged_in(app, "second@example.com")
    third = logged_in(app, "third@example.com")
    for client in (first, second, third):
        assert register(client, event.slug).status_code == 303
    assert registrations(app, event.id) == [
        ("first@example.com", CONFIRMED),
        ("second@example.com", WAITLISTED),
        ("third@example.com", WAITLISTED),
    ]
    page = text_of(third.get(f"/events/{event.slug}/registration"))
    assert "You are number 2 in line" in page
    # The decision was shown only after the commit: the flash message says it too.
    assert "number 2 in line" in page


def test_full_event_without_waitlist_says_so_and_takes_nothing(app):
    event = make_event(app, capacity=1, waitlist_enabled=False)
    register(logged_in(app, "first@example.com"), event.slug)
    late = logged_in(app, "late@example.com")
    response = register(late, event.slug)
    assert response.status_code == 422
    assert "This event is full." in text_of(response)
    assert registrations(app, event.id) == [("first@example.com", CONFIRMED)]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"status": EventStatus.CANCELLED}, "This event was cancelled"),
        ({"status": EventStatus.COMPLETED}, "This event is over"),
        ({"registration_opens_at": in_days(2)}, "has not opened yet"),
        ({"registration_closes_at": in_days(-1)}, "Registration for this event has closed."),
    ],
    ids=["cancelled", "completed", "not-yet-open", "closed"],
)
def test_registration_outside_its_window_is_refused_clearly(app, fields, message):
    event = make_event(app, **fields)
    client = logged_in(app, "ann@example.com")
    page = client.get(f"/events/{event.slug}/register")
    assert page.status_code == 200
    assert message in text_of(page)
    assert "registration-form" not in text_of(page)  # no form to fill in for nothing
    token = csrf_token(client, "/account/profile")
    response = client.post(f"/events/{event.slug}/register", data={"csrf_token": token})
    assert response.status_code == 422
    assert message in text_of(response)
    assert registrations(app, event.id) == []


def test_double_submit_gives_the_same_registration(app):
    event = make_event(app, capacity=5)
    client = logged_in(app, "ann@example.com")
    token = csrf_token(client, f"/events/{event.slug}/register")
    first = client.post(f"/events/{event.slug}/register", data={"csrf_token": token})
    second = client.post(f"/events/{event.slug}/register", data={"csrf_token": token})
    assert first.status_code == second.status_code == 303
    assert registrations(app, event.id) == [("ann@example.com", CONFIRMED)]
    assert len(read_mail(app)) == 1
    # Coming back to the form leads to the registration.
    again = client.get(f"/events/{event.slug}/register")
    assert again.headers["Location"] == f"/events/{event.slug}/registration"


def test_missing_csrf_token_is_refused_without_registering(app):
    event = make_event(app)
    client = logged_in(app, "ann@example.com")
    response = client.post(f"/events/{event.slug}/register", data={})
    assert response.status_code == 400
    assert registrations(app, event.id) == []


def test_forged_slug_and_private_event_are_not_found(app):
    private = make_event(app, visibility=EventVisibility.PRIVATE)
    draft = make_event(app, status=EventStatus.DRAFT)
    client = logged_in(app, "ann@example.com")
    token = csrf_token(client, "/account/profile")
    for slug in ("no-such-event", private.slug, draft.slug):
        assert client.get(f"/events/{slug}/register").status_code == 404
        assert client.post(f"/events/{slug}/register",
                           data={"csrf_token": token}).status_code == 404
        assert client.get(f"/events/{slug}/registration").status_code == 404
    assert registrations(app, private.id) == []


def make_invitation(app, event_id: int, email: str) -> str:
    def build():
        invitation = EventInvitation(event_id=event_id, email=email, sent_at=utcnow())
        db.session.add(invitation)
        return invitation.new_link_token()

    return make(app, build)


def invitation_state(app, event_id: int):
    with app.app_context():
        invitation = db.session.scalar(
            sa.select(EventInvitation).where(EventInvitation.event_id == event_id)
        )
        state = (invitation.registered_at is not None, invitation.registration_id is not None)
        db.session.remove()
        return state


def test_invitation_link_prefills_the_form_and_opens_a_private_event(app):
    event = make_event(app, visibility=EventVisibility.PRIVATE)
    token = make_invitation(app, event.id, "guest@example.com")
    client = app.test_client()
    assert client.get(f"/events/{event.slug}/register?invite=wrong").status_code == 404
    form = client.get(f"/events/{event.slug}/register?invite={token}")
    assert form.status_code == 200
    assert 'value="guest@example.com"' in text_of(form)
    assert "You were invited" in text_of(form)

    response = register(client, event.slug, {"full_name": "Gus Guest",
                                             "email": "guest@example.com"},
                        query=f"?invite={token}")
    assert response.status_code == 303, text_of(response)[:3000]
    assert registrations(app, event.id) == [("guest@example.com", CONFIRMED)]
    assert invitation_state(app, event.id) == (True, True)
    # The guest sees their confirmation (the event is private: only through their session).
    assert "A seat is yours" in text_of(client.get(f"/events/{event.slug}/registration"))


def test_an_invited_address_registering_without_the_link_counts(app):
    event = make_event(app)
    make_invitation(app, event.id, "ann@example.com")
    client = logged_in(app, "ann@example.com")
    assert register(client, event.slug).status_code == 303
    assert invitation_state(app, event.id) == (True, True)


# --- Guests


def test_guest_registration_makes_an_invited_account_and_emails_a_password_link(app):
    event = make_event(app, capacity=3, title="Open day")
    guest = app.test_client()
    form = text_of(guest.get(f"/events/{event.slug}/register"))
    assert 'name="email"' in form and 'name="full_name"' in form

    response = register(guest, event.slug, {"full_name": "Gus Guest",
                                            "email": "  Gus@Example.COM "})
    assert response.status_code == 303
    assert registrations(app, event.id) == [("gus@example.com", CONFIRMED)]
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "gus@example.com"))
        assert user.status == UserStatus.INVITED and user.full_name == "Gus Guest"
        db.session.remove()

    mails = read_mail(app)
    subjects = sorted(m["Subject"] for m in mails)
    assert any("choose a password" in s.lower() for s in subjects), subjects
    password_mail = next(m for m in mails if "password" in m["Subject"].lower())
    assert link_in(password_mail, "/reset-password/")
    assert "Open day" in mail_text(password_mail)

    # The guest's browser shows the confirmation; nobody else's does.
    page = guest.get(f"/events/{event.slug}/registration")
    assert "A seat is yours" in text_of(page)
    assert "gus@example.com" in text_of(page)
    stranger = app.test_client()
    assert stranger.get(f"/events/{event.slug}/registration").headers["Location"] == (
        f"/events/{event.slug}/register"
    )


def test_guest_with_the_address_of_an_account_registers_that_account(app):
    event = make_event(app)
    create_user(app, email="ann@example.com", full_name="Ann Attendee")
    guest = app.test_client()
    response = register(guest, event.slug, {"full_name": "Ann", "email": "ANN@example.com"})
    assert response.status_code == 303
    assert registrations(app, event.id) == [("ann@example.com", CONFIRMED)]
    # An active account gets the confirmation, and no password link.
    assert [m["Subject"] for m in read_mail(app) if "password" in m["Subject"].lower()] == []
    # Logging in, the person finds the registration.
    log_in(guest, "ann@example.com")
    assert "A seat is yours" in text_of(guest.get(f"/events/{event.slug}/registration"))


def test_guest_cannot_see_someone_elses_registration_by_typing_their_address(app):
    event = make_event(app)
    client = logged_in(app, "ann@example.com")
    register(client, event.slug, {})
    guest = app.test_client()
    response = register(guest, event.slug, {"full_name": "Mallory", "email": "ann@example.com"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/events/{event.slug}"
    assert registrations(app, event.id) == [("ann@example.com", CONFIRMED)]
    page = guest.get(f"/events/{event.slug}/registration")
    assert page.headers["Location"] == f"/events/{event.slug}/register"  # nothing to show


def test_guest_form_errors_are_shown_together(app):
    event = make_event(app)
    required = add_field(app, event.id, "Licence number", CustomFieldType.SHORT_TEXT,
                         required=True)
    guest = app.test_client()
    response = register(guest, event.slug, {"full_name": "", "email": "not-an-address",
                                            required: ""})
    assert response.status_code == 422
    text = text_of(response)
    assert "Enter your name." in text
    assert "Answer this question." in text
    bad_email = register(guest, event.slug, {"full_name": "Gus", "email": "not-an-address",
                                             required: "123"})
    assert bad_email.status_code == 422
    assert 'id="email-error"' in text_of(bad_email)
    assert registrations(app, event.id) == []


# --- Cancelling


def registration_uuid(app, email: str):
    with app.app_context():
        value = db.session.scalar(sa.select(Registration.uuid).where(Registration.email == email))
        db.session.remove()
        return value


def test_cancelling_frees_the_seat_for_the_first_in_line_who_is_emailed(app):
    event = make_event(app, capacity=1, title="Tiny seminar")
    holder = logged_in(app, "holder@example.com")
    waiting = logged_in(app, "waiting@example.com")
    register(holder, event.slug)
    register(waiting, event.slug)
    uuid = registration_uuid(app, "holder@example.com")
    before = len(read_mail(app))

    path = f"/registrations/{uuid}/cancel"
    response = post_form(holder, path, page=f"/events/{event.slug}/registration")
    assert response.status_code == 303
    assert registrations(app, event.id) == [
        ("holder@example.com", CANCELLED),
        ("waiting@example.com", CONFIRMED),
    ]
    promoted = [m for m in read_mail(app)[before:] if m["To"] == "waiting@example.com"]
    assert len(promoted) == 1 and "Tiny seminar" in promoted[0]["Subject"]
    assert [p.get_filename() for p in promoted[0].iter_attachments()] == [f"{event.slug}.ics"]

    # Twice is harmless; the page now says it is cancelled and offers to register again.
    again = post_form(holder, path, page="/account/profile")
    assert again.status_code == 303
    page = text_of(holder.get(f"/events/{event.slug}/registration"))
    assert "This registration is cancelled" in page and "Register again" in page
    assert registrations(app, event.id)[1] == ("waiting@example.com", CONFIRMED)


def test_only_the_owner_may_cancel(app):
    event = make_event(app)
    owner = logged_in(app, "owner@example.com")
    register(owner, event.slug)
    uuid = registration_uuid(app, "owner@example.com")
    other = logged_in(app, "other@example.com")
    token = csrf_token(other, "/account/profile")
    assert other.post(f"/registrations/{uuid}/cancel",
                      data={"csrf_token": token}).status_code == 404
    anonymous = app.test_client()
    token = csrf_token(anonymous, "/login")
    assert anonymous.post(f"/registrations/{uuid}/cancel",
                          data={"csrf_token": token}).status_code == 404
    assert registrations(app, event.id) == [("owner@example.com", CONFIRMED)]


def test_guest_cancels_from_the_confirmation_page(app):
    event = make_event(app)
    guest = app.test_client()
    register(guest, event.slug, {"full_name": "Gus", "email": "gus@example.com"})
    uuid = registration_uuid(app, "gus@example.com")
    response = post_form(guest, f"/registrations/{uuid}/cancel",
                         page=f"/events/{event.slug}/registration")
    assert response.status_code == 303
    assert registrations(app, event.id) == [("gus@example.com", CANCELLED)]


def test_cancel_redirects_only_to_local_pages(app):
    event = make_event(app)
    client = logged_in(app, "ann@example.com")
    register(client, event.slug)
    uuid = registration_uuid(app, "ann@example.com")
    response = post_form(client, f"/registrations/{uuid}/cancel",
                         {"next": "https://evil.example/"}, page="/account/profile")
    assert response.headers["Location"] == f"/events/{event.slug}/registration"


# --- The event page's registration box


def event_page(client, slug: str) -> str:
    response = client.get(f"/events/{slug}")
    assert response.status_code == 200
    return text_of(response)


def test_event_page_shows_the_register_button_or_the_persons_status(app):
    event = make_event(app, capacity=1, waitlist_enabled=True)
    anonymous = app.test_client()
    assert f'href="/events/{event.slug}/register"' in event_page(anonymous, event.slug)
    assert "1 seat left" in event_page(anonymous, event.slug)

    holder = logged_in(app, "holder@example.com")
    register(holder, event.slug)
    assert "You are registered." in event_page(holder, event.slug)

    waiting = [logged_in(app, f"wait{n}@example.com") for n in range(3)]
    for client in waiting:
        register(client, event.slug)
    assert "Waitlisted — number 3 in line." in event_page(waiting[2], event.slug)
    # Anonymous visitors see that it is full (and may join the line); the cached page
    # changed with the registrations.
    assert "Join the waitlist" in event_page(anonymous, event.slug)


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"capacity": 0, "waitlist_enabled": False}, "This event is full."),
        ({"registration_opens_at": in_days(2)}, "Registration opens"),
        ({"registration_closes_at": in_days(-1)}, "Registration has closed."),
        ({"status": EventStatus.CANCELLED}, "Cancelled event"),
    ],
    ids=["full", "opens", "closed", "cancelled"],
)
def test_event_page_says_why_registration_is_not_possible(app, fields, text):
    event = make_event(app, **fields)
    for client in (app.test_client(), logged_in(app, "ann@example.com")):
        page = event_page(client, event.slug)
        assert text in page
        assert f'href="/events/{event.slug}/register"' not in page


# --- Dashboard


def test_dashboard_lists_my_registrations_with_status_and_cancel(app):
    open_event = make_event(app, title="Open seminar", capacity=5)
    full_event = make_event(app, title="Packed seminar", capacity=1)
    past = make_event(app, title="Old seminar", start_at=in_days(-3), end_at=in_days(-2))
    other = logged_in(app, "other@example.com")
    register(other, full_event.slug)
    client = logged_in(app, "ann@example.com")
    register(client, open_event.slug)
    register(client, full_event.slug)

    def register_in_the_past():
        user = db.session.scalar(sa.select(User).where(User.email == "ann@example.com"))
        db.session.add(Registration(event_id=past.id, user_id=user.id, email=user.email,
                                    status=CONFIRMED, confirmed_at=utcnow()))

    make(app, register_in_the_past)
    page = text_of(client.get("/dashboard"))
    section = page[page.index("attending-heading"):page.index("feed-heading")]
    assert "My registrations" in section
    assert "Open seminar" in section and "Packed seminar" in section
    assert "Old seminar" not in section
    assert "number 1 in line" in section
    assert section.count("Cancel") >= 2

    uuid = registration_uuid(app, "ann@example.com")
    response = post_form(client, f"/registrations/{uuid}/cancel",
                         {"next": "/dashboard"}, page="/dashboard")
    assert response.headers["Location"] == "/dashboard"
    page = text_of(client.get("/dashboard"))
    section = page[page.index("attending-heading"):page.index("feed-heading")]
    assert "Open seminar" not in section  # cancelled: no longer listed


def test_dashboard_runs_the_same_queries_for_2_and_20_registrations(app):
    def build(count):
        me = UserFactory()
        for number in range(count):
            event = EventFactory(start_at=in_days(1 + number), capacity=1)
            status = CONFIRMED if number % 2 else WAITLISTED
            if status == WAITLISTED:
                db.session.add(Registration(event=event, user_id=UserFactory().id,
                                            email=f"x{number}@example.com", status=CONFIRMED))
            db.session.add(Registration(event=event, user_id=me.id, email=me.email,
                                        status=status, confirmed_at=utcnow(),
                                        waitlisted_at=utcnow()))
        return me.email

    counts = []
    for count in (2, 20):
        email = make(app, lambda count=count: build(count))
        client = app.test_client()
        log_in(client, email)
        client.get("/dashboard")  # the first visit makes the feed token
        with app.app_context(), query_counter(db.engine) as statements:
            page = client.get("/dashboard")
            assert page.status_code == 200
        assert text_of(page).count("in line") == count // 2
        counts.append(len(statements))
    assert counts[0] == counts[1]

"""The organizer's attendee page: list, search, filters, pages, counts, chart, CSV, check-in,
cancel / move from the waitlist / add someone (app/registrations/views/roster.py)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.core.types import UTC, utcnow
from app.events.models import (
    CustomFieldType,
    Event,
    EventCustomField,
    EventFormat,
    EventVisibility,
)
from app.extensions import db
from app.registrations import roster
from app.registrations.models import CustomFieldResponse, Registration
from app.registrations.roster import registration_chart, roster_counts, safe_cell
from app.states import EventStatus, RegistrationStatus, UserStatus
from tests.conftest import (
    create_user,
    csrf_token,
    link_in,
    log_in,
    mail_text,
    query_counter,
    read_mail,
)
from tests.factories import EventFactory

CONFIRMED = RegistrationStatus.CONFIRMED
WAITLISTED = RegistrationStatus.WAITLISTED
CANCELLED = RegistrationStatus.CANCELLED
HX = {"HX-Request": "true"}


# --- Helpers


def make_event(app, **fields) -> SimpleNamespace:
    """A published event with an organizer and three questions (a choice, a multiple choice
    and a short text)."""
    organizer = create_user(app, full_name="Olga Organizer")
    with app.test_request_context():
        event = EventFactory(organizer=db.session.get(User, organizer.id), **fields)
        questions = [
            EventCustomField(event=event, label="T-shirt", position=1, options=["S", "M", "L"],
                             field_type=CustomFieldType.SINGLE_CHOICE),
            EventCustomField(event=event, label="Topics", position=2,
                             options=["Ethics", "Research", "Practice"],
                             field_type=CustomFieldType.MULTIPLE_CHOICE),
            EventCustomField(event=event, label="Dietary needs", position=3,
                             field_type=CustomFieldType.SHORT_TEXT),
        ]
        db.session.add_all(questions)
        db.session.commit()
        return SimpleNamespace(
            id=event.id, uuid=event.uuid, slug=event.slug, organizer=organizer,
            fields={q.label: SimpleNamespace(id=q.id, uuid=q.uuid) for q in questions},
        )


def add_registration(app, event, name, status=CONFIRMED, answers=None, created_at=None,
                     email=None, checked_in=False) -> SimpleNamespace:
    """A registration written directly (the seat rules are RegistrationService's tests)."""
    with app.test_request_context():
        user = User(email=email or f"{name.split()[0].lower()}@example.com", full_name=name,
                    status=UserStatus.ACTIVE)
        db.session.add(user)
        db.session.flush()
        now = created_at or utcnow()
        registration = Registration(
            event_id=event.id, user_id=user.id, email=user.email, full_name=name,
            status=status, created_at=now,
            confirmed_at=now if status == CONFIRMED else None,
            waitlisted_at=now if status == WAITLISTED else None,
            cancelled_at=now if status == CANCELLED else None,
            checked_in_at=now if checked_in else None,
        )
        db.session.add(registration)
        db.session.flush()
        for label, values in (answers or {}).items():
            for value in values if isinstance(values, list) else [values]:
                db.session.add(CustomFieldResponse(
                    registration_id=registration.id, field_id=event.fields[label].id,
                    value=value))
        db.session.commit()
        return SimpleNamespace(id=registration.id, uuid=registration.uuid, email=user.email)


def organizer_client(app, event):
    client = app.test_client()
    log_in(client, event.organizer.email)
    return client


def page_url(event, **args) -> str:
    query = "&".join(f"{k}={v}" for k, v in args.items())
    return f"/events/{event.uuid}/attendees" + (f"?{query}" if query else "")


def text(response) -> str:
    return response.get_data(as_text=True)


def post(client, event, path, data=None, headers=None):
    token = csrf_token(client, page_url(event))
    return client.post(path, data={**(data or {}), "csrf_token": token}, headers=headers or {})


def status_of(app, registration) -> tuple:
    with app.app_context():
        row = db.session.get(Registration, registration.id)
        result = (row.status, row.checked_in_at)
        db.session.remove()
        return result


def names_in(page: str, candidates) -> set[str]:
    return {name for name in candidates if name in page}


# --- Permissions


def test_only_the_events_organizers_see_the_page(app):
    event = make_event(app)
    other = create_user(app, email="other@example.com")
    client = app.test_client()
    assert client.get(page_url(event)).headers["Location"].startswith("/login")
    log_in(client, other.email)
    assert client.get(page_url(event)).status_code == 403
    assert client.get(page_url(event) + ".csv").status_code == 403
    assert organizer_client(app, event).get(page_url(event)).status_code == 200


def test_a_registration_of_another_event_is_not_found(app):
    event = make_event(app)
    elsewhere = make_event(app)
    foreign = add_registration(app, elsewhere, "Fay Foreign")
    client = organizer_client(app, event)
    response = post(client, event, f"/events/{event.uuid}/attendees/{foreign.uuid}/cancel")
    assert response.status_code == 404
    assert status_of(app, foreign)[0] == CONFIRMED


# --- The list


def test_the_page_shows_counts_rows_answers_and_positions(app):
    event = make_event(app, capacity=2)
    add_registration(app, event, "Ada Lovelace", answers={"T-shirt": "M",
                                                           "Topics": ["Ethics", "Practice"]})
    add_registration(app, event, "Bob Byte", checked_in=True)
    add_registration(app, event, "Cy Waiting", WAITLISTED)
    add_registration(app, event, "Di Waiting", WAITLISTED)
    add_registration(app, event, "Ed Gone", CANCELLED)
    page = text(organizer_client(app, event).get(page_url(event)))
    assert names_in(page, ["Ada Lovelace", "Bob Byte", "Cy Waiting", "Di Waiting", "Ed Gone"]) \
        == {"Ada Lovelace", "Bob Byte", "Cy Waiting", "Di Waiting", "Ed Gone"}
    assert "T-shirt:</span> M" in page and "Topics:</span> Ethics; Practice" in page
    assert "No. 1 in line" in page and "No. 2 in line" in page and "No. 3 in line" not in page
    counts = page[page.index('id="roster-counts"'):page.index("</dl>")]
    assert "<dt>Confirmed</dt><dd>2</dd>" in counts
    assert "<dt>Waitlisted</dt><dd>2</dd>" in counts
    assert "<dt>Cancelled</dt><dd>1</dd>" in counts
    assert "0 left" in counts
    assert "Checked in" not in counts  # a virtual event has no door
    assert "<svg" in page and "<polyline" in page
    assert 'hx-push-url="true"' in page and "keyup changed delay:350ms" in page


def test_empty_states(app):
    event = make_event(app)
    client = organizer_client(app, event)
    page = text(client.get(page_url(event)))
    assert "No registrations yet" in page and "the chart starts with the first one" in page
    add_registration(app, event, "Ada Lovelace")
    page = text(client.get(page_url(event, q="nobody-like-this")))
    assert "Nobody matches these filters" in page and "Ada Lovelace" not in page
    page = text(client.get(page_url(event, page=7)))
    assert "No more registrations" in page


def test_search_by_name_or_email_answers_htmx_with_the_fragment(app):
    event = make_event(app)
    add_registration(app, event, "Ada Lovelace", email="ada@example.com")
    add_registration(app, event, "Bob Byte", email="bob@code.example")
    add_registration(app, event, "Cy 100% Sure", email="cy@example.com")
    client = organizer_client(app, event)
    response = client.get(page_url(event, q="LOVE"), headers=HX)
    fragment = text(response)
    assert "HX-Request" in response.headers["Vary"]
    assert "<html" not in fragment and fragment.lstrip().startswith('<div id="roster-results"')
    assert names_in(fragment, ["Ada Lovelace", "Bob Byte"]) == {"Ada Lovelace"}
    page = text(client.get(page_url(event, q="code.example")))
    assert names_in(page, ["Ada Lovelace", "Bob Byte"]) == {"Bob Byte"}
    # LIKE wildcards are searched for literally.
    page = text(client.get(page_url(event, q="%25")))
    assert names_in(page, ["Ada Lovelace", "Bob Byte", "Cy 100% Sure"]) == {"Cy 100% Sure"}


def test_filter_by_status_and_by_answers(app):
    event = make_event(app)
    add_registration(app, event, "Ada Lovelace", answers={
        "T-shirt": "M", "Topics": ["Ethics", "Research"], "Dietary needs": "Vegan please"})
    add_registration(app, event, "Bob Byte", WAITLISTED, answers={
        "T-shirt": "L", "Topics": ["Research"]})
    add_registration(app, event, "Cy Cancel", CANCELLED, answers={"T-shirt": "M"})
    client = organizer_client(app, event)
    everyone = ["Ada Lovelace", "Bob Byte", "Cy Cancel"]

    def shown(**args):
        return names_in(text(client.get(page_url(event, **args))), everyone)

    assert shown(status="waitlisted") == {"Bob Byte"}
    assert shown(status="cancelled") == {"Cy Cancel"}
    shirt, topics, diet = (event.fields[k].uuid for k in ("T-shirt", "Topics", "Dietary needs"))
    assert shown(field=shirt, answer="M") == {"Ada Lovelace", "Cy Cancel"}
    assert shown(field=shirt, answer="M", status="confirmed") == {"Ada Lovelace"}
    assert shown(field=topics, answer="Research") == {"Ada Lovelace", "Bob Byte"}
    assert shown(field=diet, answer="vegan") == {"Ada Lovelace"}
    # Picking a question shows its options to choose from.
    page = text(client.get(page_url(event, field=shirt)))
    assert '<select id="roster-answer" name="answer">' in page and '<option value="L"' in page


def test_filters_that_cannot_be_read_are_dropped_with_a_message(app):
    event = make_event(app)
    add_registration(app, event, "Ada Lovelace", answers={"T-shirt": "M"})
    client = organizer_client(app, event)
    page = text(client.get(page_url(event, status="bogus")))
    assert "Choose a status from the list." in page and "Ada Lovelace" in page
    page = text(client.get(page_url(event, field="not-a-uuid", answer="M")))
    assert "That question does not exist" in page and "Ada Lovelace" in page
    page = text(client.get(page_url(event, field=event.fields["T-shirt"].uuid, answer="XXL")))
    assert "Choose an answer from the list." in page and "Ada Lovelace" in page
    other = make_event(app)  # another event's question is not this event's
    page = text(client.get(page_url(event, field=other.fields["T-shirt"].uuid, answer="M")))
    assert "That question does not exist" in page


def test_pages_of_25_keep_the_filters_in_their_links(app):
    event = make_event(app)
    start = utcnow() - timedelta(days=3)
    for n in range(30):
        add_registration(app, event, f"Person {n:02}", email=f"p{n}@example.com",
                         created_at=start + timedelta(minutes=n))
    client = organizer_client(app, event)
    first = text(client.get(page_url(event, q="person")))
    assert "Person 00" in first and "Person 24" in first and "Person 25" not in first
    assert f'href="/events/{event.uuid}/attendees?q=person&amp;page=2"' in first
    second = text(client.get(page_url(event, q="person", page=2)))
    assert "Person 25" in second and "Person 29" in second and "Person 24" not in second
    assert 'rel="next"' not in second and 'rel="prev"' in second


def test_the_page_runs_the_same_number_of_queries_with_2_and_20_registrations(app):
    counts = []
    for size in (2, 20):
        event = make_event(app, format=EventFormat.IN_PERSON)
        for n in range(size):
            add_registration(
                app, event, f"Person {n:02} of {size}", email=f"p{n}-{size}@example.com",
                status=WAITLISTED if n % 3 == 0 else CONFIRMED,
                answers={"T-shirt": "S", "Topics": ["Ethics", "Research"]},
                created_at=utcnow() - timedelta(days=n),
            )
        client = organizer_client(app, event)
        client.get(page_url(event))  # warm up
        with app.app_context():
            engine = db.engine
        with query_counter(engine) as statements:
            response = client.get(page_url(event))
        assert response.status_code == 200
        assert f"Person {size - 1:02} of {size}" in text(response)
        with query_counter(engine) as htmx_statements:
            client.get(page_url(event, q="person"), headers=HX)
        counts.append((len(statements), len(htmx_statements)))
    assert counts[0] == counts[1], counts


# --- Counts and chart


def test_counts(app, ctx):
    event = make_event(app, capacity=10, format=EventFormat.HYBRID)
    for name, status, checked in [("A a", CONFIRMED, True), ("B b", CONFIRMED, False),
                                  ("C c", WAITLISTED, False), ("D d", CANCELLED, True)]:
        add_registration(app, event, name, status, checked_in=checked)
    counts = roster_counts(db.session.get(Event, event.id))
    assert (counts.confirmed, counts.waitlisted, counts.cancelled) == (2, 1, 1)
    assert counts.checked_in == 1  # a cancelled person who had checked in does not count
    assert (counts.capacity, counts.seats_left, counts.total) == (10, 8, 4)


def test_the_chart_is_cumulative_per_day_in_the_events_timezone(app, ctx):
    event = make_event(app, timezone="America/New_York")
    # 03:00 UTC on the 2nd is still the 1st in New York.
    moments = [datetime(2026, 3, 2, 3, 0, tzinfo=UTC), datetime(2026, 3, 2, 15, 0, tzinfo=UTC),
               datetime(2026, 3, 2, 16, 0, tzinfo=UTC), datetime(2026, 3, 4, 12, 0, tzinfo=UTC)]
    for n, moment in enumerate(moments):
        add_registration(app, event, f"P{n} x", email=f"p{n}@example.com", created_at=moment,
                         status=CANCELLED if n == 1 else CONFIRMED)
    chart = registration_chart(db.session.get(Event, event.id), until=date(2026, 3, 5))
    assert [(p.day.day, p.total) for p in chart.points] == [
        (1, 1), (2, 3), (3, 3), (4, 4), (5, 4)]
    assert chart.total == 4
    xs = [p.x for p in chart.points]
    assert xs == sorted(xs) and xs[0] == chart.padding and xs[-1] == chart.width - chart.padding
    assert chart.points[-1].y == chart.padding  # the top is the total
    assert len(chart.polyline.split()) == 5


def test_the_chart_of_an_event_without_registrations_is_empty(app, ctx):
    event = make_event(app)
    chart = registration_chart(db.session.get(Event, event.id))
    assert chart.is_empty and chart.total == 0 and chart.polyline == ""


# --- CSV


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text(response))))


def test_csv_has_a_column_per_question_and_follows_the_filters(app, monkeypatch):
    monkeypatch.setattr(roster, "CSV_BATCH", 2)  # several batches with a few rows
    event = make_event(app, capacity=3)
    for n in range(4):
        add_registration(app, event, f"Person {n} x", email=f"p{n}@example.com",
                         answers={"T-shirt": "M", "Topics": ["Ethics", "Practice"]})
    add_registration(app, event, "Wai Ting", WAITLISTED, answers={"Dietary needs": "None"})
    client = organizer_client(app, event)
    response = client.get(page_url(event) + ".csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv" and response.is_streamed
    assert "attachment" in response.headers["Content-Disposition"]
    rows = read_csv(response)
    assert rows[0] == ["Name", "Email", "Status", "Waitlist position", "Registered at",
                       "Confirmed at", "Cancelled at", "Checked in at", "T-shirt", "Topics",
                       "Dietary needs"]
    assert len(rows) == 6
    assert rows[1][:3] == ["Person 0 x", "p0@example.com", "confirmed"]
    assert rows[1][8:] == ["M", "Ethics; Practice", ""]
    assert rows[5][:4] == ["Wai Ting", "wai@example.com", "waitlisted", "1"]
    assert rows[5][8:] == ["", "", "None"]
    assert datetime.fromisoformat(rows[1][4]).tzinfo is not None
    filtered = read_csv(client.get(f"/events/{event.uuid}/attendees.csv?status=waitlisted"))
    assert [row[0] for row in filtered[1:]] == ["Wai Ting"]


def test_csv_guards_against_formula_injection(app):
    event = make_event(app)
    add_registration(app, event, "=HYPERLINK(\"http://evil\")", email="eve@example.com",
                     answers={"Dietary needs": "+1 cmd|' /C calc'!A0",
                              "T-shirt": "S"})
    add_registration(app, event, "@SUM(A1)", email="sum@example.com",
                     answers={"Dietary needs": "-2+3"})
    rows = read_csv(organizer_client(app, event).get(page_url(event) + ".csv"))
    assert rows[1][0] == "'=HYPERLINK(\"http://evil\")"
    assert rows[1][10] == "'+1 cmd|' /C calc'!A0"
    assert rows[2][0] == "'@SUM(A1)" and rows[2][10] == "'-2+3"
    assert safe_cell("plain") == "plain" and safe_cell(None) == "" and safe_cell(3) == "3"
    assert safe_cell("\t=1") == "'\t=1"


# --- Check-in


def check_in(client, event, registration, htmx=False):
    return post(client, event,
                f"/events/{event.uuid}/attendees/{registration.uuid}/check-in",
                headers=HX if htmx else None)


def test_check_in_toggles_for_in_person_events_with_a_row_swap(app):
    event = make_event(app, format=EventFormat.IN_PERSON)
    ada = add_registration(app, event, "Ada Lovelace")
    client = organizer_client(app, event)
    assert 'Check in<span class="visually-hidden"> Ada Lovelace' in text(
        client.get(page_url(event)))
    response = check_in(client, event, ada, htmx=True)
    fragment = text(response)
    assert response.status_code == 200
    assert fragment.lstrip().startswith(f'<tr id="registration-{ada.uuid}"')
    assert 'aria-pressed="true"' in fragment
    assert 'hx-swap-oob="true"' in fragment and "<dt>Checked in</dt><dd>1 " in fragment
    assert status_of(app, ada)[1] is not None
    check_in(client, event, ada, htmx=True)  # pressed again: undone
    assert status_of(app, ada)[1] is None


def test_check_in_works_for_hybrid_events_without_htmx(app):
    event = make_event(app, format=EventFormat.HYBRID)
    ada = add_registration(app, event, "Ada Lovelace")
    response = check_in(organizer_client(app, event), event, ada)
    assert response.status_code == 303
    assert status_of(app, ada)[1] is not None


@pytest.mark.parametrize(
    ("event_format", "status", "message"),
    [
        (EventFormat.VIRTUAL, CONFIRMED, "Check-in is for in-person and hybrid events"),
        (EventFormat.IN_PERSON, WAITLISTED, "Only confirmed registrations can check in"),
        (EventFormat.IN_PERSON, CANCELLED, "Only confirmed registrations can check in"),
    ],
)
def test_check_in_is_refused_with_a_message(app, event_format, status, message):
    event = make_event(app, format=event_format)
    person = add_registration(app, event, "Ada Lovelace", status)
    client = organizer_client(app, event)
    response = check_in(client, event, person, htmx=True)
    assert message in text(response)
    assert text(response).lstrip().startswith(f'<tr id="registration-{person.uuid}"')
    assert status_of(app, person) == (status, None)
    response = check_in(client, event, person)
    assert response.status_code == 303
    assert message in text(client.get(response.headers["Location"]))


# --- Cancel, move from the waitlist, add someone


def test_cancelling_promotes_the_first_in_line_who_is_emailed(app):
    event = make_event(app, capacity=1)
    ada = add_registration(app, event, "Ada Lovelace")
    bob = add_registration(app, event, "Bob Byte", WAITLISTED)
    cy = add_registration(app, event, "Cy Later", WAITLISTED)
    client = organizer_client(app, event)
    response = post(client, event, f"/events/{event.uuid}/attendees/{ada.uuid}/cancel",
                    data={"status": "waitlisted"}, headers=HX)
    fragment = text(response)
    assert response.status_code == 200
    assert "The registration of Ada Lovelace is cancelled." in fragment
    assert "Bob Byte moved up from the waitlist" in fragment
    # The list comes back with the filters that were included (waitlisted only).
    assert f'id="registration-{cy.uuid}"' in fragment
    assert f'id="registration-{bob.uuid}"' not in fragment
    assert 'id="roster-counts" class="roster-counts" hx-swap-oob="true"' in fragment
    assert status_of(app, ada)[0] == CANCELLED
    assert status_of(app, bob)[0] == CONFIRMED
    assert status_of(app, cy)[0] == WAITLISTED
    mail = read_mail(app)
    assert [m["To"] for m in mail] == [bob.email]
    assert "A seat freed up" in mail[0]["Subject"]
    # Cancelling twice is harmless.
    again = post(client, event, f"/events/{event.uuid}/attendees/{ada.uuid}/cancel")
    assert again.status_code == 303 and len(read_mail(app)) == 1


def test_moving_from_the_waitlist_is_refused_when_full(app):
    event = make_event(app, capacity=1)
    add_registration(app, event, "Ada Lovelace")
    bob = add_registration(app, event, "Bob Byte", WAITLISTED)
    client = organizer_client(app, event)
    url = f"/events/{event.uuid}/attendees/{bob.uuid}/promote"
    response = post(client, event, url)
    assert response.status_code == 303
    assert "The event is full" in text(client.get(response.headers["Location"]))
    assert status_of(app, bob)[0] == WAITLISTED
    with app.app_context():
        db.session.get(Event, event.id).capacity = 2
        db.session.commit()
    response = post(client, event, url, headers=HX)
    assert "Bob Byte has a seat now" in text(response)
    assert status_of(app, bob)[0] == CONFIRMED
    assert [m["To"] for m in read_mail(app)] == [bob.email]


def add(client, event, name, email):
    return post(client, event, f"/events/{event.uuid}/attendees/add",
                data={"full_name": name, "email": email})


def test_adding_someone_creates_an_invited_account_registers_and_emails_them(app):
    event = make_event(app, capacity=1, visibility=EventVisibility.PRIVATE)
    client = organizer_client(app, event)
    response = add(client, event, "New Person", "New.Person@Example.com")
    assert response.status_code == 303
    page = text(client.get(response.headers["Location"]))
    assert "New Person is registered" in page
    assert "also emailed a link to choose a password" in page
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "new.person@example.com"))
        assert user.status == UserStatus.INVITED
        registration = db.session.scalar(sa.select(Registration).where(
            Registration.user_id == user.id))
        assert registration.status == CONFIRMED and registration.event_id == event.id
    mail = read_mail(app)
    assert [m["To"] for m in mail] == ["new.person@example.com"] * 2
    assert sorted(m["Subject"].split(" ")[0] for m in mail) == ["Choose", "You"]
    (welcome,) = [m for m in mail if m["Subject"].startswith("Choose")]
    assert link_in(welcome, "/reset-password/")
    # The event is full now: the next person goes on the waitlist.
    response = add(client, event, "Late Comer", "late@example.com")
    assert "on the waitlist" in text(client.get(response.headers["Location"]))


def test_adding_someone_with_an_account_registers_that_account(app):
    event = make_event(app)
    known = create_user(app, email="known@example.com", full_name="Kim Known")
    client = organizer_client(app, event)
    response = add(client, event, "Kim K.", "KNOWN@example.com")
    assert response.status_code == 303
    assert "also emailed a link" not in text(client.get(response.headers["Location"]))
    with app.app_context():
        registration = db.session.scalar(sa.select(Registration))
        assert registration.user_id == known.id and registration.status == CONFIRMED
    assert [m["Subject"].split(" ")[0] for m in read_mail(app)] == ["You"]


def test_adding_someone_twice_or_badly_is_refused_with_a_message(app):
    event = make_event(app)
    add_registration(app, event, "Ada Lovelace", email="ada@example.com")
    client = organizer_client(app, event)
    response = add(client, event, "Ada again", "ADA@example.com")
    assert response.status_code == 422
    assert "ada@example.com is already registered (confirmed)." in text(response)
    response = add(client, event, "", "not-an-email")
    assert response.status_code == 422
    assert "field-error" in text(response)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Registration.id))) == 1
    assert read_mail(app) == []


def test_adding_someone_follows_the_registration_window(app):
    event = make_event(app, registration_closes_at=utcnow() - timedelta(hours=1))
    response = add(organizer_client(app, event), event, "Late Person", "late@example.com")
    assert response.status_code == 422
    assert "Registration for this event has closed." in text(response)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Registration.id))) == 0
        # Nothing half-written: no account, no membership.
        assert db.session.scalar(sa.select(User).where(User.email == "late@example.com")) \
            is None


def test_a_cancelled_event_refuses_check_in(app):
    event = make_event(app, format=EventFormat.IN_PERSON)
    ada = add_registration(app, event, "Ada Lovelace")
    with app.app_context():
        db.session.get(Event, event.id).status = EventStatus.CANCELLED
        db.session.commit()
    response = check_in(organizer_client(app, event), event, ada, htmx=True)
    assert "nobody can check in" in text(response)
    assert status_of(app, ada)[1] is None


# --- The admin panel


def test_admins_search_and_filter_registrations_and_messages(app):
    event = make_event(app)
    add_registration(app, event, "Ada Lovelace", email="ada@example.com")
    add_registration(app, event, "Bob Byte", WAITLISTED, email="bob@example.com")
    admin = create_user(app, email="admin@example.com", is_admin=True)
    client = app.test_client()
    log_in(client, admin.email)
    page = text(client.get("/admin/registration/?search=lovelace"))
    assert "ada@example.com" in page and "bob@example.com" not in page
    assert "/admin/registration/new/" not in page
    page = text(client.get("/admin/registration/"))
    assert "ada@example.com" in page and "bob@example.com" in page
    assert client.get("/admin/attendeemessage/").status_code == 200
    assert client.get("/admin/registration/new/").status_code == 302


def test_the_promoted_person_is_told_which_event(app):
    event = make_event(app, capacity=1)
    ada = add_registration(app, event, "Ada Lovelace")
    add_registration(app, event, "Bob Byte", WAITLISTED)
    post(organizer_client(app, event), event, f"/events/{event.uuid}/attendees/{ada.uuid}/cancel")
    (message,) = read_mail(app)
    assert "Clinical update" in mail_text(message)

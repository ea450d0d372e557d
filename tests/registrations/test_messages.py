"""“Email attendees”: validation, sandboxed preview, sending one message per recipient
(app/registrations/messages.py, app/registrations/views/roster.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.core.errors import ValidationError
from app.core.types import utcnow
from app.events.models import Event, EventFormat
from app.extensions import db
from app.mailing.models import EmailLog
from app.registrations.messages import (
    RENDERED_MAX,
    check_templates,
    render_for,
    send_attendee_message,
)
from app.registrations.models import AttendeeMessage
from app.states import RegistrationStatus
from tests.conftest import csrf_token, mail_text, read_mail
from tests.registrations.test_roster import (
    HX,
    add_registration,
    make_event,
    organizer_client,
    text,
)

CONFIRMED = RegistrationStatus.CONFIRMED
WAITLISTED = RegistrationStatus.WAITLISTED
CANCELLED = RegistrationStatus.CANCELLED


def messages_url(event) -> str:
    return f"/events/{event.uuid}/messages"


def submit(client, event, path="", headers=None, **data):
    token = csrf_token(client, messages_url(event))
    form = {"audience": "confirmed", "subject": "", "body": "", **data, "csrf_token": token}
    return client.post(messages_url(event) + path, data=form, headers=headers or {})


def stored_messages(app) -> int:
    with app.app_context():
        count = db.session.scalar(sa.select(sa.func.count(AttendeeMessage.id)))
        db.session.remove()
        return count


@pytest.fixture
def event(app):
    event = make_event(app, format=EventFormat.IN_PERSON)
    add_registration(app, event, "Ada Lovelace", email="ada@example.com", checked_in=True)
    add_registration(app, event, "Bob Byte", email="bob@example.com")
    add_registration(app, event, "Cy Waiting", WAITLISTED, email="cy@example.com")
    add_registration(app, event, "Di Gone", CANCELLED, email="di@example.com")
    return event


def test_the_page_shows_the_form_audience_sizes_and_an_empty_history(app, event):
    page = text(organizer_client(app, event).get(messages_url(event)))
    assert "Confirmed attendees (2)" in page
    assert "People on the waitlist (1)" in page
    assert "Checked-in attendees (1)" in page
    assert "Everyone registered (confirmed and waitlisted) (3)" in page
    assert "{{ attendee_name }}" in page
    assert "No messages yet." in page


def test_template_problems_are_shown_with_the_line_and_nothing_is_sent(app, event):
    client = organizer_client(app, event)
    response = submit(client, event, subject="Hello {{ attendee_nam }}",
                      body="Line one\n{% if %}\n")
    page = text(response)
    assert response.status_code == 422
    assert "Unknown variable: attendee_nam." in page
    assert "Line 2:" in page
    assert stored_messages(app) == 0 and read_mail(app) == []
    response = submit(client, event, subject="", body="")
    assert response.status_code == 422 and "This field is required." in text(response)


def test_check_templates_reuses_the_email_template_validator():
    assert check_templates("Hi {{ attendee_name }}", "{{ event_title }} {{ event_url }}") == {}
    errors = check_templates("{{ user.password }}", "{% for %}")
    assert errors["subject"] == [
        "Unknown variable: user. Available: attendee_email, attendee_name, event_end, "
        "event_location, event_start, event_title, event_url, organizer_name."
    ]
    assert errors["body"][0].startswith("Line 1:")
    assert "subject" in check_templates("x" * 201, "body")


def test_preview_renders_for_the_first_recipient_without_sending(app, event):
    client = organizer_client(app, event)
    response = submit(client, event, "/preview", headers=HX, audience="waitlisted",
                      subject="Hi {{ attendee_name }}",
                      body="Dear {{ attendee_name }},\n{{ event_title }} at {{ event_location }}"
                           " starts {{ event_start }}.\n{{ event_url }}")
    fragment = text(response)
    assert response.status_code == 200
    assert fragment.lstrip().startswith('<div id="message-preview"')
    assert "As Cy Waiting would receive it." in fragment
    assert "Hi Cy Waiting" in fragment and "Dear Cy Waiting," in fragment
    assert "Clinical update" in fragment and "at To be announced starts" in fragment
    assert f"http://localhost/events/{event.slug}" in fragment
    assert stored_messages(app) == 0 and read_mail(app) == []


def test_preview_shows_problems_and_uses_a_sample_for_an_empty_audience(app):
    event = make_event(app)
    client = organizer_client(app, event)
    fragment = text(submit(client, event, "/preview", headers=HX,
                           subject="Hi", body="{{ nope }}"))
    assert "cannot be previewed yet" in fragment and "Unknown variable: nope." in fragment
    fragment = text(submit(client, event, "/preview", headers=HX,
                           subject="Hi", body="Hello {{ attendee_name }}"))
    assert "As Alex Example would receive it." in fragment and "Hello Alex Example" in fragment


def test_sending_records_the_message_and_emails_each_recipient_their_copy(app, event):
    client = organizer_client(app, event)
    response = submit(client, event, audience="confirmed",
                      subject="See you, {{ attendee_name }}",
                      body="Hello {{ attendee_name }},\nDoors open at 8.\n"
                           "= from {{ organizer_name }}")
    assert response.status_code == 303
    page = text(client.get(response.headers["Location"]))
    assert "Your message is on its way to 2 people." in page
    # The history shows the subject as sent; what differs per person stays a placeholder.
    assert "See you, {{ attendee_name }}" in page
    assert "Confirmed attendees · 2 people" in page
    mail = sorted(read_mail(app), key=lambda m: m["To"])
    assert [m["To"] for m in mail] == ["ada@example.com", "bob@example.com"]
    assert mail[0]["Subject"] == "See you, Ada Lovelace"
    body = mail_text(mail[1])
    assert "Hello Bob Byte,\nDoors open at 8.\n= from Olga Organizer" in body
    assert "because you registered for" in body
    with app.app_context():
        message = db.session.scalar(sa.select(AttendeeMessage))
        assert (message.audience, message.recipient_count) == ("confirmed", 2)
        assert message.sent_by_id == event.organizer.id


@pytest.mark.parametrize(
    ("audience", "recipients"),
    [
        ("waitlisted", ["cy@example.com"]),
        ("checked_in", ["ada@example.com"]),
        ("everyone", ["ada@example.com", "bob@example.com", "cy@example.com"]),
    ],
)
def test_each_audience_reaches_its_people(app, event, audience, recipients):
    client = organizer_client(app, event)
    response = submit(client, event, audience=audience, subject="News", body="Hello")
    assert response.status_code == 303
    assert sorted(m["To"] for m in read_mail(app)) == recipients


def test_an_empty_audience_or_an_unknown_one_is_refused(app):
    event = make_event(app)
    add_registration(app, event, "Ada Lovelace")
    client = organizer_client(app, event)
    response = submit(client, event, audience="waitlisted", subject="News", body="Hello")
    assert response.status_code == 422
    assert "Nobody is in this group yet" in text(response)
    response = submit(client, event, audience="everyone-ever", subject="News", body="Hello")
    assert response.status_code == 422 and "Not a valid choice" in text(response)
    assert stored_messages(app) == 0 and read_mail(app) == []


@pytest.mark.parametrize(
    "body",
    [
        "{% for i in range(10000) %}{{ attendee_name }}{% endfor %}",
        "{{ attendee_name * 1000000 }}",
        "{{ 9 ** (9 ** 9) }}",
    ],
)
def test_a_template_that_expands_too_far_is_refused(app, event, body):
    response = submit(organizer_client(app, event), event, subject="Big", body=body)
    assert response.status_code == 422
    page = text(response)
    assert "more than" in page or "too large" in page
    assert stored_messages(app) == 0 and read_mail(app) == []


def test_the_sandbox_refuses_unsafe_access():
    context = {"attendee_name": "Ada", "event_title": "T"}
    with pytest.raises(ValidationError):
        render_for("Hi", "{{ event_title.__class__.__mro__ }}", context)
    with pytest.raises(ValidationError):
        render_for("Hi", "{{ event_title.upper.__globals__ }}", context)
    rendered = render_for("Hi   {{ attendee_name }}\nBcc: x@example.com", "ok", context)
    assert rendered.subject == "Hi Ada Bcc: x@example.com"  # one line: no header injection
    assert len(render_for("s", "x" * 10, context).body) < RENDERED_MAX


def test_the_job_skips_people_who_registered_after_the_message(app, event):
    with app.app_context():
        message = AttendeeMessage(event_id=event.id, sent_by_id=event.organizer.id,
                                  audience="confirmed", subject="Hi {{ attendee_name }}",
                                  body="Body", recipient_count=2)
        db.session.add(message)
        db.session.commit()
        message_id = message.id
        db.session.remove()
    add_registration(app, event, "Late Comer", email="late@example.com",
                     created_at=utcnow() + timedelta(minutes=1))
    with app.app_context():
        send_attendee_message(message_id)
        assert sorted(db.session.scalars(sa.select(EmailLog.recipient))) == [
            "ada@example.com", "bob@example.com"]
        assert sorted(db.session.scalars(sa.select(EmailLog.template_name).distinct())) == [
            "attendee_message"]
        db.session.rollback()
        db.session.remove()


def test_the_history_shows_the_subject_with_the_events_values(app, event):
    client = organizer_client(app, event)
    response = submit(client, event, subject="News about {{ event_title }} by "
                      "{{ organizer_name }}, {{ attendee_name }}", body="Hello")
    assert response.status_code == 303
    with app.app_context():
        title = db.session.scalar(sa.select(Event.title).where(Event.id == event.id))
    page = text(client.get(messages_url(event)))
    assert f"News about {title} by Olga Organizer, {{{{ attendee_name }}}}" in page
    assert "{{ event_title }}" not in page.split("history-heading")[1]


def test_one_recipient_whose_copy_cannot_render_is_skipped_and_logged(app, event, caplog):
    """The check before sending renders for the first recipient only: a copy that fails
    for someone else (here a value too large built from their name) is not sent to them,
    with an error in the log, and the others get theirs."""
    body = ("{% if attendee_name == 'Bob Byte' %}"
            "{{ (attendee_name * 1000)|replace('B', 'x' * 99999)|length }}"
            "{% else %}Hello {{ attendee_name }}{% endif %}")
    response = submit(organizer_client(app, event), event, subject="News", body=body)
    assert response.status_code == 303
    assert [m["To"] for m in read_mail(app)] == ["ada@example.com"]
    [record] = [r for r in caplog.records if "not sent to registration" in r.getMessage()]
    assert record.levelname == "ERROR"
    assert "builds a value that is too large" in record.getMessage()


def test_the_history_runs_the_same_number_of_queries_with_2_and_20_messages(app):
    from tests.conftest import create_user, query_counter

    counts = []
    for size in (2, 20):
        event = make_event(app)
        add_registration(app, event, f"Ada {size}", email=f"ada{size}@example.com")
        senders = [create_user(app, email=f"s{n}-{size}@example.com", full_name=f"Sender {n}")
                   for n in range(3)]
        with app.app_context():
            db.session.add_all([
                AttendeeMessage(event_id=event.id, sent_by_id=senders[n % 3].id,
                                audience="confirmed", subject=f"Subject {n:02}", body="Body",
                                recipient_count=1)
                for n in range(size)
            ])
            db.session.commit()
            engine = db.engine
        client = organizer_client(app, event)
        client.get(messages_url(event))  # warm up
        with query_counter(engine) as statements:
            page = text(client.get(messages_url(event)))
        assert f"Subject {size - 1:02}" in page and "Sender 1" in page
        counts.append(len(statements))
    assert counts[0] == counts[1], counts

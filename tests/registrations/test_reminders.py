"""Reminders: defaults, the organizer's page (add, delete), rescheduling, and which reminders
the tick sends (issue 4 "Reminders"). Exactly-once under concurrency: test_reminders_once.py."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.core.types import utcnow
from app.events.models import Event, EventFormat
from app.events.services import EventDetails, EventService
from app.extensions import db
from app.jobs import periodic_tasks
from app.mailing.models import EmailLog
from app.registrations.jobs import enqueue_due_reminders, send_reminder
from app.registrations.models import EventReminder, Registration, ReminderDelivery
from app.registrations.reminders import DAY, HOUR, ReminderService, describe_offset
from app.states import EventStatus, RegistrationStatus
from tests.conftest import create_user, csrf_token, log_in, mail_text, query_counter, read_mail
from tests.factories import EventFactory, UserFactory, in_days


@pytest.fixture
def organizer(app, client):
    person = create_user(app, email="olga@example.com", full_name="Olga Organizer")
    log_in(client, person.email)
    return person


def reminders_of(event_id: int) -> dict[int, EventReminder]:
    rows = db.session.scalars(
        sa.select(EventReminder).where(EventReminder.event_id == event_id)
    ).all()
    return {r.offset_minutes: r for r in rows}


def details(start, title="Clinic day") -> EventDetails:
    return EventDetails(title=title, start_at=start, end_at=start + timedelta(hours=3),
                        timezone="Europe/London", format=EventFormat.VIRTUAL)


def attendees(event, count: int, status=RegistrationStatus.CONFIRMED) -> list[Registration]:
    rows = []
    for _ in range(count):
        user = UserFactory()
        rows.append(Registration(event=event, user_id=user.id, email=user.email,
                                 full_name=user.full_name, status=status,
                                 confirmed_at=utcnow()))
    db.session.add_all(rows)
    db.session.flush()
    return rows


def reminder_mails(event_id: int | None = None) -> list[str]:
    return list(db.session.scalars(
        sa.select(EmailLog.recipient).where(EmailLog.template_name == "event_reminder")
        .order_by(EmailLog.recipient)
    ))


# --- Defaults and the reminder's send time


def test_a_new_event_gets_the_default_reminders(ctx):
    organizer = UserFactory()
    start = in_days(30, 14)
    event = EventService.create(organizer, details(start))
    reminders = reminders_of(event.id)
    assert sorted(reminders) == [HOUR, DAY, 7 * DAY]
    assert reminders[7 * DAY].send_at == start - timedelta(days=7)
    assert reminders[DAY].send_at == start - timedelta(days=1)
    assert reminders[HOUR].send_at == start - timedelta(hours=1)
    assert all(r.enqueued_at is None for r in reminders.values())


def test_defaults_whose_time_has_passed_are_left_out(ctx):
    event = EventService.create(UserFactory(), details(utcnow() + timedelta(days=2)))
    assert sorted(reminders_of(event.id)) == [HOUR, DAY]
    soon = EventService.create(UserFactory(), details(utcnow() + timedelta(minutes=30)))
    assert reminders_of(soon.id) == {}


def test_offsets_read_as_people_say_them(ctx):
    assert describe_offset(7 * DAY) == "7 days"
    assert describe_offset(DAY) == "1 day"
    assert describe_offset(HOUR) == "1 hour"
    assert describe_offset(90) == "90 minutes"
    assert describe_offset(1) == "1 minute"


# --- Rescheduling


def test_rescheduling_moves_pending_reminders_and_leaves_sent_ones(ctx):
    event = EventService.create(UserFactory(), details(in_days(30, 14)))
    reminders = reminders_of(event.id)
    sent_at = reminders[7 * DAY].send_at
    reminders[7 * DAY].enqueued_at = utcnow()  # already sent
    db.session.flush()

    new_start = event.start_at + timedelta(days=3, hours=2)
    event.reschedule(new_start, new_start + (event.end_at - event.start_at))
    db.session.flush()

    reminders = reminders_of(event.id)
    assert reminders[7 * DAY].send_at == sent_at
    assert reminders[DAY].send_at == new_start - timedelta(days=1)
    assert reminders[HOUR].send_at == new_start - timedelta(hours=1)


def test_changing_the_start_in_the_event_form_moves_pending_reminders(ctx):
    organizer = UserFactory()
    event = EventService.create(organizer, details(in_days(30, 14)))
    new_start = event.start_at - timedelta(days=10)
    EventService.update(event, details(new_start))
    reminders = reminders_of(event.id)
    assert {offset: r.send_at for offset, r in reminders.items()} == {
        offset: new_start - timedelta(minutes=offset) for offset in (7 * DAY, DAY, HOUR)
    }


def test_the_reschedule_page_moves_the_reminders(app, client, organizer):
    with app.app_context():
        event = EventService.create(db.session.get(User, organizer.id), details(in_days(30, 9)))
        event.publish(None)
        db.session.commit()
        event_uuid, event_id = event.uuid, event.id
    path = f"/events/{event_uuid}/reschedule"
    response = client.post(path, data={"csrf_token": csrf_token(client, path),
                                       "start_at": in_days(40, 9).strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 303
    with app.app_context():
        event = db.session.get(Event, event_id)
        assert {o: r.send_at for o, r in reminders_of(event_id).items()} == {
            o: event.start_at - timedelta(minutes=o) for o in (7 * DAY, DAY, HOUR)
        }


# --- The page


def reminders_path(event_uuid) -> str:
    return f"/events/{event_uuid}/reminders"


def make_event(app, organizer, **fields):
    with app.app_context():
        event = EventFactory(organizer=db.session.get(User, organizer.id), **fields)
        db.session.commit()
        return event.uuid, event.id


def add(client, event_uuid, **data):
    token = csrf_token(client, reminders_path(event_uuid))
    return client.post(reminders_path(event_uuid), data={"csrf_token": token, **data})


def test_the_page_lists_reminders_with_their_time_and_state(app, client, organizer):
    event_uuid, event_id = make_event(app, organizer, timezone="America/New_York",
                                      start_at=in_days(3, 15))
    with app.app_context():
        event = db.session.get(Event, event_id)
        ReminderService.add(event, DAY)
        sent = ReminderService.add(event, 2 * DAY)
        sent.enqueued_at = utcnow()
        people = attendees(event, 3)
        db.session.add_all(ReminderDelivery(reminder_id=sent.id, registration_id=r.id)
                           for r in people[:2])
        db.session.commit()
        day_before = (event.start_at - timedelta(days=1)).astimezone(event.tzinfo)

    page = client.get(reminders_path(event_uuid)).get_data(as_text=True)
    assert "America/New York" in page
    # The send time is in the event's timezone (15:00 UTC is 10:00 in New York in winter
    # and 11:00 in summer).
    assert day_before.strftime("%H:%M") in page
    assert "1 day" in page and "2 days" in page
    assert "2 attendees received it" in page
    assert page.count(">Pending<") == 1
    assert page.count(">Delete<") == 1  # the sent one stays


def test_an_event_without_reminders_says_so(app, client, organizer):
    event_uuid, _ = make_event(app, organizer)
    page = client.get(reminders_path(event_uuid)).get_data(as_text=True)
    assert "No reminders: attendees get no email before the event." in page
    assert f'href="/events/{event_uuid}/reminders" aria-current="page"' in page


def test_adding_a_preset_and_a_custom_time(app, client, organizer):
    event_uuid, event_id = make_event(app, organizer, start_at=in_days(10, 9))
    assert add(client, event_uuid, preset=str(3 * DAY)).status_code == 303
    assert add(client, event_uuid, preset="custom", amount="90",
               unit="minutes").status_code == 303
    response = add(client, event_uuid, preset="custom", amount="2", unit="days")
    assert response.status_code == 303
    page = client.get(reminders_path(event_uuid)).get_data(as_text=True)
    assert "Attendees will be reminded 2 days before the start." in page
    with app.app_context():
        event = db.session.get(Event, event_id)
        reminders = reminders_of(event_id)
        assert sorted(reminders) == [90, 2 * DAY, 3 * DAY]
        assert reminders[90].send_at == event.start_at - timedelta(minutes=90)


@pytest.mark.parametrize(("data", "message"), [
    ({}, "Choose when the reminder goes out."),
    ({"preset": "custom"}, "Enter how long before the start."),
    ({"preset": "custom", "amount": "0", "unit": "hours"}, "a whole number from 1 to 100000"),
    ({"preset": "12345"}, "Not a valid choice"),
    ({"preset": "custom", "amount": "400", "unit": "days"}, "between 1 minute and 365 days"),
    ({"preset": str(7 * DAY)}, "That time has already passed: the event starts in 2 days."),
    ({"preset": str(DAY)}, "There is already a reminder 1 day before the start."),
])
def test_bad_reminders_are_refused_with_a_clear_message(app, client, organizer, data, message):
    event_uuid, event_id = make_event(app, organizer,
                                      start_at=utcnow() + timedelta(days=2, hours=3))
    with app.app_context():
        ReminderService.add(db.session.get(Event, event_id), DAY)
        db.session.commit()
    response = add(client, event_uuid, **data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert sorted(reminders_of(event_id)) == [DAY]


def test_a_cancelled_or_started_event_takes_no_new_reminders(app, client, organizer):
    for fields in ({"status": EventStatus.CANCELLED},
                   {"status": EventStatus.LIVE, "start_at": utcnow() - timedelta(hours=1)}):
        event_uuid, event_id = make_event(app, organizer, **fields)
        page = client.get(reminders_path(event_uuid)).get_data(as_text=True)
        assert 'name="preset"' not in page and "can no longer be added" in page
        assert add(client, event_uuid, preset=str(HOUR)).status_code == 422
        with app.app_context():
            assert reminders_of(event_id) == {}


def test_deleting_a_pending_reminder(app, client, organizer):
    event_uuid, event_id = make_event(app, organizer)
    with app.app_context():
        event = db.session.get(Event, event_id)
        pending = ReminderService.add(event, HOUR)
        sent = ReminderService.add(event, DAY)
        sent.enqueued_at = utcnow()
        db.session.commit()
        pending_uuid, sent_uuid = pending.uuid, sent.uuid
    token = csrf_token(client, reminders_path(event_uuid))
    response = client.post(f"{reminders_path(event_uuid)}/{pending_uuid}/delete",
                           data={"csrf_token": token}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert 'id="reminder-list"' in response.get_data(as_text=True)
    response = client.post(f"{reminders_path(event_uuid)}/{sent_uuid}/delete",
                           data={"csrf_token": token}, follow_redirects=True)
    assert "This reminder has been sent and stays on record." in response.get_data(as_text=True)
    with app.app_context():
        assert sorted(reminders_of(event_id)) == [DAY]


def test_a_reminder_of_another_event_is_not_found(app, client, organizer):
    event_uuid, _ = make_event(app, organizer)
    _, other_id = make_event(app, organizer)
    with app.app_context():
        reminder = ReminderService.add(db.session.get(Event, other_id), HOUR)
        db.session.commit()
        reminder_uuid = reminder.uuid
    token = csrf_token(client, reminders_path(event_uuid))
    path = f"{reminders_path(event_uuid)}/{reminder_uuid}/delete"
    assert client.post(path, data={"csrf_token": token}).status_code == 404


def test_the_page_takes_the_same_number_of_queries_for_2_and_20(app, client, organizer):
    def count_for(n: int) -> int:
        event_uuid, event_id = make_event(app, organizer, start_at=in_days(60, 9))
        with app.app_context():
            event = db.session.get(Event, event_id)
            people = attendees(event, 2)
            for offset in range(1, n + 1):
                reminder = ReminderService.add(event, offset * HOUR)
                reminder.enqueued_at = utcnow()
                db.session.add_all(ReminderDelivery(reminder_id=reminder.id,
                                                    registration_id=r.id) for r in people)
            db.session.commit()
            engine = db.engine
        client.get(reminders_path(event_uuid))
        with query_counter(engine) as statements:
            page = client.get(reminders_path(event_uuid)).get_data(as_text=True)
        assert page.count("2 attendees received it") == n
        return len(statements)

    assert count_for(2) == count_for(20)


# --- The tick: which reminders go out


def test_the_tick_runs_the_reminder_job_every_minute():
    (task,) = [t for t in periodic_tasks() if t.func is enqueue_due_reminders]
    assert task.every == timedelta(minutes=1)


def test_a_due_reminder_goes_to_the_confirmed_attendees_once(app, ctx):
    event = EventFactory(start_at=in_days(3, 9), title="Wound care")
    confirmed = attendees(event, 3)
    attendees(event, 1, RegistrationStatus.WAITLISTED)
    attendees(event, 1, RegistrationStatus.CANCELLED)
    gone = attendees(event, 1)[0]
    gone.soft_delete()
    reminder = ReminderService.add(event, 2 * DAY)
    later = ReminderService.add(event, DAY)
    db.session.commit()

    assert enqueue_due_reminders(reminder.send_at - timedelta(seconds=1)) == []
    assert enqueue_due_reminders(reminder.send_at + timedelta(seconds=30)) == [reminder.id]
    assert enqueue_due_reminders(reminder.send_at + timedelta(minutes=1)) == []

    assert reminder_mails() == sorted(r.email for r in confirmed)
    db.session.expire_all()
    assert db.session.get(EventReminder, reminder.id).enqueued_at is not None
    assert db.session.get(EventReminder, later.id).enqueued_at is None
    messages = read_mail(app)
    assert len(messages) == 3
    assert re.fullmatch(r"Reminder: Wound care starts in \d days", messages[0]["Subject"])
    text = mail_text(messages[0])
    assert f"http://localhost/events/{event.slug}" in text
    assert any(part.get_filename() == f"{event.slug}.ics" or
               (part.get_filename() or "").endswith(".ics")
               for part in messages[0].iter_attachments())


@pytest.mark.parametrize("status", [EventStatus.DRAFT, EventStatus.CANCELLED,
                                    EventStatus.COMPLETED, EventStatus.CLOSED])
def test_reminders_of_events_that_are_not_running_are_not_sent(ctx, status):
    event = EventFactory(start_at=in_days(3, 9))
    attendees(event, 2)
    reminder = EventReminder(event=event, offset_minutes=2 * DAY,
                             send_at=event.start_at - timedelta(days=2))
    db.session.add(reminder)
    event.status = status
    db.session.commit()
    assert enqueue_due_reminders(reminder.send_at + timedelta(seconds=1)) == []
    assert reminder_mails() == []
    db.session.expire_all()
    assert db.session.get(EventReminder, reminder.id).enqueued_at is None


def test_a_deleted_or_started_event_gets_no_reminders(ctx):
    deleted = EventFactory(start_at=in_days(3, 9))
    started = EventFactory(start_at=utcnow() - timedelta(minutes=5),
                           status=EventStatus.LIVE)
    for event in (deleted, started):
        attendees(event, 1)
        db.session.add(EventReminder(event=event, offset_minutes=HOUR,
                                     send_at=event.start_at - timedelta(hours=1)))
    deleted.soft_delete()
    db.session.commit()
    now = deleted.start_at - timedelta(minutes=30)
    assert enqueue_due_reminders(now) == []
    assert enqueue_due_reminders(utcnow()) == []
    assert reminder_mails() == []


def test_a_reminder_too_late_to_be_useful_is_not_sent(ctx):
    """A 7-day reminder of an event published 2 days before it starts is not sent (more
    than half its lead time has gone); one a little late (a tick missed) still is."""
    # Relative to now, not to a clock hour: the 2-day reminder is an hour late whatever the time.
    start = utcnow().replace(microsecond=0) + timedelta(days=2, hours=-1)
    event = EventFactory(start_at=start, end_at=start + timedelta(hours=3))
    attendees(event, 1)
    stale = EventReminder(event=event, offset_minutes=7 * DAY,
                          send_at=event.start_at - timedelta(days=7))
    late = EventReminder(event=event, offset_minutes=2 * DAY,
                         send_at=event.start_at - timedelta(days=2))
    db.session.add_all([stale, late])
    db.session.commit()

    assert enqueue_due_reminders(utcnow()) == [late.id]
    assert len(reminder_mails()) == 1
    db.session.expire_all()
    assert db.session.get(EventReminder, stale.id).enqueued_at is None
    states = {row.reminder.offset_minutes: row.state.value
              for row in ReminderService.rows(db.session.get(Event, event.id))}
    assert states == {7 * DAY: "not_sent", 2 * DAY: "sent"}


def test_a_job_for_an_event_cancelled_since_sends_nothing(ctx):
    event = EventFactory(start_at=in_days(3, 9))
    attendees(event, 2)
    reminder = ReminderService.add(event, 2 * DAY)
    event.status = EventStatus.CANCELLED
    db.session.commit()
    assert send_reminder(reminder.id) == 0
    assert reminder_mails() == []
    assert send_reminder(reminder.id + 1000) == 0  # deleted since: nothing to do


def test_thousands_of_attendees_are_sent_in_batches(ctx):
    event = EventFactory(start_at=in_days(3, 9))
    people = attendees(event, 7)
    reminder = ReminderService.add(event, 2 * DAY)
    db.session.commit()
    assert send_reminder(reminder.id, batch_size=3) == 7
    assert reminder_mails() == sorted(r.email for r in people)
    assert send_reminder(reminder.id, batch_size=3) == 0  # a retry: nobody twice
    assert len(reminder_mails()) == 7

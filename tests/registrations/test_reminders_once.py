"""Each registration receives each reminder exactly once: two ticks at the same moment, two
sending jobs at the same moment, and a job retried after it failed half-way (issue 4
"Reminders"). Threads each have their own app context, session and connection, on every
backend the `app` fixture gives (a SQLite file, and PostgreSQL when TEST_DATABASE_URL is set).

Each race is forced with a barrier placed where it hurts: both threads have read the same
rows before either writes. The `*_without_*` tests replace the guard (the conditional claim,
the unique delivery row) with the naive version and show that the same race then does
enqueue or send twice: the guarded tests would fail without the guard.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import jobs as jobs_module
from app.core.types import utcnow
from app.extensions import db
from app.jobs import JobFailure, JobFailureStatus, job_path
from app.mailing.models import EmailLog
from app.registrations import jobs as reminder_jobs
from app.registrations.models import EventReminder, Registration, ReminderDelivery
from app.states import RegistrationStatus
from tests.factories import EventFactory, UserFactory, in_days

ATTENDEES = 12


@pytest.fixture
def race_app(make_app):
    return make_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 10, "max_overflow": 20})


def make_due_reminder(app) -> tuple[int, object]:
    """An event in 3 days with ATTENDEES confirmed registrations and a 2-day reminder;
    returns (reminder id, a moment when it is due)."""
    with app.app_context():
        event = EventFactory(start_at=in_days(3, 9))
        for _ in range(ATTENDEES):
            user = UserFactory()
            db.session.add(Registration(event=event, user_id=user.id, email=user.email,
                                        status=RegistrationStatus.CONFIRMED,
                                        confirmed_at=utcnow()))
        reminder = EventReminder(event=event, offset_minutes=2 * 24 * 60,
                                 send_at=utcnow() - timedelta(minutes=1))
        db.session.add(reminder)
        db.session.commit()
        result = reminder.id, utcnow()
        db.session.remove()
        return result


def reminders_received(app) -> Counter:
    """How many reminder emails each address was sent (queued or delivered)."""
    with app.app_context():
        counts = Counter(db.session.scalars(
            sa.select(EmailLog.recipient).where(EmailLog.template_name == "event_reminder")
        ))
        db.session.remove()
        return counts


def run_together(app, target, *args) -> list:
    """Run `target(*args)` in two threads at once, each in its own app context; returns
    their results and re-raises what they raised."""
    results, errors = [], []

    def run() -> None:
        with app.app_context():
            try:
                results.append(target(*args))
            except BaseException as exc:  # noqa: BLE001 - re-raised below
                errors.append(exc)
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    if errors:
        raise errors[0]
    return results


def barrier_after(monkeypatch, name: str, parties: int = 2) -> None:
    """Make the first call of reminder_jobs.<name> in each thread wait for the other
    thread's, so that both have read before either writes."""
    real = getattr(reminder_jobs, name)
    barrier = threading.Barrier(parties)
    seen = threading.local()

    def waiting(*args, **kwargs):
        result = real(*args, **kwargs)
        if not getattr(seen, "done", False):
            seen.done = True
            barrier.wait(timeout=30)
        return result

    monkeypatch.setattr(reminder_jobs, name, waiting)


# --- Two ticks at the same moment


def test_two_ticks_at_once_enqueue_a_reminder_once(race_app, monkeypatch):
    """Both ticks read the reminder as due; the conditional UPDATE (enqueued_at IS NULL)
    lets one claim it. Without that condition both would claim and enqueue it (see
    test_two_ticks_without_the_claim_enqueue_twice)."""
    reminder_id, now = make_due_reminder(race_app)
    barrier_after(monkeypatch, "due_reminders")

    enqueued = run_together(race_app, reminder_jobs.enqueue_due_reminders, now)

    assert sorted(enqueued) == [[], [reminder_id]]
    received = reminders_received(race_app)
    assert len(received) == ATTENDEES and set(received.values()) == {1}


def test_two_ticks_without_the_claim_enqueue_twice(race_app, monkeypatch):
    """The same race with an unconditional claim: both ticks enqueue the reminder. (The
    delivery rows still keep the emails to one each: the two guards are independent.)"""
    reminder_id, now = make_due_reminder(race_app)
    barrier_after(monkeypatch, "due_reminders")

    def unconditional_claim(reminder_id, now):
        db.session.execute(sa.update(EventReminder).where(EventReminder.id == reminder_id)
                           .values(enqueued_at=now))
        return True

    monkeypatch.setattr(reminder_jobs, "claim", unconditional_claim)
    enqueued = run_together(race_app, reminder_jobs.enqueue_due_reminders, now)
    assert enqueued == [[reminder_id], [reminder_id]]


# --- Two sending jobs at the same moment, and retries


def test_two_jobs_at_once_send_each_reminder_once(race_app, monkeypatch):
    """Both jobs read the same batch of registrations; the unique (reminder, registration)
    delivery row, inserted with ON CONFLICT DO NOTHING in the transaction that queues the
    emails, gives each registration to one job. Without it both would send the batch (see
    test_two_jobs_without_the_unique_row_send_twice)."""
    reminder_id, _ = make_due_reminder(race_app)
    barrier_after(monkeypatch, "_next_batch")

    sent = run_together(race_app, reminder_jobs.send_reminder, reminder_id)

    assert sorted(sent) == [0, ATTENDEES]
    received = reminders_received(race_app)
    assert len(received) == ATTENDEES and set(received.values()) == {1}
    with race_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ReminderDelivery.id))) == ATTENDEES
        db.session.remove()


def test_two_jobs_without_the_unique_row_send_twice(race_app, monkeypatch):
    """The same race when the batch read decides alone (no delivery row to claim): every
    registration is emailed twice."""
    reminder_id, _ = make_due_reminder(race_app)
    barrier_after(monkeypatch, "_next_batch")
    monkeypatch.setattr(reminder_jobs, "_claim_deliveries", lambda rid, ids: list(ids))

    run_together(race_app, reminder_jobs.send_reminder, reminder_id)

    assert set(reminders_received(race_app).values()) == {2}


def test_a_retried_job_sends_only_what_it_had_not_sent(app, monkeypatch):
    """The job fails in its second batch: the first batch's deliveries and emails are
    committed, the second's are rolled back together. The retry (through `flask jobs
    tick`) sends the rest, and a further run sends nothing."""
    reminder_id, _ = make_due_reminder(app)
    real_send = reminder_jobs._send_one
    calls = []

    def failing_send(event, registration):
        calls.append(registration.id)
        if len(calls) == 7:  # the second batch of 5
            raise RuntimeError("SMTP queue unavailable")
        real_send(event, registration)

    monkeypatch.setattr(reminder_jobs, "_send_one", failing_send)
    with app.app_context():
        path = job_path(reminder_jobs.send_reminder)
        assert jobs_module.execute(path, [reminder_id, 5]) is False
        assert sum(reminders_received(app).values()) == 5
        assert db.session.scalar(sa.select(sa.func.count(ReminderDelivery.id))) == 5

        monkeypatch.setattr(reminder_jobs, "_send_one", real_send)
        retried = jobs_module.tick(utcnow() + timedelta(minutes=2))
        assert path in retried
        failure = db.session.scalar(sa.select(JobFailure))
        assert failure.status == JobFailureStatus.RESOLVED

        assert reminder_jobs.send_reminder(reminder_id) == 0
        db.session.remove()
    received = reminders_received(app)
    assert len(received) == ATTENDEES and set(received.values()) == {1}


def test_flask_jobs_tick_sends_due_reminders(app):
    reminder_id, now = make_due_reminder(app)
    with app.app_context():
        started = jobs_module.tick(now)
        assert job_path(reminder_jobs.enqueue_due_reminders) in started
        assert db.session.get(EventReminder, reminder_id).enqueued_at is not None
        db.session.remove()
    assert len(reminders_received(app)) == ATTENDEES

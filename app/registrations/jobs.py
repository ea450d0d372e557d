"""Registration jobs: sending reminders (app/registrations/reminders.py has the rules).

`flask jobs tick` runs `enqueue_due_reminders` every minute; it claims each due reminder
and enqueues one `send_reminder` job for it, after the commit. `send_reminder` works through
the confirmed registrations in batches; each batch is one transaction that inserts the
ReminderDelivery rows and queues the emails of the rows it inserted, so a second job or a
retry skips everyone already reminded.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from babel.dates import format_timedelta
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload

from app.core.templating import datetime_long, request_locale, zone_name
from app.core.types import utcnow
from app.core.urls import external_url
from app.events.models import Event
from app.extensions import db
from app.jobs import enqueue, periodic
from app.mailing.services import MailService
from app.organizations.branding import email_branding
from app.registrations.models import EventReminder, Registration, ReminderDelivery
from app.registrations.reminders import RUNNING_STATUSES, claim, due_reminders
from app.states import RegistrationStatus

log = logging.getLogger(__name__)

BATCH_SIZE = 500


@periodic(every=timedelta(minutes=1))
def enqueue_due_reminders(now: datetime | None = None) -> list[int]:
    """Claim every due reminder and enqueue its sending; returns the ids enqueued. One that
    is too late to send stays pending, unclaimed: the reminders page shows it "Not sent"."""
    now = now or utcnow()
    enqueued = []
    for reminder_id, sendable in due_reminders(now):
        if sendable and claim(reminder_id, now):
            enqueue(send_reminder, reminder_id)
            enqueued.append(reminder_id)
    db.session.commit()
    if enqueued:
        log.info("enqueued %d reminder(s) at %s", len(enqueued), now.isoformat())
    return enqueued


def send_reminder(reminder_id: int, batch_size: int = BATCH_SIZE) -> int:
    """Email the reminder to every confirmed registration that has not received it; returns
    how many were emailed by this run. Safe to run twice, or twice at once."""
    reminder = db.session.get(EventReminder, reminder_id)
    if reminder is None:
        return 0  # deleted since
    event = db.session.get(Event, reminder.event_id)
    now = utcnow()
    if event is None or event.status not in RUNNING_STATUSES or event.start_at <= now:
        log.info("reminder %s not sent: the event is not running or has started", reminder_id)
        return 0
    event_id = event.id
    sent = 0
    after_id = 0
    while True:
        batch = _next_batch(reminder_id, event_id, after_id, batch_size)
        if not batch:
            break
        after_id = batch[-1]
        claimed = _claim_deliveries(reminder_id, batch)
        if claimed:
            event = db.session.get(Event, event_id)
            registrations = db.session.scalars(
                sa.select(Registration)
                .where(Registration.id.in_(claimed))
                .options(joinedload(Registration.user))
                .order_by(Registration.id)
            ).all()
            for registration in registrations:
                _send_one(event, registration)
            sent += len(registrations)
        db.session.commit()  # the deliveries and their emails together; the emails go now
    return sent


def _next_batch(reminder_id: int, event_id: int, after_id: int, size: int) -> list[int]:
    """The next confirmed registrations (by id) without a delivery of this reminder."""
    delivered = sa.select(ReminderDelivery.id).where(
        ReminderDelivery.reminder_id == reminder_id,
        ReminderDelivery.registration_id == Registration.id,
    )
    return list(
        db.session.scalars(
            sa.select(Registration.id)
            .where(
                Registration.event_id == event_id,
                Registration.status == RegistrationStatus.CONFIRMED,
                Registration.deleted_at.is_(None),
                Registration.id > after_id,
                ~delivered.exists(),
            )
            .order_by(Registration.id)
            .limit(size)
        )
    )


def _claim_deliveries(reminder_id: int, registration_ids: list[int]) -> list[int]:
    """Insert a delivery row per registration unless one exists; returns the registrations
    whose row this transaction inserted. The unique (reminder, registration) constraint
    decides: a concurrent job's rows make ours do nothing (ON CONFLICT DO NOTHING)."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = utcnow()
    rows = [
        {"reminder_id": reminder_id, "registration_id": registration_id,
         "uuid": uuid.uuid4(), "created_at": now, "updated_at": now}
        for registration_id in registration_ids
    ]
    statement = (
        insert(ReminderDelivery)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["reminder_id", "registration_id"])
        .returning(ReminderDelivery.registration_id)
    )
    return list(db.session.scalars(statement))


def _send_one(event: Event, registration: Registration) -> None:
    user = registration.user
    zone = (user.timezone if user is not None and user.timezone else None) or event.timezone
    now = utcnow()
    MailService.send(
        "event_reminder",
        registration.email,
        {
            "user_name": registration.display_name,
            "event_title": event.title,
            "event_when": f"{datetime_long(event.start_at, zone)} ({zone_name(zone)})",
            "starts_in": format_timedelta(
                event.start_at - now, add_direction=True, locale=request_locale()
            ),
            "event_url": external_url("events.event_detail", slug=event.slug),
            **email_branding(event),  # the organization's logo and colour (issue 7)
        },
        user=user,
        attachments=[{"kind": "event_ics", "id": event.id}],
    )

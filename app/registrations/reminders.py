"""Event reminders: emails to the confirmed attendees at chosen times before the start.

Decisions (issue 4):
- Default reminders (7 days, 1 day, 1 hour before) are created with the event, while it is a
  draft, so that the organizer sees and adjusts them before publishing. A default whose time
  has already passed when the event is created is left out.
- `send_at` is `event.start_at - offset`. When the start moves (Reschedule, or the event form),
  pending reminders move with it; sent ones stay as they were.
- `flask jobs tick` (every minute) claims due reminders of running events (published or live,
  not started yet) with a conditional UPDATE, so two ticks never enqueue one reminder twice;
  the job sends in batches and a unique ReminderDelivery row per registration, inserted in
  the transaction that queues the email, means no one gets one reminder twice.
- A reminder is sent only while at least half of its lead time remains (a 7-day reminder up
  to 3½ days before the start, a 1-hour one up to 30 minutes before): a 7-day reminder of an
  event published 2 days before it starts, or one missed while the tick was down for long, is
  not sent late. It stays pending and the page says "Not sent".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from babel.dates import format_timedelta
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from app.core.errors import ValidationError
from app.core.templating import request_locale
from app.core.types import utcnow
from app.events.models import Event
from app.extensions import db
from app.registrations.models import EventReminder, ReminderDelivery
from app.states import EventStatus

MINUTE, HOUR, DAY = 1, 60, 24 * 60
DEFAULT_OFFSETS = (7 * DAY, 1 * DAY, 1 * HOUR)
MAX_OFFSET = 365 * DAY
RUNNING_STATUSES = (EventStatus.PUBLISHED, EventStatus.LIVE)


def describe_offset(minutes: int) -> str:
    """"7 days", "1 hour", "90 minutes": the largest whole unit."""
    if minutes % DAY == 0:
        count = minutes // DAY
        return ngettext("%(num)d day", "%(num)d days", count)
    if minutes % HOUR == 0:
        count = minutes // HOUR
        return ngettext("%(num)d hour", "%(num)d hours", count)
    return ngettext("%(num)d minute", "%(num)d minutes", minutes)


def grace(offset_minutes: int) -> timedelta:
    """How late a reminder may still go out: half its lead time."""
    return timedelta(minutes=offset_minutes) / 2


def is_too_late(reminder: EventReminder, now: datetime) -> bool:
    return now > reminder.send_at + grace(reminder.offset_minutes)


class ReminderState(enum.Enum):
    SCHEDULED = "scheduled"  # its time has not come
    DUE = "due"  # the next tick sends it
    SENT = "sent"  # enqueued: its attendees received it (or are receiving it)
    NOT_SENT = "not_sent"  # its time passed too long ago, or the event is not running


def state_of(reminder: EventReminder, event: Event, now: datetime) -> ReminderState:
    if reminder.enqueued_at is not None:
        return ReminderState.SENT
    if reminder.send_at > now:
        return ReminderState.SCHEDULED
    if event.status in RUNNING_STATUSES and event.start_at > now and not is_too_late(
        reminder, now
    ):
        return ReminderState.DUE
    return ReminderState.NOT_SENT


@dataclass(frozen=True)
class ReminderRow:
    """One line of the reminders page."""

    reminder: EventReminder
    state: ReminderState
    received: int  # how many registrations received it

    @property
    def label(self) -> str:
        return describe_offset(self.reminder.offset_minutes)

    @property
    def is_deletable(self) -> bool:
        return self.reminder.enqueued_at is None


def can_add_reminders(event: Event, now: datetime | None = None) -> bool:
    return event.is_editable and event.status not in (
        EventStatus.COMPLETED, EventStatus.CLOSED
    ) and event.start_at > (now or utcnow())


class ReminderService:
    @staticmethod
    def add(event: Event, offset_minutes: int, now: datetime | None = None) -> EventReminder:
        """A reminder `offset_minutes` before the start; its time must still be ahead."""
        now = now or utcnow()
        event.check_editable()
        if not can_add_reminders(event, now):
            raise ValidationError(_l("The event has started: reminders can no longer be added."))
        if not 0 < offset_minutes <= MAX_OFFSET:
            raise ValidationError(
                _l("Choose a time between 1 minute and 365 days before the start."),
                field="amount",
            )
        existing = db.session.scalar(
            sa.select(EventReminder.id).where(
                EventReminder.event_id == event.id,
                EventReminder.offset_minutes == offset_minutes,
            )
        )
        if existing is not None:
            raise ValidationError(
                _l("There is already a reminder %(when)s before the start.",
                   when=describe_offset(offset_minutes)),
                field="preset",
            )
        send_at = event.start_at - timedelta(minutes=offset_minutes)
        if send_at <= now:
            raise ValidationError(
                _l("That time has already passed: the event starts in %(left)s. Choose a "
                   "shorter time.", left=format_timedelta(
                       event.start_at - now, threshold=1, locale=request_locale())),
                field="preset",
            )
        reminder = EventReminder(event_id=event.id, offset_minutes=offset_minutes,
                                 send_at=send_at)
        db.session.add(reminder)
        db.session.flush()
        return reminder

    @staticmethod
    def remove(event: Event, reminder: EventReminder) -> None:
        """Delete a pending reminder (hard delete); a sent one stays on record."""
        if reminder.event_id != event.id:
            raise ValidationError(_l("That reminder belongs to another event."))
        if reminder.enqueued_at is not None:
            raise ValidationError(_l("This reminder has been sent and stays on record."))
        db.session.delete(reminder)
        db.session.flush()

    @staticmethod
    def add_defaults(event: Event, now: datetime | None = None) -> list[EventReminder]:
        """The default reminders of a new event, those whose time is still ahead."""
        now = now or utcnow()
        added = [
            EventReminder(event_id=event.id, offset_minutes=offset,
                          send_at=event.start_at - timedelta(minutes=offset))
            for offset in DEFAULT_OFFSETS
            if event.start_at - timedelta(minutes=offset) > now
        ]
        db.session.add_all(added)
        db.session.flush()
        return added

    @staticmethod
    def move_pending(event: Event) -> int:
        """Pending reminders follow the event's start; sent ones keep their time."""
        pending = db.session.scalars(
            sa.select(EventReminder).where(
                EventReminder.event_id == event.id, EventReminder.enqueued_at.is_(None)
            )
        ).all()
        for reminder in pending:
            reminder.send_at = event.start_at - timedelta(minutes=reminder.offset_minutes)
        db.session.flush()
        return len(pending)

    @staticmethod
    def rows(event: Event, now: datetime | None = None) -> list[ReminderRow]:
        """Every reminder of the event, soonest-to-send first, with how many received it
        (two queries whatever their number)."""
        now = now or utcnow()
        reminders = db.session.scalars(
            sa.select(EventReminder)
            .where(EventReminder.event_id == event.id)
            .order_by(EventReminder.offset_minutes.desc())
        ).all()
        received = dict(
            db.session.execute(
                sa.select(ReminderDelivery.reminder_id, sa.func.count(ReminderDelivery.id))
                .join(EventReminder, EventReminder.id == ReminderDelivery.reminder_id)
                .where(EventReminder.event_id == event.id)
                .group_by(ReminderDelivery.reminder_id)
            ).all()
        )
        return [
            ReminderRow(r, state_of(r, event, now), received.get(r.id, 0)) for r in reminders
        ]


# --- Claiming due reminders (the tick)


def due_reminders(now: datetime) -> list[tuple[int, bool]]:
    """(id, sendable) of pending reminders whose time has come, of events that are running
    and have not started. Not sendable: too late (see the module's docstring)."""
    rows = db.session.execute(
        sa.select(EventReminder.id, EventReminder.send_at, EventReminder.offset_minutes)
        .join(Event, Event.id == EventReminder.event_id)
        .where(
            EventReminder.enqueued_at.is_(None),
            EventReminder.send_at <= now,
            Event.status.in_(RUNNING_STATUSES),
            Event.start_at > now,
            Event.deleted_at.is_(None),
        )
        .order_by(EventReminder.send_at, EventReminder.id)
    ).all()
    return [(rid, now <= send_at + grace(offset)) for rid, send_at, offset in rows]


def claim(reminder_id: int, now: datetime) -> bool:
    """Mark the reminder enqueued, if nobody has: the conditional UPDATE decides between two
    ticks running at once (PostgreSQL: the second waits on the row lock and then matches
    nothing; SQLite: the second waits for the write lock, then matches nothing)."""
    result = db.session.execute(
        sa.update(EventReminder)
        .where(EventReminder.id == reminder_id, EventReminder.enqueued_at.is_(None))
        .values(enqueued_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1

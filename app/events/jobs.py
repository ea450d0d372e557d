"""Event jobs: the clock that moves events and sessions along their state machines.

`flask jobs tick` runs `advance_event_statuses` every minute. It reads only the rows that
need to move (status and time are indexed), and every move goes through app/states.py, so a
second run, or a Zoom webhook that got there first, changes nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa

from app.core.types import utcnow
from app.events.models import Event, EventSession
from app.extensions import db
from app.jobs import periodic
from app.states import EventStatus, SessionStatus

log = logging.getLogger(__name__)

STARTED = "Started at the scheduled time"
ENDED = "Ended at the scheduled time"
RUNNING = (EventStatus.PUBLISHED, EventStatus.LIVE)


@periodic(every=timedelta(minutes=1))
def advance_event_statuses(now: datetime | None = None) -> None:
    """PUBLISHED → LIVE at the start and LIVE → COMPLETED at the end, for events and for
    the sessions of running events. An event whose end has already passed moves through
    LIVE to COMPLETED in one run."""
    now = now or utcnow()
    moved = _advance_sessions(now) + _advance_events(now)
    db.session.commit()
    if moved:
        log.info("advanced %d event(s) and session(s) at %s", moved, now.isoformat())


def _advance_sessions(now: datetime) -> int:
    """Sessions first, while their event still counts as running (it may complete below)."""
    due = db.session.scalars(
        sa.select(EventSession)
        .join(Event, Event.id == EventSession.event_id)
        .where(
            Event.status.in_(RUNNING),
            sa.or_(
                sa.and_(
                    EventSession.status == SessionStatus.SCHEDULED,
                    EventSession.start_at <= now,
                ),
                sa.and_(EventSession.status == SessionStatus.LIVE, EventSession.end_at <= now),
            ),
        )
        .order_by(EventSession.id)
        .with_for_update(of=EventSession, skip_locked=True)
    ).all()
    moved = 0
    for session in due:
        if session.status == SessionStatus.SCHEDULED:
            moved += session.go_live()
        if session.end_at <= now:
            moved += session.finish()
    return moved


def _advance_events(now: datetime) -> int:
    due = db.session.scalars(
        sa.select(Event)
        .where(
            sa.or_(
                sa.and_(Event.status == EventStatus.PUBLISHED, Event.start_at <= now),
                sa.and_(Event.status == EventStatus.LIVE, Event.end_at <= now),
            ),
            # A recurring event is a calendar listing: it stays published while it repeats.
            ~Event.recurring_rule.has(),
        )
        .order_by(Event.id)
        .with_for_update(skip_locked=True)
    ).all()
    moved = 0
    for event in due:
        if event.status == EventStatus.PUBLISHED:
            event.start(reason=STARTED)
            moved += 1
        if event.end_at <= now:
            event.complete(reason=ENDED)
            moved += 1
    return moved

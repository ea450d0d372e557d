"""The clock: `flask jobs tick` moves events and their sessions at their scheduled times,
once, with history rows written by nobody (actor None) and a reason."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app import jobs
from app.core.types import utcnow
from app.events.jobs import ENDED, STARTED, advance_event_statuses
from app.events.models import Event, EventSession, EventStatusHistory
from app.extensions import db
from app.states import EventStatus, SessionStatus
from tests.factories import EventFactory, SessionFactory


def moves(event: Event) -> list[tuple]:
    return [(h.from_status, h.to_status, h.changed_by_id, h.reason) for h in event.history]


def history_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(EventStatusHistory))


def test_published_event_goes_live_at_its_start_once(ctx):
    event = EventFactory()
    session = SessionFactory(event=event)
    later = SessionFactory(event=event, start_at=event.start_at + timedelta(hours=2),
                           end_at=event.start_at + timedelta(hours=3))
    db.session.commit()

    advance_event_statuses(now=event.start_at - timedelta(minutes=1))
    assert event.status == EventStatus.PUBLISHED and session.status == SessionStatus.SCHEDULED

    at_start = event.start_at + timedelta(minutes=1)
    advance_event_statuses(now=at_start)
    assert event.status == EventStatus.LIVE
    assert session.status == SessionStatus.LIVE
    assert later.status == SessionStatus.SCHEDULED
    assert moves(event)[-1] == (EventStatus.PUBLISHED, EventStatus.LIVE, None, STARTED)
    rows = history_count()

    advance_event_statuses(now=at_start + timedelta(minutes=1))  # the next tick
    assert event.status == EventStatus.LIVE and history_count() == rows


def test_sessions_and_event_complete_at_their_ends(ctx):
    event = EventFactory()
    first = SessionFactory(event=event)
    second = SessionFactory(event=event, start_at=event.start_at + timedelta(hours=1),
                            end_at=event.start_at + timedelta(hours=2))
    db.session.commit()
    advance_event_statuses(now=event.start_at)
    advance_event_statuses(now=first.end_at)
    assert first.status == SessionStatus.COMPLETED and second.status == SessionStatus.LIVE
    advance_event_statuses(now=event.end_at)
    assert second.status == SessionStatus.COMPLETED
    assert event.status == EventStatus.COMPLETED
    assert moves(event)[-1] == (EventStatus.LIVE, EventStatus.COMPLETED, None, ENDED)
    rows = history_count()
    advance_event_statuses(now=event.end_at + timedelta(days=1))
    assert event.status == EventStatus.COMPLETED and history_count() == rows


def test_an_event_whose_end_has_passed_moves_through_live_in_one_tick(ctx):
    event = EventFactory()
    session = SessionFactory(event=event)
    db.session.commit()
    advance_event_statuses(now=event.end_at + timedelta(hours=1))
    assert event.status == EventStatus.COMPLETED
    assert session.status == SessionStatus.COMPLETED
    assert [(before, after) for before, after, *_ in moves(event)] == [
        (EventStatus.PUBLISHED, EventStatus.LIVE), (EventStatus.LIVE, EventStatus.COMPLETED),
    ]
    advance_event_statuses(now=event.end_at + timedelta(hours=2))
    assert len(moves(event)) == 2


def test_drafts_cancelled_and_deleted_events_and_their_sessions_stay(ctx):
    draft = EventFactory(status=EventStatus.DRAFT)
    draft_session = SessionFactory(event=draft)
    cancelled = EventFactory(status=EventStatus.CANCELLED)
    deleted = EventFactory()
    deleted.soft_delete()
    cancelled_session = SessionFactory(event=EventFactory())
    cancelled_session.status = SessionStatus.CANCELLED
    db.session.commit()
    advance_event_statuses(now=utcnow() + timedelta(days=30))
    assert draft.status == EventStatus.DRAFT and draft_session.status == SessionStatus.SCHEDULED
    assert cancelled.status == EventStatus.CANCELLED
    assert deleted.status == EventStatus.PUBLISHED
    assert cancelled_session.status == SessionStatus.CANCELLED
    assert history_count() == 2  # only the running event: live, then completed


def test_a_session_started_early_by_zoom_is_not_an_error(ctx):
    event = EventFactory()
    session = SessionFactory(event=event)
    db.session.commit()
    assert session.go_live()  # a "meeting started" webhook before the scheduled time
    advance_event_statuses(now=event.start_at)
    assert session.status == SessionStatus.LIVE and event.status == EventStatus.LIVE


def test_the_tick_runs_the_job(ctx):
    assert "app.events.jobs:advance_event_statuses" in [t.path for t in jobs.periodic_tasks()]
    start = utcnow() - timedelta(hours=1)
    event = EventFactory(start_at=start, end_at=start + timedelta(hours=3))
    session = SessionFactory(event=event, start_at=start, end_at=start + timedelta(minutes=30))
    db.session.commit()
    event_id, session_id = event.id, session.id

    assert "app.events.jobs:advance_event_statuses" in jobs.tick()  # inline without Redis
    db.session.expire_all()
    assert db.session.get(Event, event_id).status == EventStatus.LIVE
    assert db.session.get(EventSession, session_id).status == SessionStatus.COMPLETED
    assert "app.events.jobs:advance_event_statuses" not in jobs.tick()  # not due again yet


def test_a_recurring_listing_stays_published_while_it_repeats(ctx):
    from app.events.models import RecurrenceFrequency, RecurringRule

    past = utcnow() - timedelta(days=3)
    event = EventFactory(start_at=past, end_at=past + timedelta(hours=1))
    event.recurring_rule = RecurringRule(frequency=RecurrenceFrequency.WEEKLY, interval=1)
    db.session.commit()
    advance_event_statuses(utcnow())
    assert db.session.get(Event, event.id).status == EventStatus.PUBLISHED

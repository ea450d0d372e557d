"""Jobs that keep Zoom in step with Convene: an event's meetings, and a registration's Zoom
registrants. Each is idempotent (it works out what Zoom still needs from the rows), keeps
each failure on its row, commits, and then raises so that the job runner retries it."""

from __future__ import annotations

import zlib

import sqlalchemy as sa

from app.events.models import Event
from app.extensions import db
from app.jobs import enqueue
from app.registrations.models import Registration
from app.zoom.meetings import ZoomMeetingService, ZoomRegistrantService, ZoomSyncFailed


def sync_zoom_meetings(event_id: int) -> None:
    """Create, update or delete the event's meetings at Zoom; when a meeting was created,
    its registrants follow (another job)."""
    _lock("zoom-meetings", event_id)
    event = db.session.get(Event, event_id, execution_options={"include_deleted": True})
    if event is None:
        return
    errors, created = ZoomMeetingService.sync(event)
    if created:
        enqueue(sync_zoom_registrants_of_event, event_id)
    db.session.commit()
    if errors:
        raise ZoomSyncFailed("; ".join(errors))


def sync_zoom_registrants(registration_id: int) -> None:
    """Register one registration in its meetings at Zoom, or cancel it there."""
    _lock("zoom-registrants", registration_id)
    registration = db.session.get(
        Registration, registration_id, execution_options={"include_deleted": True}
    )
    if registration is None:
        return
    errors = ZoomRegistrantService.sync(registration)
    db.session.commit()
    if errors:
        raise ZoomSyncFailed("; ".join(errors))


def sync_zoom_registrants_of_event(event_id: int) -> None:
    """Every registration of the event that may need work at Zoom (after a meeting was
    created, or the organizer's "retry")."""
    event = db.session.get(Event, event_id, execution_options={"include_deleted": True})
    if event is None:
        return
    errors = []
    for registration_id in ZoomRegistrantService.registrations_to_sync(event):
        _lock("zoom-registrants", registration_id)
        registration = db.session.get(Registration, registration_id,
                                      execution_options={"include_deleted": True})
        errors.extend(ZoomRegistrantService.sync(registration))
        db.session.commit()  # one registration at a time: a failure keeps what worked
    if errors:
        raise ZoomSyncFailed("; ".join(errors))


def _lock(name: str, key: int) -> None:
    """PostgreSQL: one sync of the same thing at a time (two workers could otherwise both
    create the meeting), until the commit. SQLite has a single writer already."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    lock_key = (zlib.crc32(name.encode()) << 31) ^ key  # fits a signed bigint
    db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.cast(lock_key, sa.BigInteger))))

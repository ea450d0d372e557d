"""Whose Zoom connection acts for a meeting after the fact (its report, its recordings)."""

from __future__ import annotations

import sqlalchemy as sa

from app.events.models import Event
from app.extensions import db
from app.zoom.models import ZoomConnection, ZoomMeeting


def host_user_id(event_id: int, zoom_host_id: str = "", meeting_id: str = "") -> int:
    """The organizer connected as the meeting's Zoom host (`host_id` in Zoom's events), else
    the organizer whose connection created the meeting, else the event's creator."""
    if zoom_host_id:
        user_id = db.session.scalar(
            sa.select(ZoomConnection.user_id)
            .where(ZoomConnection.zoom_user_id == zoom_host_id)
            .order_by(ZoomConnection.id)
            .limit(1)
        )
        if user_id is not None:
            return user_id
    if meeting_id:
        user_id = db.session.scalar(
            sa.select(ZoomMeeting.host_user_id)
            .where(ZoomMeeting.event_id == event_id, ZoomMeeting.meeting_id == meeting_id,
                   ZoomMeeting.host_user_id.is_not(None))
            .order_by(ZoomMeeting.id)
            .limit(1)
        )
        if user_id is not None:
            return user_id
    return db.session.scalar(
        sa.select(Event.created_by_id).where(Event.id == event_id)
        .execution_options(include_deleted=True)
    )

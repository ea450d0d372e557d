"""The organizer's view of an event's Zoom meetings (a panel on the event's overview, and its
own page): where each meeting's sync stands, "retry now" for failures. Also the template
helpers that show attendees their own join links.

Every route loads the event with `load_event_for_editing` (404 when the user cannot see it,
403 when they cannot edit it); the rules live in app/zoom/meetings.py.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask import abort, current_app, flash, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.accounts.forms import EmptyForm
from app.core.forms import attempt
from app.core.htmx import is_htmx, redirect_to, render
from app.events.models import Event
from app.events.queries import event_part_or_404
from app.events.views.manage import load_event_for_editing
from app.jobs import enqueue
from app.zoom.meeting_jobs import sync_zoom_registrants_of_event
from app.zoom.meetings import (
    MeetingLine,
    ZoomMeetingService,
    has_zoom,
    join_links,
    join_links_for,
    meeting_lines,
)
from app.zoom.models import MeetingSyncStatus, ZoomConnection, ZoomMeeting
from app.zoom.views import bp


@dataclass(frozen=True)
class ZoomPanel:
    """What the organizer's Zoom panel shows for one event."""

    event: Event
    lines: list[MeetingLine]
    needs_connection: bool  # a draft the current organizer could not publish yet

    @property
    def is_pending(self) -> bool:
        return any(line.meeting.sync_status == MeetingSyncStatus.PENDING for line in self.lines)

    @property
    def failed_registrants(self) -> int:
        return sum(line.failed_registrants for line in self.lines)


def zoom_panel(event: Event) -> ZoomPanel | None:
    """The panel of an online event (None for an in-person one without meetings)."""
    lines = meeting_lines(event)
    if not event.format.is_online and not lines:
        return None
    needs_connection = False
    if event.status.value == "draft" and not current_app.config.get("ZOOM_FAKE"):
        connection = ZoomConnection.of(current_user)
        needs_connection = connection is None or connection.needs_reconnect
    return ZoomPanel(event, lines, needs_connection)


bp.add_app_template_global(zoom_panel, "zoom_panel")
bp.add_app_template_global(has_zoom, "has_zoom")
# The attendee's own links: their registration page and their dashboard (one query for all).
bp.add_app_template_global(join_links, "zoom_join_links")
bp.add_app_template_global(join_links_for, "zoom_join_links_for")


def load_online_event_for_editing(event_uuid: uuid.UUID) -> Event:
    """`load_event_for_editing`, and 404 for an in-person event: it has no Zoom pages."""
    event = load_event_for_editing(event_uuid)
    if not has_zoom(event):
        abort(404)
    return event


def _panel(event: Event):
    return render("zoom/meetings.html", "zoom/_meetings.html", event=event,
                  panel=zoom_panel(event), actions=EmptyForm())


@bp.get("/events/<uuid:event_uuid>/zoom")
@login_required
def manage_meetings(event_uuid: uuid.UUID):
    return _panel(load_online_event_for_editing(event_uuid))


def _after_change(event_uuid: uuid.UUID):
    if is_htmx():
        return _panel(load_online_event_for_editing(event_uuid))
    return redirect_to(url_for("zoom.manage_meetings", event_uuid=event_uuid))


@bp.post("/events/<uuid:event_uuid>/zoom/<uuid:meeting_uuid>/retry")
@login_required
def retry_meeting(event_uuid: uuid.UUID, meeting_uuid: uuid.UUID):
    event = load_online_event_for_editing(event_uuid)
    meeting = event_part_or_404(ZoomMeeting, event, meeting_uuid)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if attempt(lambda: ZoomMeetingService.retry(event, meeting)):
        flash(_("Zoom is being updated again."), "success")
    return _after_change(event_uuid)


@bp.post("/events/<uuid:event_uuid>/zoom/registrants/retry")
@login_required
def retry_registrants(event_uuid: uuid.UUID):
    event = load_online_event_for_editing(event_uuid)
    if not EmptyForm().validate_on_submit():
        abort(400)
    attempt(lambda: enqueue(sync_zoom_registrants_of_event, event.id))
    flash(_("The attendees are being registered at Zoom again."), "success")
    return _after_change(event_uuid)

"""Zoom recordings on the site: the attendees' list (a page, and the fragment the event page
loads for them), "Watch" (on to Zoom's player) and "Download" (streamed through the app with
the host's token, which never leaves the server), and the organizer's view counts.

To anyone who is neither a registered attendee nor an organizer, an event's recordings do
not exist: 404, as for an unknown address. The rules live in app/zoom/recording_services.py.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import Response, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.core.htmx import render
from app.events.models import Event
from app.extensions import db
from app.zoom.hosts import host_user_id
from app.zoom.meetings import has_zoom
from app.zoom.meetings_views import load_online_event_for_editing
from app.zoom.models import RecordingAction, ZoomRecordingFile
from app.zoom.recording_services import (
    RecordingViewer,
    record_view,
    recording_file_label,
    recording_file_of,
    recordings_by_session,
    view_counts,
    viewer_of,
)
from app.zoom.views import bp

CHUNK_BYTES = 256 * 1024

bp.add_app_template_global(recording_file_label, "recording_file_label")


def _event_for_viewer(event_uuid: uuid.UUID) -> tuple[Event, RecordingViewer]:
    """The event and who the current user is to its recordings; 404 for everyone else."""
    event = db.session.scalar(sa.select(Event).where(Event.uuid == event_uuid))
    if event is None or not current_user.can_view_event(event) or not has_zoom(event):
        abort(404)
    viewer = viewer_of(event, current_user)
    if viewer is None:
        abort(404)
    return event, viewer


def _file_for_viewer(event_uuid: uuid.UUID, file_uuid: uuid.UUID):
    event, viewer = _event_for_viewer(event_uuid)
    file = recording_file_of(event, file_uuid)
    if file is None:
        abort(404)
    return event, viewer, file


def _list_url(event: Event) -> str:
    return url_for("zoom.event_recordings", event_uuid=event.uuid)


@bp.get("/events/<uuid:event_uuid>/recordings")
@login_required
def event_recordings(event_uuid: uuid.UUID):
    event, viewer = _event_for_viewer(event_uuid)
    return render("zoom/recordings.html", "zoom/_recordings.html", event=event,
                  groups=recordings_by_session(event), viewer=viewer)


@bp.get("/events/<uuid:event_uuid>/recordings/<uuid:file_uuid>/watch")
@login_required
def watch_recording(event_uuid: uuid.UUID, file_uuid: uuid.UUID):
    event, viewer, file = _file_for_viewer(event_uuid, file_uuid)
    if not file.can_watch:
        abort(404)
    record_view(file, viewer, RecordingAction.WATCH)
    db.session.commit()
    return redirect(file.play_url, code=303)


@bp.get("/events/<uuid:event_uuid>/recordings/<uuid:file_uuid>/download")
@login_required
def download_recording(event_uuid: uuid.UUID, file_uuid: uuid.UUID):
    from app.zoom import client

    event, viewer, file = _file_for_viewer(event_uuid, file_uuid)
    if not file.can_download:
        abort(404)
    try:
        recording = file.recording
        api = client.zoom_api_for(
            host_user_id(event.id, recording.host_id, recording.meeting_id))
        upstream = api.download_recording(file.download_url)
    except client.ZoomError as error:
        db.session.commit()  # a connection marked "reconnect needed" stays marked
        flash(_("Zoom did not hand over this recording: %(reason)s", reason=error.message),
              "error")
        return redirect(_list_url(event), code=303)
    record_view(file, viewer, RecordingAction.DOWNLOAD)
    db.session.commit()
    return Response(_chunks(upstream), headers=_download_headers(file, upstream))


def _download_headers(file: ZoomRecordingFile, upstream) -> dict[str, str]:
    headers = {
        "Content-Type": upstream.headers.get("Content-Type") or "application/octet-stream",
        "Content-Disposition": f'attachment; filename="{file.download_name}"',
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    }
    length = upstream.headers.get("Content-Length")
    if length and length.isdigit() and not upstream.headers.get("Content-Encoding"):
        headers["Content-Length"] = length
    return headers


def _chunks(upstream):
    """The file as Zoom's host serves it, never held whole in memory; closed at the end."""
    try:
        yield from upstream.iter_content(CHUNK_BYTES)
    finally:
        upstream.close()


@bp.get("/events/<uuid:event_uuid>/manage/recordings")
@login_required
def manage_recordings(event_uuid: uuid.UUID):
    event = load_online_event_for_editing(event_uuid)
    per_file, per_recording = view_counts(event)
    return render("zoom/manage_recordings.html", "zoom/_manage_recordings.html", event=event,
                  groups=recordings_by_session(event), per_file=per_file,
                  per_recording=per_recording)

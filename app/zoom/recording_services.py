"""Zoom cloud recordings: storing what `recording.completed` reports, who may watch them,
the record of each watch or download, and the organizer's view counts.

Only registered attendees (a registration that holds a seat) and the event's organizers see
an event's recordings; to everyone else they do not exist. Services only flush.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from app.core import privacy
from app.events.models import Event, EventSession
from app.extensions import db
from app.registrations.models import SEAT_HOLDING_STATUSES, Registration
from app.zoom.models import (
    RecordingAction,
    RecordingView,
    ZoomRecording,
    ZoomRecordingFile,
)

# --- recording.completed


def store_recording(obj: dict, meeting) -> ZoomRecording:
    """Create the recording of a meeting instance, or add the files Zoom reports anew.

    `meeting` is what app.zoom.services.find_meeting resolved. A repeated delivery changes
    nothing; a file Zoom reports again keeps its row and takes Zoom's latest status and links
    (a file that was still processing, say)."""
    from app.zoom.services import Ignored, _text, _time

    uuid = obj.get("uuid")
    if not isinstance(uuid, str) or not uuid:
        raise Ignored("no meeting uuid")
    recording = db.session.scalar(
        sa.select(ZoomRecording).where(ZoomRecording.meeting_uuid == uuid[:200])
    )
    if recording is None:
        recording = ZoomRecording(
            event_id=meeting.event.id,
            session_id=meeting.session.id if meeting.session else None,
            meeting_id=str(obj.get("id"))[:64],
            meeting_uuid=uuid[:200],
        )
        db.session.add(recording)
    _set_changed(recording, {
        "host_id": _text(obj, "host_id", 64),
        "topic": _text(obj, "topic", 300),
        "start_at": _time(obj, "start_time", False),
        "duration_minutes": _number(obj.get("duration")),
        "share_url": _text(obj, "share_url", 1000),
        "play_passcode": _text(obj, "recording_play_passcode", 200)
        or _text(obj, "password", 200) or None,
        "total_size": _number(obj.get("total_size")),
    })
    known = {f.file_id: f for f in recording.files} if recording.id else {}
    files = obj.get("recording_files")
    for item in files if isinstance(files, list) else []:
        if not isinstance(item, dict) or not _text(item, "id", 200):
            continue  # a file without an id cannot be told apart from the next one
        file = known.get(_text(item, "id", 200))
        if file is None:
            file = ZoomRecordingFile(file_id=_text(item, "id", 200))
            recording.files.append(file)
            known[file.file_id] = file
        _set_changed(file, {
            "file_type": _text(item, "file_type", 32),
            "file_extension": _text(item, "file_extension", 16),
            "recording_type": _text(item, "recording_type", 64),
            "file_size": _number(item.get("file_size")),
            "play_url": _text(item, "play_url", 1000),
            "download_url": _text(item, "download_url", 1000),
            "status": _text(item, "status", 32),
            "recording_start": _time(item, "recording_start", False),
            "recording_end": _time(item, "recording_end", False),
        })
    db.session.flush()
    return recording


def _set_changed(row, values: dict) -> None:
    """Assign only what differs, so a repeated delivery leaves the row (and updated_at) as
    it was. An empty value never erases a known one: a later delivery may carry less."""
    for name, value in values.items():
        if value in (None, "", 0) and getattr(row, name) not in (None, "", 0):
            continue
        if getattr(row, name) != value:
            setattr(row, name, value)


def _number(value) -> int:
    if isinstance(value, bool):
        return 0
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return 0


# --- Who may see them


@dataclass(frozen=True)
class RecordingViewer:
    """A person who may see an event's recordings: an attendee with a seat (their
    registration), or an organizer (registration None unless they registered too)."""

    user_id: int
    registration_id: int | None
    is_organizer: bool


def viewer_of(event: Event, user) -> RecordingViewer | None:
    """Who `user` is to the event's recordings; None: nobody (anonymous included)."""
    if user is None or not user.is_authenticated:
        return None
    registration_id = db.session.scalar(
        sa.select(Registration.id).where(
            Registration.event_id == event.id,
            Registration.user_id == user.id,
            Registration.status.in_(SEAT_HOLDING_STATUSES),
            Registration.deleted_at.is_(None),
        )
    )
    is_organizer = user.can_edit_event(event)
    if registration_id is None and not is_organizer:
        return None
    return RecordingViewer(user.id, registration_id, is_organizer)


# --- What they see

# Zoom's recording types (its API reference), as people call them.
RECORDING_TYPE_LABELS = {
    "shared_screen_with_speaker_view": _l("Video: shared screen and speaker"),
    "shared_screen_with_speaker_view(CC)": _l("Video: shared screen and speaker, captioned"),
    "shared_screen_with_gallery_view": _l("Video: shared screen and gallery"),
    "shared_screen": _l("Video: shared screen"),
    "speaker_view": _l("Video: speaker"),
    "gallery_view": _l("Video: gallery"),
    "active_speaker": _l("Video: active speaker"),
    "audio_only": _l("Audio only"),
    "audio_transcript": _l("Transcript"),
    "closed_caption": _l("Captions"),
    "chat_file": _l("Chat"),
    "poll": _l("Poll results"),
    "timeline": _l("Timeline"),
    "summary": _l("Summary"),
}


def recording_file_label(file: ZoomRecordingFile) -> str:
    """What a file is, in words: Zoom's recording type, else its file type."""
    label = RECORDING_TYPE_LABELS.get(file.recording_type)
    if label is not None:
        return str(label)
    return (file.recording_type.replace("_", " ").capitalize() or file.file_type
            or str(_l("Recording file")))



@dataclass
class RecordingGroup:
    """The recordings of one session (or of the event itself, `session` None)."""

    session: EventSession | None
    title: str
    recordings: list[ZoomRecording] = field(default_factory=list)


def recordings_by_session(event: Event) -> list[RecordingGroup]:
    """The event's recordings with their files, grouped by session in schedule order, in two
    queries however many there are."""
    recordings = db.session.scalars(
        sa.select(ZoomRecording)
        .where(ZoomRecording.event_id == event.id)
        .options(selectinload(ZoomRecording.files), selectinload(ZoomRecording.session))
        .order_by(ZoomRecording.start_at, ZoomRecording.id)
    ).all()
    groups: dict[int | None, RecordingGroup] = {}
    for recording in recordings:
        group = groups.get(recording.session_id)
        if group is None:
            session = recording.session
            group = groups[recording.session_id] = RecordingGroup(
                session, session.title if session else event.title
            )
        group.recordings.append(recording)
    return sorted(groups.values(), key=_schedule_order)


def _schedule_order(group: RecordingGroup) -> tuple:
    """The event's own meeting first, then the sessions as the schedule orders them."""
    session = group.session
    return (0, "", 0) if session is None else (1, session.start_at.isoformat(), session.position)


def recording_file_of(event: Event, file_uuid) -> ZoomRecordingFile | None:
    """A file of one of the event's recordings, by its uuid (None when it is not one)."""
    return db.session.scalar(
        sa.select(ZoomRecordingFile)
        .join(ZoomRecording, ZoomRecording.id == ZoomRecordingFile.recording_id)
        .where(ZoomRecordingFile.uuid == file_uuid, ZoomRecording.event_id == event.id)
        .options(selectinload(ZoomRecordingFile.recording))
    )


def record_view(file: ZoomRecordingFile, viewer: RecordingViewer,
                action: RecordingAction) -> RecordingView:
    view = RecordingView(
        recording_id=file.recording_id,
        recording_file_id=file.id,
        registration_id=viewer.registration_id,
        user_id=viewer.user_id,
        action=action,
    )
    db.session.add(view)
    db.session.flush()
    return view


# --- The organizer's counts


@dataclass
class ViewCounts:
    watches: int = 0
    downloads: int = 0
    viewers: int = 0  # distinct people

    @property
    def total(self) -> int:
        return self.watches + self.downloads


def view_counts(event: Event) -> tuple[dict[int, ViewCounts], dict[int, ViewCounts]]:
    """Per file id and per recording id: watches, downloads and distinct viewers, in two
    aggregate queries whatever the number of recordings and views."""
    person = sa.func.coalesce(
        sa.cast(RecordingView.user_id, sa.String),
        sa.literal("r") + sa.cast(RecordingView.registration_id, sa.String),
    )
    watches = sa.func.count(RecordingView.id).filter(
        RecordingView.action == RecordingAction.WATCH)
    downloads = sa.func.count(RecordingView.id).filter(
        RecordingView.action == RecordingAction.DOWNLOAD)
    per_file: dict[int, ViewCounts] = defaultdict(ViewCounts)
    per_recording: dict[int, ViewCounts] = defaultdict(ViewCounts)
    for key, target in ((RecordingView.recording_file_id, per_file),
                        (RecordingView.recording_id, per_recording)):
        rows = db.session.execute(
            sa.select(key, watches, downloads, sa.func.count(sa.distinct(person)))
            .join(ZoomRecording, ZoomRecording.id == RecordingView.recording_id)
            .where(ZoomRecording.event_id == event.id)
            .group_by(key)
        )
        for row_id, watched, downloaded, viewers in rows:
            target[row_id] = ViewCounts(watched, downloaded, viewers)
    return per_file, per_recording


# --- Privacy


def export_recording_views(user) -> list[dict]:
    rows = db.session.execute(
        sa.select(RecordingView.action, RecordingView.created_at, ZoomRecording.topic,
                  ZoomRecordingFile.recording_type, Event.title)
        .join(ZoomRecording, ZoomRecording.id == RecordingView.recording_id)
        .join(ZoomRecordingFile, ZoomRecordingFile.id == RecordingView.recording_file_id)
        .join(Event, Event.id == ZoomRecording.event_id)
        .where(RecordingView.user_id == user.id)
        .order_by(RecordingView.created_at, RecordingView.id)
        .execution_options(include_deleted=True)
    )
    return [
        {"event": title, "recording": topic, "file": kind, "action": action.value,
         "at": at.isoformat()}
        for action, at, topic, kind, title in rows
    ]


def anonymise_recording_views(user) -> None:
    """The counts stay; who watched goes."""
    db.session.execute(
        sa.update(RecordingView)
        .where(RecordingView.user_id == user.id)
        .values(user_id=None)
        .execution_options(synchronize_session=False)
    )


privacy.register("zoom_recordings", export=export_recording_views,
                 anonymise=anonymise_recording_views)

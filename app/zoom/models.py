"""Zoom's side of things (seed 003): every webhook delivery, and the join → leave intervals
of the participants of a session's meeting."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.encryption import EncryptedText
from app.core.models import Model
from app.core.types import UTCDateTime, enum_column, utcnow
from app.events.models import Event, EventSession
from app.extensions import db


class WebhookStatus(enum.Enum):
    RECEIVED = "received"  # stored, waiting for its job
    PROCESSED = "processed"
    IGNORED = "ignored"  # bad signature, or nothing to do (the error says why)
    FAILED = "failed"  # the job raised; the job runner retries it


class ZoomWebhookLog(Model):
    """One delivery to POST /webhooks/zoom, as it came (seed 003; hard-deleted after 90 days).

    `dedupe_key` identifies the delivery (event + meeting uuid + participant + join/leave
    time): Zoom retries, and a retry is stored once. Rows that fail the signature check have
    none, so they never hide a genuine delivery.
    """

    __tablename__ = "zoom_webhook_logs"

    event_type: Mapped[str] = mapped_column(sa.String(100), default="", index=True)
    event_ts: Mapped[int | None] = mapped_column(sa.BigInteger)  # Zoom's epoch milliseconds
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    payload: Mapped[str] = mapped_column(sa.Text, default="")  # the raw body
    signature_valid: Mapped[bool] = mapped_column(default=False)
    status: Mapped[WebhookStatus] = mapped_column(
        enum_column(WebhookStatus), default=WebhookStatus.RECEIVED, index=True
    )
    error: Mapped[str] = mapped_column(sa.Text, default="")
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __str__(self) -> str:
        return f"{self.event_type or 'webhook'} {self.status.value}"

    @property
    def is_done(self) -> bool:
        return self.status in (WebhookStatus.PROCESSED, WebhookStatus.IGNORED)

    def mark(self, status: WebhookStatus, error: str = "") -> None:
        self.status = status
        self.error = error[:2000]
        self.processed_at = utcnow()


class AttendanceSource(enum.Enum):
    """Where an interval came from (DESIGN.md "Decisions": each source is recorded)."""

    ZOOM = "zoom"  # a participant webhook
    ZOOM_REPORT = "zoom_report"  # Zoom's past-meeting participants report (a later part)
    CHECK_IN = "check_in"
    MANUAL = "manual"


class AttendanceRecord(Model):
    """One join → leave interval of one participant in one meeting (seed 003).

    A meeting belongs to a session, or to a single-session event (then `session_id` is
    NULL). `meeting_uuid` is Zoom's uuid of the meeting instance and `participant_key` the
    most stable participant identity the webhook carried: together with `join_at` they make a
    repeated "joined" a no-op; a re-join is a new interval.
    """

    __tablename__ = "attendance_records"
    __table_args__ = (
        sa.UniqueConstraint("meeting_uuid", "participant_key", "join_at"),
        sa.CheckConstraint("leave_at IS NULL OR leave_at >= join_at", name="leaves_after_join"),
        sa.Index("ix_attendance_records_open", "meeting_uuid", "participant_key", "leave_at"),
    )

    event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("event_sessions.id", ondelete="CASCADE"), index=True
    )
    # Matching to a registration is a later step; the registration may go, the record stays.
    registration_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("registrations.id", ondelete="SET NULL"), index=True
    )
    meeting_id: Mapped[str] = mapped_column(sa.String(64))
    meeting_uuid: Mapped[str] = mapped_column(sa.String(200))
    participant_key: Mapped[str] = mapped_column(sa.String(320))
    participant_uuid: Mapped[str] = mapped_column(sa.String(200), default="")
    participant_user_id: Mapped[str] = mapped_column(sa.String(200), default="")
    registrant_id: Mapped[str] = mapped_column(sa.String(200), default="", index=True)
    email: Mapped[str] = mapped_column(sa.String(320), default="", index=True)
    user_name: Mapped[str] = mapped_column(sa.String(300), default="")
    join_at: Mapped[datetime] = mapped_column(UTCDateTime)
    leave_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source: Mapped[AttendanceSource] = mapped_column(
        enum_column(AttendanceSource), default=AttendanceSource.ZOOM
    )
    # The organizer said this participant is nobody to match (a host, a test login).
    ignored_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[Event] = relationship()
    session: Mapped[EventSession | None] = relationship()

    def __str__(self) -> str:
        return f"{self.user_name or self.email or self.participant_key} at {self.join_at}"

    @property
    def is_open(self) -> bool:
        return self.leave_at is None

    def close(self, leave_at: datetime) -> None:
        self.leave_at = leave_at


class ZoomMeetingRun(Model):
    """One instance of a meeting as Zoom reported it: its actual start and end, which
    attendance is clipped to (DESIGN.md "Decisions") when known."""

    __tablename__ = "zoom_meeting_runs"

    event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("event_sessions.id", ondelete="CASCADE"), index=True
    )
    meeting_uuid: Mapped[str] = mapped_column(sa.String(200), unique=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SessionAttendance(Model):
    """A registration's attendance of one session, or of a single-session event (then
    `session_id` is NULL), computed from its AttendanceRecords (app/zoom/attendance.py).

    `sources` lists the sources of the intervals it was computed from ("zoom", "manual").
    """

    __tablename__ = "session_attendances"
    __table_args__ = (sa.UniqueConstraint("registration_id", "session_id"),)

    event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("event_sessions.id", ondelete="CASCADE"), index=True
    )
    registration_id: Mapped[int] = mapped_column(
        sa.ForeignKey("registrations.id", ondelete="CASCADE"), index=True
    )
    minutes: Mapped[int] = mapped_column(default=0)
    percent: Mapped[int] = mapped_column(default=0)
    attended: Mapped[bool] = mapped_column(default=False)
    sources: Mapped[str] = mapped_column(sa.String(100), default="")

    session: Mapped[EventSession | None] = relationship()


class ZoomConnection(Model):
    """An organizer's Zoom account, linked through OAuth (issue 5): whose tokens create the
    meetings of the events they publish. One per user; connecting again replaces it.

    The tokens are encrypted at rest (EncryptedText). Zoom rotates the refresh token on
    every refresh and accepts only the latest one. `needs_reconnect_at` is set when Zoom
    refuses it (revoked, or an older one): the organizer has to connect again, and
    `last_error` says why.
    """

    __tablename__ = "zoom_connections"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    zoom_user_id: Mapped[str] = mapped_column(sa.String(64), default="", index=True)
    zoom_account_id: Mapped[str] = mapped_column(sa.String(64), default="", index=True)
    zoom_email: Mapped[str] = mapped_column(sa.String(320), default="")
    access_token: Mapped[str] = mapped_column(EncryptedText)
    refresh_token: Mapped[str] = mapped_column(EncryptedText)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    scopes: Mapped[str] = mapped_column(sa.Text, default="")
    connected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    needs_reconnect_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")

    user: Mapped[User] = relationship()  # noqa: F821 (app.accounts.models)

    def __str__(self) -> str:
        return self.zoom_email or self.zoom_user_id

    @classmethod
    def of(cls, user_or_id) -> ZoomConnection | None:
        user_id = getattr(user_or_id, "id", user_or_id)
        return db.session.scalar(sa.select(cls).where(cls.user_id == user_id))

    @property
    def needs_reconnect(self) -> bool:
        return self.needs_reconnect_at is not None

    def as_token(self) -> dict:
        """The token as Authlib's OAuth2Session expects it."""
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "token_type": "Bearer",
            "expires_at": int(self.expires_at.timestamp()),
            "scope": self.scopes,
        }

    def store_token(self, token: dict) -> None:
        """Keep a token Zoom issued (a code exchange or a refresh); Zoom rotates the refresh
        token on every refresh, so the new one must be kept with the new access token."""
        self.access_token = token["access_token"]
        self.refresh_token = token.get("refresh_token") or self.refresh_token
        self.expires_at = datetime.fromtimestamp(int(token["expires_at"]), UTC)
        self.scopes = token.get("scope") or self.scopes or ""
        self.needs_reconnect_at = None
        self.last_error = ""

    def mark_needs_reconnect(self, error: str) -> None:
        self.needs_reconnect_at = utcnow()
        self.last_error = error[:2000]


# --- Recordings (A3): Zoom's cloud recordings of a meeting, and who watched them


class ZoomRecording(Model):
    """The cloud recording of one meeting instance, as `recording.completed` reported it
    (seed 003). Belongs to the session (or single-session event) of the meeting; removed
    with the event. `meeting_uuid` identifies the instance: a repeated delivery finds it."""

    __tablename__ = "zoom_recordings"

    event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("event_sessions.id", ondelete="CASCADE"), index=True
    )
    meeting_id: Mapped[str] = mapped_column(sa.String(64))
    meeting_uuid: Mapped[str] = mapped_column(sa.String(200), unique=True)
    # Zoom's user id of the host: whose connection may download the files.
    host_id: Mapped[str] = mapped_column(sa.String(64), default="")
    topic: Mapped[str] = mapped_column(sa.String(300), default="")
    start_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_minutes: Mapped[int] = mapped_column(default=0)
    share_url: Mapped[str] = mapped_column(sa.String(1000), default="")
    # What attendees type on Zoom's player page; encrypted like every other Zoom secret.
    play_passcode: Mapped[str | None] = mapped_column(EncryptedText)
    total_size: Mapped[int] = mapped_column(sa.BigInteger, default=0)

    event: Mapped[Event] = relationship()
    session: Mapped[EventSession | None] = relationship()
    files: Mapped[list[ZoomRecordingFile]] = relationship(
        back_populates="recording",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="(ZoomRecordingFile.recording_start, ZoomRecordingFile.id)",
    )

    def __str__(self) -> str:
        return self.topic or self.meeting_uuid


class ZoomRecordingFile(Model):
    """One file of a recording (video, audio, chat, transcript...), named by Zoom's file id.

    `file_type`, `recording_type` and `status` keep Zoom's own words (MP4,
    shared_screen_with_speaker_view, completed...): Zoom adds kinds, we show them as given.
    `download_url` needs the host's OAuth token: the app streams it, never hands it out.
    """

    __tablename__ = "zoom_recording_files"
    __table_args__ = (sa.UniqueConstraint("recording_id", "file_id"),)

    recording_id: Mapped[int] = mapped_column(
        sa.ForeignKey("zoom_recordings.id", ondelete="CASCADE"), index=True
    )
    file_id: Mapped[str] = mapped_column(sa.String(200))
    file_type: Mapped[str] = mapped_column(sa.String(32), default="")
    file_extension: Mapped[str] = mapped_column(sa.String(16), default="")
    recording_type: Mapped[str] = mapped_column(sa.String(64), default="")
    file_size: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    play_url: Mapped[str] = mapped_column(sa.String(1000), default="")
    download_url: Mapped[str] = mapped_column(sa.String(1000), default="")
    status: Mapped[str] = mapped_column(sa.String(32), default="")
    recording_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recording_end: Mapped[datetime | None] = mapped_column(UTCDateTime)

    recording: Mapped[ZoomRecording] = relationship(back_populates="files")

    def __str__(self) -> str:
        return f"{self.file_type or 'file'} {self.recording_type}".strip()

    @property
    def can_watch(self) -> bool:
        return _is_web_url(self.play_url)  # a player page, never a script

    @property
    def can_download(self) -> bool:
        return _is_web_url(self.download_url) and self.status.lower() in ("", "completed")

    @property
    def download_name(self) -> str:
        """A safe file name for the browser: the recording type and Zoom's extension."""
        stem = _safe_name(self.recording_type or self.file_type) or "recording"
        extension = _safe_name(self.file_extension or self.file_type) or "bin"
        return f"{stem}.{extension.lower()}"


def _is_web_url(url: str) -> bool:
    return url.startswith(("https://", "http://"))


def _safe_name(text: str) -> str:
    return "".join(c for c in text if c.isascii() and (c.isalnum() or c in "_-"))[:60]


class RecordingAction(enum.Enum):
    WATCH = "watch"  # sent on to Zoom's player
    DOWNLOAD = "download"  # streamed through the app


class RecordingView(Model):
    """One watch or download of a recording file: the organizer's view counts (seed 003).

    The registration is the attendee's (None for an organizer); the row goes with the
    recording and with the registration (seed 003: CASCADE), and outlives the account.
    """

    __tablename__ = "recording_views"

    recording_id: Mapped[int] = mapped_column(
        sa.ForeignKey("zoom_recordings.id", ondelete="CASCADE"), index=True
    )
    recording_file_id: Mapped[int] = mapped_column(
        sa.ForeignKey("zoom_recording_files.id", ondelete="CASCADE"), index=True
    )
    registration_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("registrations.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[RecordingAction] = mapped_column(enum_column(RecordingAction))

    recording: Mapped[ZoomRecording] = relationship()
    file: Mapped[ZoomRecordingFile] = relationship()
    registration = relationship("Registration")
    user = relationship("User")

    def __str__(self) -> str:
        return f"{self.action.value} at {self.created_at}"


# --- Meetings and registrants (A2): what Convene created at Zoom for an online event


class MeetingSyncStatus(enum.Enum):
    """Whether Zoom has what Convene holds: a create/update/delete job may be on its way."""

    PENDING = "pending"  # a job will create, update or delete it at Zoom
    SYNCED = "synced"
    FAILED = "failed"  # the last attempt failed (`last_error`); the job runner retries it
    DELETED = "deleted"  # deleted at Zoom (the event or the session was cancelled)


class ZoomMeeting(Model):
    """The Zoom meeting of a session, or of an event with one session or none (then
    `session_id` is NULL), created through the connection of `host_user` (the organizer
    who published). `topic`, `start_at` and `duration_minutes` are what Zoom was last told,
    so that a sync knows when Zoom needs an update. Event.zoom_meeting_id and
    EventSession.zoom_meeting_id, which webhooks look meetings up by, follow `meeting_id`.
    """

    __tablename__ = "zoom_meetings"

    event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("event_sessions.id", ondelete="CASCADE"), index=True
    )
    meeting_id: Mapped[str] = mapped_column(sa.String(64), default="", index=True)
    join_url: Mapped[str] = mapped_column(sa.Text, default="")
    # The host's link starts the meeting as them: it stays encrypted at rest.
    start_url: Mapped[str] = mapped_column(EncryptedText, default="")
    host_user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    topic: Mapped[str] = mapped_column(sa.String(200), default="")
    start_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_minutes: Mapped[int] = mapped_column(default=0)
    sync_status: Mapped[MeetingSyncStatus] = mapped_column(
        enum_column(MeetingSyncStatus), default=MeetingSyncStatus.PENDING, index=True
    )
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[Event] = relationship()
    session: Mapped[EventSession | None] = relationship()
    host_user: Mapped[User | None] = relationship()  # noqa: F821 (app.accounts.models)

    def __str__(self) -> str:
        return f"Zoom meeting {self.meeting_id or '(not created)'} · {self.sync_status.value}"

    @property
    def is_created(self) -> bool:
        return bool(self.meeting_id) and self.sync_status != MeetingSyncStatus.DELETED

    def mark_synced(self) -> None:
        self.sync_status = MeetingSyncStatus.SYNCED
        self.last_error = ""
        self.synced_at = utcnow()

    def mark_failed(self, error: str) -> None:
        self.sync_status = MeetingSyncStatus.FAILED
        self.last_error = error[:2000]

    def mark_deleted(self) -> None:
        self.sync_status = MeetingSyncStatus.DELETED
        self.last_error = ""
        self.synced_at = utcnow()


class RegistrantStatus(enum.Enum):
    PENDING = "pending"  # a job will register the attendee at Zoom
    ACTIVE = "active"  # registered: `join_url` is the attendee's own link
    CANCELLED = "cancelled"
    FAILED = "failed"  # Zoom refused (`last_error`); the job runner retries it


class ZoomRegistrant(Model):
    """A registration's place in one Zoom meeting: Zoom's registrant id (which participant
    webhooks carry, the first rung of attendance matching) and the attendee's own join link."""

    __tablename__ = "zoom_registrants"
    __table_args__ = (sa.UniqueConstraint("registration_id", "zoom_meeting_id"),)

    registration_id: Mapped[int] = mapped_column(
        sa.ForeignKey("registrations.id", ondelete="CASCADE"), index=True
    )
    zoom_meeting_id: Mapped[int] = mapped_column(
        sa.ForeignKey("zoom_meetings.id", ondelete="CASCADE"), index=True
    )
    registrant_id: Mapped[str] = mapped_column(sa.String(200), default="", index=True)
    join_url: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[RegistrantStatus] = mapped_column(
        enum_column(RegistrantStatus), default=RegistrantStatus.PENDING, index=True
    )
    last_error: Mapped[str] = mapped_column(sa.Text, default="")

    meeting: Mapped[ZoomMeeting] = relationship()
    registration: Mapped[Registration] = relationship()  # noqa: F821 (app.registrations)

    def __str__(self) -> str:
        return f"registrant {self.registrant_id or '(none yet)'} · {self.status.value}"

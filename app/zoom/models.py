"""Zoom's side of things (seed 003): every webhook delivery, and the join → leave intervals
of the participants of a session's meeting."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models import Model
from app.core.types import UTCDateTime, enum_column, utcnow
from app.events.models import Event, EventSession


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

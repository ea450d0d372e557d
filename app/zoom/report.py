"""Zoom's past-meeting participants report: after a meeting ends, fill in what the
webhooks missed (a delivery Zoom gave up on, an endpoint that was down), then recompute the
meeting's attendance.

An interval of the report is the webhooks' when the same participant (any identity both
carry: Zoom's per-meeting user id, participant uuid, registrant id, email, else the name)
joined within a minute of it: then it is not added again, and an interval the webhooks left
open takes the report's leave time. The rest become AttendanceRecords with the source
ZOOM_REPORT. Running it again adds nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from app.extensions import db
from app.zoom import webhooks
from app.zoom.attendance import AttendanceService, normalise_name
from app.zoom.hosts import host_user_id
from app.zoom.models import AttendanceRecord, AttendanceSource, ZoomMeetingRun

log = logging.getLogger(__name__)

SAME_JOIN = timedelta(minutes=1)


@dataclass(frozen=True)
class ReportedInterval:
    """One row of Zoom's report, in the words of an AttendanceRecord."""

    participant_user_id: str
    zoom_user_id: str  # Zoom's account id of a signed-in participant; "" for guests
    participant_uuid: str
    registrant_id: str
    email: str
    user_name: str
    join_at: datetime
    leave_at: datetime | None

    @classmethod
    def read(cls, row: dict) -> ReportedInterval | None:
        """None for a row that cannot be an interval (no join time, no identity)."""
        from app.zoom.services import _text, _time

        try:
            join_at = _time(row, "join_time", False)
            leave_at = _time(row, "leave_time", False)
        except ValueError:
            return None
        if join_at is None:
            return None
        duration = row.get("duration")
        if leave_at is None and isinstance(duration, int) and not isinstance(duration, bool):
            leave_at = join_at + timedelta(seconds=max(duration, 0))
        if leave_at is not None and leave_at < join_at:
            leave_at = join_at
        interval = cls(
            participant_user_id=_text(row, "user_id", 200),
            zoom_user_id=_text(row, "id", 200),
            participant_uuid=_text(row, "participant_uuid", 200),
            registrant_id=_text(row, "registrant_id", 200),
            email=_text(row, "user_email", 320).strip().lower(),
            user_name=_text(row, "name", 300).strip(),
            join_at=join_at,
            leave_at=leave_at,
        )
        return interval if interval.participant_key else None

    @property
    def participant_key(self) -> str:
        return webhooks.participant_key({
            "participant_uuid": self.participant_uuid, "id": self.zoom_user_id,
            "user_id": self.participant_user_id, "email": self.email,
            "user_name": self.user_name,
        })

    def identities(self) -> set[tuple[str, str]]:
        return _identities(self.participant_user_id, self.participant_uuid, self.registrant_id,
                           self.email, self.user_name, self.participant_key)


def _identities(user_id, participant_uuid, registrant_id, email, name, key) -> set:
    pairs = {("user_id", user_id), ("participant_uuid", participant_uuid),
             ("registrant_id", registrant_id), ("email", email), ("key", key)}
    identities = {(kind, value) for kind, value in pairs if value}
    if not (user_id or participant_uuid or registrant_id or email):
        identities.add(("name", normalise_name(name)))  # a guest known by name only
    return identities


def record_identities(record: AttendanceRecord) -> set[tuple[str, str]]:
    return _identities(record.participant_user_id, record.participant_uuid,
                       record.registrant_id, record.email, record.user_name,
                       record.participant_key)


class ReportImport:
    """The report of one meeting instance against its recorded intervals (one query for
    them, however long the report: linear in both)."""

    def __init__(self, run: ZoomMeetingRun, meeting_id: str = ""):
        self.run, self.meeting_id = run, meeting_id
        self.records = db.session.scalars(
            sa.select(AttendanceRecord)
            .where(AttendanceRecord.meeting_uuid == run.meeting_uuid)
            .order_by(AttendanceRecord.join_at, AttendanceRecord.id)
        ).all()
        self.by_identity: dict[tuple[str, str], list[AttendanceRecord]] = {}
        for record in self.records:
            self._index(record)
        self.claimed: set[int] = set()
        self.added = self.closed = 0

    def _index(self, record: AttendanceRecord) -> None:
        for identity in record_identities(record):
            self.by_identity.setdefault(identity, []).append(record)

    def recorded(self, interval: ReportedInterval) -> AttendanceRecord | None:
        """The interval the webhooks (or an earlier import) recorded for this one: the same
        participant's nearest join within a minute that no other row of the report took."""
        candidates = {
            id(record): record
            for identity in interval.identities()
            for record in self.by_identity.get(identity, ())
            if abs(record.join_at - interval.join_at) <= SAME_JOIN
            and id(record) not in self.claimed
        }
        if not candidates:
            return None
        key, record = min(candidates.items(),
                          key=lambda item: abs(item[1].join_at - interval.join_at))
        self.claimed.add(key)
        return record

    def apply(self, interval: ReportedInterval) -> None:
        record = self.recorded(interval)
        if record is not None:
            if record.leave_at is None and interval.leave_at and interval.leave_at > record.join_at:
                record.close(interval.leave_at)  # the "left" webhook never came
                self.closed += 1
            return
        record = AttendanceRecord(
            event_id=self.run.event_id,
            session_id=self.run.session_id,
            meeting_id=self._meeting_id(),
            meeting_uuid=self.run.meeting_uuid,
            participant_key=interval.participant_key,
            participant_uuid=interval.participant_uuid,
            participant_user_id=interval.participant_user_id,
            registrant_id=interval.registrant_id,
            email=interval.email,
            user_name=interval.user_name,
            join_at=interval.join_at,
            leave_at=interval.leave_at,
            source=AttendanceSource.ZOOM_REPORT,
        )
        db.session.add(record)
        self._index(record)
        self.claimed.add(id(record))
        self.added += 1

    def _meeting_id(self) -> str:
        if self.meeting_id or self.records:
            return self.meeting_id or self.records[0].meeting_id
        from app.events.models import Event, EventSession

        owner = (db.session.get(EventSession, self.run.session_id) if self.run.session_id
                 else db.session.get(Event, self.run.event_id))
        return (owner.zoom_meeting_id if owner else "") or ""


def import_participants_report(meeting_uuid: str, host_id: str = "",
                               meeting_id: str = "") -> None:
    """The job enqueued by meeting.ended. Idempotent; a Zoom error that may pass (rate
    limit, Zoom down, a connection to renew) propagates, so the job system retries it."""
    from app.zoom import client

    run = db.session.scalar(
        sa.select(ZoomMeetingRun).where(ZoomMeetingRun.meeting_uuid == meeting_uuid)
    )
    if run is None:
        log.info("participants report: no meeting run %s", meeting_uuid)
        return
    try:
        api = client.zoom_api_for(host_user_id(run.event_id, host_id, meeting_id))
        rows = list(api.past_meeting_participants(meeting_uuid))
    except client.ZoomError as error:
        if error.retryable or isinstance(error, client.ZoomReconnectNeeded):
            raise
        log.warning("participants report of %s refused by Zoom: %s", meeting_uuid, error.message)
        return
    work = ReportImport(run, meeting_id)
    for row in rows:
        interval = ReportedInterval.read(row) if isinstance(row, dict) else None
        if interval is not None:
            work.apply(interval)
    db.session.flush()
    log.info("participants report of %s: %d added, %d closed", meeting_uuid, work.added,
             work.closed)
    _refresh(run)


def _refresh(run: ZoomMeetingRun) -> None:
    from app.events.models import Event, EventSession

    event = db.session.get(Event, run.event_id)
    session = db.session.get(EventSession, run.session_id) if run.session_id else None
    AttendanceService.refresh(event, session)

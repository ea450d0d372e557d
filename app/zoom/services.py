"""Zoom webhooks: taking a delivery in (verify, store once, hand to a job) and turning a
stored delivery into session status changes and attendance intervals.

Both only flush: the view commits the intake, the job commits the processing, one
transaction per delivery.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from app.core import privacy
from app.core.types import utcnow
from app.events.models import Event, EventSession
from app.extensions import db
from app.states import EVENT_MACHINE
from app.zoom import webhooks
from app.zoom.attendance import AttendanceService
from app.zoom.models import (
    AttendanceRecord,
    AttendanceSource,
    WebhookStatus,
    ZoomMeetingRun,
    ZoomWebhookLog,
)

log = logging.getLogger(__name__)

UNSIGNED_PAYLOAD_LIMIT = 4096  # what is kept of a body that failed the signature check


@dataclass(frozen=True)
class IntakeResult:
    status_code: int
    body: dict
    log_id: int | None = None
    is_new: bool = False  # a delivery stored for processing


class ZoomWebhookService:
    """POST /webhooks/zoom: every answer Zoom (or anyone else) gets, and the log row."""

    @staticmethod
    def receive(secret: str, headers, raw: bytes, now: float | None = None) -> IntakeResult:
        try:
            webhooks.verify(
                secret,
                headers.get("x-zm-request-timestamp"),
                headers.get("x-zm-signature"),
                raw,
                now=now,
            )
        except webhooks.InvalidSignature as exc:
            entry = _log(raw[:UNSIGNED_PAYLOAD_LIMIT], signature_valid=False)
            entry.mark(WebhookStatus.IGNORED, str(exc))
            db.session.flush()
            return IntakeResult(401, {"error": "invalid signature"}, entry.id)
        try:
            delivery = webhooks.parse(raw)
        except webhooks.BadShape as exc:
            entry = _log(raw, signature_valid=True)
            entry.mark(WebhookStatus.IGNORED, f"not a Zoom event: {exc}")
            db.session.flush()
            return IntakeResult(200, {"status": "ignored"}, entry.id)
        except ValueError:
            entry = _log(raw, signature_valid=True)
            entry.mark(WebhookStatus.IGNORED, "the body is not JSON")
            db.session.flush()
            return IntakeResult(400, {"error": "the body is not JSON"}, entry.id)

        if delivery.event_type == webhooks.URL_VALIDATION:
            return ZoomWebhookService._validate_url(secret, delivery, raw)

        key = delivery.dedupe_key(raw)
        log_id = _store_once(raw, delivery, key)
        if log_id is None:  # stored before (or at this moment, by another request)
            return IntakeResult(200, {"status": "duplicate"}, find_delivery(key))
        return IntakeResult(200, {"status": "received"}, log_id, is_new=True)

    @staticmethod
    def _validate_url(secret: str, delivery: webhooks.Delivery, raw: bytes) -> IntakeResult:
        plain_token = delivery.body["payload"].get("plainToken")
        entry = _log(raw, signature_valid=True, delivery=delivery)
        if not isinstance(plain_token, str) or not plain_token:
            entry.mark(WebhookStatus.IGNORED, "url_validation without a plainToken")
            db.session.flush()
            return IntakeResult(400, {"error": "plainToken missing"}, entry.id)
        entry.mark(WebhookStatus.PROCESSED)
        db.session.flush()
        return IntakeResult(200, webhooks.url_validation_response(secret, plain_token), entry.id)


def find_delivery(dedupe_key: str) -> int | None:
    return db.session.scalar(
        sa.select(ZoomWebhookLog.id).where(ZoomWebhookLog.dedupe_key == dedupe_key)
    )


def _store_once(raw: bytes, delivery: webhooks.Delivery, dedupe_key: str) -> int | None:
    """Store a verified delivery unless its key is stored already: one INSERT ... ON CONFLICT
    DO NOTHING (no look-up first, no savepoint: the hot path of bench/zoom_webhooks.py).
    Returns the new row's id, or None for a repeat."""
    table = ZoomWebhookLog.__table__
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = (
        insert(table)
        .values(
            event_type=delivery.event_type,
            event_ts=delivery.event_ts,
            dedupe_key=dedupe_key,
            payload=raw.decode("utf-8", errors="replace"),
            signature_valid=True,
            status=WebhookStatus.RECEIVED,
        )
        .on_conflict_do_nothing(index_elements=[table.c.dedupe_key])
        .returning(table.c.id)
    )
    return db.session.execute(statement).scalar()


def _log(raw: bytes, *, signature_valid: bool, delivery=None, dedupe_key=None) -> ZoomWebhookLog:
    entry = ZoomWebhookLog(
        event_type=delivery.event_type if delivery else "",
        event_ts=delivery.event_ts if delivery else None,
        dedupe_key=dedupe_key,
        payload=raw.decode("utf-8", errors="replace"),
        signature_valid=signature_valid,
        status=WebhookStatus.RECEIVED,
    )
    db.session.add(entry)
    return entry


# --- Processing


class Ignored(Exception):
    """Nothing to do for this delivery; the message is the reason kept on the log row."""


@dataclass
class Meeting:
    """What a meeting id stands for here: a session, or a single-session event."""

    event: Event
    session: EventSession | None


class ZoomEventProcessor:
    """Apply one stored delivery. Raises Ignored with a reason when there is nothing to do."""

    HANDLERS = {
        "meeting.started": "started",
        "webinar.started": "started",
        "meeting.ended": "ended",
        "webinar.ended": "ended",
        "meeting.participant_joined": "joined",
        "webinar.participant_joined": "joined",
        "meeting.participant_left": "left",
        "webinar.participant_left": "left",
        "app_deauthorized": "deauthorized",
        "recording.completed": "recording_completed",
    }

    @classmethod
    def process(cls, entry: ZoomWebhookLog) -> None:
        """Mark the row processed or ignored (with the reason); errors propagate."""
        try:
            delivery = webhooks.parse(entry.payload.encode("utf-8"))
            handler = cls.HANDLERS.get(delivery.event_type)
            if handler is None:
                raise Ignored(f"unhandled event type {delivery.event_type}")
            getattr(cls, f"_{handler}")(delivery)
        except Ignored as exc:
            entry.mark(WebhookStatus.IGNORED, str(exc))
        except ValueError as exc:  # BadShape, or a time that is not ISO-8601
            entry.mark(WebhookStatus.IGNORED, f"not a Zoom event: {exc}")
        else:
            entry.mark(WebhookStatus.PROCESSED)
        db.session.flush()

    @staticmethod
    def _deauthorized(delivery: webhooks.Delivery) -> None:
        """The user removed the app at Zoom: forget their connection (its tokens are dead)."""
        from app.zoom.connection import ZoomConnectionService

        payload = delivery.body["payload"]
        forgotten = ZoomConnectionService.forget_deauthorized(
            str(payload.get("user_id") or ""), str(payload.get("account_id") or "")
        )
        if not forgotten:
            raise Ignored("no connection of this Zoom user")

    @staticmethod
    def _started(delivery: webhooks.Delivery) -> None:
        started_at = _time(delivery.object, "start_time", False)
        meeting = find_meeting(delivery.object, started_at)
        _record_run(delivery.object, meeting, started_at=started_at)
        if meeting.session is not None:
            moved = meeting.session.go_live()
        else:
            moved = _fire_event(meeting.event, "start", "Zoom meeting started")
        if not moved:
            raise Ignored("already started (or not startable): no change")

    @staticmethod
    def _ended(delivery: webhooks.Delivery) -> None:
        ended_at = _time(delivery.object, "end_time", False)
        meeting = find_meeting(delivery.object, ended_at)
        _record_run(delivery.object, meeting, ended_at=ended_at or utcnow())
        if meeting.session is not None:
            moved = meeting.session.finish()
        else:
            moved = _fire_event(meeting.event, "complete", "Zoom meeting ended")
        AttendanceService.refresh(meeting.event, meeting.session)  # also on a repeated "ended"
        _enqueue_participants_report(delivery.object)
        if not moved:
            raise Ignored("not live: no change")

    @staticmethod
    def _recording_completed(delivery: webhooks.Delivery) -> None:
        from app.zoom.recording_services import store_recording

        obj = delivery.object
        store_recording(obj, find_meeting(obj, _time(obj, "start_time", False)))

    @staticmethod
    def _joined(delivery: webhooks.Delivery) -> None:
        obj, participant = delivery.object, delivery.participant
        join_at = _time(participant, "join_time")
        meeting = find_meeting(obj, join_at)
        uuid, key = _identity(obj, participant)
        duplicate = sa.select(AttendanceRecord.id).where(
            AttendanceRecord.meeting_uuid == uuid,
            AttendanceRecord.participant_key == key,
            AttendanceRecord.join_at == join_at,
        )
        if db.session.scalar(duplicate) is not None:
            raise Ignored("this join is already recorded")
        record = AttendanceRecord(
            event_id=meeting.event.id,
            session_id=meeting.session.id if meeting.session else None,
            meeting_id=str(obj.get("id"))[:64],
            meeting_uuid=uuid,
            participant_key=key,
            participant_uuid=_text(participant, "participant_uuid", 200),
            participant_user_id=_text(participant, "user_id", 200),
            registrant_id=_text(participant, "registrant_id", 200),
            email=_text(participant, "email", 320).strip().lower(),
            user_name=_text(participant, "user_name", 300).strip(),
            join_at=join_at,
            source=AttendanceSource.ZOOM,
        )
        try:
            with db.session.begin_nested():
                db.session.add(record)
                db.session.flush()
        except sa.exc.IntegrityError:
            raise Ignored("this join is already recorded") from None

    @staticmethod
    def _left(delivery: webhooks.Delivery) -> None:
        obj, participant = delivery.object, delivery.participant
        leave_at = _time(participant, "leave_time")
        meeting = find_meeting(obj, leave_at)
        uuid, key = _identity(obj, participant)
        record = _open_interval(uuid, AttendanceRecord.participant_key == key, leave_at)
        user_id = _text(participant, "user_id", 200)
        if record is None and user_id:
            # "left" may carry fewer identity fields than "joined": Zoom's user_id is
            # required in both (and stable within one meeting instance).
            record = _open_interval(
                uuid, AttendanceRecord.participant_user_id == user_id, leave_at
            )
        if record is None:
            raise Ignored("left before joining: no open interval for this participant")
        record.close(leave_at)
        if _has_ended(uuid):  # a late "left": the attendance was already computed
            AttendanceService.refresh(meeting.event, meeting.session)


def _enqueue_participants_report(obj: dict) -> None:
    """Zoom's report of the meeting fills in what the webhooks missed (app/zoom/report.py)."""
    from app.jobs import enqueue
    from app.zoom.report import import_participants_report

    uuid = obj.get("uuid")
    if isinstance(uuid, str) and uuid:
        enqueue(import_participants_report, uuid[:200], _text(obj, "host_id", 64),
                _text(obj, "id", 64))


def _record_run(obj: dict, meeting: Meeting, **times) -> None:
    """Keep the meeting instance's actual start or end (attendance is clipped to them)."""
    uuid = obj.get("uuid")
    if not isinstance(uuid, str) or not uuid:
        return
    run = db.session.scalar(
        sa.select(ZoomMeetingRun).where(ZoomMeetingRun.meeting_uuid == uuid[:200])
    )
    if run is None:
        run = ZoomMeetingRun(event_id=meeting.event.id, meeting_uuid=uuid[:200],
                             session_id=meeting.session.id if meeting.session else None)
        db.session.add(run)
    for name, value in times.items():
        if value is not None and getattr(run, name) is None:
            setattr(run, name, value)
    db.session.flush()


def _has_ended(uuid: str) -> bool:
    return db.session.scalar(
        sa.select(ZoomMeetingRun.id).where(
            ZoomMeetingRun.meeting_uuid == uuid, ZoomMeetingRun.ended_at.is_not(None)
        )
    ) is not None


def _open_interval(uuid: str, who, leave_at: datetime) -> AttendanceRecord | None:
    """The participant's latest interval in this meeting that is open at `leave_at`."""
    return db.session.scalar(
        sa.select(AttendanceRecord)
        .where(
            AttendanceRecord.meeting_uuid == uuid,
            who,
            AttendanceRecord.leave_at.is_(None),
            AttendanceRecord.join_at <= leave_at,
        )
        .order_by(AttendanceRecord.join_at.desc())
        .limit(1)
        .with_for_update()
    )


def find_meeting(obj: dict, moment: datetime | None) -> Meeting:
    """The session (or single-session event) whose Zoom meeting this is; Ignored if none.

    A meeting id reused by several sessions resolves to the one scheduled nearest `moment`.
    """
    meeting_id = obj.get("id")
    if isinstance(meeting_id, bool) or not isinstance(meeting_id, str | int) or meeting_id == "":
        raise Ignored("no meeting id")
    meeting_id = str(meeting_id)
    sessions = db.session.scalars(
        sa.select(EventSession).where(EventSession.zoom_meeting_id == meeting_id)
    ).all()
    if sessions:
        moment = moment or utcnow()
        session = min(sessions, key=lambda s: abs((s.start_at - moment).total_seconds()))
        return Meeting(session.event, session)
    event = db.session.scalar(
        sa.select(Event).where(Event.zoom_meeting_id == meeting_id).order_by(Event.id).limit(1)
    )
    if event is None:
        raise Ignored(f"unknown meeting id {meeting_id}")
    return Meeting(event, None)


def _fire_event(event: Event, trigger: str, reason: str) -> bool:
    if not EVENT_MACHINE.may(event, trigger):
        log.info("ignored Zoom %s on event %s: it is %s", trigger, event.id, event.status)
        return False
    getattr(event, trigger)(reason=reason)
    return True


def _identity(obj: dict, participant: dict) -> tuple[str, str]:
    uuid = obj.get("uuid")
    if not isinstance(uuid, str) or not uuid:
        raise Ignored("no meeting uuid")
    key = webhooks.participant_key(participant)
    if not key:
        raise Ignored("no participant identity")
    return uuid[:200], key


def _time(data: dict, field: str, required: bool = True) -> datetime | None:
    value = data.get(field)
    if not isinstance(value, str) or not value:
        if required:
            raise Ignored(f"no {field}")
        return None
    moment = datetime.fromisoformat(value)  # ValueError: not ISO-8601
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # Zoom's times are UTC
    return moment.astimezone(UTC)


def _text(data: dict, field: str, limit: int) -> str:
    value = data.get(field)
    return "" if value is None else str(value)[:limit]


# --- Privacy


def _records_of(user):
    """The intervals that are a user's: through their registration, or under their email."""
    from app.registrations.models import Registration

    mine = sa.select(Registration.id).where(Registration.user_id == user.id)
    return sa.or_(
        AttendanceRecord.registration_id.in_(mine.scalar_subquery()),
        AttendanceRecord.email == str(user.email).lower(),
    )


def export_attendance(user) -> list[dict]:
    rows = db.session.execute(
        sa.select(AttendanceRecord, Event.title, EventSession.title)
        .join(Event, Event.id == AttendanceRecord.event_id)
        .outerjoin(EventSession, EventSession.id == AttendanceRecord.session_id)
        .where(_records_of(user))
        .order_by(AttendanceRecord.join_at, AttendanceRecord.id)
        .execution_options(include_deleted=True)
    )
    return [
        {
            "event": event_title,
            "session": session_title,
            "name": record.user_name,
            "email": record.email,
            "joined_at": record.join_at.isoformat(),
            "left_at": record.leave_at and record.leave_at.isoformat(),
            "source": record.source.value,
        }
        for record, event_title, session_title in rows
    ]


def anonymise_attendance(user) -> None:
    """Keep the intervals (the organizer's attendance figures); drop what names the person,
    here and in the raw webhook bodies that carried their address."""
    email = str(user.email).lower()
    db.session.execute(
        sa.update(AttendanceRecord)
        .where(_records_of(user))
        .values(
            email=privacy.anonymised_email(user),
            user_name="Deleted User",
            participant_key=sa.literal("deleted:") + sa.cast(AttendanceRecord.id, sa.String),
        )
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        sa.update(ZoomWebhookLog)
        .where(sa.func.lower(ZoomWebhookLog.payload).contains(f'"{email}"', autoescape=True))
        .values(payload="", error="")
        .execution_options(synchronize_session=False)
    )


privacy.register("zoom", export=export_attendance, anonymise=anonymise_attendance)

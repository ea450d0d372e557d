"""From Zoom intervals to attendance (seed 003 "matching algorithm", DESIGN.md "Decisions").

Matching: a participant (AttendanceRecord) is matched to a live registration of the event by
Zoom's registrant id (the participant joined with their own registrant link, app/zoom/
meetings.py), else by canonical email, else by normalised full name when exactly one
registration of the event has that name. The rest stay unmatched: the organizer matches them
by hand or ignores them.

Attendance: per registration and session (or single-session event), the intervals are merged,
clipped to the meeting's actual start/end when Zoom reported them, else to the scheduled
times, and summed; percent of the session and attended yes/no against the event's threshold.

Everything is linear in the number of records and registrations: dicts are built once per
event, never a query per participant. Services only flush.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from app.core.errors import DomainError
from app.core.types import utcnow
from app.events.models import Event, EventSession
from app.extensions import db
from app.registrations.models import LIVE_STATUSES, Registration
from app.zoom.models import (
    AttendanceRecord,
    SessionAttendance,
    ZoomMeeting,
    ZoomMeetingRun,
    ZoomRegistrant,
)

DEFAULT_THRESHOLD = 75


def normalise_name(name: str) -> str:
    """Case, accents, punctuation and spacing do not count: "  José  O'Neil" ~ "jose oneil"."""
    decomposed = unicodedata.normalize("NFKD", name or "")
    letters = "".join(c for c in decomposed if c.isalnum() or c.isspace())
    return " ".join(letters.casefold().split())


def merged_seconds(intervals: list[tuple[datetime, datetime]], start: datetime,
                   end: datetime) -> int:
    """Seconds covered by the intervals inside [start, end], overlaps counted once."""
    clipped = sorted((max(a, start), min(b, end)) for a, b in intervals)
    total, current_start, current_end = 0, None, None
    for a, b in clipped:
        if b <= a:
            continue
        if current_end is None or a > current_end:
            if current_end is not None:
                total += (current_end - current_start).total_seconds()
            current_start, current_end = a, b
        else:
            current_end = max(current_end, b)
    if current_end is not None:
        total += (current_end - current_start).total_seconds()
    return int(total)


def _scope(query, model, event: Event, session: EventSession | None):
    query = query.where(model.event_id == event.id)
    if session is None:
        return query.where(model.session_id.is_(None))
    return query.where(model.session_id == session.id)


def session_window(event: Event, session: EventSession | None) -> tuple[datetime, datetime]:
    """The actual start/end of the meeting when Zoom reported them, else the scheduled ones."""
    scheduled = session or event
    start, end = scheduled.start_at, scheduled.end_at
    row = db.session.execute(
        _scope(sa.select(sa.func.min(ZoomMeetingRun.started_at),
                         sa.func.max(ZoomMeetingRun.ended_at)), ZoomMeetingRun, event, session)
    ).one()
    actual_start, actual_end = row
    if actual_start is not None:
        start = actual_start
    if actual_end is not None and actual_end > start:
        end = actual_end
    return start, end


@dataclass
class Candidates:
    """An event's live registrations, indexed for matching."""

    by_email: dict[str, int]
    by_name: dict[str, list[int]]
    by_registrant: dict[str, int] = field(default_factory=dict)  # Zoom registrant id

    @classmethod
    def of(cls, event: Event) -> Candidates:
        rows = db.session.execute(
            sa.select(Registration.id, Registration.email, Registration.full_name)
            .where(Registration.event_id == event.id, Registration.status.in_(LIVE_STATUSES))
            .order_by(Registration.id)
        )
        by_email: dict[str, int] = {}
        by_name: dict[str, list[int]] = defaultdict(list)
        for registration_id, email, full_name in rows:
            by_email.setdefault(str(email).strip().lower(), registration_id)
            name = normalise_name(full_name)
            if name:
                by_name[name].append(registration_id)
        by_registrant = dict(db.session.execute(
            sa.select(ZoomRegistrant.registrant_id, ZoomRegistrant.registration_id)
            .join(ZoomMeeting, ZoomMeeting.id == ZoomRegistrant.zoom_meeting_id)
            .join(Registration, Registration.id == ZoomRegistrant.registration_id)
            .where(ZoomMeeting.event_id == event.id, ZoomRegistrant.registrant_id != "",
                   Registration.status.in_(LIVE_STATUSES))
        ).all())
        return cls(by_email, dict(by_name), by_registrant)

    def match(self, record: AttendanceRecord) -> int | None:
        """Zoom's registrant id first (the attendee's own join link), then the email, then
        a normalised name that exactly one registration has."""
        if record.registrant_id and record.registrant_id in self.by_registrant:
            return self.by_registrant[record.registrant_id]
        email = (record.email or "").strip().lower()
        if email and email in self.by_email:
            return self.by_email[email]
        named = self.by_name.get(normalise_name(record.user_name), [])
        return named[0] if len(named) == 1 else None


class AttendanceService:
    @staticmethod
    def match(event: Event, session: EventSession | None = None, *,
              all_sessions: bool = False) -> int:
        """Match the unmatched, not ignored records of a session (or of the whole event);
        returns how many were matched."""
        candidates = Candidates.of(event)
        query = sa.select(AttendanceRecord).where(
            AttendanceRecord.registration_id.is_(None), AttendanceRecord.ignored_at.is_(None)
        )
        if all_sessions:
            query = query.where(AttendanceRecord.event_id == event.id)
        else:
            query = _scope(query, AttendanceRecord, event, session)
        matched = 0
        for record in db.session.scalars(query):
            registration_id = candidates.match(record)
            if registration_id is not None:
                record.registration_id = registration_id
                matched += 1
        db.session.flush()
        return matched

    @staticmethod
    def recompute(
        event: Event, session: EventSession | None = None
    ) -> dict[int, SessionAttendance]:
        """Rewrite the SessionAttendance rows of one session from its matched records."""
        start, end = session_window(event, session)
        now = utcnow()
        length = max((end - start).total_seconds(), 1)
        threshold = (DEFAULT_THRESHOLD if event.attendance_threshold is None
                     else event.attendance_threshold)
        intervals: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
        sources: dict[int, set[str]] = defaultdict(set)
        rows = db.session.execute(
            _scope(sa.select(AttendanceRecord.registration_id, AttendanceRecord.join_at,
                             AttendanceRecord.leave_at, AttendanceRecord.source),
                   AttendanceRecord, event, session)
            .where(AttendanceRecord.registration_id.is_not(None))
        )
        for registration_id, join_at, leave_at, source in rows:
            intervals[registration_id].append((join_at, leave_at or min(now, end)))
            sources[registration_id].add(source.value)
        existing = {
            row.registration_id: row
            for row in db.session.scalars(
                _scope(sa.select(SessionAttendance), SessionAttendance, event, session)
            )
        }
        for registration_id, row in list(existing.items()):
            if registration_id not in intervals:
                db.session.delete(row)
                del existing[registration_id]
        for registration_id, spans in intervals.items():
            seconds = merged_seconds(spans, start, end)
            row = existing.get(registration_id)
            if row is None:
                row = SessionAttendance(event_id=event.id,
                                        session_id=session.id if session else None,
                                        registration_id=registration_id)
                db.session.add(row)
                existing[registration_id] = row
            row.minutes = seconds // 60
            row.percent = min(100, int(seconds * 100 // length))
            row.attended = row.percent >= threshold
            row.sources = ",".join(sorted(sources[registration_id]))
        db.session.flush()
        return existing

    @classmethod
    def refresh(cls, event: Event, session: EventSession | None = None) -> None:
        """Match, then recompute: after a meeting ends, or a late "left" after it ended."""
        cls.match(event, session)
        cls.recompute(event, session)

    # --- The organizer's hand

    @staticmethod
    def _participant(event: Event, record: AttendanceRecord):
        """The unmatched records of the same participant in the same session."""
        query = _scope(sa.select(AttendanceRecord), AttendanceRecord, event, record.session)
        return db.session.scalars(query.where(
            AttendanceRecord.participant_key == record.participant_key,
            AttendanceRecord.registration_id.is_(None),
        )).all()

    @classmethod
    def match_by_hand(cls, event: Event, record: AttendanceRecord,
                      registration: Registration | None) -> None:
        if registration is None or registration.event_id != event.id:
            raise DomainError(_("Choose one of this event's registrations."))
        if record.registration_id is not None:
            raise DomainError(_("This participant is already matched."))
        for each in cls._participant(event, record):
            each.registration_id = registration.id
            each.ignored_at = None
        db.session.flush()
        cls.recompute(event, record.session)

    @classmethod
    def ignore(cls, event: Event, record: AttendanceRecord) -> None:
        if record.registration_id is not None:
            raise DomainError(_("This participant is already matched."))
        now = utcnow()
        for each in cls._participant(event, record):
            each.ignored_at = now
        db.session.flush()


@dataclass
class Unmatched:
    """One unmatched participant of a session: their intervals added up."""

    record: AttendanceRecord  # the first interval, which the match/ignore forms name
    minutes: int


def unmatched_participants(event: Event) -> dict[int | None, list[Unmatched]]:
    """Per session id, the participants nobody matched or ignored, in order of joining."""
    records = db.session.scalars(
        sa.select(AttendanceRecord)
        .where(AttendanceRecord.event_id == event.id,
               AttendanceRecord.registration_id.is_(None),
               AttendanceRecord.ignored_at.is_(None))
        .order_by(AttendanceRecord.join_at, AttendanceRecord.id)
    )
    now = utcnow()
    groups: dict[tuple, list[AttendanceRecord]] = {}
    for record in records:
        groups.setdefault((record.session_id, record.participant_key), []).append(record)
    result: dict[int | None, list[Unmatched]] = defaultdict(list)
    for (session_id, _key), group in groups.items():
        spans = [(r.join_at, r.leave_at or now) for r in group]
        start = min(a for a, _ in spans)
        end = max(b for _, b in spans)
        result[session_id].append(Unmatched(group[0], merged_seconds(spans, start, end) // 60))
    return result


@dataclass
class AttendanceLine:
    registration: Registration
    attendance: SessionAttendance | None

    @property
    def minutes(self) -> int:
        return self.attendance.minutes if self.attendance else 0

    @property
    def percent(self) -> int:
        return self.attendance.percent if self.attendance else 0

    @property
    def checked_in(self) -> bool:
        return self.registration.checked_in_at is not None

    @property
    def attended(self) -> bool:
        """Checked in at the door, or in the Zoom meeting for the event's threshold: the
        rule of certificate eligibility (app/certificates/services.py), where a check-in
        counts for every session of the event."""
        return self.checked_in or bool(self.attendance and self.attendance.attended)


@dataclass
class SessionBlock:
    """One session of the organizer's attendance page (or the event, when single-session)."""

    session: EventSession | None
    title: str
    start_at: datetime
    end_at: datetime
    lines: list[AttendanceLine]
    unmatched: list[Unmatched]

    @property
    def attended_count(self) -> int:
        return sum(1 for line in self.lines if line.attended)


def attendance_blocks(event: Event) -> list[SessionBlock]:
    """The page, in four queries whatever the number of attendees: sessions, registrations,
    attendance rows, unmatched records. One block per session of an online or hybrid event;
    an in-person event has one block, its check-ins."""
    sessions = db.session.scalars(
        sa.select(EventSession).where(EventSession.event_id == event.id)
        .order_by(EventSession.start_at, EventSession.position, EventSession.id)
    ).all()
    registrations = db.session.scalars(
        sa.select(Registration).where(Registration.event_id == event.id)
        .order_by(Registration.full_name, Registration.id)
    ).all()
    rows: dict[int | None, dict[int, SessionAttendance]] = defaultdict(dict)
    for row in db.session.scalars(
        sa.select(SessionAttendance).where(SessionAttendance.event_id == event.id)
    ):
        rows[row.session_id][row.registration_id] = row
    unmatched = unmatched_participants(event)
    scopes: list[tuple[EventSession | None, str, datetime, datetime]] = [
        (s, s.title, s.start_at, s.end_at) for s in sessions if not s.is_cancelled
    ]
    event_level = (None, event.title, event.start_at, event.end_at)
    if not event.format.is_online:
        scopes = [event_level]  # no meetings: a check-in counts for the whole event
    elif not event.is_multi_session and event.zoom_meeting_id:
        scopes = [event_level]  # the event's own meeting
    elif not scopes or rows.get(None) or unmatched.get(None):
        scopes.insert(0, event_level)
    blocks = []
    for session, title, start_at, end_at in scopes:
        key = session.id if session else None
        mine = rows.get(key, {})
        lines = [
            AttendanceLine(registration, mine.get(registration.id))
            for registration in registrations
            if registration.holds_seat or registration.id in mine
        ]
        blocks.append(SessionBlock(session, title, start_at, end_at, lines,
                                   unmatched.get(key, [])))
    return blocks


def csv_rows(event: Event):
    """Header, then one row per attendee and session."""
    yield ["session", "name", "email", "minutes", "percent", "attended", "sources"]
    for block in attendance_blocks(event):
        for line in block.lines:
            yield [block.title, line.registration.full_name, str(line.registration.email),
                   line.minutes, line.percent, "yes" if line.attended else "no",
                   line.attendance.sources if line.attendance else ""]


def own_attendance(registration: Registration) -> list[tuple[str, SessionAttendance]]:
    """A person's attendance, per session (title, row), in the order of the sessions."""
    rows = db.session.execute(
        sa.select(SessionAttendance, EventSession.title)
        .outerjoin(EventSession, EventSession.id == SessionAttendance.session_id)
        .where(SessionAttendance.registration_id == registration.id)
        .order_by(EventSession.start_at.nulls_first(), SessionAttendance.id)
    )
    return [(title or registration.event.title, row) for row, title in rows]


def recompute_for_new_threshold(event: Event) -> None:
    """`attendance_threshold_changed`: who counts as attended depends on the event's threshold."""
    session_ids = db.session.scalars(
        sa.select(SessionAttendance.session_id)
        .where(SessionAttendance.event_id == event.id)
        .distinct()
    ).all()
    for session_id in session_ids:
        session = db.session.get(EventSession, session_id) if session_id else None
        AttendanceService.recompute(event, session)

"""Zoom meetings of online events, and the attendees' Zoom registrants (issue 5).

An online (virtual or hybrid) event has one Zoom meeting per session, or one for the event
when it has a single session or none. Publishing creates them at once, through the publishing
organizer's Zoom account, so that a refusal refuses the publishing. After that, jobs keep
Zoom in step (app/zoom/meeting_jobs.py): a rescheduled event or session updates its meeting,
a new session gets one, a cancelled session or event loses it. Each row says where its sync
stands (PENDING → SYNCED / FAILED), which the organizer sees on the event's overview.

Each confirmed registration is registered at Zoom in every meeting it attends (every
meeting, or those of the sessions it holds a place in when the event offers session
sign-up): Zoom's registrant id is what participant webhooks carry, and its join link is the
attendee's own. Cancelling the registration (or the place) cancels the registrant.

The events and registrations areas do not know Zoom: this module adds itself to their hook
lists. Services only flush; the view or the job commits.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from app.core import privacy
from app.core.errors import DomainError
from app.events.models import Event, EventSession
from app.extensions import db
from app.jobs import enqueue
from app.registrations.models import Registration
from app.states import EventStatus, RegistrationStatus
from app.zoom.client import MeetingInfo, MeetingSpec, ZoomError, ZoomReconnectNeeded, zoom_api_for
from app.zoom.models import (
    MeetingSyncStatus,
    RegistrantStatus,
    ZoomMeeting,
    ZoomRegistrant,
)

log = logging.getLogger(__name__)

# Meetings exist while the event is ahead or under way; a completed event keeps them as they
# were (recordings and reports point at them), a cancelled one has none.
MEETING_STATUSES = (EventStatus.PUBLISHED, EventStatus.LIVE)
FROZEN_STATUSES = (EventStatus.COMPLETED, EventStatus.CLOSED)


def has_zoom(event: Event) -> bool:
    """Zoom serves online and hybrid events. An in-person event has no meetings and no
    recordings, so its Zoom pages do not exist (404) and its navigation leaves them out."""
    return event.format.is_online


# --- What Zoom should have


def planned_slots(event: Event) -> list[EventSession | None]:
    """The meetings the event needs: one per scheduled session of a multi-session event, else
    one for the event itself (None). None at all for an in-person, draft or cancelled event."""
    if not event.format.is_online or event.status not in MEETING_STATUSES:
        return []
    if event.is_multi_session:
        return list(event.get_schedule())
    return [None]


def spec_for(event: Event, session: EventSession | None) -> MeetingSpec:
    """What Zoom is told about the meeting of `session` (None: of the event)."""
    holder = session or event
    topic = event.title if session is None else f"{event.title}: {session.title}"
    minutes = math.ceil((holder.end_at - holder.start_at).total_seconds() / 60)
    return MeetingSpec(
        topic=topic[:200],
        start_at=holder.start_at,
        duration_minutes=max(1, minutes),
        timezone=event.timezone,
        agenda=event.summary or "",
    )


def _matches(meeting: ZoomMeeting, spec: MeetingSpec) -> bool:
    return (meeting.topic, meeting.start_at, meeting.duration_minutes) == (
        spec.topic, spec.start_at, spec.duration_minutes
    )


def _record_spec(meeting: ZoomMeeting, spec: MeetingSpec) -> None:
    meeting.topic = spec.topic
    meeting.start_at = spec.start_at
    meeting.duration_minutes = spec.duration_minutes


def _record_created(meeting: ZoomMeeting, info: MeetingInfo, spec: MeetingSpec) -> None:
    meeting.meeting_id = info.meeting_id
    meeting.join_url = info.join_url
    meeting.start_url = info.start_url
    _record_spec(meeting, spec)
    meeting.mark_synced()
    _keep_in_step(meeting, info.meeting_id)


def _keep_in_step(meeting: ZoomMeeting, meeting_id: str | None) -> None:
    """Event.zoom_meeting_id / EventSession.zoom_meeting_id, which webhook processing finds
    meetings by, follow the meeting (None once it is deleted)."""
    holder = meeting.session if meeting.session_id or meeting.session else meeting.event
    if meeting_id is not None or holder.zoom_meeting_id == meeting.meeting_id:
        holder.zoom_meeting_id = meeting_id


def live_meetings(event: Event) -> list[ZoomMeeting]:
    """The event's meetings that are not deleted, oldest first."""
    return list(db.session.scalars(
        sa.select(ZoomMeeting)
        .where(ZoomMeeting.event_id == event.id,
               ZoomMeeting.sync_status != MeetingSyncStatus.DELETED)
        .order_by(ZoomMeeting.id)
    ))


@dataclass
class MeetingWork:
    """What a sync has to do at Zoom, worked out from the event and its rows."""

    create_or_update: list[tuple[ZoomMeeting, MeetingSpec]] = field(default_factory=list)
    delete: list[ZoomMeeting] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.create_or_update or self.delete)


def plan_meetings(event: Event) -> MeetingWork:
    """Bring the rows in line with the event (a new slot gets a PENDING row, a row whose
    meeting changed or goes away becomes PENDING) and say what Zoom needs. Only flushes."""
    work = MeetingWork()
    if event.status in FROZEN_STATUSES:
        return work
    db.session.flush()  # a session just added needs its id
    wanted = {(s.id if s else None): s for s in planned_slots(event)}
    seen: set[int | None] = set()
    for meeting in live_meetings(event):
        key = meeting.session_id
        if key not in wanted or key in seen:
            meeting.sync_status = MeetingSyncStatus.PENDING
            work.delete.append(meeting)
            continue
        seen.add(key)
        spec = spec_for(event, wanted[key])
        if (not meeting.meeting_id or not _matches(meeting, spec)
                or meeting.sync_status != MeetingSyncStatus.SYNCED):
            if meeting.sync_status == MeetingSyncStatus.SYNCED:
                meeting.sync_status = MeetingSyncStatus.PENDING
            work.create_or_update.append((meeting, spec))
    missing = [(key, session) for key, session in wanted.items() if key not in seen]
    if missing:
        host_id = _host_of(event)
        for _key, session in missing:
            meeting = ZoomMeeting(event=event, session=session, host_user_id=host_id,
                                  sync_status=MeetingSyncStatus.PENDING)
            db.session.add(meeting)
            work.create_or_update.append((meeting, spec_for(event, session)))
    db.session.flush()
    return work


def _host_of(event: Event) -> int:
    """Whose Zoom account a new meeting of the event goes to: the host of its other
    meetings (the organizer who published), else the event's creator."""
    host_id = db.session.scalar(
        sa.select(ZoomMeeting.host_user_id)
        .where(ZoomMeeting.event_id == event.id, ZoomMeeting.host_user_id.is_not(None))
        .order_by(ZoomMeeting.id.desc())
        .limit(1)
    )
    return host_id or event.created_by_id


class ZoomSyncFailed(Exception):
    """Some calls to Zoom failed (each row keeps its error): the job runner retries."""


# --- Meetings


class ZoomMeetingService:
    @staticmethod
    def create_for_publish(event: Event, actor) -> list[ZoomMeeting]:
        """Create the meetings of an online event being published, as `actor` (None: the
        system publishes, as the event's creator). When Zoom refuses one, the meetings
        created so far are deleted (best effort) and the refusal is raised: the caller rolls
        the publishing back."""
        slots = planned_slots(event)
        if not slots or live_meetings(event):
            return []
        host_id = getattr(actor, "id", None) or event.created_by_id
        try:
            api = zoom_api_for(host_id)
        except ZoomReconnectNeeded as error:
            raise DomainError(
                _("Connect your Zoom account first: publishing an online event creates its "
                  "Zoom meetings through your account. (%(reason)s)", reason=error.message)
            ) from error
        created: list[ZoomMeeting] = []
        try:
            for session in slots:
                spec = spec_for(event, session)
                info = api.create_meeting(spec)
                meeting = ZoomMeeting(event=event, session=session, host_user_id=host_id)
                _record_created(meeting, info, spec)
                db.session.add(meeting)
                created.append(meeting)
        except ZoomError as error:
            for meeting in created:
                _delete_quietly(api, meeting.meeting_id)
            raise DomainError(
                _("Zoom refused to create the meeting, so the event is not published: "
                  "%(message)s", message=error.message)
            ) from error
        db.session.flush()
        return created

    @staticmethod
    def sync(event: Event) -> tuple[list[str], bool]:
        """Do at Zoom what the event needs now, as each meeting's host. Returns the errors
        (each also kept on its row) and whether a meeting was created (its registrants are
        then due). Only flushes."""
        work = plan_meetings(event)
        errors, created = [], False
        for meeting in work.delete:
            try:
                if meeting.meeting_id:
                    zoom_api_for(meeting.host_user_id or event.created_by_id).delete_meeting(
                        meeting.meeting_id
                    )
            except ZoomError as error:
                meeting.mark_failed(error.message)
                errors.append(error.message)
                continue
            _keep_in_step(meeting, None)
            meeting.mark_deleted()
            _drop_registrants(meeting)
        for meeting, spec in work.create_or_update:
            try:
                api = zoom_api_for(meeting.host_user_id or event.created_by_id)
                if meeting.meeting_id:
                    api.update_meeting(meeting.meeting_id, spec)
                    _record_spec(meeting, spec)
                    meeting.mark_synced()
                else:
                    _record_created(meeting, api.create_meeting(spec), spec)
                    created = True
            except ZoomError as error:
                meeting.mark_failed(error.message)
                errors.append(error.message)
        db.session.flush()
        return errors, created

    @staticmethod
    def retry(event: Event, meeting: ZoomMeeting) -> None:
        """The organizer's "retry now": the meeting goes back to PENDING and a sync job runs
        after the commit."""
        if meeting.event_id != event.id:
            raise DomainError(_("That meeting belongs to another event."))
        if meeting.sync_status != MeetingSyncStatus.FAILED:
            raise DomainError(_("Only a meeting whose sync failed can be retried."))
        meeting.sync_status = MeetingSyncStatus.PENDING
        db.session.flush()
        from app.zoom.meeting_jobs import sync_zoom_meetings

        enqueue(sync_zoom_meetings, event.id)


def _delete_quietly(api, meeting_id: str) -> None:
    try:
        api.delete_meeting(meeting_id)
    except ZoomError as error:  # best effort: the organizer sees the refusal that mattered
        log.warning("could not delete Zoom meeting %s after a refused publish: %s",
                    meeting_id, error.message)


def _drop_registrants(meeting: ZoomMeeting) -> None:
    """A deleted meeting has no registrants left at Zoom."""
    db.session.execute(
        sa.update(ZoomRegistrant)
        .where(ZoomRegistrant.zoom_meeting_id == meeting.id,
               ZoomRegistrant.status != RegistrantStatus.CANCELLED)
        .values(status=RegistrantStatus.CANCELLED)
        .execution_options(synchronize_session="fetch")
    )


# --- Registrants


def _name_parts(registration: Registration) -> tuple[str, str]:
    """Zoom wants a first and a last name: the last word is the last name."""
    words = (registration.full_name or "").split()
    if len(words) < 2:
        return (words[0] if words else str(registration.email).split("@")[0]), ""
    return " ".join(words[:-1]), words[-1]


def wanted_meetings(registration: Registration) -> list[ZoomMeeting] | None:
    """The meetings the registration should be registered in; None: leave them as they are
    (the event is over)."""
    event = registration.event
    if event.status in FROZEN_STATUSES:
        return None
    if registration.status != RegistrationStatus.CONFIRMED or registration.is_deleted:
        return []
    meetings = [m for m in live_meetings(event) if m.meeting_id]
    if not event.session_signup:
        return meetings
    places = {
        place.session_id for place in registration.session_places
        if place.status == RegistrationStatus.CONFIRMED
    }
    return [m for m in meetings if m.session_id is None or m.session_id in places]


class ZoomRegistrantService:
    @staticmethod
    def sync(registration: Registration) -> list[str]:
        """Register the attendee in the meetings they attend and cancel the rest, at Zoom.
        Returns the errors (each kept on its row). Only flushes."""
        wanted = wanted_meetings(registration)
        if wanted is None:
            return []
        rows = {
            row.zoom_meeting_id: row
            for row in db.session.scalars(
                sa.select(ZoomRegistrant)
                .where(ZoomRegistrant.registration_id == registration.id)
                .options(selectinload(ZoomRegistrant.meeting))
            )
        }
        errors = []
        for meeting in wanted:
            row = rows.get(meeting.id)
            if row is not None and row.status == RegistrantStatus.ACTIVE:
                continue
            if row is None:
                row = ZoomRegistrant(registration_id=registration.id, meeting=meeting)
                db.session.add(row)
            error = _add_registrant(registration, meeting, row)
            if error:
                errors.append(error)
        wanted_ids = {m.id for m in wanted}
        for meeting_id, row in rows.items():
            if meeting_id in wanted_ids or row.status == RegistrantStatus.CANCELLED:
                continue
            error = _cancel_registrant(registration, row)
            if error:
                errors.append(error)
        db.session.flush()
        return errors

    @staticmethod
    def registrations_to_sync(event: Event) -> list[int]:
        """The registrations of `event` whose registrants may need work: the confirmed ones,
        and those with a registrant not cancelled yet."""
        confirmed = sa.select(Registration.id).where(
            Registration.event_id == event.id,
            Registration.status == RegistrationStatus.CONFIRMED,
        )
        registered = (
            sa.select(ZoomRegistrant.registration_id)
            .join(ZoomMeeting, ZoomMeeting.id == ZoomRegistrant.zoom_meeting_id)
            .where(ZoomMeeting.event_id == event.id,
                   ZoomRegistrant.status != RegistrantStatus.CANCELLED)
        )
        return sorted(set(db.session.scalars(confirmed)) | set(db.session.scalars(registered)))


def _add_registrant(registration: Registration, meeting: ZoomMeeting,
                    row: ZoomRegistrant) -> str | None:
    first_name, last_name = _name_parts(registration)
    try:
        info = zoom_api_for(meeting.host_user_id or meeting.event.created_by_id).add_registrant(
            meeting.meeting_id, email=str(registration.email),
            first_name=first_name, last_name=last_name,
        )
    except ZoomError as error:
        row.status = RegistrantStatus.FAILED
        row.last_error = error.message[:2000]
        return error.message
    row.registrant_id = info.registrant_id
    row.join_url = info.join_url
    row.status = RegistrantStatus.ACTIVE
    row.last_error = ""
    return None


def _cancel_registrant(registration: Registration, row: ZoomRegistrant) -> str | None:
    meeting = row.meeting
    if row.status == RegistrantStatus.ACTIVE and meeting.is_created and row.registrant_id:
        try:
            zoom_api_for(meeting.host_user_id or meeting.event.created_by_id).cancel_registrant(
                meeting.meeting_id, registrant_id=row.registrant_id,
                email=str(registration.email),
            )
        except ZoomError as error:
            row.last_error = error.message[:2000]
            return error.message
    row.status = RegistrantStatus.CANCELLED
    row.last_error = ""
    return None


# --- What attendees and organizers see


@dataclass(frozen=True)
class JoinLink:
    title: str
    url: str


def join_links_for(registrations: Sequence[Registration]) -> dict[int, list[JoinLink]]:
    """Each attendee's own Zoom join links, by registration id, in one query: only for
    confirmed registrations of online events, from their active registrants."""
    eligible = {
        r.id: r for r in registrations
        if r.status == RegistrationStatus.CONFIRMED and r.event.format.is_online
        and r.event.status in (*MEETING_STATUSES, *FROZEN_STATUSES)
    }
    if not eligible:
        return {}
    rows = db.session.execute(
        sa.select(ZoomRegistrant.registration_id, ZoomRegistrant.join_url, EventSession.title)
        .join(ZoomMeeting, ZoomMeeting.id == ZoomRegistrant.zoom_meeting_id)
        .outerjoin(EventSession, EventSession.id == ZoomMeeting.session_id)
        .where(
            ZoomRegistrant.registration_id.in_(eligible),
            ZoomRegistrant.status == RegistrantStatus.ACTIVE,
            ZoomRegistrant.join_url != "",
            ZoomMeeting.sync_status != MeetingSyncStatus.DELETED,
        )
        .order_by(ZoomRegistrant.registration_id, EventSession.start_at.nulls_first(),
                  ZoomMeeting.id)
    )
    links: dict[int, list[JoinLink]] = defaultdict(list)
    for registration_id, url, session_title in rows:
        title = session_title or eligible[registration_id].event.title
        links[registration_id].append(JoinLink(title, url))
    return dict(links)


def join_links(registration: Registration | None) -> list[JoinLink]:
    """One attendee's own join links (empty unless confirmed for an online event)."""
    if registration is None:
        return []
    return join_links_for([registration]).get(registration.id, [])


@dataclass(frozen=True)
class MeetingLine:
    """One line of the organizer's Zoom panel."""

    title: str
    meeting: ZoomMeeting
    registrants: int
    failed_registrants: int


def meeting_lines(event: Event) -> list[MeetingLine]:
    """The event's meetings (deleted ones too, for the record) with their registrant
    counts, in two queries."""
    meetings = db.session.scalars(
        sa.select(ZoomMeeting).where(ZoomMeeting.event_id == event.id)
        .options(selectinload(ZoomMeeting.session))
        .order_by(ZoomMeeting.sync_status == MeetingSyncStatus.DELETED, ZoomMeeting.id)
    ).all()
    counts: dict[tuple[int, RegistrantStatus], int] = {
        (meeting_id, status): count
        for meeting_id, status, count in db.session.execute(
            sa.select(ZoomRegistrant.zoom_meeting_id, ZoomRegistrant.status,
                      sa.func.count(ZoomRegistrant.id))
            .join(ZoomMeeting, ZoomMeeting.id == ZoomRegistrant.zoom_meeting_id)
            .where(ZoomMeeting.event_id == event.id)
            .group_by(ZoomRegistrant.zoom_meeting_id, ZoomRegistrant.status)
        )
    }
    return [
        MeetingLine(
            title=m.session.title if m.session else event.title,
            meeting=m,
            registrants=counts.get((m.id, RegistrantStatus.ACTIVE), 0),
            failed_registrants=counts.get((m.id, RegistrantStatus.FAILED), 0),
        )
        for m in meetings
    ]


# --- Receivers of the events and registrations areas' signals (app/zoom/signals.py)


def meetings_published(event: Event, actor) -> None:
    """`event_published`: the meetings are created inside the publishing; a DomainError
    (Zoom refused) refuses the publishing."""
    ZoomMeetingService.create_for_publish(event, actor)


def meetings_changed(event: Event) -> None:
    """The event's details, times, sessions or status changed: when Zoom needs to hear of
    it, the rows concerned become PENDING and a sync job runs after the commit."""
    if event.status == EventStatus.DRAFT or not plan_meetings(event):
        return
    from app.zoom.meeting_jobs import sync_zoom_meetings

    enqueue(sync_zoom_meetings, event.id)


def registrants_changed(event: Event, registrations: Sequence[Registration]) -> None:
    """`seats_changed`: registrations confirmed, promoted or cancelled (or their session
    places): sync their registrants, when the event has Zoom meetings."""
    from app.zoom.meeting_jobs import sync_zoom_registrants

    if not event.format.is_online:
        return
    has_meetings = db.session.scalar(
        sa.select(ZoomMeeting.id).where(ZoomMeeting.event_id == event.id).limit(1)
    )
    if has_meetings is None:
        return
    for registration in registrations:
        enqueue(sync_zoom_registrants, registration.id)


# --- Privacy


def export_zoom_registrants(user) -> list[dict]:
    rows = db.session.execute(
        sa.select(ZoomRegistrant, ZoomMeeting.topic, ZoomMeeting.meeting_id)
        .join(ZoomMeeting, ZoomMeeting.id == ZoomRegistrant.zoom_meeting_id)
        .join(Registration, Registration.id == ZoomRegistrant.registration_id)
        .where(Registration.user_id == user.id)
        .order_by(ZoomRegistrant.id)
    )
    return [
        {"meeting": topic, "meeting_id": meeting_id, "registrant_id": row.registrant_id,
         "status": row.status.value, "join_url": row.join_url,
         "registered_at": row.created_at.isoformat()}
        for row, topic, meeting_id in rows
    ]


def anonymise_zoom_registrants(user) -> None:
    """The personal join links go; the registrant ids stay (past attendance matched by
    them stays matched, to the anonymised registration)."""
    db.session.execute(
        sa.update(ZoomRegistrant)
        .where(ZoomRegistrant.registration_id.in_(
            sa.select(Registration.id).where(Registration.user_id == user.id)
        ))
        .values(join_url="")
        .execution_options(synchronize_session=False)
    )


privacy.register("zoom_registrants", export=export_zoom_registrants,
                 anonymise=anonymise_zoom_registrants)

"""Event operations that span models or need validation as a whole. They flush; the view
commits once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

import nh3
import sqlalchemy as sa
from flask import url_for
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as _ln
from markdown_it import MarkdownIt

from app.accounts import tokens
from app.accounts.models import User, check_timezone
from app.accounts.services import AccountService
from app.core import privacy
from app.core.bounds import OUT_OF_RANGE, moment_in_range
from app.core.errors import PermissionDenied, ValidationError
from app.events import signals
from app.events.models import (
    CustomFieldType,
    Event,
    EventCustomField,
    EventFormat,
    EventLocation,
    EventRole,
    EventSession,
    EventUser,
    EventVisibility,
    SessionSpeaker,
    SpeakerRole,
)
from app.extensions import db
from app.mailing.services import MailService
from app.states import UserStatus

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")

ALLOWED_TAGS = {
    "p", "br", "hr", "h2", "h3", "h4", "strong", "em", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
}
MAX_SESSIONS_PER_SPEAKER_PER_DAY = 3  # seed 001


def render_markdown(source: str) -> str:
    """Markdown to HTML that is safe to show: raw HTML is escaped by the parser, and nh3
    keeps only the tags above, links with safe schemes and rel="noopener noreferrer"."""
    html = _markdown.render(source or "")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


KEEP = object()  # "leave this as it is" in EventDetails


@dataclass
class EventDetails:
    """What an organizer types into the event form, already parsed into Python values."""

    title: str
    start_at: datetime
    end_at: datetime
    timezone: str
    format: EventFormat
    summary: str = ""
    description: str = ""
    venue_id: int | None = None
    capacity: int | None = None
    waitlist_enabled: bool = True
    session_signup: bool = False
    max_speakers: int | None = None
    allow_parallel_sessions: bool = False
    cpd_credits: Decimal | str | None = Decimal("0")
    attendance_threshold: int = 75
    registration_opens_at: datetime | None = None
    registration_closes_at: datetime | None = None
    visibility: EventVisibility = EventVisibility.PUBLIC
    calendar_id: int | None = None
    category_ids: tuple[int, ...] = ()
    # The owning organization; KEEP leaves an existing event's as it is.
    organization_id: int | None | object = KEEP
    # The certificate design (None: the default); KEEP leaves the event's as it is.
    certificate_template_id: int | None | object = KEEP


def check_details(
    details: EventDetails, event: Event | None = None, user: User | None = None
) -> list[ValidationError]:
    """Every problem with `details`, each naming its field (the form shows them all at once,
    and the HTMX validation shows them as the organizer types). With `user`, the rules of
    what that person may choose are checked too (a venue is theirs to use)."""
    problems = []
    if not details.title or not details.title.strip():
        problems.append(ValidationError(_l("Give the event a title."), field="title"))
    elif len(details.title) > 200:
        problems.append(ValidationError(_l("Use at most 200 characters."), field="title"))
    try:
        check_timezone(details.timezone)
    except ValidationError as error:
        problems.append(error)
    for name in ("start_at", "end_at", "registration_opens_at", "registration_closes_at"):
        moment = getattr(details, name)
        if moment is not None and not moment_in_range(moment):
            problems.append(ValidationError(OUT_OF_RANGE, field=name))
    if details.start_at and details.end_at and details.end_at <= details.start_at:
        problems.append(
            ValidationError(_l("The event must end after it starts."), field="end_at")
        )
    for name in ("capacity", "max_speakers"):
        value = getattr(details, name)
        if value is not None and value < 0:
            problems.append(ValidationError(_l("This cannot be negative."), field=name))
    try:
        credits = Decimal(str(details.cpd_credits or 0))
        if credits < 0 or credits > Decimal("9999"):
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        problems.append(
            ValidationError(_l("CPD credits are a number from 0 to 9999."), field="cpd_credits")
        )
    threshold = details.attendance_threshold
    if threshold is None or not 0 <= threshold <= 100:
        problems.append(
            ValidationError(
                _l("The attendance threshold is a percentage from 0 to 100."),
                field="attendance_threshold",
            )
        )
    opens, closes = details.registration_opens_at, details.registration_closes_at
    if opens and closes and closes <= opens:
        problems.append(
            ValidationError(
                _l("Registration must close after it opens."), field="registration_closes_at"
            )
        )
    if closes and details.end_at and closes > details.end_at:
        problems.append(
            ValidationError(
                _l("Registration cannot close after the event ends."),
                field="registration_closes_at",
            )
        )
    if details.format.has_venue and details.venue_id is None:
        problems.append(
            ValidationError(
                _l("Choose a venue for an in-person or hybrid event."), field="venue_id"
            )
        )
    if details.venue_id is not None and not _may_choose_venue(details.venue_id, event, user):
        problems.append(ValidationError(_l("Choose a venue from the list."), field="venue_id"))
    if event is not None and details.start_at and details.end_at:
        outside = [
            s for s in event.get_schedule()
            if s.start_at < details.start_at or s.end_at > details.end_at
        ]
        if outside and (details.start_at, details.end_at) != (event.start_at, event.end_at):
            names = _titles(outside[:3])
            problems.append(
                ValidationError(
                    _l("Sessions would fall outside the event (%(names)s). Move them first, "
                       "or use Reschedule to move everything together.", names=names),
                    field="start_at",
                )
            )
    return problems


def _may_choose_venue(venue_id: int, event: Event | None, user: User | None) -> bool:
    """The venue exists and `user` may choose it; an event keeps the venue it has, whoever
    edits it (a co-organizer may not be able to choose another organizer's venue). Someone
    else's venue gets the same answer as one that does not exist."""
    venue = db.session.get(EventLocation, venue_id)
    if venue is None:
        return False
    kept = event is not None and event.venue_id == venue_id
    return kept or user is None or user.can_use_venue(venue)


class EventService:
    @staticmethod
    def create(organizer: User, details: EventDetails) -> Event:
        """A DRAFT event organised by `organizer`, with its first history row."""
        problems = check_details(details, user=organizer)
        if problems:
            raise problems[0]
        _check_organization(organizer, details)
        event = Event(created_by_id=organizer.id, title=details.title.strip(),
                      start_at=details.start_at, end_at=details.end_at)
        _apply(event, details)
        db.session.add(event)
        event.add_member(organizer, EventRole.ORGANIZER)
        event.record_transition(None, event.status, actor=organizer, reason="Created")
        db.session.flush()
        signals.event_created.send(event)
        return event

    @staticmethod
    def update(event: Event, details: EventDetails, editor: User | None = None) -> Event:
        """Save `details`; what `editor` (when given) may choose is checked too."""
        event.check_editable()
        problems = check_details(details, event, editor)
        if problems:
            raise problems[0]
        start_before = event.start_at
        capacity_changed = details.capacity != event.capacity
        threshold_changed = details.attendance_threshold != event.attendance_threshold
        if capacity_changed:
            _check_capacity(event, details.capacity)
        _apply(event, details)
        db.session.flush()
        if threshold_changed:
            signals.attendance_threshold_changed.send(event)
        if event.start_at != start_before:
            signals.event_start_moved.send(event)
        event.schedule_changed()  # a new title, times or format: Zoom follows
        if capacity_changed:
            _capacity_changed(event)
        return event

    @staticmethod
    def update_session(event: Event, session: EventSession, **fields) -> None:
        """event.update_session; a new capacity is checked against the places taken, and
        places it frees go to the session's waitlist."""
        capacity_changed = "capacity" in fields and fields["capacity"] != session.capacity
        if capacity_changed:
            _check_capacity(session, fields["capacity"])
        event.update_session(session, **fields)
        db.session.flush()
        if capacity_changed:
            _capacity_changed(session)


def _check_organization(organizer: User, details: EventDetails) -> None:
    """An event goes into an organization only where its organizer may create events."""
    from app.organizations.permissions import OrgPermission

    org_id = details.organization_id
    if org_id is KEEP or org_id is None:
        return
    if not organizer.has_org_permission(org_id, OrgPermission.CREATE_EVENTS):
        raise ValidationError(
            _l("You may not create events for that organization."), field="organization_id"
        )


def _check_capacity(holder: Event | EventSession, capacity: int | None) -> None:
    signals.capacity_changing.send(holder, capacity=capacity)


def _capacity_changed(holder: Event | EventSession) -> None:
    signals.capacity_changed.send(holder)


def _apply(event: Event, details: EventDetails) -> None:
    from app.events.models import EventCategory

    event.title = details.title.strip()
    event.summary = (details.summary or "").strip()
    event.description = details.description or ""
    event.description_html = render_markdown(event.description)
    event.start_at, event.end_at = details.start_at, details.end_at
    event.timezone = details.timezone
    event.format = details.format
    event.venue_id = details.venue_id if details.format.has_venue else None
    event.capacity = details.capacity
    event.waitlist_enabled = details.waitlist_enabled
    event.session_signup = details.session_signup
    event.max_speakers = details.max_speakers
    event.allow_parallel_sessions = details.allow_parallel_sessions
    event.cpd_credits = Decimal(str(details.cpd_credits or 0))
    event.attendance_threshold = details.attendance_threshold
    event.registration_opens_at = details.registration_opens_at
    event.registration_closes_at = details.registration_closes_at
    event.visibility = details.visibility
    event.calendar_id = details.calendar_id
    if details.organization_id is not KEEP:
        event.organization_id = details.organization_id
    if details.certificate_template_id is not KEEP:
        event.certificate_template_id = details.certificate_template_id
    if details.category_ids:
        categories = db.session.scalars(
            sa.select(EventCategory).where(EventCategory.id.in_(details.category_ids))
        ).all()
        if details.calendar_id is not None and any(
            c.calendar_id != details.calendar_id for c in categories
        ):
            raise ValidationError(
                _l("Choose categories of the event's calendar."), field="category_ids"
            )
        event.categories = list(categories)
    else:
        event.categories = []


class SpeakerService:
    """Seed 001's speaker rules, each one clear message (seed 000 register_speaker_for_session)."""

    @staticmethod
    def add_event_speaker(event: Event, user: User) -> None:
        """Make `user` a speaker of the event (without a session yet)."""
        event.check_editable()
        role = event.get_role(user)
        if role == EventRole.SPEAKER:
            raise ValidationError(
                _l("%(name)s is already a speaker of this event.", name=user.display_name)
            )
        if role == EventRole.ORGANIZER:
            raise ValidationError(_l("%(name)s organises this event.", name=user.display_name))
        SpeakerService._check_event_limit(event)
        event.add_member(user, EventRole.SPEAKER)
        db.session.flush()

    @staticmethod
    def register_speaker_for_session(
        session: EventSession, user: User, role: SpeakerRole = SpeakerRole.SPEAKER
    ) -> SessionSpeaker:
        SpeakerService.validate_speaker_assignment(session, user)
        link = session.add_speaker(user, role)
        db.session.flush()
        return link

    @staticmethod
    def validate_speaker_assignment(session: EventSession, user: User) -> None:
        """Every rule, in the order a person would want to hear them."""
        event = session.event
        event.check_editable()
        if session.is_cancelled:
            raise ValidationError(_l("This session is cancelled."))
        if session.has_speaker(user):
            raise ValidationError(
                _l("%(name)s already speaks at this session.", name=user.display_name)
            )
        if event.get_role(user) not in (EventRole.SPEAKER, EventRole.ORGANIZER):
            SpeakerService._check_event_limit(event)  # they are about to become a SPEAKER
        if session.is_at_speaker_capacity():
            raise ValidationError(
                _l("This session already has its %(count)s speaker(s).",
                   count=session.speaker_capacity)
            )
        if not user.is_available(session.start_at, session.end_at, ignore_session=session):
            raise ValidationError(
                _l("%(name)s speaks at another session at that time.", name=user.display_name)
            )
        day = session.local_date()  # the day in the event's timezone, not in UTC
        same_day = user.get_speaking_sessions(on=day, tz=event.tzinfo)
        if len([s for s in same_day if s.id != session.id]) >= MAX_SESSIONS_PER_SPEAKER_PER_DAY:
            raise ValidationError(
                _l("%(name)s already speaks at %(count)s sessions that day, the most one "
                   "speaker may.", name=user.display_name, count=MAX_SESSIONS_PER_SPEAKER_PER_DAY)
            )
        if session.required_certification and not user.has_certification(
            session.required_certification, on=day
        ):
            raise ValidationError(
                _l("This session needs a valid “%(certification)s” certification, and "
                   "%(name)s has none recorded.",
                   certification=session.required_certification, name=user.display_name)
            )

    @staticmethod
    def remove_session_speaker(session: EventSession, user: User) -> None:
        """Take `user` off a session; a live or completed one keeps its speakers (seed 000),
        a cancelled one may lose them."""
        session.event.check_editable()
        if session.is_locked:
            raise ValidationError(
                _l("“%(session)s” is %(status)s: its speakers can no longer be changed.",
                   session=session.title, status=session.status.value)
            )
        for link in list(session.speakers):
            if link.user_id == user.id:
                session.speakers.remove(link)
        db.session.flush()

    @staticmethod
    def _check_event_limit(event: Event) -> None:
        if event.max_speakers is not None and event.speaker_count() >= event.max_speakers:
            raise ValidationError(
                _l("This event already has its %(count)s speaker(s).", count=event.max_speakers)
            )

    @staticmethod
    def remove_event_speaker(event: Event, user: User) -> None:
        """Take `user` off the event's speakers, once they speak at none of its sessions."""
        event.check_editable()
        if event.get_role(user) != EventRole.SPEAKER:
            raise ValidationError(
                _l("%(name)s is not a speaker of this event.", name=user.display_name)
            )
        sessions = [s for s in event.sessions if s.has_speaker(user)]
        locked = [s for s in sessions if s.is_locked]
        if locked:
            raise ValidationError(
                _ln("%(name)s speaks at %(sessions)s, which is live or over: they stay a speaker "
                    "of this event.",
                    "%(name)s speaks at %(sessions)s, which are live or over: they stay a "
                    "speaker of this event.",
                    len(locked), name=user.display_name, sessions=_titles(locked))
            )
        if len(sessions) > 3:
            raise ValidationError(
                _l("%(name)s still speaks at %(sessions)s and %(count)s more. Remove them from "
                   "those sessions first.", name=user.display_name,
                   sessions=_titles(sessions[:3]), count=len(sessions) - 3)
            )
        if sessions:
            raise ValidationError(
                _l("%(name)s still speaks at %(sessions)s. Remove them from those sessions "
                   "first.", name=user.display_name, sessions=_titles(sessions))
            )
        membership = next(m for m in event.members if m.user_id == user.id)
        event.members.remove(membership)  # delete-orphan removes the row
        db.session.flush()

    @staticmethod
    def invite_speaker(
        event: Event,
        inviter: User,
        *,
        email: str,
        full_name: str = "",
        session: EventSession | None = None,
        role: SpeakerRole = SpeakerRole.SPEAKER,
    ) -> tuple[User, bool]:
        """Add the person with this address as a speaker of the event (and of `session`),
        creating an INVITED account when there is none (one account per address). A person
        without a password yet is emailed a link to set one; returns (user, emailed)."""
        user = AccountService.invite(email, full_name)
        if session is not None:
            SpeakerService.register_speaker_for_session(session, user, role)
        else:
            SpeakerService.add_event_speaker(event, user)
        if user.status != UserStatus.INVITED:
            return user, False
        token = tokens.make_token(user, tokens.RESET_PASSWORD)
        MailService.send(
            "speaker_invitation",
            user.email,
            {
                "user_name": user.display_name,
                "event_title": event.title,
                "inviter_name": inviter.display_name,
                "set_password_url": url_for(
                    "accounts.reset_password", token=token, _external=True
                ),
            },
            user=user,
        )
        return user, True

    @staticmethod
    def find_candidates(event: Event, text: str, limit: int = 10) -> list[SpeakerCandidate]:
        """Active people whose name or email contains `text` (any case), for the organizer's
        typeahead; emails come masked so that the search cannot harvest addresses."""
        text = (text or "").strip().lower()
        if len(text) < MIN_SEARCH_LENGTH:
            return []
        email = sa.type_coerce(User.email, sa.String)  # a pattern is not an address
        users = db.session.scalars(
            sa.select(User)
            .where(
                User.status == UserStatus.ACTIVE,
                User.deleted_at.is_(None),
                sa.or_(
                    sa.func.lower(User.full_name).contains(text, autoescape=True),
                    email.contains(text, autoescape=True),
                ),
            )
            .order_by(User.full_name, User.id)
            .limit(limit)
        ).all()
        roles = {}
        if users:
            roles = dict(
                db.session.execute(
                    sa.select(EventUser.user_id, EventUser.role).where(
                        EventUser.event_id == event.id,
                        EventUser.user_id.in_([u.id for u in users]),
                    )
                ).all()
            )
        return [SpeakerCandidate(u, mask_email(u.email), roles.get(u.id)) for u in users]


MIN_SEARCH_LENGTH = 2


@dataclass(frozen=True)
class SpeakerCandidate:
    user: User
    masked_email: str
    role: EventRole | None  # their role in the event already, if any


def mask_email(address: str) -> str:
    """"ada@example.com" → "a***@example.com": enough to tell two people apart."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


class CustomFieldService:
    @staticmethod
    def add(event: Event, *, label: str, field_type: CustomFieldType, required: bool = False,
            options: list[str] | None = None, help_text: str = "") -> EventCustomField:
        event.check_editable()
        if not label or not label.strip():
            raise ValidationError(_l("Give the question a label."), field="label")
        cleaned = [o.strip() for o in (options or []) if o and o.strip()]
        if len(set(cleaned)) != len(cleaned):
            raise ValidationError(_l("Each option may appear once."), field="options")
        position = max((f.position for f in event.custom_fields), default=0) + 1
        field = EventCustomField(
            label=label.strip(), field_type=field_type, required=required,
            options=cleaned, help_text=(help_text or "").strip(), position=position,
        )
        field.check()  # before it is attached: a refused question never enters the session
        event.custom_fields.append(field)
        db.session.flush()
        return field


    @staticmethod
    def remove(event: Event, field: EventCustomField) -> None:
        """Delete a question (answers already given stay with their registrations)."""
        if field.event_id != event.id:
            raise ValidationError(_l("That question belongs to another event."))
        event.check_editable()
        event.custom_fields.remove(field)  # delete-orphan removes the row
        db.session.flush()

    @staticmethod
    def move(event: Event, field: EventCustomField, offset: int) -> bool:
        """Swap a question with its neighbour (offset -1: up, +1: down)."""
        if field.event_id != event.id:
            raise ValidationError(_l("That question belongs to another event."))
        event.check_editable()
        fields = sorted(event.custom_fields, key=lambda f: (f.position, f.id))
        index = fields.index(field) + offset
        if not 0 <= index < len(fields):
            return False
        fields[index - offset], fields[index] = fields[index], fields[index - offset]
        for position, item in enumerate(fields, start=1):
            item.position = position
        db.session.flush()
        return True


def _titles(sessions: list[EventSession]) -> str:
    return ", ".join(f"“{s.title}”" for s in sessions)


def require_editor(user: User, event: Event) -> None:
    if not user.can_edit_event(event):
        raise PermissionDenied(_l("Only the event's organizers can do that."))


# --- Organizer pages: venues and the live session-time check


class VenueService:
    @staticmethod
    def create(
        creator: User, *, name: str, organization_id: int | None = None, **fields: str
    ) -> EventLocation:
        """A venue of `creator`'s own, or of an organization where they may create events
        (its members who create events may then choose it)."""
        from app.organizations.permissions import OrgPermission

        if not name or not name.strip():
            raise ValidationError(_l("Give the venue a name."), field="name")
        if organization_id is not None and not creator.has_org_permission(
            organization_id, OrgPermission.CREATE_EVENTS
        ):
            raise ValidationError(
                _l("You may not add venues for that organization."), field="organization"
            )
        venue = EventLocation(
            name=name.strip(), **{key: (value or "").strip() for key, value in fields.items()},
            owner_id=None if organization_id is not None else creator.id,
            organization_id=organization_id,
        )
        db.session.add(venue)
        db.session.flush()
        return venue


def export_venues(user: User) -> list[dict]:
    """The venues a person added for themselves (an organization's belong to it)."""
    venues = db.session.scalars(
        sa.select(EventLocation).where(EventLocation.owner_id == user.id)
        .order_by(EventLocation.created_at, EventLocation.id)
    )
    return [
        {"name": v.name, "address": v.address, "postal_code": v.postal_code, "city": v.city,
         "country": v.country, "website": v.url, "notes": v.notes,
         "added_at": v.created_at.isoformat()}
        for v in venues
    ]


def anonymise_venues(user: User) -> None:
    """Delete the person's own venues that no event uses; the others stay on their events
    (where those took place), belonging to no one and offered to no one."""
    used = sa.select(Event.venue_id).where(Event.venue_id.is_not(None))  # deleted ones too
    db.session.execute(
        sa.delete(EventLocation)
        .where(EventLocation.owner_id == user.id, EventLocation.id.not_in(used))
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        sa.update(EventLocation).where(EventLocation.owner_id == user.id).values(owner_id=None)
        .execution_options(synchronize_session=False)
    )


privacy.register("venues", export=export_venues, anonymise=anonymise_venues)


def session_time_warnings(
    event: Event, start_at: datetime, end_at: datetime, ignore: EventSession | None = None
) -> list[str]:
    """What is wrong with these session times, as the organizer types them (nothing is
    saved): the refusals of `check_session_times`, and parallel sessions when allowed."""
    try:
        event.check_session_times(start_at, end_at, ignore)
    except ValidationError as error:
        return [str(error.message)]
    overlapping = event.overlapping_sessions(start_at, end_at, ignore)
    if overlapping:
        return [str(_l("This session runs in parallel with %(names)s.",
                       names=_titles(overlapping)))]
    return []

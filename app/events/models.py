"""Events: the event and its sessions, roles, speakers, custom fields and status history
(seeds 000, 001, 003), and the community calendars with venues and recurrence (seed 002)."""

from __future__ import annotations

import enum
import functools
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import (
    Mapped,
    joinedload,
    mapped_column,
    relationship,
    selectinload,
    validates,
)

from app.core.bounds import MAX_DATE, MIN_DATE, moment_in_range
from app.core.errors import ValidationError
from app.core.models import Model, NameSlugMixin, SlugMixin, SoftDeleteMixin, TimeRangeMixin
from app.core.templating import datetime_long
from app.core.types import UTCDateTime, ValidatedJSON, enum_column, utcnow
from app.core.urls import check_web_url
from app.events import signals
from app.extensions import db
from app.states import EVENT_MACHINE, SESSION_MACHINE, EventStatus, SessionStatus


class EventFormat(enum.Enum):
    VIRTUAL = "virtual"
    IN_PERSON = "in_person"
    HYBRID = "hybrid"

    @property
    def has_venue(self) -> bool:
        return self in (EventFormat.IN_PERSON, EventFormat.HYBRID)

    @property
    def is_online(self) -> bool:
        return self in (EventFormat.VIRTUAL, EventFormat.HYBRID)


class EventVisibility(enum.Enum):
    PUBLIC = "public"  # listed and searchable
    UNLISTED = "unlisted"  # anyone with the link
    PRIVATE = "private"  # only the people of the event; 404 to everyone else


class EventRole(enum.Enum):
    ORGANIZER = "organizer"
    SPEAKER = "speaker"
    ATTENDEE = "attendee"


class SpeakerRole(enum.Enum):
    SPEAKER = "speaker"
    MODERATOR = "moderator"
    PANELIST = "panelist"


class CustomFieldType(enum.Enum):
    SHORT_TEXT = "short_text"
    LONG_TEXT = "long_text"
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    CHECKBOX = "checkbox"
    NUMBER = "number"
    DATE = "date"

    @property
    def has_options(self) -> bool:
        return self in (CustomFieldType.SINGLE_CHOICE, CustomFieldType.MULTIPLE_CHOICE)


class RecurrenceFrequency(enum.Enum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    YEARLY = "yearly"


# --- Calendars, categories and venues (seed 002 "Events Domain")


class Calendar(NameSlugMixin, Model):
    """A community calendar: a listing of events, one-off or recurring."""

    __tablename__ = "calendars"

    description: Mapped[str] = mapped_column(sa.Text, default="")

    categories: Mapped[list[EventCategory]] = relationship(
        back_populates="calendar", cascade="all, delete-orphan", order_by="EventCategory.name"
    )

    def __str__(self) -> str:
        return self.name


class EventCategory(NameSlugMixin, Model):
    __tablename__ = "event_categories"

    calendar_id: Mapped[int] = mapped_column(
        sa.ForeignKey("calendars.id", ondelete="CASCADE"), index=True
    )
    calendar: Mapped[Calendar] = relationship(back_populates="categories")

    def __str__(self) -> str:
        return self.name


class EventLocation(Model):
    """A venue for in-person and hybrid events.

    A venue belongs to the organizer who added it (`owner`), or to an organization (its
    members who create events choose it), or to the whole site (`is_site_wide`, curated by
    admins, with neither). Nobody else is offered it: `User.can_use_venue` and `usable_by`
    state who may choose it. A venue that belongs to nobody and is not site-wide (its owner
    or organization removed, or retired by an admin) stays on the events that use it and is
    offered to no one."""

    __tablename__ = "event_locations"

    name: Mapped[str] = mapped_column(sa.String(200))
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    city: Mapped[str] = mapped_column(sa.String(120), default="")
    postal_code: Mapped[str] = mapped_column(sa.String(20), default="")
    country: Mapped[str] = mapped_column(sa.String(120), default="")
    url: Mapped[str] = mapped_column(sa.String(500), default="")
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    owner_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    organization_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="SET NULL"), index=True
    )
    is_site_wide: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    owner = relationship("User")
    organization = relationship("Organization")

    def __str__(self) -> str:
        return ", ".join(part for part in (self.name, self.city) if part)

    @validates("url")
    def _check_url(self, key: str, value: str | None) -> str:
        """The website is linked from public pages: http(s) only, however it is set (a
        form, the admin panel, a script)."""
        return check_web_url(value, "url")

    def set_site_wide(self, site_wide: bool) -> None:
        """Offer the venue to every organizer (it then belongs to no one in particular), or
        stop offering it to all: an owner-less venue that is not site-wide is retired."""
        self.is_site_wide = site_wide
        if site_wide:
            self.owner_id = self.organization_id = None

    @classmethod
    def usable_by(cls, user) -> sa.Select:
        """The venues `user` may choose for an event, by name: the site-wide ones, their
        own and those of the organizations where they may create events."""
        from app.organizations.permissions import OrgPermission

        return (
            sa.select(cls)
            .where(sa.or_(
                cls.is_site_wide.is_(True),
                cls.owner_id == user.id,
                cls.organization_id.in_(user.org_ids_with(OrgPermission.CREATE_EVENTS)),
            ))
            .order_by(cls.name, cls.id)
        )

    @property
    def one_line(self) -> str:
        parts = (self.name, self.address, self.postal_code, self.city, self.country)
        return ", ".join(part for part in parts if part)


event_category_links = sa.Table(
    "event_category_links",
    Model.metadata,
    sa.Column("event_id", sa.ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "category_id", sa.ForeignKey("event_categories.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Index("ix_event_category_links_category_id", "category_id"),
)


# --- Events


class Event(SlugMixin, SoftDeleteMixin, TimeRangeMixin, Model):
    """One event: single- or multi-session, virtual, in person or hybrid (seed 003)."""

    __tablename__ = "events"
    __slug_source__ = "title"
    __table_args__ = (
        sa.CheckConstraint("end_at > start_at", name="ends_after_start"),
        sa.CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity_not_negative"),
        sa.CheckConstraint("max_speakers IS NULL OR max_speakers >= 0", name="max_speakers_ok"),
        sa.CheckConstraint("cpd_credits >= 0", name="cpd_credits_not_negative"),
        # The public listing reads this index in order and stops after one page.
        sa.Index("ix_events_listed", "is_listed", "start_at", "id"),
    )

    title: Mapped[str] = mapped_column(sa.String(200))
    summary: Mapped[str] = mapped_column(sa.String(300), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")  # Markdown, as typed
    description_html: Mapped[str] = mapped_column(sa.Text, default="")  # rendered, sanitised
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    format: Mapped[EventFormat] = mapped_column(
        enum_column(EventFormat), default=EventFormat.VIRTUAL, index=True
    )
    venue_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("event_locations.id", ondelete="SET NULL"), index=True
    )
    capacity: Mapped[int | None] = mapped_column()  # None: unlimited
    waitlist_enabled: Mapped[bool] = mapped_column(default=True)
    # Attendees pick the sessions they attend; sessions with a capacity fill and waitlist.
    session_signup: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    max_speakers: Mapped[int | None] = mapped_column()  # None: no limit
    allow_parallel_sessions: Mapped[bool] = mapped_column(default=False)
    cpd_credits: Mapped[Decimal] = mapped_column(sa.Numeric(6, 2), default=Decimal("0"))
    # The Zoom meeting of a single-session event (a multi-session event has one per session).
    zoom_meeting_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    # Percent of a session an attendee must be present for to count as attended (issue 5).
    attendance_threshold: Mapped[int] = mapped_column(default=75, server_default="75")
    registration_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    registration_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    visibility: Mapped[EventVisibility] = mapped_column(
        enum_column(EventVisibility), default=EventVisibility.PUBLIC
    )
    status: Mapped[EventStatus] = mapped_column(
        enum_column(EventStatus), default=EventStatus.DRAFT, index=True
    )
    calendar_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("calendars.id", ondelete="SET NULL"), index=True
    )
    # The design of the event's certificates; None: the shipped default template.
    certificate_template_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("certificate_templates.id", ondelete="RESTRICT"), index=True
    )
    # The organization whose members share the event (issue 7); None: a personal event.
    organization_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="SET NULL"), index=True
    )
    # Users are soft-deleted; an event keeps its creator (seed 003: PROTECT).
    created_by_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True
    )
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str] = mapped_column(sa.Text, default="")
    # Computed by the database, so it can never disagree with the columns it reads: listed
    # events are public, published or live, and not deleted. `status IN (...)` alone would
    # make every listing sort all upcoming events instead of reading an index in order.
    is_listed: Mapped[bool] = mapped_column(
        sa.Boolean,
        sa.Computed(
            "visibility = 'public' AND status IN ('published', 'live') AND deleted_at IS NULL",
            persisted=True,
        ),
    )

    venue: Mapped[EventLocation | None] = relationship()
    calendar: Mapped[Calendar | None] = relationship()
    organization = relationship("Organization")
    certificate_template = relationship("CertificateTemplate")
    categories: Mapped[list[EventCategory]] = relationship(
        secondary=event_category_links, order_by="EventCategory.name"
    )
    sessions: Mapped[list[EventSession]] = relationship(
        back_populates="event",
        cascade="all, delete-orphan",
        order_by="(EventSession.start_at, EventSession.position, EventSession.id)",
    )
    members: Mapped[list[EventUser]] = relationship(
        back_populates="event", cascade="all, delete-orphan"
    )
    custom_fields: Mapped[list[EventCustomField]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="EventCustomField.position"
    )
    history: Mapped[list[EventStatusHistory]] = relationship(
        back_populates="event",
        cascade="all, delete-orphan",
        order_by="EventStatusHistory.id",
    )
    recurring_rule: Mapped[RecurringRule | None] = relationship(
        back_populates="event", cascade="all, delete-orphan", uselist=False
    )

    def __init__(self, **fields):
        fields.setdefault("status", EventStatus.DRAFT)
        super().__init__(**fields)

    def __str__(self) -> str:
        return self.title

    # --- Time

    @property
    def tzinfo(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local(self, moment: datetime) -> datetime:
        """A moment in the event's own timezone."""
        return moment.astimezone(self.tzinfo)

    @property
    def is_multi_session(self) -> bool:
        return len(self.sessions) > 1

    @property
    def is_recurring(self) -> bool:
        return self.recurring_rule is not None

    def has_started(self, now: datetime | None = None) -> bool:
        return self.start_at <= (now or utcnow())

    def has_ended(self, now: datetime | None = None) -> bool:
        """Over for good: its end has passed and, when it repeats, no occurrence is left."""
        now = now or utcnow()
        if self.recurring_rule is not None:
            from app.events.recurrence import Recurrence  # it builds on this module

            return Recurrence.of(self).next_occurrence(now) is None
        return self.end_at <= now

    def start_needs_confirmation(self, now: datetime | None = None) -> bool:
        """Starting by hand more than EARLY_START_NOTICE before the scheduled start is
        confirmed first: within that notice an early start is routine (the doors open, the
        host opens the meeting); further ahead it is most likely a slip of the button next to
        Publish, and it cannot be undone (a live event never goes back to published)."""
        return self.start_at - (now or utcnow()) > EARLY_START_NOTICE

    @property
    def is_publicly_visible(self) -> bool:
        """Anyone may see it: public or unlisted, and no longer a draft."""
        return (
            self.visibility != EventVisibility.PRIVATE
            and self.status != EventStatus.DRAFT
            and not self.is_deleted
        )

    @property
    def is_editable(self) -> bool:
        return self.status not in (EventStatus.CANCELLED, EventStatus.CLOSED)

    def check_editable(self) -> None:
        if not self.is_editable:
            raise ValidationError(
                _l("This event is %(status)s and can no longer be changed.",
                   status=self.status.value)
            )

    # --- Sessions (seed 000: the event owns its schedule)

    def get_schedule(self) -> list[EventSession]:
        """The sessions that will happen, in order."""
        return [s for s in self.sessions if s.status != SessionStatus.CANCELLED]

    def has_conflicts(self, start_at: datetime, end_at: datetime, ignore=None) -> bool:
        return bool(self.overlapping_sessions(start_at, end_at, ignore))

    def overlapping_sessions(self, start_at, end_at, ignore=None) -> list[EventSession]:
        return [
            s
            for s in self.get_schedule()
            if s is not ignore and s.overlaps_with(start_at, end_at)
        ]

    def check_session_times(self, start_at: datetime, end_at: datetime, ignore=None) -> None:
        """Refuse a session that ends before it starts, lies outside the event, or overlaps
        another one when the event does not allow parallel sessions."""
        if end_at <= start_at:
            raise ValidationError(_l("A session must end after it starts."), field="end_at")
        if start_at < self.start_at or end_at > self.end_at:
            raise ValidationError(
                _l("The session must lie within the event's start and end."), field="start_at"
            )
        overlapping = self.overlapping_sessions(start_at, end_at, ignore)
        if overlapping and not self.allow_parallel_sessions:
            names = ", ".join(f"“{s.title}”" for s in overlapping)
            raise ValidationError(
                _l("This session overlaps %(names)s. Change its times, or allow parallel "
                   "sessions in the event settings.", names=names),
                field="start_at",
            )

    def next_session_slot(self, length: timedelta = timedelta(hours=1)):
        """Where a new session most likely goes: right after the last one (or at the start),
        `length` long, never past the event's end. Times in UTC."""
        ends = [s.end_at for s in self.get_schedule() if s.end_at < self.end_at]
        start = max(ends, default=self.start_at)
        return start, min(start + length, self.end_at)

    def add_session(self, **fields) -> EventSession:
        """Add a session after checking its times (seed 000 `add_session`)."""
        self.check_editable()
        self.check_session_times(fields["start_at"], fields["end_at"])
        position = max((s.position for s in self.sessions), default=0) + 1
        session = EventSession(event=self, position=position, **fields)
        db.session.add(session)
        self.schedule_changed()
        return session

    def cancel_session(self, session: EventSession, reason: str = "") -> None:
        """Cancel one session of this event (seed 000: the event is the primary actor)."""
        if session.event_id != self.id:
            raise ValidationError(_l("That session belongs to another event."))
        self.check_editable()
        SESSION_MACHINE.fire(session, "cancel")
        session.cancelled_at = utcnow()
        session.cancel_reason = reason.strip()
        self.schedule_changed()

    def update_session(self, session: EventSession, **fields) -> None:
        """Change a scheduled session's details and times, checking them like a new one."""
        if session.event_id != self.id:
            raise ValidationError(_l("That session belongs to another event."))
        self.check_editable()
        if not session.can_modify():
            raise ValidationError(
                _l("This session is %(status)s and can no longer be changed.",
                   status=session.status.value)
            )
        start_at = fields.get("start_at", session.start_at)
        end_at = fields.get("end_at", session.end_at)
        self.check_session_times(start_at, end_at, ignore=session)
        for name, value in fields.items():
            setattr(session, name, value)
        self.schedule_changed()

    def get_sessions_by_day(self) -> list[tuple[date, list[EventSession]]]:
        """Every session, cancelled ones included, grouped by day in the event's timezone
        and in the organizer's order (`position`) within a day."""
        days: dict[date, list[EventSession]] = {}
        for session in sorted(self.sessions, key=lambda s: (s.start_at, s.position)):
            days.setdefault(session.local_date(), []).append(session)
        return [
            (day, sorted(sessions, key=lambda s: (s.position, s.start_at, s.id)))
            for day, sessions in days.items()
        ]

    def move_session(self, session: EventSession, offset: int) -> bool:
        """Swap a session with its neighbour of the same day (offset -1: up, +1: down);
        returns False at either end of the day."""
        if session.event_id != self.id:
            raise ValidationError(_l("That session belongs to another event."))
        self.check_editable()
        same_day = dict(self.get_sessions_by_day()).get(session.local_date(), [])
        index = same_day.index(session) + offset
        if not 0 <= index < len(same_day):
            return False
        # Positions are renumbered so that equal ones (from older data) still move.
        same_day[index - offset], same_day[index] = same_day[index], same_day[index - offset]
        previous = None
        for position, item in zip(sorted(s.position for s in same_day), same_day, strict=True):
            item.position = position if previous is None else max(position, previous + 1)
            previous = item.position
        return True

    def reschedule(self, new_start: datetime, new_end: datetime) -> None:
        """Move the event and every session by the same amount; the duration is kept."""
        self.check_editable()
        if new_end - new_start != self.end_at - self.start_at:
            raise ValidationError(
                _l("A rescheduled event keeps its duration: move the end by as much as the "
                   "start."),
                field="end_at",
            )
        if not (moment_in_range(new_start) and moment_in_range(new_end)):
            raise ValidationError(_l(
                "Choose a date from the years %(first)s to %(last)s: the end moves with the "
                "start.", first=MIN_DATE.year, last=MAX_DATE.year,
            ), field="start_at")
        shift = new_start - self.start_at
        if not shift:
            return
        for session in self.sessions:
            session.start_at += shift
            session.end_at += shift
        self.start_at, self.end_at = new_start, new_end
        for opens in ("registration_opens_at", "registration_closes_at"):
            if getattr(self, opens) is not None:
                setattr(self, opens, getattr(self, opens) + shift)
        signals.event_start_moved.send(self)
        self.schedule_changed()

    def schedule_changed(self) -> None:
        """Tell the areas that follow the event's times, sessions and details (Zoom)."""
        signals.event_schedule_changed.send(self)

    # --- People (seed 000 / 001)

    def get_role(self, user) -> EventRole | None:
        """`user`'s role in this event, or None: one query on the (event, user) unique index,
        whatever the number of members. Comparing relationships binds the ids when the query
        runs, after autoflush, so members added but not yet flushed count."""
        return db.session.scalar(
            sa.select(EventUser.role).where(EventUser.event == self, EventUser.user == user)
        )

    def add_member(self, user, role: EventRole) -> EventUser:
        """Give `user` a role in this event, or change the role they have."""
        for membership in self.members:
            if membership.user_id == user.id:
                membership.role = role
                return membership
        membership = EventUser(user=user, role=role)
        self.members.append(membership)  # appending cascades it into the session
        return membership

    def get_speakers(self) -> list:
        """The event's speakers (seed 000), in name order."""
        from app.accounts.models import User

        return list(
            db.session.scalars(
                sa.select(User)
                .join(EventUser, EventUser.user_id == User.id)
                .where(EventUser.event_id == self.id, EventUser.role == EventRole.SPEAKER)
                .order_by(User.full_name, User.id)
            )
        )

    def speaker_count(self) -> int:
        return db.session.scalar(
            sa.select(sa.func.count())
            .select_from(EventUser)
            .where(EventUser.event_id == self.id, EventUser.role == EventRole.SPEAKER)
        )

    def has_speaker(self, user) -> bool:
        return self.get_role(user) == EventRole.SPEAKER

    def get_sessions_with_speakers(self) -> list[EventSession]:
        """Every session, cancelled ones included, with its speakers and their accounts
        loaded in two more queries whatever their number (seed 000 "Query Optimization")."""
        return list(
            db.session.scalars(
                sa.select(EventSession)
                .where(EventSession.event_id == self.id)
                .order_by(EventSession.start_at, EventSession.position, EventSession.id)
                .options(selectinload(EventSession.speakers).joinedload(SessionSpeaker.user))
            )
        )

    def get_speakers_with_sessions(
        self, sessions: list[EventSession] | None = None
    ) -> list[EventSpeaker]:
        """Everyone who speaks in this event — its SPEAKERs and whoever speaks at a session
        (an organizer may) — in name order, each with their session links; `sessions` is
        what `get_sessions_with_speakers` returned, when the caller has it already."""
        if sessions is None:
            sessions = self.get_sessions_with_speakers()
        members = db.session.scalars(
            sa.select(EventUser)
            .where(EventUser.event_id == self.id, EventUser.role == EventRole.SPEAKER)
            .options(joinedload(EventUser.user))
        )
        speakers = {m.user_id: EventSpeaker(m.user, True, []) for m in members}
        for session in sessions:
            for link in session.speakers:
                entry = speakers.setdefault(link.user_id, EventSpeaker(link.user, False, []))
                entry.links.append(link)
        return sorted(speakers.values(), key=lambda e: (e.user.display_name.lower(), e.user.id))

    # --- State (app/states.py EVENT_MACHINE)

    def check_ready_to_publish(self) -> bool:
        """The conditions of seed 003's publish: the fields an attendee needs are set."""
        missing = []
        if not self.title.strip():
            missing.append(_l("a title"))
        if self.format.has_venue and self.venue_id is None and self.venue is None:
            missing.append(_l("a venue (the event is in person)"))
        if not self.get_schedule() and self.end_at <= self.start_at:
            missing.append(_l("valid start and end times"))
        if missing:
            things = functools.reduce(
                lambda first, then: _l("%(first)s and %(then)s", first=first, then=then), missing
            )
            raise ValidationError(_l("Before publishing, add %(things)s.", things=things))
        if self.has_ended():
            # Nobody could register for it or attend it; published, it would complete at the
            # next tick. Past events are recorded with their times, never published.
            raise ValidationError(_l(
                "This event ended on %(end)s: an event that is over cannot be published. "
                "Reschedule it to a future date first.",
                end=datetime_long(self.end_at, self.timezone)))
        return True

    def publish(self, actor) -> None:
        EVENT_MACHINE.fire(self, "publish", actor=actor)
        self.published_at = utcnow()
        signals.event_published.send(self, actor=actor)

    def cancel(self, actor, reason: str) -> None:
        if not reason or not reason.strip():
            raise ValidationError(_l("Give a reason: attendees will see it."), field="reason")
        EVENT_MACHINE.fire(self, "cancel", actor=actor, reason=reason.strip())
        self.cancelled_at = utcnow()
        self.cancel_reason = reason.strip()
        for session in self.sessions:
            if SESSION_MACHINE.may(session, "cancel"):
                SESSION_MACHINE.fire(session, "cancel")
        signals.event_cancelled.send(self)

    def start(self, actor=None, reason: str = "") -> None:
        """The event is under way: the clock reached its start, or its Zoom meeting began."""
        EVENT_MACHINE.fire(self, "start", actor=actor, reason=reason)

    def start_by_hand(self, actor, reason: str = "", *, confirmed: bool = False) -> None:
        """The organizer's "Start now": well ahead of time only when `confirmed`
        (`start_needs_confirmation`)."""
        if not confirmed and self.start_needs_confirmation():
            raise ValidationError(_l(
                "The event is scheduled to start on %(start)s: confirm that it starts now.",
                start=datetime_long(self.start_at, self.timezone)))
        self.start(actor, reason)

    def complete(self, actor=None, reason: str = "") -> None:
        EVENT_MACHINE.fire(self, "complete", actor=actor, reason=reason)

    def close(self, actor, reason: str = "") -> None:
        EVENT_MACHINE.fire(self, "close", actor=actor, reason=reason)

    def reopen(self, actor, reason: str = "") -> None:
        EVENT_MACHINE.fire(self, "reopen", actor=actor, reason=reason)

    @property
    def is_deletable(self) -> bool:
        return self.status == EventStatus.DRAFT and not self.is_deleted

    def delete_draft(self) -> None:
        """A draft may be deleted (softly) while nobody depends on it (DESIGN.md: only
        without registrations: that area refuses through `event_deleting`)."""
        if not self.is_deletable:
            raise ValidationError(
                _l("Only a draft can be deleted; this event is %(status)s. Cancel it instead.",
                   status=self.status.value)
            )
        signals.event_deleting.send(self)
        self.soft_delete()

    def check_ready_to_close(self) -> bool:
        signals.event_closing.send(self)
        return True

    def record_transition(self, before, after, *, actor=None, reason=None) -> None:
        self.history.append(
            EventStatusHistory(
                from_status=before,
                to_status=after,
                changed_by_id=getattr(actor, "id", None),
                reason=reason or "",
            )
        )


# How long before its scheduled start an event may be started by hand without a confirmation
# (Event.start_needs_confirmation).
EARLY_START_NOTICE = timedelta(hours=1)


class EventSpeaker(NamedTuple):
    """One person of `Event.get_speakers_with_sessions`."""

    user: Any
    is_event_speaker: bool  # holds the SPEAKER role (an organizer who speaks does not)
    links: list[SessionSpeaker]


class EventSession(TimeRangeMixin, Model):
    """A session of an event, with its own times, capacity and speakers (seed 003)."""

    __tablename__ = "event_sessions"
    __table_args__ = (
        sa.CheckConstraint("end_at > start_at", name="ends_after_start"),
        sa.CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity_not_negative"),
        sa.CheckConstraint(
            "speaker_capacity IS NULL OR speaker_capacity >= 0", name="speaker_capacity_ok"
        ),
        sa.Index("ix_event_sessions_event_id_start_at", "event_id", "start_at"),
    )

    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    room: Mapped[str] = mapped_column(sa.String(200), default="")
    position: Mapped[int] = mapped_column(default=0)
    capacity: Mapped[int | None] = mapped_column()
    speaker_capacity: Mapped[int | None] = mapped_column()
    required_certification: Mapped[str | None] = mapped_column(sa.String(100))
    cpd_credits: Mapped[Decimal | None] = mapped_column(sa.Numeric(6, 2))
    status: Mapped[SessionStatus] = mapped_column(
        enum_column(SessionStatus), default=SessionStatus.SCHEDULED, index=True
    )
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str] = mapped_column(sa.Text, default="")
    zoom_meeting_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)

    event: Mapped[Event] = relationship(back_populates="sessions")
    speakers: Mapped[list[SessionSpeaker]] = relationship(
        back_populates="session", cascade="all, delete-orphan", order_by="SessionSpeaker.id"
    )

    def __init__(self, **fields):
        fields.setdefault("status", SessionStatus.SCHEDULED)
        super().__init__(**fields)

    def __str__(self) -> str:
        return self.title

    @property
    def is_cancelled(self) -> bool:
        return self.status == SessionStatus.CANCELLED

    def local_date(self) -> date:
        """The day the session is on, in the event's timezone."""
        return self.start_at.astimezone(self.event.tzinfo).date()

    def can_modify(self) -> bool:
        """Seed 000: live and completed sessions are locked."""
        return self.status == SessionStatus.SCHEDULED

    @property
    def is_locked(self) -> bool:
        """Live or completed: what happens there is a record, its speakers included."""
        return self.status in (SessionStatus.LIVE, SessionStatus.COMPLETED)

    def is_at_speaker_capacity(self) -> bool:
        return self.speaker_capacity is not None and len(self.speakers) >= self.speaker_capacity

    def has_speaker(self, user) -> bool:
        return any(s.user_id == user.id for s in self.speakers)

    def add_speaker(self, user, role: SpeakerRole = SpeakerRole.SPEAKER) -> SessionSpeaker:
        """Add a speaker, making them a SPEAKER of the event unless they are one already or
        organise it (seed 000 `Session.add_speaker`). Validation is SpeakerService's job."""
        link = SessionSpeaker(user=user, role=role)
        self.speakers.append(link)  # appending cascades it into the session
        if self.event.get_role(user) in (None, EventRole.ATTENDEE):
            self.event.add_member(user, EventRole.SPEAKER)
        return link

    # Seed 000 `Session.transition_to`, through app/states.py; repeated signals are no-ops.
    def go_live(self) -> bool:
        return SESSION_MACHINE.fire_if_allowed(self, "start")

    def finish(self) -> bool:
        return SESSION_MACHINE.fire_if_allowed(self, "complete")


class EventUser(Model):
    """A person's role in an event (seed 000 EventUser): one role per event and user."""

    __tablename__ = "event_users"
    __table_args__ = (sa.UniqueConstraint("event_id", "user_id"),)

    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[EventRole] = mapped_column(enum_column(EventRole), index=True)

    event: Mapped[Event] = relationship(back_populates="members")
    user = relationship("User")


class SessionSpeaker(Model):
    """A speaker of a session (seed 000 SessionSpeaker)."""

    __tablename__ = "session_speakers"
    __table_args__ = (sa.UniqueConstraint("session_id", "user_id"),)

    session_id: Mapped[int] = mapped_column(
        sa.ForeignKey("event_sessions.id", ondelete="CASCADE")
    )
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[SpeakerRole] = mapped_column(
        enum_column(SpeakerRole), default=SpeakerRole.SPEAKER
    )

    session: Mapped[EventSession] = relationship(back_populates="speakers")
    user = relationship("User")


OPTIONS_SCHEMA = {
    "type": "array",
    "items": {"type": "string", "minLength": 1, "maxLength": 200},
    "uniqueItems": True,
    "maxItems": 100,
}


class EventCustomField(Model):
    """A question on the registration form (seed 003 EventCustomField)."""

    __tablename__ = "event_custom_fields"

    event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(sa.String(200))
    help_text: Mapped[str] = mapped_column(sa.String(300), default="")
    field_type: Mapped[CustomFieldType] = mapped_column(enum_column(CustomFieldType))
    required: Mapped[bool] = mapped_column(default=False)
    options: Mapped[list] = mapped_column(ValidatedJSON(OPTIONS_SCHEMA), default=list)
    position: Mapped[int] = mapped_column(default=0)

    event: Mapped[Event] = relationship(back_populates="custom_fields")

    def check(self) -> None:
        """Choices need options; other types take none."""
        if self.field_type.has_options and len(self.options or []) < 2:
            raise ValidationError(
                _l("A choice question needs at least two options."), field="options"
            )
        if not self.field_type.has_options and self.options:
            raise ValidationError(_l("Only choice questions have options."), field="options")


class EventStatusHistory(Model):
    """Who moved an event from which status to which, when and why (seed 003 audit)."""

    __tablename__ = "event_status_history"

    event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[EventStatus | None] = mapped_column(
        enum_column(EventStatus, name="from_status")
    )
    to_status: Mapped[EventStatus] = mapped_column(enum_column(EventStatus, name="to_status"))
    changed_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    reason: Mapped[str] = mapped_column(sa.Text, default="")

    event: Mapped[Event] = relationship(back_populates="history")
    changed_by = relationship("User")

    @property
    def changed_at(self) -> datetime:
        return self.created_at


WEEKDAYS_SCHEMA = {
    "type": "array",
    "items": {"type": "integer", "minimum": 0, "maximum": 6},
    "uniqueItems": True,
}


class RecurringRule(Model):
    """How a calendar listing repeats (seed 002), expanded with dateutil's rrule in the
    event's own timezone so that daylight-saving changes keep the local time."""

    __tablename__ = "event_recurring_rules"
    __table_args__ = (
        sa.CheckConstraint("interval >= 1", name="interval_positive"),
        sa.CheckConstraint("count IS NULL OR count >= 1", name="count_positive"),
    )

    event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("events.id", ondelete="CASCADE"), unique=True
    )
    frequency: Mapped[RecurrenceFrequency] = mapped_column(enum_column(RecurrenceFrequency))
    interval: Mapped[int] = mapped_column(default=1)
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    count: Mapped[int | None] = mapped_column()
    weekdays: Mapped[list] = mapped_column(ValidatedJSON(WEEKDAYS_SCHEMA), default=list)

    event: Mapped[Event] = relationship(back_populates="recurring_rule")

    @property
    def duration(self) -> timedelta:
        return self.event.end_at - self.event.start_at


# Every public page shows these: a commit that changes one invalidates the page cache.
def _watch_for_page_cache() -> None:
    from app.core.cache import watch

    watch(
        Event, EventSession, EventUser, SessionSpeaker, EventLocation, Calendar, EventCategory,
        RecurringRule, EventCustomField,
    )


_watch_for_page_cache()

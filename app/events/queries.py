"""Read-side queries of the public pages: the listing, one event, calendars, feeds, dashboard.

The listing is a lean select of the columns it shows (no ORM objects, no lazy loads) and
pages by fetching one row more than it shows, so no request counts the whole table. Pages
that show objects load their relationships eagerly: the number of queries does not grow with
the number of sessions, speakers or events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import groupby
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import contains_eager, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app.core.cache import cached_value
from app.core.fields import date_param, int_param, text_param
from app.core.types import utcnow
from app.events.models import (
    Calendar,
    Event,
    EventCategory,
    EventFormat,
    EventLocation,
    EventRole,
    EventSession,
    EventVisibility,
    RecurringRule,
    SessionSpeaker,
    event_category_links,
)
from app.events.recurrence import Recurrence
from app.extensions import db
from app.states import EventStatus

PAGE_SIZE = 20
MAX_PAGE = 10_000
LISTED_STATUSES = (EventStatus.PUBLISHED, EventStatus.LIVE)
# Calendars also show what has happened (a month view of last month), but never drafts or
# cancelled listings.
CALENDAR_STATUSES = (
    EventStatus.PUBLISHED, EventStatus.LIVE, EventStatus.COMPLETED, EventStatus.CLOSED,
)


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """Midnight at the start of `day` in `zone`, in UTC."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


# --- The listing


@dataclass(frozen=True)
class ListingFilters:
    q: str = ""
    category: str = ""
    format: EventFormat | None = None
    date_from: date | None = None
    date_to: date | None = None
    page: int = 1
    errors: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> ListingFilters:
        """Read the query string; a value that cannot be read is dropped with a message."""
        errors = []

        def read_date(name: str, label: str) -> date | None:
            try:
                return date_param(args.get(name), label)
            except ValueError as error:
                errors.append(str(error.args[0]))
                return None

        try:
            fmt = EventFormat(args.get("format")) if args.get("format") else None
        except ValueError:
            fmt, _ignored = None, errors.append(_("Choose a format from the list."))
        page = int_param(args.get("page"), 1, minimum=1, maximum=MAX_PAGE)
        date_from = read_date("from", _("from"))
        date_to = read_date("to", _("to"))
        if date_from and date_to and date_to < date_from:
            errors.append(_("The “to” date is before the “from” date: showing from “from” on."))
            date_to = None
        return cls(
            q=text_param(args.get("q")),
            category=text_param(args.get("category"), 200),
            format=fmt,
            date_from=date_from,
            date_to=date_to,
            page=page,
            errors=tuple(errors),
        )

    @property
    def is_filtered(self) -> bool:
        return bool(self.q or self.category or self.format or self.date_from or self.date_to)

    def args(self, **changes) -> dict[str, str]:
        """Query-string arguments for a link to these filters (another page, say)."""
        values = replace(self, **changes)
        result = {
            "q": values.q,
            "category": values.category,
            "format": values.format.value if values.format else "",
            "from": values.date_from.isoformat() if values.date_from else "",
            "to": values.date_to.isoformat() if values.date_to else "",
            "page": str(values.page) if values.page > 1 else "",
        }
        return {name: value for name, value in result.items() if value}


@dataclass(frozen=True)
class ListingRow:
    """What the listing shows of one event."""

    title: str
    slug: str
    summary: str
    start_at: datetime
    end_at: datetime
    timezone: str
    format: EventFormat
    status: EventStatus
    venue_name: str | None
    venue_city: str | None
    recurrence: Recurrence | None = None
    next_start_at: datetime | None = None

    @property
    def shown_start_at(self) -> datetime:
        return self.next_start_at or self.start_at


@dataclass(frozen=True)
class ListingPage:
    rows: list[ListingRow]
    page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def listing(filters: ListingFilters, viewer_zone: ZoneInfo, now: datetime | None = None):
    """One page of upcoming public events: published or live, not deleted, not over (a
    recurring listing counts while its rule may still produce occurrences)."""
    now = now or utcnow()
    series_continues = sa.and_(
        RecurringRule.id.is_not(None),
        sa.or_(RecurringRule.until.is_(None), RecurringRule.until > now),
    )
    query = (
        sa.select(
            Event.title, Event.slug, Event.summary, Event.start_at, Event.end_at,
            Event.timezone, Event.format, Event.status,
            EventLocation.name.label("venue_name"), EventLocation.city.label("venue_city"),
            RecurringRule.frequency, RecurringRule.interval, RecurringRule.until,
            RecurringRule.count, RecurringRule.weekdays,
        )
        .outerjoin(EventLocation, EventLocation.id == Event.venue_id)
        .outerjoin(RecurringRule, RecurringRule.event_id == Event.id)
        .where(
            Event.is_listed == sa.true(),  # public, published or live, not deleted
            sa.or_(Event.end_at > now, series_continues),
        )
    )
    if filters.q:
        query = query.where(
            sa.or_(
                Event.title.icontains(filters.q, autoescape=True),
                Event.summary.icontains(filters.q, autoescape=True),
            )
        )
    if filters.category:
        in_category = (
            sa.select(event_category_links.c.event_id)
            .join(EventCategory, EventCategory.id == event_category_links.c.category_id)
            .where(EventCategory.slug == filters.category)
        )
        query = query.where(Event.id.in_(in_category))
    if filters.format:
        query = query.where(Event.format == filters.format)
    if filters.date_from:
        starts = day_start(filters.date_from, viewer_zone)
        query = query.where(sa.or_(Event.end_at > starts, series_continues))
    if filters.date_to:
        query = query.where(Event.start_at < day_start(filters.date_to + timedelta(1), viewer_zone))
    query = (
        query.order_by(Event.start_at, Event.id)
        .offset((filters.page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE + 1)
    )
    results = db.session.execute(query).all()
    rows = [_listing_row(result, now) for result in results[:PAGE_SIZE]]
    return ListingPage(rows=rows, page=filters.page, has_next=len(results) > PAGE_SIZE)


def _listing_row(result, now: datetime) -> ListingRow:
    recurrence = next_start = None
    if result.frequency is not None:
        recurrence = Recurrence(
            start_at=result.start_at, end_at=result.end_at, timezone=result.timezone,
            frequency=result.frequency, interval=result.interval, until=result.until,
            count=result.count, weekdays=tuple(result.weekdays or ()),
        )
        upcoming = recurrence.next_occurrence(now)
        next_start = upcoming[0] if upcoming else None
    return ListingRow(
        title=result.title, slug=result.slug, summary=result.summary,
        start_at=result.start_at, end_at=result.end_at, timezone=result.timezone,
        format=result.format, status=result.status, venue_name=result.venue_name,
        venue_city=result.venue_city, recurrence=recurrence, next_start_at=next_start,
    )


def category_choices() -> list[tuple[str, str]]:
    """(slug, "Calendar: Category") for the listing's category filter; computed once per
    cache generation, as every listing request shows it."""
    return cached_value("category-choices", _category_choices)


def _category_choices() -> list[tuple[str, str]]:
    rows = db.session.execute(
        sa.select(EventCategory.slug, EventCategory.name, Calendar.name.label("calendar"))
        .join(Calendar, Calendar.id == EventCategory.calendar_id)
        .order_by(Calendar.name, EventCategory.name)
    ).all()
    return [(row.slug, f"{row.calendar}: {row.name}") for row in rows]


# --- One event


def _full_event_options():
    return (
        joinedload(Event.venue),
        joinedload(Event.recurring_rule),
        selectinload(Event.sessions)
        .selectinload(EventSession.speakers)
        .joinedload(SessionSpeaker.user),
    )


def event_by_slug(slug: str) -> Event | None:
    """The event with everything its page shows, in a fixed number of queries."""
    # Categories are joined into the event's query (one round trip fewer); unique() reads
    # every row, so an event with several categories gets all of them.
    return (
        db.session.execute(
            sa.select(Event)
            .where(Event.slug == slug)
            .options(*_full_event_options(), joinedload(Event.categories),
                     joinedload(Event.calendar), joinedload(Event.organization))
        )
        .unique()
        .scalar_one_or_none()
    )


@dataclass
class SpeakerEntry:
    user: object
    sessions: list[EventSession]


def speakers_with_sessions(event: Event) -> list[SpeakerEntry]:
    """Each speaker of the event (event role or session speaker) with their sessions."""
    entries: dict[int, SpeakerEntry] = {}
    for user in event.get_speakers():
        entries[user.id] = SpeakerEntry(user, [])
    for session in event.sessions:
        for link in session.speakers:
            entry = entries.setdefault(link.user_id, SpeakerEntry(link.user, []))
            entry.sessions.append(session)
    return sorted(entries.values(), key=lambda e: (e.user.display_name.lower(), e.user.id))


def schedule_by_day(event: Event, zone: ZoneInfo) -> list[tuple[date, list[EventSession]]]:
    """The sessions (cancelled ones too, to be marked) grouped by their day in `zone`."""
    sessions = sorted(event.sessions, key=lambda s: (s.start_at, s.position, s.id))
    return [
        (day, list(group))
        for day, group in groupby(sessions, key=lambda s: s.start_at.astimezone(zone).date())
    ]


# --- Calendars


def calendars_with_counts(now: datetime | None = None):
    """Every calendar with how many upcoming public listings it has."""
    now = now or utcnow()
    upcoming = (
        sa.select(sa.func.count(Event.id))
        .outerjoin(RecurringRule, RecurringRule.event_id == Event.id)
        .where(
            Event.calendar_id == Calendar.id,
            Event.visibility == EventVisibility.PUBLIC,
            Event.status.in_(LISTED_STATUSES),
            Event.deleted_at.is_(None),
            sa.or_(
                Event.end_at > now,
                sa.and_(RecurringRule.id.is_not(None),
                        sa.or_(RecurringRule.until.is_(None), RecurringRule.until > now)),
            ),
        )
        .scalar_subquery()
    )
    return db.session.execute(
        sa.select(Calendar, upcoming.label("upcoming")).order_by(Calendar.name)
    ).all()


def calendar_by_slug(slug: str) -> Calendar | None:
    return db.session.scalar(
        sa.select(Calendar).where(Calendar.slug == slug).options(selectinload(Calendar.categories))
    )


def calendar_events(calendar: Calendar, window_start: datetime, window_end: datetime):
    """The calendar's public listings that may have an occurrence in the window."""
    return list(
        db.session.scalars(
            sa.select(Event)
            .outerjoin(RecurringRule, RecurringRule.event_id == Event.id)
            .options(contains_eager(Event.recurring_rule), joinedload(Event.venue),
                     selectinload(Event.sessions))  # a one-off event shows its sessions
            .where(
                Event.calendar_id == calendar.id,
                Event.visibility == EventVisibility.PUBLIC,
                Event.status.in_(CALENDAR_STATUSES),
                Event.deleted_at.is_(None),
                Event.start_at < window_end,
                sa.or_(
                    sa.and_(RecurringRule.id.is_(None), Event.end_at > window_start),
                    sa.and_(
                        RecurringRule.id.is_not(None),
                        # Generous: expansion keeps exactly the occurrences in the window.
                        sa.or_(RecurringRule.until.is_(None),
                               RecurringRule.until >= window_start - timedelta(days=31)),
                    ),
                ),
            )
            .order_by(Event.start_at, Event.id)
        ).unique()
    )


def calendar_feed_events(calendar: Calendar, now: datetime | None = None) -> list[Event]:
    """What a calendar's feed carries: its public listings of the last 90 days onwards."""
    since = (now or utcnow()) - timedelta(days=90)
    return list(
        db.session.scalars(
            sa.select(Event)
            .outerjoin(RecurringRule, RecurringRule.event_id == Event.id)
            .options(*_full_event_options())
            .where(
                Event.calendar_id == calendar.id,
                Event.visibility == EventVisibility.PUBLIC,
                Event.status.in_(CALENDAR_STATUSES),
                Event.deleted_at.is_(None),
                sa.or_(Event.end_at > since, RecurringRule.id.is_not(None)),
            )
            .order_by(Event.start_at, Event.id)
        ).unique()
    )


def events_for_feed(event_ids) -> list[Event]:
    """Events by id, with what their VEVENTs need."""
    if not event_ids:
        return []
    return list(
        db.session.scalars(
            sa.select(Event)
            .where(Event.id.in_(list(event_ids)))
            .options(*_full_event_options())
            .order_by(Event.start_at, Event.id)
        ).unique()
    )


# --- Dashboard


@dataclass
class Dashboard:
    organizing: list[Event]
    speaking: list[EventSession]
    attending: list[Event]


def dashboard_for(user, now: datetime | None = None) -> Dashboard:
    """The three lists of a user's dashboard, in a fixed number of queries."""
    now = now or utcnow()
    managed = user.get_managed_events()
    upcoming = sorted((e for e in managed if e.end_at > now), key=lambda e: e.start_at)
    past = [e for e in managed if e.end_at <= now]  # already newest first
    sessions = [s for s in user.get_speaking_sessions() if s.end_at > now]
    _load_events_of(sessions)
    sessions = [s for s in sessions if not s.event.is_deleted]
    attending = [
        event for event, role in user.get_upcoming_events(now) if role == EventRole.ATTENDEE
    ]
    return Dashboard(organizing=upcoming + past, speaking=sessions, attending=attending)


def _load_events_of(sessions: list[EventSession]) -> None:
    """Load the sessions' events in one query and set `session.event` from them, rather
    than letting each session load its own (deleted events included: the sessions' own
    filter decides)."""
    ids = {s.event_id for s in sessions}
    if not ids:
        return
    events = {
        event.id: event
        for event in db.session.scalars(
            sa.select(Event).where(Event.id.in_(ids)).execution_options(include_deleted=True)
        )
    }
    for session in sessions:
        set_committed_value(session, "event", events[session.event_id])


def feed_event_ids(user, now: datetime | None = None) -> list[int]:
    """The user's events for their private feed (User.get_upcoming_events: every role)."""
    return [event.id for event, _role in user.get_upcoming_events(now)]



def event_part_or_404(model, event: Event, part_uuid):
    """The `model` row (anything with an `event_id`) with this uuid that belongs to `event`;
    404 otherwise, so that a uuid of another event's row is simply not found here."""
    return db.first_or_404(
        sa.select(model).where(model.uuid == part_uuid, model.event_id == event.id)
    )

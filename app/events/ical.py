"""iCalendar export with the `icalendar` library: one event, a calendar feed, a user's feed.

A one-off event is its `calendar_entries`, one VEVENT each, with times in UTC: the same
entries the month and list views of a calendar show. A recurring event is ONE VEVENT whose
DTSTART carries the event's TZID and whose RRULE says how it repeats: calendar apps expand it
themselves, in that zone (and the month view expands the same rule).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

import icalendar
from flask import Response, current_app

from app.core.urls import external_url
from app.events.recurrence import WEEKDAY_CODES, Recurrence
from app.mailing.attachments import Attachment
from app.mailing.attachments import register as register_attachment
from app.states import EventStatus, SessionStatus

PRODID = "-//Convene//Convene events//EN"


def _domain() -> str:
    return urlsplit(current_app.config.get("SITE_URL") or "http://localhost").hostname or "convene"


def event_uid(event) -> str:
    return f"event-{event.uuid}@{_domain()}"


def session_uid(session) -> str:
    return f"session-{session.uuid}@{_domain()}"


def _location(event) -> str:
    if event.format.has_venue and event.venue is not None:
        venue = event.venue.one_line
        return f"{venue} · Online" if event.format.is_online else venue
    return "Online"


def _description(event, extra: str = "") -> str:
    parts = [extra, event.summary, event.description]
    return "\n\n".join(part.strip() for part in parts if part and part.strip())


def _base(
    uid: str, summary: str, event, stamp: datetime, room: str = ""
) -> icalendar.Event:
    component = icalendar.Event()
    component.add("uid", uid)
    component.add("dtstamp", stamp)
    component.add("summary", summary)
    component.add("location", f"{room}, {_location(event)}" if room else _location(event))
    component.add("url", external_url("events.event_detail", slug=event.slug))
    return component


def rrule_value(rule, event) -> icalendar.vRecur:
    recur = icalendar.vRecur(freq=rule.frequency.value.upper())
    if rule.interval and rule.interval != 1:
        recur["interval"] = rule.interval
    if rule.until is not None:
        recur["until"] = rule.until  # UTC, as RFC 5545 requires with a TZID'd DTSTART
    if rule.count is not None:
        recur["count"] = rule.count
    if rule.weekdays:
        recur["byday"] = [WEEKDAY_CODES[day] for day in sorted(rule.weekdays)]
    return recur


@dataclass(frozen=True)
class CalendarEntry:
    """One entry of a one-off event in a calendar: one of its sessions, or the event."""

    event: Any
    session: Any  # None: the event itself
    start_at: datetime
    end_at: datetime
    is_cancelled: bool

    @property
    def title(self) -> str:
        return self.event.title if self.session is None else (
            f"{self.session.title} · {self.event.title}")


def calendar_entries(event) -> list[CalendarEntry]:
    """What calendars show of a one-off event, the site's month and list views and the .ics
    alike: one entry per session, so that each day of a multi-day event has its own, or the
    event itself when it has no sessions. A cancelled session stays an entry, marked: a
    feed's subscribers see it cancelled, the site's views leave it out. (A recurring event
    is its rule instead: `calendar_occurrences` expands it.)"""
    cancelled = event.status == EventStatus.CANCELLED
    if not event.sessions:
        return [CalendarEntry(event, None, event.start_at, event.end_at, cancelled)]
    return [
        CalendarEntry(event, session, session.start_at, session.end_at,
                      cancelled or session.status == SessionStatus.CANCELLED)
        for session in event.sessions
    ]


def calendar_occurrences(event, window_start: datetime,
                         window_end: datetime) -> list[CalendarEntry]:
    """What the site's calendar views show of `event` within the window: a recurring event's
    occurrences, expanded from the rule its VEVENT carries; a one-off event's
    `calendar_entries`, less the cancelled ones."""
    recurrence = Recurrence.of(event)
    if recurrence is not None:
        return [CalendarEntry(event, None, start, end, False)
                for start, end in recurrence.occurrences(window_start, window_end)]
    return [entry for entry in calendar_entries(event) if not entry.is_cancelled
            and entry.start_at < window_end and entry.end_at > window_start]


def event_components(event) -> list[icalendar.Event]:
    """The VEVENTs for one event (its sessions, its rule)."""
    stamp = event.updated_at
    cancelled = event.status == EventStatus.CANCELLED
    if event.recurring_rule is not None:
        component = _base(event_uid(event), event.title, event, stamp)
        component.add("dtstart", event.local(event.start_at))  # with the event's TZID
        component.add("dtend", event.local(event.end_at))
        component.add("rrule", rrule_value(event.recurring_rule, event))
        component.add("description", _description(event))
        if cancelled:
            component.add("status", "CANCELLED")
        return [component]
    components = []
    for entry in calendar_entries(event):
        session = entry.session
        if session is None:
            component = _base(event_uid(event), entry.title, event, stamp)
            component.add("description", _description(event))
        else:
            component = _base(session_uid(session), entry.title, event, stamp, session.room)
            speakers = ", ".join(link.user.display_name for link in session.speakers)
            extra = "\n".join(
                text for text in (session.description, speakers and f"Speakers: {speakers}")
                if text
            )
            component.add("description", _description(event, extra))
        component.add("dtstart", entry.start_at)
        component.add("dtend", entry.end_at)
        component.add("status", "CANCELLED" if entry.is_cancelled else "CONFIRMED")
        components.append(component)
    return components


def build_calendar(name: str, events: Iterable) -> bytes:
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    first = None
    for event in events:
        first = min(first or event.start_at, event.start_at)
        for component in event_components(event):
            calendar.add_component(component)
    if first is not None:  # a VTIMEZONE for each TZID used, from the first event on
        calendar.add_missing_timezones(first_date=date(first.year - 1, 1, 1))
    return calendar.to_ical()


def ics_response(body: bytes, filename: str) -> Response:
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def event_attachment(event_id: int) -> Attachment | None:
    """The event as an .ics file attached to a message (registration confirmations)."""
    from app.events.models import Event
    from app.extensions import db

    event = db.session.get(Event, event_id)
    if event is None:
        return None
    return Attachment(
        filename=f"{event.slug}.ics",
        content_type="text/calendar",
        content=build_calendar(event.title, [event]),
    )


register_attachment("event_ics", event_attachment)

"""iCalendar export with the `icalendar` library: one event, a calendar feed, a user's feed.

A one-off event is one VEVENT per session (or one for the event when it has no sessions),
with times in UTC. A recurring event is ONE VEVENT whose DTSTART carries the event's TZID and
whose RRULE says how it repeats: calendar apps expand it themselves, in that zone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from urllib.parse import urlsplit

import icalendar
from flask import Response, current_app

from app.core.urls import external_url
from app.events.recurrence import WEEKDAY_CODES
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
    if not event.sessions:
        component = _base(event_uid(event), event.title, event, stamp)
        component.add("dtstart", event.start_at)
        component.add("dtend", event.end_at)
        component.add("description", _description(event))
        component.add("status", "CANCELLED" if cancelled else "CONFIRMED")
        return [component]
    components = []
    for session in event.sessions:
        component = _base(
            session_uid(session), f"{session.title} · {event.title}", event, stamp, session.room
        )
        component.add("dtstart", session.start_at)
        component.add("dtend", session.end_at)
        speakers = ", ".join(link.user.display_name for link in session.speakers)
        extra = "\n".join(
            text for text in (session.description, speakers and f"Speakers: {speakers}") if text
        )
        component.add("description", _description(event, extra))
        is_off = cancelled or session.status == SessionStatus.CANCELLED
        component.add("status", "CANCELLED" if is_off else "CONFIRMED")
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

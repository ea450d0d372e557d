"""Public event pages: the listing, one event and its .ics, the user's dashboard and their
private calendar feed."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import abort, current_app, make_response, render_template, request, url_for
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.accounts.models import User
from app.core.cache import cache_page
from app.core.htmx import is_htmx, render
from app.core.templating import format_moment
from app.events import ical, queries
from app.events.models import Event, EventFormat
from app.events.recurrence import Recurrence
from app.events.views import bp
from app.extensions import db


def has_endpoint(name: str) -> bool:
    """Links to pages other areas build appear once those pages exist."""
    return name in current_app.view_functions


@bp.app_template_filter("datetime_in")
def datetime_in(
    value: datetime | None, zone: ZoneInfo | str | None, format: str = "datetime_short"
) -> str:
    """A moment in a given timezone (the viewer's, or the event's for anonymous visitors):
    `app.core.templating.format_moment`, with a named format or a Babel pattern."""
    return format_moment(value, format, zone)


def _first_url(*endpoints: str) -> str | None:
    return next((url_for(name) for name in endpoints if has_endpoint(name)), None)


def viewer_zone(event: Event | None = None) -> ZoneInfo:
    """The viewer's timezone; an anonymous visitor sees an event in the event's own zone."""
    if current_user.is_authenticated:
        return ZoneInfo(current_user.timezone)
    if event is not None:
        return event.tzinfo
    return ZoneInfo(str(get_timezone()))


def can_view(event: Event) -> bool:
    if event.is_publicly_visible:
        return True
    return current_user.is_authenticated and current_user.can_view_event(event)


def get_visible_event(slug: str) -> Event:
    """The event with its schedule loaded, or 404 when it does not exist or the viewer may
    not see it (private events and drafts are invisible to others)."""
    event = queries.event_by_slug(slug)
    if event is None or not can_view(event):
        abort(404)
    return event


@bp.get("/events")
@cache_page()
def event_list():
    filters = queries.ListingFilters.from_args(request.args)
    page = queries.listing(filters, ZoneInfo(str(get_timezone())))
    return render(
        "events/public/list.html",
        "events/public/_results.html",
        filters=filters,
        results=page,
        categories=[] if is_htmx() else queries.category_choices(),
        formats=list(EventFormat),
    )


@bp.get("/events/<slug>")
@cache_page()
def event_detail(slug: str):
    event = get_visible_event(slug)
    zone = viewer_zone(event)
    can_edit = current_user.is_authenticated and current_user.can_edit_event(event)
    return render_template(
        "events/public/detail.html",
        event=event,
        zone=zone,
        schedule=queries.schedule_by_day(event, zone),
        speakers=queries.speakers_with_sessions(event),
        recurrence=Recurrence.of(event),
        can_edit=can_edit,
        can_manage=can_edit and has_endpoint("events.manage_event"),
        reg_state=_registration_state(event),
    )


def _registration_state(event: Event):
    """The registration box: the viewer's own registration, or whether they can register
    (RegistrationService.state_for decides; nothing personal for anonymous visitors)."""
    from app.registrations.services import RegistrationService

    user = current_user if current_user.is_authenticated else None
    return RegistrationService.state_for(event, user)


@bp.get("/events/<slug>.ics")
def event_ics(slug: str):
    event = get_visible_event(slug)
    body = ical.build_calendar(event.title, [event])
    return ical.ics_response(body, f"{event.slug}.ics")


@bp.get("/feeds/<token>.ics")
def user_feed(token: str):
    """A user's private "my events" feed; the token is the only credential."""
    user = User.for_feed_token(token)
    if user is None:
        abort(404)
    events = queries.events_for_feed(queries.feed_event_ids(user))
    body = ical.build_calendar(_("My Convene events"), events)
    response = ical.ics_response(body, "convene.ics")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/account/feed/reset")
@login_required
def reset_feed():
    """A new private feed link, shown in this response only (just its hash is kept); the old
    link stops working."""
    token = current_user.rotate_feed_token()
    db.session.commit()
    response = make_response(render(
        "events/public/feed_link.html", "events/public/_feed.html", has_feed=True,
        feed_url=url_for("events.user_feed", token=token, _external=True),
    ))
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/dashboard")
@login_required
def dashboard():
    from app.registrations import services as registrations

    board = queries.dashboard_for(current_user)
    registered = registrations.registered_event_ids(current_user)
    board.attending = [event for event in board.attending if event.id not in registered]
    return render_template(
        "events/public/dashboard.html",
        board=board,
        registrations=registrations.upcoming_registrations(current_user),
        zone=viewer_zone(),
        has_feed=current_user.has_feed,
        new_event_url=_first_url("events.create_event", "events.new_event"),
        can_link_manage=has_endpoint("events.manage_event"),
    )

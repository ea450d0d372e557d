"""Community calendars (seed 002): the list, a month or list view with recurring listings
expanded, a calendar's .ics feed, and the organizer's form for an event's repeat rule."""

from __future__ import annotations

import calendar as calendar_module
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import abort, flash, render_template, request, url_for
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy.orm import joinedload
from wtforms import SelectField, SelectMultipleField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from app.core.bounds import MAX_DATE, MIN_DATE
from app.core.cache import cache_page
from app.core.fields import BoundedDateField, BoundedIntegerField, bounded_int, month_param
from app.core.forms import FORM_ERROR_STATUS, attempt, show_error
from app.core.htmx import redirect_to
from app.core.types import utcnow
from app.events import ical, queries
from app.events.models import Event, RecurrenceFrequency
from app.events.recurrence import (
    MAX_COUNT,
    MAX_INTERVAL,
    Recurrence,
    RuleInput,
    check_rule,
    remove_rule,
    set_rule,
)
from app.events.views import bp
from app.extensions import db

LIST_DAYS = 180  # the list view shows this far ahead
LIST_LIMIT = 200


@dataclass(frozen=True)
class Occurrence:
    event: Event
    title: str  # the event's, or "session · event" for a session (as in the .ics)
    start_at: datetime
    end_at: datetime
    zone: ZoneInfo

    @property
    def local_day(self) -> date:
        return self.start_at.astimezone(self.zone).date()


def _zone_for(event: Event) -> ZoneInfo:
    """Logged-in viewers see their own timezone; anonymous visitors the event's."""
    return ZoneInfo(current_user.timezone) if current_user.is_authenticated else event.tzinfo


def expand(events, window_start: datetime, window_end: datetime) -> list[Occurrence]:
    """The events' entries in the window, by the rule the .ics follows
    (`ical.calendar_occurrences`): a multi-session event has one per session."""
    found = [
        Occurrence(event, entry.title, entry.start_at, entry.end_at, _zone_for(event))
        for event in events
        for entry in ical.calendar_occurrences(event, window_start, window_end)
    ]
    return sorted(found, key=lambda o: (o.start_at, o.event.title, o.event.id))


def get_calendar_or_404(slug: str):
    calendar = queries.calendar_by_slug(slug)
    if calendar is None:
        abort(404)
    return calendar


@bp.get("/calendars")
@cache_page()
def calendar_list():
    return render_template("events/calendars/list.html", calendars=queries.calendars_with_counts())


@bp.get("/calendars/<slug>")
@cache_page()
def calendar_detail(slug: str):
    calendar = get_calendar_or_404(slug)
    zone = ZoneInfo(current_user.timezone if current_user.is_authenticated else str(get_timezone()))
    now = utcnow()
    if request.args.get("view") == "list":
        window_end = now + timedelta(days=LIST_DAYS)
        occurrences = expand(queries.calendar_events(calendar, now, window_end), now, window_end)
        return render_template(
            "events/calendars/show.html", calendar=calendar, view="list",
            occurrences=occurrences[:LIST_LIMIT], list_days=LIST_DAYS,
        )
    # A month that cannot be read, or outside the supported years, shows the current one.
    month = month_param(request.args.get("month")) or now.astimezone(zone).date().replace(day=1)
    weeks = calendar_module.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month)
    grid_start, grid_end = weeks[0][0], weeks[-1][-1] + timedelta(days=1)
    # A day's worth of margin either side: each occurrence is then placed on its local day.
    window_start = queries.day_start(grid_start, zone) - timedelta(days=1)
    window_end = queries.day_start(grid_end, zone) + timedelta(days=1)
    events = queries.calendar_events(calendar, window_start, window_end)
    by_day: dict[date, list[Occurrence]] = {}
    for occurrence in expand(events, window_start, window_end):
        if grid_start <= occurrence.local_day < grid_end:
            by_day.setdefault(occurrence.local_day, []).append(occurrence)
    # No link out of the supported years (the grid's margins above stay inside them too).
    previous_month = (month - timedelta(days=1)).replace(day=1) if month > MIN_DATE else None
    last_month = MAX_DATE.replace(day=1)
    next_month = (month + timedelta(days=32)).replace(day=1) if month < last_month else None
    return render_template(
        "events/calendars/show.html", calendar=calendar, view="month", month=month,
        weeks=weeks, by_day=by_day, today=now.astimezone(zone).date(),
        previous_month=previous_month, next_month=next_month,
        weekday_names=_weekday_names(),
    )


def _weekday_names() -> list[tuple[str, str]]:
    from flask_babel import get_locale

    days = get_locale().days["format"]
    names, short = days["wide"], days["abbreviated"]
    return [(names[day], short[day]) for day in range(7)]


@bp.get("/calendars/<slug>.ics")
@cache_page()
def calendar_ics(slug: str):
    calendar = get_calendar_or_404(slug)
    body = ical.build_calendar(calendar.name, queries.calendar_feed_events(calendar))
    return ical.ics_response(body, f"{calendar.slug}.ics")


# --- An event's repeat rule (organizers only)


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class RecurrenceForm(FlaskForm):
    frequency = SelectField(
        _l("Repeats"),
        choices=[
            SelectChoice(RecurrenceFrequency.DAILY.value, _l("Daily")),
            SelectChoice(RecurrenceFrequency.WEEKLY.value, _l("Weekly")),
            SelectChoice(RecurrenceFrequency.MONTHLY.value, _l("Monthly")),
            SelectChoice(RecurrenceFrequency.YEARLY.value, _l("Yearly")),
        ],
        default=RecurrenceFrequency.WEEKLY.value,
    )
    interval = BoundedIntegerField(
        _l("Every"),
        default=1,
        validators=[Optional()], minimum=1, maximum=MAX_INTERVAL,
        description=_l("1 means every day, week, month or year; 2 every other one, and so on."),
    )
    weekdays = MultiCheckboxField(
        _l("On these days (weekly only)"),
        coerce=bounded_int,
        choices=[
            SelectChoice(number, name)
            for number, name in enumerate((
                _l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"),
                _l("Saturday"), _l("Sunday"),
            ))
        ],
        validators=[Optional()],
        description=_l("Leave all unticked to repeat on the day of the first occurrence."),
    )
    until = BoundedDateField(
        _l("Ends on"), validators=[Optional()],
        description=_l("The last day an occurrence may start, in the event's timezone."),
    )
    count = BoundedIntegerField(
        _l("Or ends after this many occurrences"),
        validators=[Optional()], minimum=1, maximum=MAX_COUNT,
        description=_l("Give an end date or a number, not both. Leave both empty to repeat "
                       "with no end."),
    )

    def rule(self) -> RuleInput:
        return RuleInput(
            frequency=RecurrenceFrequency(self.frequency.data),
            interval=self.interval.data if self.interval.data is not None else 1,
            until=self.until.data,
            count=self.count.data,
            weekdays=tuple(self.weekdays.data or ()),
        )


def get_editable_event(event_uuid: UUID) -> Event:
    """404 for an event the user may not see, 403 for one they may see but not edit."""
    event = db.session.scalar(
        sa.select(Event)
        .where(Event.uuid == event_uuid)
        .options(joinedload(Event.recurring_rule))
    )
    if event is None or not current_user.can_view_event(event):
        abort(404)
    if not current_user.can_edit_event(event):
        abort(403)
    return event


@bp.route("/events/<uuid:event_uuid>/recurrence", methods=["GET", "POST"])
@login_required
def edit_recurrence(event_uuid: UUID):
    event = get_editable_event(event_uuid)
    rule = event.recurring_rule
    # The saved rule fills the form on GET only: on POST a field left empty means empty.
    form = RecurrenceForm(
        data=None if rule is None or request.method == "POST" else {
            "frequency": rule.frequency.value, "interval": rule.interval,
            "until": rule.until.astimezone(event.tzinfo).date() if rule.until else None,
            "count": rule.count, "weekdays": list(rule.weekdays or []),
        }
    )
    refused = False
    if request.method == "POST" and form.validate():
        problems = check_rule(event, form.rule())  # every problem at once, by field
        for problem in problems:
            show_error(form, problem)
        refused = bool(problems)
        if not problems:
            # A cancelled or closed event, say, refuses a rule.
            refused = not attempt(lambda: set_rule(event, form.rule()), form)
            if not refused:
                flash(_("The event now repeats: %(rule)s.",
                        rule=Recurrence.of(event).describe().lower()), "success")
                return redirect_to(url_for("events.edit_recurrence", event_uuid=event.uuid))
    status = FORM_ERROR_STATUS if form.errors or refused else 200
    preview = []
    recurrence = Recurrence.of(event)
    if recurrence is not None:
        preview = recurrence.occurrences(utcnow(), utcnow() + timedelta(days=3660))[:8]
    return render_template(
        "events/calendars/recurrence.html", event=event, form=form, recurrence=recurrence,
        preview=preview, max_interval=MAX_INTERVAL,
    ), status


@bp.post("/events/<uuid:event_uuid>/recurrence/delete")
@login_required
def delete_recurrence(event_uuid: UUID):
    event = get_editable_event(event_uuid)
    if event.recurring_rule is not None:
        remove_rule(event)
        db.session.commit()
        flash(_("The event no longer repeats."), "success")
    return redirect_to(url_for("events.edit_recurrence", event_uuid=event.uuid))

"""Calendars: recurrence expanded in the event's timezone, capped; the month and list views
agree with the calendar's .ics feed; the organizer's repeat-rule form."""

import re
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import icalendar
import sqlalchemy as sa
from dateutil.rrule import rrulestr

from app.accounts.models import User
from app.events.models import EventVisibility, RecurrenceFrequency, RecurringRule
from app.events.recurrence import MAX_OCCURRENCES, Recurrence
from app.extensions import db
from app.states import EventStatus, SessionStatus
from tests.conftest import create_user, log_in, post_form, query_counter
from tests.events.test_public import make, page_text
from tests.factories import CalendarFactory, EventFactory, SessionFactory, UserFactory, in_days

LONDON = ZoneInfo("Europe/London")


def london(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=LONDON).astimezone(UTC)


def first_thursday_of_february() -> date:
    day = date(date.today().year + 1, 2, 1)
    return day + timedelta(days=(3 - day.weekday()) % 7)


def weekly(start_day: date, **rule) -> Recurrence:
    return Recurrence(start_at=london(start_day, 18), end_at=london(start_day, 19),
                      timezone="Europe/London", frequency=RecurrenceFrequency.WEEKLY, **rule)


# --- Expansion


def test_weekly_occurrences_keep_local_time_across_the_dst_change():
    start_day = first_thursday_of_february()
    found = weekly(start_day).occurrences(london(start_day, 0),
                                          london(start_day + timedelta(days=90), 0))
    local = [start.astimezone(LONDON) for start, _ in found]
    assert {moment.hour for moment in local} == {18}
    assert {moment.weekday() for moment in local} == {3}
    offsets = {moment.utcoffset() for moment in local}
    assert offsets == {timedelta(0), timedelta(hours=1)}  # GMT, then BST: same local time
    assert all(end - start == timedelta(hours=1) for start, end in found)


def test_count_until_interval_and_weekdays():
    start_day = first_thursday_of_february()
    window = (london(start_day, 0), london(start_day + timedelta(days=400), 0))
    assert len(weekly(start_day, count=5).occurrences(*window)) == 5
    until = london(start_day + timedelta(days=21), 23)
    assert len(weekly(start_day, until=until).occurrences(*window)) == 4
    fortnightly = weekly(start_day, interval=2, count=3).occurrences(*window)
    starts = [start for start, _ in fortnightly]
    assert [later - earlier for earlier, later in zip(starts, starts[1:], strict=False)] == [
        timedelta(days=14)
    ] * 2
    twice = weekly(start_day, weekdays=(0, 3), count=4).occurrences(*window)
    assert [s.astimezone(LONDON).weekday() for s, _ in twice] == [3, 0, 3, 0]


def test_a_rule_without_end_is_capped():
    start_day = first_thursday_of_february()
    daily = Recurrence(start_at=london(start_day, 9), end_at=london(start_day, 10),
                       timezone="Europe/London", frequency=RecurrenceFrequency.DAILY)
    found = daily.occurrences(london(start_day, 0), london(start_day, 0) + timedelta(days=36500))
    assert len(found) == MAX_OCCURRENCES
    # Only the window is expanded, however far from the start it lies.
    later = daily.occurrences(london(start_day, 0) + timedelta(days=3650),
                              london(start_day, 0) + timedelta(days=3652))
    assert len(later) == 2


# --- Pages and feed


def build_calendar(app, start_day: date, **rule):
    def build():
        calendar = CalendarFactory(name="Community", description="Local meetups")
        meetup = EventFactory(title="Journal club", calendar=calendar, timezone="Europe/London",
                              start_at=london(start_day, 18), end_at=london(start_day, 19))
        meetup.recurring_rule = RecurringRule(frequency=RecurrenceFrequency.WEEKLY, **rule)
        one_off_day = start_day + timedelta(days=9)
        EventFactory(title="One-off", calendar=calendar, start_at=london(one_off_day, 10),
                     end_at=london(one_off_day, 12))
        EventFactory(title="Secret", calendar=calendar, visibility=EventVisibility.PRIVATE,
                     start_at=london(start_day, 12), end_at=london(start_day, 13))
        EventFactory(title="Unpublished", calendar=calendar, status=EventStatus.DRAFT,
                     start_at=london(start_day, 12), end_at=london(start_day, 13))
        return calendar.slug

    return make(app, build)


def feed_dates(response, window_start: datetime, window_end: datetime) -> list[datetime]:
    """Expand the feed the way a calendar app does: RRULE from DTSTART (with its TZID)."""
    calendar = icalendar.Calendar.from_ical(response.data)
    found = []
    for vevent in calendar.walk("VEVENT"):
        start = vevent.decoded("dtstart")
        if "rrule" in vevent:
            rule = rrulestr(vevent["rrule"].to_ical().decode(), dtstart=start)
            found += rule.between(window_start, window_end, inc=True)
        elif window_start <= start < window_end:
            found.append(start)
    return sorted(moment.astimezone(UTC) for moment in found)


def page_dates(text: str) -> list[datetime]:
    values = re.findall(r'<time[^>]* datetime="([^"]+)"', text)
    return sorted(datetime.fromisoformat(value) for value in values)


def test_month_view_and_feed_give_the_same_dates_across_dst(app, client):
    start_day = first_thursday_of_february()
    slug = build_calendar(app, start_day, interval=1)  # no end: capped by the window
    march = date(start_day.year, 3, 1)
    text = page_text(client.get(f"/calendars/{slug}?month={march:%Y-%m}"))
    grid = text[text.index('<table class="month-grid">'):text.index("</table>")]
    assert '<th scope="col"><abbr title="Monday">Mon</abbr></th>' in grid
    assert "Journal club" in grid and "Secret" not in text and "Unpublished" not in text
    # The grid runs from the Monday before March 1 to the Sunday after March 31.
    first_cell = march - timedelta(days=march.weekday())
    last_cell = date(march.year, 4, 1) + timedelta(days=(6 - date(march.year, 4, 1).weekday()))
    window = (london(first_cell, 0), london(last_cell + timedelta(1), 0))
    site = page_dates(grid)
    feed = feed_dates(client.get(f"/calendars/{slug}.ics"), *window)
    assert site == feed
    assert {d.astimezone(LONDON).hour for d in site} == {18}
    assert {d.utcoffset() for d in (s.astimezone(LONDON) for s in site)} == {
        timedelta(0), timedelta(hours=1)
    }


def test_list_view_and_feed_give_the_same_dates(app, client):
    start_day = in_days(1).date()
    slug = build_calendar(app, start_day, count=30)
    text = page_text(client.get(f"/calendars/{slug}?view=list"))
    now = datetime.now(UTC)
    site = page_dates(text)
    feed = feed_dates(client.get(f"/calendars/{slug}.ics"), now, now + timedelta(days=180))
    assert site == feed
    assert len([d for d in site if d.astimezone(LONDON).hour == 18]) == 26  # 180 days of 30
    assert "One-off" in text and "Secret" not in text


def conference(calendar, first_day: date, title: str = "Three-day conference"):
    """A one-off event over three days, a session on each, and one cancelled session."""
    event = EventFactory(title=title, calendar=calendar, start_at=london(first_day, 9),
                         end_at=london(first_day + timedelta(days=2), 17))
    for day in range(3):
        SessionFactory(event=event, title=f"Day {day + 1}",
                       start_at=london(first_day + timedelta(days=day), 9),
                       end_at=london(first_day + timedelta(days=day), 12))
    SessionFactory(event=event, title="Dropped workshop", status=SessionStatus.CANCELLED,
                   start_at=london(first_day + timedelta(days=1), 14),
                   end_at=london(first_day + timedelta(days=1), 16))
    return event


def test_a_multi_day_event_is_on_each_of_its_days_as_in_the_feed(app, client):
    first_day = first_thursday_of_february() + timedelta(days=7)
    slug = make(app, lambda: conference(CalendarFactory(name="Community"), first_day).calendar.slug)
    text = page_text(client.get(f"/calendars/{slug}?month={first_day:%Y-%m}"))
    grid = text[text.index('<table class="month-grid">'):text.index("</table>")]
    for day in range(3):
        cell = grid[grid.index(date_long_of(first_day + timedelta(days=day))):]
        cell = cell[:cell.index("</td>")]
        assert f"Day {day + 1} · Three-day conference" in cell
    assert "Dropped workshop" not in grid
    feed = icalendar.Calendar.from_ical(client.get(f"/calendars/{slug}.ics").data)
    live = [v for v in feed.walk("VEVENT") if str(v["status"]) == "CONFIRMED"]
    assert page_dates(grid) == sorted(v.decoded("dtstart") for v in live)
    assert [str(v["summary"]) for v in feed.walk("VEVENT") if str(v["status"]) == "CANCELLED"] == [
        "Dropped workshop · Three-day conference"]
    listed = page_text(client.get(f"/calendars/{slug}?view=list"))
    assert listed.count("· Three-day conference</a>") == 3


def date_long_of(day: date) -> str:
    return f'<span class="visually-hidden">{day:%A} {day.day} {day:%B %Y}</span>'


def test_the_month_view_runs_the_same_queries_for_2_and_20_multi_session_events(app, client):
    first_day = first_thursday_of_february() + timedelta(days=7)
    create_user(app, email="me@example.com")
    log_in(client, "me@example.com")  # no page cache for people who are logged in
    counts = []
    for size in (2, 20):
        def build(size=size):
            calendar = CalendarFactory(name=f"Calendar of {size}")
            for n in range(size):
                conference(calendar, first_day, title=f"Conference {n} of {size}")
            return calendar.slug

        slug = make(app, build)
        with app.app_context(), query_counter(db.engine) as statements:
            text = page_text(client.get(f"/calendars/{slug}?month={first_day:%Y-%m}"))
        assert text.count(f"of {size}</a>") == 3 * size
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


def test_calendar_list_and_missing_calendar(app, client):
    assert "No calendars yet" in page_text(client.get("/calendars"))
    slug = build_calendar(app, in_days(1).date(), count=3)
    text = page_text(client.get("/calendars"))
    assert "Community" in text and "2 upcoming listings" in text
    assert client.get("/calendars/nope").status_code == 404
    assert client.get("/calendars/nope.ics").status_code == 404
    assert client.get(f"/calendars/{slug}?month=not-a-month").status_code == 200


# --- The repeat-rule form


def organizer_and_event(app, **fields):
    organizer = create_user(app, email="org@example.com")

    def build():
        event = EventFactory(organizer=db.session.get(User, organizer.id),
                             start_at=in_days(3, 18), end_at=in_days(3, 19), **fields)
        return str(event.uuid)

    return make(app, build)


def rule_of(app, event_uuid):
    from app.events.models import Event

    with app.app_context():
        event = db.session.scalar(sa.select(Event).where(Event.uuid == UUID(event_uuid)))
        rule = event.recurring_rule
        if rule is None:
            return None
        return rule.frequency, rule.interval, rule.count, rule.weekdays, rule.until


def test_organizer_sets_changes_and_removes_the_rule(app, client):
    event_uuid = organizer_and_event(app)
    log_in(client, "org@example.com")
    path = f"/events/{event_uuid}/recurrence"
    assert "Make this event repeat" in page_text(client.get(path))
    response = post_form(client, path, {"frequency": "weekly", "interval": "2", "count": "6",
                                        "weekdays": ["1", "3"]})
    assert response.status_code == 303
    assert rule_of(app, event_uuid)[:4] == (RecurrenceFrequency.WEEKLY, 2, 6, [1, 3])
    text = page_text(client.get(path))
    assert "This event repeats" in text and "Every 2 weeks" in text
    until = (in_days(3) + timedelta(days=30)).date()
    response = post_form(client, path, {"frequency": "daily", "interval": "1",
                                        "until": until.isoformat()})
    assert response.status_code == 303
    frequency, _, count, _, until_at = rule_of(app, event_uuid)
    assert frequency == RecurrenceFrequency.DAILY and count is None
    assert until_at.astimezone(LONDON).date() == until
    assert post_form(client, f"{path}/delete", page=path).status_code == 303
    assert rule_of(app, event_uuid) is None


def test_bad_rules_are_refused_with_clear_messages(app, client):
    event_uuid = organizer_and_event(app)
    log_in(client, "org@example.com")
    path = f"/events/{event_uuid}/recurrence"
    start = in_days(3).date()
    cases = [
        ({"frequency": "weekly", "interval": "0"}, "Enter a whole number from 1 to 999."),
        ({"frequency": "weekly", "interval": "1", "count": "3",
          "until": (start + timedelta(30)).isoformat()}, "not both"),
        ({"frequency": "weekly", "interval": "1", "until": (start - timedelta(1)).isoformat()},
         "on or after the first occurrence"),
        ({"frequency": "monthly", "interval": "1", "weekdays": ["2"]}, "weekly repeats only"),
        ({"frequency": "hourly", "interval": "1"}, "Not a valid choice"),
        ({"frequency": "weekly", "interval": "x"}, "Not a valid integer"),
    ]
    for data, message in cases:
        response = post_form(client, path, data)
        assert response.status_code == 422, data
        assert message in response.get_data(as_text=True), data
    assert rule_of(app, event_uuid) is None


def test_only_organizers_edit_the_rule(app, client):
    event_uuid = organizer_and_event(app)
    private_uuid = make(app, lambda: str(EventFactory(visibility=EventVisibility.PRIVATE).uuid))
    create_user(app, email="other@example.com")
    path = f"/events/{event_uuid}/recurrence"
    assert client.get(path).status_code == 302  # to the login page
    log_in(client, "other@example.com")
    assert client.get(path).status_code == 403
    assert client.get(f"/events/{private_uuid}/recurrence").status_code == 404
    token_page = "/dashboard"
    assert post_form(client, f"{path}/delete", page=token_page).status_code == 403


def test_a_cancelled_event_keeps_its_rule(app, client):
    event_uuid = organizer_and_event(app)
    log_in(client, "org@example.com")

    def cancel():
        from app.events.models import Event

        event = db.session.scalar(sa.select(Event).where(Event.uuid == UUID(event_uuid)))
        event.cancel(UserFactory(), "Storm")

    make(app, cancel)
    response = post_form(client, f"/events/{event_uuid}/recurrence",
                         {"frequency": "weekly", "interval": "1"})
    assert response.status_code == 422
    assert "can no longer be changed" in response.get_data(as_text=True)
    assert rule_of(app, event_uuid) is None

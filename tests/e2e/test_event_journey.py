"""Issue 3's "done means", in a real browser: an organizer builds a three-day, multi-session
hybrid event with a new venue and two speakers and publishes it; an anonymous visitor finds
it, sees its schedule by day with the speakers, and adds it to their calendar (.ics).

The event is in New York while the organizer's own timezone is London, and one session is in
the New York evening (already the next day in UTC): the schedule must group it by the
event's day and the .ics must carry the right UTC moments.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
from playwright.sync_api import expect

from tests.conftest import create_user

pytestmark = pytest.mark.browser

ZONE_NAME = "America/New_York"
ZONE = ZoneInfo(ZONE_NAME)
TITLE = "Harbour Emergency Care Summit"
VENUE = "Harbour Conference Centre"
FIRST_DAY = date.today() + timedelta(days=60)
DAYS = [FIRST_DAY + timedelta(days=n) for n in range(3)]

# (title, day index, start, end, room), in the event's timezone, as the organizer types them.
SESSIONS = [
    ("Opening keynote", 0, time(9, 0), time(10, 30), "Main hall"),
    ("Airway workshop", 0, time(11, 0), time(12, 30), "Room 2"),
    ("Triage panel", 1, time(10, 0), time(11, 30), "Main hall"),
    ("Evening case reviews", 1, time(20, 30), time(21, 30), "Room 2"),  # next day in UTC
    ("Closing lecture", 2, time(14, 0), time(15, 0), "Main hall"),
]
# Who speaks where: Sara is added from the search straight into the keynote, Ravi to the
# event only; both are then assigned to more sessions from the session cards.
SARA, RAVI = "Sara Okafor", "Ravi Menon"
SPEAKERS = {
    "Opening keynote": [SARA],
    "Closing lecture": [SARA],
    "Triage panel": [RAVI],
    "Evening case reviews": [RAVI],
}


def local_input(day: date, moment: time) -> str:
    """What a datetime-local input takes."""
    return datetime.combine(day, moment).strftime("%Y-%m-%dT%H:%M")


def in_utc(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, tzinfo=ZONE).astimezone(UTC)


def save_screenshot(page, name: str) -> None:
    """`snapshot` for a page other than `browser_page` (the visitor's own context)."""
    directory = os.environ.get("SCREENSHOTS_DIR")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{directory}/{name}.png", full_page=True)


def log_in(page, base: str, user) -> None:
    page.goto(base + "/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(user.password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text(re.compile(r"^Welcome (back|to Convene)"))).to_be_visible()


def field(page, label: str):
    """A form control by its label, which ends with " *" when the field is required."""
    return page.get_by_label(re.compile(rf"^{re.escape(label)}( \*)?$"))


def session_card(page, title: str):
    """A session's card on the speakers page (its heading is the session title)."""
    heading = page.get_by_role("heading", name=title, exact=True)
    return page.get_by_role("listitem").filter(has=heading)


def option_value(select, text: str) -> str:
    """The value of the option of `select` whose label contains `text`."""
    return select.locator("option", has_text=text).first.get_attribute("value")


def test_organizer_builds_and_publishes_a_three_day_event_a_visitor_adds_it_to_a_calendar(
    app, live_server, browser_page, snapshot
):
    organizer = create_user(app, email="olivia@example.com", full_name="Olivia Grant")
    create_user(app, email="sara.okafor@example.com", full_name=SARA,
                professional_title="Emergency physician")
    create_user(app, email="ravi.menon@example.com", full_name=RAVI)
    page = browser_page
    log_in(page, live_server, organizer)

    # --- A new event, with a new venue added from the form's dialog (it comes back chosen).
    page.goto(live_server + "/events/new")
    expect(page.get_by_role("heading", name="New event")).to_be_visible()
    snapshot("e3-01-new-event")
    field(page, "Title").fill(TITLE)
    page.get_by_label("Summary").fill("Three days of emergency medicine by the sea.")
    page.get_by_label("Description").fill("Talks, workshops and **case reviews**.")
    page.get_by_label("Event timezone").select_option(ZONE_NAME)
    field(page, "Starts").fill(local_input(DAYS[0], time(8, 30)))
    field(page, "Ends").fill(local_input(DAYS[2], time(17, 0)))
    page.get_by_label("Hybrid (in person and online)").check()
    page.get_by_role("button", name="Add a venue that is not in the list").click()
    dialog = page.get_by_role("dialog", name="Add a venue")
    field(dialog, "Name").fill(VENUE)
    dialog.get_by_label("Street address").fill("1 Pier Road")
    dialog.get_by_label("Postal code").fill("02110")
    dialog.get_by_label("City").fill("Boston")
    dialog.get_by_label("Country").fill("United States")
    snapshot("e3-02-venue")
    dialog.get_by_role("button", name="Add venue").click()
    expect(page.get_by_text(f"The venue “{VENUE}” is added")).to_be_visible()
    expect(dialog).to_be_hidden()
    venue = page.get_by_label("Venue", exact=True)
    expect(venue.locator("option:checked")).to_contain_text(VENUE)
    expect(field(page, "Title")).to_have_value(TITLE)
    page.get_by_label("Capacity").fill("150")
    page.get_by_label("Maximum speakers").fill("10")
    page.get_by_label("CPD credits").fill("14")
    page.get_by_label("Public: listed and searchable").check()
    snapshot("e3-03-event-form")
    page.get_by_role("button", name="Save draft").click()

    expect(page.get_by_text(f"“{TITLE}” is saved as a draft")).to_be_visible()
    expect(page.get_by_role("heading", name="Status: Draft")).to_be_visible()
    expect(page.get_by_text(f"{VENUE}, 1 Pier Road, 02110, Boston")).to_be_visible()
    snapshot("e3-04-draft")

    # --- Sessions, over the three days.
    event_nav = page.get_by_role("navigation", name="Event")
    event_nav.get_by_role("link", name="Sessions").click()
    expect(page.get_by_text("No sessions yet")).to_be_visible()
    for title, day, start, end, room in SESSIONS:
        field(page, "Title").fill(title)
        field(page, "Starts").fill(local_input(DAYS[day], start))
        field(page, "Ends").fill(local_input(DAYS[day], end))
        page.get_by_label("Room").fill(room)
        page.get_by_role("button", name="Add session").click()
        expect(page.get_by_text(f"“{title}” is added to the schedule.")).to_be_visible()
    schedule = page.get_by_role("region", name="Schedule")
    expect(schedule.get_by_role("heading", level=3)).to_have_count(3)
    for title, *_ in SESSIONS:
        expect(schedule.get_by_role("link", name=f"Edit {title}")).to_be_visible()
    evening_day = schedule.get_by_role("region").filter(has_text="Evening case reviews")
    expect(evening_day.get_by_role("heading")).to_contain_text(DAYS[1].strftime("%A"))
    snapshot("e3-05-sessions")

    # --- Speakers: find Sara with the typeahead and put her straight into the keynote.
    event_nav.get_by_role("link", name="Speakers").click()
    expect(page.get_by_text("No speakers yet")).to_be_visible()
    search = page.get_by_role("searchbox", name="Name or email")
    search.press_sequentially("okaf")
    expect(page.get_by_text("1 person matches “okaf”.")).to_be_visible()
    expect(page.get_by_text("s***@example.com")).to_be_visible()  # the address is masked
    choice = page.get_by_label("Session (optional)")
    choice.select_option(option_value(choice, "Opening keynote"))
    snapshot("e3-06-speaker-search")
    page.get_by_role("button", name="Add as speaker").click()
    expect(page.get_by_text(f"{SARA} now speaks at “Opening keynote”.")).to_be_visible()

    # Ravi to the event only, then both to their other sessions from the session cards.
    search.fill("")
    search.press_sequentially("Ravi")
    expect(page.get_by_text("1 person matches “Ravi”.")).to_be_visible()
    page.get_by_role("button", name="Add as speaker").click()
    expect(page.get_by_text(f"{RAVI} is now a speaker of this event.")).to_be_visible()
    for session, people in SPEAKERS.items():
        for person in people:
            if (session, person) == ("Opening keynote", SARA):
                continue
            card = session_card(page, session)
            card.get_by_text("Add a speaker").click()
            card.get_by_label("Speaker", exact=True).select_option(label=person)
            card.get_by_role("button", name="Add to session").click()
            expect(page.get_by_text(f"{person} now speaks at “{session}”.")).to_be_visible()
    roster = page.get_by_role("region", name="Speakers", exact=True)
    expect(roster.get_by_text("2 of 10 speakers")).to_be_visible()
    expect(roster.get_by_role("list", name=f"Sessions of {SARA}")).to_contain_text(
        "Closing lecture"
    )
    expect(roster.get_by_role("list", name=f"Sessions of {RAVI}")).to_contain_text(
        "Evening case reviews"
    )
    snapshot("e3-07-speakers")

    # --- Publish from the overview.
    event_nav.get_by_role("link", name="Overview").click()
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.get_by_role("heading", name="Status: Published")).to_be_visible()
    expect(page.get_by_text("The event is published.")).to_be_visible()
    expect(page.get_by_role("heading", name=TITLE)).to_contain_text("Published")
    snapshot("e3-08-published")

    # --- An anonymous visitor, in a browser context of their own.
    visitor_context = page.context.browser.new_context()
    visitor = visitor_context.new_page()
    visitor.set_default_timeout(10_000)
    try:
        visit_and_add_to_calendar(visitor, live_server)
    finally:
        visitor_context.close()


def visit_and_add_to_calendar(visitor, base: str) -> None:
    visitor.goto(base + "/events")
    expect(visitor.get_by_role("link", name="Log in")).to_be_visible()  # anonymous indeed
    visitor.get_by_role("searchbox", name="Search").press_sequentially("emergency care")
    result = visitor.get_by_role("link", name=TITLE)
    expect(result).to_be_visible()
    expect(visitor).to_have_url(re.compile(r"q=emergency"))
    save_screenshot(visitor, "e3-09-search")
    result.click()

    expect(visitor.get_by_role("heading", name=TITLE, level=1)).to_be_visible()
    expect(visitor.get_by_text(f"{VENUE}, 1 Pier Road")).to_be_visible()
    schedule = visitor.get_by_role("region", name="Schedule")
    shown_zone = ZONE_NAME.replace("_", " ")  # zone names read "America/New York" everywhere
    expect(schedule.get_by_text(f"Times are in {shown_zone}.")).to_be_visible()
    days = schedule.get_by_role("heading", level=3)
    expect(days).to_have_count(3)
    for number, day in enumerate(DAYS):
        expect(days.nth(number)).to_contain_text(day.strftime("%A"))
        expect(days.nth(number)).to_contain_text(str(day.day))
        sessions = days.nth(number).locator("xpath=following-sibling::ol[1]")
        titles = [title for title, index, *_ in SESSIONS if index == number]
        expect(sessions.get_by_role("listitem")).to_have_count(len(titles))
        for title in titles:
            item = sessions.get_by_role("listitem").filter(has_text=title)
            start = next(s for s in SESSIONS if s[0] == title)[2]
            expect(item).to_contain_text(start.strftime("%H:%M"))
            for person in SPEAKERS.get(title, []):
                expect(item.get_by_role("link", name=person)).to_be_visible()
    speakers = visitor.get_by_role("region", name="Speakers", exact=True)
    expect(speakers.get_by_role("heading", name=SARA)).to_be_visible()
    expect(speakers.get_by_text("Emergency physician")).to_be_visible()
    expect(speakers.get_by_role("heading", name=RAVI)).to_be_visible()
    save_screenshot(visitor, "e3-10-event-page")

    # "Add to calendar": the link's own address, fetched with the visitor's cookies.
    href = visitor.get_by_role("link", name=re.compile("Add to calendar")).get_attribute("href")
    response = visitor.context.request.get(base + href)
    assert response.ok, response.status
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.body())
    found = {
        str(component["SUMMARY"]): component for component in calendar.walk("VEVENT")
    }
    assert sorted(found) == sorted(f"{title} · {TITLE}" for title, *_ in SESSIONS)
    for title, day, start, end, room in SESSIONS:
        component = found[f"{title} · {TITLE}"]
        dtstart, dtend = component.decoded("DTSTART"), component.decoded("DTEND")
        assert dtstart.utcoffset() == timedelta(0), (title, dtstart)  # written in UTC
        assert dtstart == in_utc(DAYS[day], start), title
        assert dtend == in_utc(DAYS[day], end), title
        assert str(component["LOCATION"]).startswith(f"{room}, {VENUE}")
        for person in SPEAKERS.get(title, []):
            assert person in str(component["DESCRIPTION"])
    evening = found[f"Evening case reviews · {TITLE}"].decoded("DTSTART")
    assert evening.date() == DAYS[2]  # the New York evening is the next day in UTC

"""Adding a venue from the event form, in a real browser: the "Add a venue" dialog keeps
everything typed in the event form, shows its own problems inside itself, and on success
closes with the new venue added to the Venue list and chosen — on the new-event form and on
the edit form alike. No script runs inline, and the console stays free of errors."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.accounts.models import User
from app.events.models import Event, EventLocation
from app.extensions import db
from tests.conftest import create_user
from tests.factories import EventFactory, in_days

pytestmark = pytest.mark.browser

TITLE = "Regional Stroke Study Day"


def log_in(page, base: str, user) -> None:
    page.goto(base + "/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(user.password)
    page.get_by_role("button", name="Log in").click()
    # A first login says "Welcome to Convene", a later one "Welcome back".
    expect(page.get_by_text(re.compile(r"^Welcome (back|to Convene)"))).to_be_visible()


def field(page, label: str):
    """A form control by its label, which ends with " *" when the field is required."""
    return page.get_by_label(re.compile(rf"^{re.escape(label)}( \*)?$"))


# Console errors that are not the dialog's: HTTP statuses (the favicon, a 422 form) and the
# event form's live check logging the requests it replaces as the organizer types.
EXPECTED_NOISE = re.compile(r"^(Failed to load resource|htmx:(sendAbort|afterRequest), )")


def console_errors(page) -> list[str]:
    """Script errors and error messages in the console (a refused inline script included)."""
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error"
            and not EXPECTED_NOISE.match(message.text) and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def add_venue_through_the_dialog(page, name: str) -> None:
    page.get_by_role("button", name="Add a venue that is not in the list").click()
    dialog = page.get_by_role("dialog", name="Add a venue")
    expect(dialog).to_be_visible()
    # A website that is not http(s) is refused inside the dialog, which stays open.
    field(dialog, "Name").fill(name)
    dialog.get_by_label("City").fill("Leeds")
    dialog.get_by_label("Website").fill("javascript:alert(document.cookie)")
    dialog.get_by_role("button", name="Add venue").click()
    expect(dialog.get_by_text("Enter a web address starting with https://")).to_be_visible()
    expect(dialog.get_by_label("Website")).to_be_focused()
    dialog.get_by_label("Website").fill("https://civic-hall.example/visit")
    dialog.get_by_role("button", name="Add venue").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_text(f"The venue “{name}” is added and chosen.")).to_be_visible()


def test_a_venue_added_in_the_dialog_is_chosen_and_nothing_typed_is_lost(
    app, live_server, browser_page, snapshot
):
    organizer = create_user(app, email="nadia@example.com", full_name="Nadia Khan")
    page = browser_page
    errors = console_errors(page)
    log_in(page, live_server, organizer)

    page.goto(live_server + "/events/new")
    field(page, "Title").fill(TITLE)
    page.get_by_label("Summary").fill("A day of case reviews.")
    page.get_by_label("In person", exact=True).check()
    add_venue_through_the_dialog(page, "Civic Hall")
    snapshot("venue-dialog-added")

    expect(field(page, "Title")).to_have_value(TITLE)
    expect(page.get_by_label("Summary")).to_have_value("A day of case reviews.")
    expect(page.get_by_label("In person", exact=True)).to_be_checked()
    venue = page.get_by_label("Venue", exact=True)
    expect(venue.locator("option:checked")).to_have_text("Civic Hall, Leeds")
    # The live check hears of the new choice: no "choose a venue" problem is left.
    expect(page.get_by_text("Choose a venue for an in-person or hybrid event.")).to_have_count(0)

    # Cancelling the dialog leaves the event form as it was.
    page.get_by_role("button", name="Add a venue that is not in the list").click()
    dialog = page.get_by_role("dialog", name="Add a venue")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(field(page, "Title")).to_have_value(TITLE)

    field(page, "Starts").fill("2031-03-04T09:00")
    field(page, "Ends").fill("2031-03-04T17:00")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text(f"“{TITLE}” is saved as a draft")).to_be_visible()
    with app.app_context():
        event = db.session.scalar(db.select(Event).where(Event.title == TITLE))
        assert event.venue.name == "Civic Hall"
        assert event.venue.owner_id == organizer.id
        assert event.venue.url == "https://civic-hall.example/visit"
    assert errors == [], "\n".join(errors)


def test_the_dialog_works_on_the_edit_form_too(app, live_server, browser_page):
    organizer = create_user(app, email="omar@example.com", full_name="Omar Haddad")
    with app.test_request_context():
        event = EventFactory(title="Sepsis update", organizer=db.session.get(User, organizer.id),
                             start_at=in_days(30), end_at=in_days(30, hour=17))
        db.session.commit()
        event_uuid = event.uuid
    page = browser_page
    errors = console_errors(page)
    log_in(page, live_server, organizer)

    page.goto(f"{live_server}/events/{event_uuid}/edit")
    field(page, "Title").fill("Sepsis update 2031")
    page.get_by_label("Hybrid (in person and online)").check()
    add_venue_through_the_dialog(page, "Royal Infirmary")

    expect(field(page, "Title")).to_have_value("Sepsis update 2031")
    venue = page.get_by_label("Venue", exact=True)
    expect(venue.locator("option:checked")).to_have_text("Royal Infirmary, Leeds")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("The event is saved.")).to_be_visible()
    with app.app_context():
        saved = db.session.scalar(db.select(Event).where(Event.uuid == event_uuid))
        assert saved.title == "Sepsis update 2031"
        assert db.session.get(EventLocation, saved.venue_id).name == "Royal Infirmary"
    assert errors == [], "\n".join(errors)

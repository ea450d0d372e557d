"""Issue 4's "done means", in a real browser: two attendees go for the last seat of an event
(with a registration question); one is confirmed and one waitlisted; the first cancels from
their registration page; the second is promoted and receives the email (file mail backend).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.extensions import db
from tests.conftest import create_user, read_mail
from tests.factories import EventFactory

pytestmark = pytest.mark.browser

TITLE = "Last Seat Masterclass"


def log_in(page, base: str, email: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("a-Sturdy-test-passphrase-42")
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(base + "/login")


def open_form(page, base: str, slug: str) -> None:
    page.goto(f"{base}/events/{slug}")
    page.get_by_role("link", name="Register").click()
    page.get_by_label("Vegan").check()


def test_two_attendees_race_for_the_last_seat(app, live_server, browser_page, snapshot):
    with app.test_request_context():
        from app.events.models import CustomFieldType, EventCustomField

        event = EventFactory(title=TITLE, capacity=1, waitlist_enabled=True)
        db.session.add(EventCustomField(event=event, label="Diet", required=True,
                                        field_type=CustomFieldType.SINGLE_CHOICE,
                                        options=["None", "Vegan"]))
        db.session.commit()
        slug = event.slug
    create_user(app, email="ada@example.com", full_name="Ada First")
    create_user(app, email="ben@example.com", full_name="Ben Second")

    ada = browser_page
    ben = ada.context.browser.new_context().new_page()
    ben.set_default_timeout(10_000)
    log_in(ada, live_server, "ada@example.com")
    log_in(ben, live_server, "ben@example.com")
    # Both have the form open with one seat left; Ada submits first, Ben right after.
    open_form(ada, live_server, slug)
    open_form(ben, live_server, slug)
    ada.get_by_role("button", name="Register").click()
    ben.get_by_role("button", name="Register").click()

    expect(ada.get_by_role("heading", name="A seat is yours")).to_be_visible()
    expect(ben.get_by_role("heading", name="You are number 1 in line")).to_be_visible()
    snapshot("registration-waitlisted")
    ben.goto(f"{live_server}/events/{slug}")
    expect(ben.get_by_text("Waitlisted — number 1 in line.")).to_be_visible()

    # Ada cancels (confirming the question); Ben is promoted and emailed.
    ada.once("dialog", lambda dialog: dialog.accept())
    ada.get_by_role("button", name="Cancel registration").click()
    expect(ada.get_by_role("heading", name="This registration is cancelled")).to_be_visible()

    ben.goto(f"{live_server}/events/{slug}/registration")
    expect(ben.get_by_role("heading", name="A seat is yours")).to_be_visible()
    snapshot("registration-promoted")
    promoted = [m for m in read_mail(app)
                if m["To"] == "ben@example.com" and "seat freed up" in m["Subject"]]
    assert len(promoted) == 1
    assert TITLE in promoted[0]["Subject"]
    ben.context.close()

"""An organizer designs a certificate template in a real browser: the live preview (a PNG
rendered from the form's current content) appears and follows the typing; a broken
template is refused with its line; the saved template is listed and offered on the event
form."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import create_user

pytestmark = pytest.mark.browser


def log_in(page, base: str, user) -> None:
    page.goto(base + "/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(user.password)
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(base + "/login")


def test_an_organizer_designs_a_template_with_a_live_preview(app, live_server, browser_page,
                                                             snapshot):
    page, base = browser_page, live_server
    organizer = create_user(app, email="designer@example.com")
    log_in(page, base, organizer)

    # Someone with no events yet finds the designs from the new-event form (the dashboard
    # shows its "Certificate templates" button to organizers of an event).
    page.goto(base + "/events/new")
    page.get_by_role("link", name="Design certificate templates").click()
    expect(page.get_by_role("heading", name="Certificate templates")).to_be_visible()
    page.get_by_role("link", name="New template").click()

    preview = page.locator("#certificate-preview img")
    expect(preview).to_be_visible()  # rendered on load, from the default design
    first = preview.get_attribute("src")
    assert first.startswith("data:image/png;base64,")

    page.get_by_label(re.compile(r"^Name( \*)?$")).fill("Gala design")
    html = page.get_by_label("HTML", exact=True)
    html.fill(html.input_value().replace("Certificate of attendance", "Gala certificate"))
    expect(preview).not_to_have_attribute("src", first)
    snapshot("certificate-template-editor")

    html.fill("<h1>{{ attendee_name }</h1>")
    expect(page.locator("#certificate-preview")).to_contain_text("Line 1:")
    page.get_by_role("button", name="Save template").click()
    expect(page.locator(".field-error")).to_contain_text("Line 1:")

    html.fill("<h1>Well done, {{ attendee_name }}</h1>")
    page.get_by_role("button", name="Save template").click()
    expect(page.get_by_role("row", name="Gala design")).to_be_visible()

    page.goto(base + "/events/new")
    expect(page.get_by_label("Certificate template")).to_contain_text("Gala design")

"""Issue 6's "done means", in a real browser: the organizer issues certificates to the
eligible attendees of a completed event and the progress bar reaches 100 %; an attendee
downloads the PDF (pdftotext finds their name and the code); the verification page says
valid; the organizer revokes it, and the page says revoked.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from playwright.sync_api import expect

from app.accounts.models import User
from app.extensions import db
from tests.certificates.issuing_helpers import attend, completed_event, default_template, register
from tests.conftest import create_user, require

pytestmark = pytest.mark.browser

TITLE = "Wound Care Masterclass"


def log_in(page, base: str, email: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("a-Sturdy-test-passphrase-42")
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(base + "/login")


def build(app) -> str:
    """A completed event with two eligible attendees and one who stayed 20 minutes."""
    organizer = create_user(app, email="olga@example.com", full_name="Olga Organizer")
    people = [create_user(app, email=f"{key}@example.com", full_name=name)
              for key, name in (("ada", "Ada Lovelace"), ("ben", "Ben Okafor"),
                                ("cy", "Cy Absent"))]
    with app.test_request_context():
        default_template()
        event = completed_event(db.session.get(User, organizer.id), title=TITLE)
        for person, percent in zip(people, (95, 80, 20), strict=True):
            user = db.session.get(User, person.id)
            attend(register(event, user.full_name, user=user), percent)
        db.session.commit()
        return str(event.uuid)


def test_issue_download_verify_and_revoke(app, live_server, browser_page, snapshot, tmp_path):
    require(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils) is missing")
    event_uuid = build(app)
    organizer = browser_page
    log_in(organizer, live_server, "olga@example.com")

    # The organizer issues to everyone eligible: two of the three.
    organizer.goto(f"{live_server}/events/{event_uuid}/certificates")
    expect(organizer.get_by_text("attended 20 % of “Talk 1”, below 75 %")).to_be_visible()
    organizer.get_by_role("button", name="Issue to all eligible (2)").click()
    progress = organizer.locator("progress#certificate-run-progress")
    expect(progress).to_have_attribute("value", "100")
    expect(organizer.get_by_text("Issuing finished")).to_be_visible()
    expect(organizer.get_by_text("2 issued, 0 skipped")).to_be_visible()
    expect(organizer.locator("#certificate-results .badge-cert")).to_have_count(2)
    snapshot("certificates-issued")

    # Ada downloads her PDF from "My certificates".
    attendee = organizer.context.browser.new_context(accept_downloads=True).new_page()
    attendee.set_default_timeout(10_000)
    log_in(attendee, live_server, "ada@example.com")
    attendee.goto(f"{live_server}/account/profile")
    attendee.get_by_role("link", name="My certificates").click()
    expect(attendee.get_by_role("heading", name=TITLE)).to_be_visible()
    code = attendee.locator(".certificate-card code").inner_text().strip()
    with attendee.expect_download() as download_info:
        attendee.get_by_role("link", name="Download PDF").click()
    pdf_path = tmp_path / "certificate.pdf"
    download_info.value.save_as(pdf_path)
    text = subprocess.run(["pdftotext", "-layout", str(pdf_path), "-"], check=True,
                          capture_output=True, text=True).stdout
    assert "Ada Lovelace" in text
    assert code in text.replace(" ", "")

    # The share link opens the verification page, which says valid.
    share_url = attendee.get_by_label("Share link").input_value()
    assert share_url.endswith(f"/verify/{code}")
    verify_url = f"{live_server}/verify/{code}"
    attendee.goto(verify_url)
    expect(attendee.get_by_text("Valid", exact=True)).to_be_visible()
    expect(attendee.get_by_text("Ada Lovelace")).to_be_visible()

    # The organizer revokes it with a reason; the page then says revoked.
    organizer.goto(f"{live_server}/events/{event_uuid}/certificates")
    row = organizer.locator("tr", has_text="Ada Lovelace")
    row.locator("summary", has_text="Revoke").click()
    row.get_by_label("Reason (shown on the verification page)").fill("Issued in error")
    row.get_by_role("button", name="Revoke certificate").click()
    expect(organizer.locator("tr", has_text="Ada Lovelace").get_by_text("Revoked")).to_be_visible()
    expect(organizer.get_by_text("The certificate of Ada Lovelace is revoked.")).to_be_visible()
    snapshot("certificates-revoked")

    attendee.goto(verify_url)
    expect(attendee.get_by_text("Revoked", exact=True)).to_be_visible()
    expect(attendee.get_by_text("Issued in error")).to_be_visible()
    attendee.context.close()

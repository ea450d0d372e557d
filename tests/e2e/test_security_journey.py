"""The pages' behaviour under the Content-Security-Policy, in a real browser: Flask-Admin's
inline scripts and handlers run under the admin panel's policy; the site's own
confirmations, dismissible messages, linked filters and brand colours work from
static/js/app.js, with no inline script or style. (Every browser test also fails on any
policy violation: see conftest.py.)"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.accounts.models import User
from app.certificates.models import CertificateTemplate
from app.demo import load_demo
from app.extensions import db
from app.organizations.services import OrganizationService
from tests.conftest import create_user
from tests.registrations.test_roster import add_registration, make_event

pytestmark = pytest.mark.browser


def log_in(page, base: str, email: str, password: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(base + "/login")


def test_the_admin_panel_runs_its_scripts_under_the_policy(app, live_server, browser_page):
    page, base = browser_page, live_server
    admin = create_user(app, email="root@example.com", is_admin=True)
    log_in(page, base, admin.email, admin.password)

    response = page.goto(base + "/admin/")
    assert "script-src 'self' 'unsafe-inline'" in response.headers["content-security-policy"]
    # The menu's dropdowns and the filter builder are Flask-Admin's (Bootstrap's) scripts.
    page.get_by_role("link", name="Accounts").click()
    page.get_by_role("link", name="Users").click()
    expect(page.get_by_role("cell", name="root@example.com")).to_be_visible()
    page.get_by_role("link", name="Add Filter").click()
    page.locator(".field-filters a", has_text="Status").first.click()
    expect(page.locator("table.filters tr")).to_have_count(1)
    page.goto(base + "/admin/emailtemplate/new/")
    expect(page.get_by_label("Internal Name")).to_be_visible()

    # Every view of the panel, with the demo's rows in its lists and forms.
    with app.test_request_context():
        load_demo()
    page.goto(base + "/admin/")
    views = sorted({href for href in page.locator("nav a[href^='/admin/']").evaluate_all(
        "links => links.map(link => link.getAttribute('href'))")})
    assert len(views) > 20
    for view in views:
        assert page.goto(base + view).ok, view
        first_edit = page.locator("a[href*='/edit/?id=']").first
        if first_edit.count():
            first_edit.click()
            expect(page.locator("form")).not_to_have_count(0)


def test_site_behaviour_runs_from_the_static_script(app, live_server, browser_page):
    page, base = browser_page, live_server
    event = make_event(app)
    add_registration(app, event, "Ada Lovelace", answers={"T-shirt": "M"})
    with app.test_request_context():
        organizer = db.session.get(User, event.organizer.id)
        db.session.add(CertificateTemplate(name="Old design", html="<p>x</p>",
                                           owner_id=organizer.id))
        organization = OrganizationService.create(organizer, name="Green Clinic",
                                                  primary_colour="#0b6e4f")
        db.session.commit()
        slug = organization.slug
    log_in(page, base, event.organizer.email, event.organizer.password)

    # A plain form asks before deleting (data-confirm): refused, nothing happens.
    page.goto(base + "/certificates/templates")
    row = page.get_by_role("row", name=re.compile("Old design"))
    page.once("dialog", lambda dialog: dialog.dismiss())
    row.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("row", name=re.compile("Old design"))).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("row", name=re.compile("Old design"))).to_have_count(0)

    # Choosing another question empties the answer before the filter is sent.
    page.goto(f"{base}/events/{event.uuid}/attendees")
    page.get_by_label("Question").select_option(label="T-shirt")
    page.get_by_label("Answer").select_option("M")
    expect(page).to_have_url(re.compile("answer=M"))
    page.get_by_label("Question").select_option(label="Dietary needs")
    expect(page).not_to_have_url(re.compile("answer=M"))
    expect(page.get_by_label("Answer")).to_have_value("")

    # A message's close button removes it (data-dismiss).
    page.evaluate("""() => document.getElementById("flashes").insertAdjacentHTML(
        "beforeend",
        '<div class="alert alert-info">Note <button type="button" data-dismiss>×</button></div>'
    )""")
    page.locator("#flashes .alert button[data-dismiss]").click()
    expect(page.locator("#flashes .alert")).to_have_count(0)

    # The organization's brand colour reaches its header without a style attribute.
    page.goto(f"{base}/orgs/{slug}")
    header = page.locator(".org-header")
    expect(header).to_have_css("border-left-color", "rgb(11, 110, 79)")


def test_the_certificate_previews_show_under_the_policy(app, live_server, browser_page):
    """The live preview is a data: image; "Preview PDF" opens the PDF in Chromium's viewer in
    a new tab (object-src 'none' and frame-ancestors 'none' leave the viewer alone)."""
    page, base = browser_page, live_server
    organizer = create_user(app, email="designer@example.com")
    log_in(page, base, organizer.email, organizer.password)
    page.goto(base + "/certificates/templates/new")
    preview = page.locator("#certificate-preview img")
    expect(preview).to_be_visible()
    assert page.evaluate("img => img.naturalWidth", preview.element_handle()) > 0

    with page.context.expect_event("response", lambda r: "preview.pdf" in r.url) as answer, \
            page.expect_popup() as popup:
        page.get_by_role("button", name="Preview PDF").click()
    assert answer.value.headers["content-type"] == "application/pdf"
    popup.value.wait_for_load_state()
    popup.value.wait_for_timeout(500)  # the viewer's own scripts run (and would be reported)

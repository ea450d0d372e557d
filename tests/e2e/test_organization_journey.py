"""Issue 7's "done means", in a real browser: an owner creates an organization and invites a
manager, who accepts from the emailed link and creates an event for the organization; the
owner transfers ownership to the manager, and each of them then sees the right roles."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tests.conftest import create_user, link_in, read_mail

pytestmark = pytest.mark.browser

ORG = "Harbour Health Network"
EVENT = "Harbour triage refresher"


def log_in(page, base: str, user, path: str = "/login") -> None:
    page.goto(base + path)
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(user.password)
    page.get_by_role("button", name="Log in").click()


def field(page, label: str):
    """A form control by its label, which ends with " *" when the field is required."""
    return page.get_by_label(re.compile(rf"^{re.escape(label)}( \*)?$"))


def role_of(page, name: str):
    """The role cell of a member's row on the members page."""
    return page.locator("#members tr", has_text=name).locator("td").nth(1)


def test_owner_invites_a_manager_who_creates_an_event_then_becomes_owner(
    app, live_server, browser_page, browser, snapshot
):
    owner = create_user(app, email="olu@example.com", full_name="Olu Owner")
    manager = create_user(app, email="mina@example.com", full_name="Mina Manager")
    page = browser_page

    # The owner creates the organization from the switcher in the navigation.
    log_in(page, live_server, owner)
    expect(page.get_by_text(re.compile(r"^Welcome (back|to Convene)"))).to_be_visible()
    page.locator(".org-switcher summary").click()
    page.get_by_role("link", name="New organization").click()
    field(page, "Name").fill(ORG)
    field(page, "Brand colour").fill("#0b6e4f")
    page.get_by_role("button", name="Create organization").click()
    expect(page.get_by_text("you are its owner")).to_be_visible()
    expect(role_of(page, "Olu Owner")).to_have_text("Owner")

    # ...and invites Mina as a manager.
    field(page, "Email address").fill(manager.email)
    page.get_by_label("Role", exact=True).select_option(label="Manager")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("An invitation is on its way to mina@example.com")).to_be_visible()
    snapshot("org-members-invited")

    # Mina opens the emailed link in her own browser, logs in from it and accepts.
    invitation = next(m for m in read_mail(app) if m["To"] == manager.email)
    link = link_in(invitation, "/join/")
    mina = browser.new_context().new_page()
    mina.set_default_timeout(10_000)
    mina.goto(live_server + link)
    expect(mina.get_by_text("invited to join as Manager")).to_be_visible()
    mina.get_by_role("link", name="Log in to accept").click()
    mina.get_by_label("Email").fill(manager.email)
    mina.get_by_label("Password").fill(manager.password)
    mina.get_by_role("button", name="Log in").click()
    mina.get_by_role("button", name="Accept and join").click()
    expect(mina.get_by_text(f"Welcome to {ORG}")).to_be_visible()

    # She creates an event for the organization from its dashboard.
    mina.get_by_role("link", name="New event").click()
    expect(mina.get_by_label("Organization")).to_have_value(re.compile(r"^\d+$"))
    field(mina, "Title").fill(EVENT)
    day = date.today() + timedelta(days=30)
    field(mina, "Starts").fill(f"{day.isoformat()}T09:00")
    field(mina, "Ends").fill(f"{day.isoformat()}T12:00")
    mina.get_by_role("button", name="Save draft").click()
    expect(mina.get_by_text("is saved as a draft")).to_be_visible()

    # The owner sees it on the organization's dashboard, and hands the organization over.
    page.goto(live_server + "/organizations")
    page.get_by_role("link", name=ORG).click()
    expect(page.get_by_role("link", name=EVENT)).to_be_visible()
    page.get_by_role("link", name="Transfer ownership").click()
    page.get_by_label("New owner").select_option(label="Mina Manager (mina@example.com)")
    field(page, "Type the organization's name to confirm").fill(ORG)
    page.get_by_role("button", name="Transfer ownership").click()
    expect(page.get_by_text("Mina Manager is now the owner; you are an admin.")).to_be_visible()
    expect(role_of(page, "Mina Manager")).to_have_text("Owner")
    expect(role_of(page, "Olu Owner")).to_have_text("Admin")
    expect(page.get_by_role("link", name="Transfer ownership")).to_have_count(0)
    snapshot("org-members-after-transfer")

    # Mina, now the owner, sees the same and may transfer it herself.
    mina.goto(live_server + "/organizations")
    expect(mina.locator("tr", has_text=ORG)).to_contain_text("Owner")
    mina.get_by_role("link", name=ORG).click()
    mina.get_by_role("link", name="Members").click()
    expect(role_of(mina, "Mina Manager")).to_have_text("Owner")
    expect(mina.get_by_label("Role of Olu Owner")).to_have_value("admin")  # she may change it
    expect(mina.get_by_role("link", name="Transfer ownership")).to_be_visible()

"""A new user in a real browser: sign up, verify by email, log in, edit profile, log out."""

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import link_in, read_mail

pytestmark = pytest.mark.browser

PASSWORD = "Velvet-orchard-Lantern-93"


def test_sign_up_verify_log_in_edit_profile_log_out(app, live_server, browser_page, snapshot):
    page = browser_page
    page.goto(live_server + "/")
    snapshot("01-home")
    page.get_by_role("link", name="Sign up").first.click()

    page.get_by_label("Full name").fill("Mary Seacole")
    page.get_by_label("Email").fill("Mary.Seacole@Example.com ")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Timezone").select_option("Europe/London")
    snapshot("02-signup")
    page.get_by_role("button", name="Sign up").click()

    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    expect(page.get_by_text("mary.seacole@example.com")).to_be_visible()
    snapshot("03-check-email")

    [message] = read_mail(app)
    page.goto(live_server + link_in(message, "/verify-email/"))
    expect(page.get_by_text("Your email address is confirmed")).to_be_visible()

    page.get_by_label("Email").fill("mary.seacole@example.com")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Invalid email or password")
    snapshot("04-login-error")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    # The first login ever: a welcome, on the dashboard.
    expect(page.get_by_text("Welcome to Convene, Mary Seacole.", exact=False)).to_be_visible()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My account").click()
    expect(page.get_by_role("heading", name="Profile")).to_be_visible()
    page.get_by_label("Professional title").fill("Nurse practitioner")
    page.get_by_label("Credentials").fill("RN")
    page.get_by_label("Bio").fill("Runs field clinics.")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text("Your profile is saved.")).to_be_visible()
    expect(page.get_by_label("Professional title")).to_have_value("Nurse practitioner")
    snapshot("05-profile")

    page.get_by_role("link", name="Login sessions").click()
    expect(page.get_by_text("This device")).to_be_visible()
    snapshot("06-sessions")

    page.get_by_role("button", name="Log out").first.click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()
    page.goto(live_server + "/account/profile")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    snapshot("07-logged-out")

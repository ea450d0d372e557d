"""The local outbox (/dev/outbox): the file backend's messages in the browser, on a local
development site only."""

import re
from email.message import EmailMessage
from html import unescape
from pathlib import Path

import pytest

from app.mailing.backends import FileBackend
from tests.conftest import PASSWORD, post_form

PRODUCTION = {"CONVENE_ENV": "production", "SECRET_KEY": "s", "ENCRYPTION_KEYS": "x" * 43 + "=",
              "SITE_URL": "https://events.example.org"}


def sign_up(client, email="grace@example.com"):
    data = {"full_name": "Grace Hopper", "email": email, "password": PASSWORD, "timezone": "UTC"}
    return post_form(client, "/signup", data)


def links(html: str) -> list[str]:
    return [unescape(href) for href in re.findall(r'<a href="([^"]+)"', html)]


def test_lists_and_opens_a_confirmation_email_whose_link_confirms_the_account(app, client):
    check_email = client.get(sign_up(client).headers["Location"])
    assert 'href="/dev/outbox/"' in check_email.get_data(as_text=True)  # points there

    listing = client.get("/dev/outbox/")
    page = listing.get_data(as_text=True)
    assert listing.status_code == 200
    assert "grace@example.com" in page
    assert "Confirm your email address for Convene" in page
    [opened] = [link for link in links(page) if link.startswith("/dev/outbox/") and
                link != "/dev/outbox/"]

    message = client.get(opened)
    shown = message.get_data(as_text=True)
    assert message.status_code == 200
    [confirm] = [link for link in links(shown) if "/verify-email/" in link]
    assert confirm.startswith("http://localhost/verify-email/")  # SITE_URL of the tests
    assert "<iframe" in shown and 'sandbox="allow-popups' in shown  # the HTML, without scripts
    assert "allow-scripts" not in shown

    confirmed = client.get(confirm.removeprefix("http://localhost"))
    assert confirmed.status_code == 303
    logged_in = post_form(client, "/login", {"email": "grace@example.com", "password": PASSWORD})
    assert logged_in.status_code == 303


def test_the_pages_that_say_we_emailed_a_link_point_to_the_outbox(app, client):
    from tests.registrations.test_attend import make_event, register

    event = make_event(app, title="Open day")
    register(client, event.slug, {"full_name": "Gus Guest", "email": "gus@example.com"})
    guest_page = client.get(f"/events/{event.slug}/registration").get_data(as_text=True)
    assert "/dev/outbox/" in links(guest_page)

    reset = post_form(client, "/forgot-password", {"email": "gus@example.com"})
    assert "/dev/outbox/" in links(client.get(reset.headers["Location"]).get_data(as_text=True))


def test_newest_first(app, client):
    sign_up(client, "first@example.com")
    sign_up(client, "second@example.com")

    page = client.get("/dev/outbox/").get_data(as_text=True)

    assert page.index("second@example.com") < page.index("first@example.com")


def test_what_a_message_holds_is_shown_as_text_never_run(app, client):
    message = EmailMessage()
    message["To"] = "<script>alert(1)</script>@example.com"
    message["Subject"] = "<img src=x onerror=alert(1)>"
    message.set_content('Hi <b>there</b> https://example.org/a?b=1&c="2" javascript:alert(1)')
    message.add_alternative('<p onclick="alert(1)">Hi</p><script>alert(2)</script>',
                            subtype="html")
    with app.app_context():
        FileBackend(app.config["MAIL_DIR"]).send(message, "0c7d1f2e-aaaa-bbbb-cccc-000000000001")

    listing = client.get("/dev/outbox/").get_data(as_text=True)
    assert "<script>alert(1)" not in listing and "<img src=x" not in listing
    [name] = [path for path in links(listing) if path.startswith("/dev/outbox/2")]
    shown = client.get(name).get_data(as_text=True)

    assert "<b>there</b>" not in shown and "&lt;b&gt;there&lt;/b&gt;" in shown
    assert links(shown)[-1] == "https://example.org/a?b=1&c="  # the quote ends the address
    assert 'href="javascript' not in shown
    assert "alert(2)" not in shown and "onclick" not in shown
    assert 'srcdoc="&lt;base target=&#34;_blank&#34;&gt;&lt;p&gt;Hi&lt;/p&gt;' in shown


@pytest.mark.parametrize("name", ["..%2Fsecret_key", "secret_key", "20261207T000000000000-x.txt",
                                  "no-such-message.eml", "20261207T000000000000-missing.eml"])
def test_only_the_backends_own_files_are_read(app, client, name):
    sign_up(client)

    assert client.get(f"/dev/outbox/{name}").status_code == 404


@pytest.mark.parametrize("settings", [
    PRODUCTION,  # with the file backend of the tests
    {"MAIL_BACKEND": "smtp"},
    {"SITE_URL": "https://events.example.org"},  # a development server with a public address
], ids=["production", "smtp", "public-address"])
def test_no_outbox_outside_a_local_development_site(make_app, settings):
    other = make_app(**settings)
    client = other.test_client()
    with other.app_context():
        FileBackend(other.config["MAIL_DIR"]).send(EmailMessage(), "0c7d1f2e-0000")
    [name] = [path.name for path in Path(other.config["MAIL_DIR"]).iterdir()]

    assert client.get("/dev/outbox/").status_code == 404
    assert client.get(f"/dev/outbox/{name}").status_code == 404
    assert "/dev/outbox" not in client.get("/signup/check-email?email=a@example.com").get_data(
        as_text=True)

"""Password reset through an emailed, expiring, single-use link."""

import sqlalchemy as sa

from app.accounts.models import User, UserSession
from app.extensions import db
from app.states import UserStatus
from tests.conftest import PASSWORD, create_user, link_in, log_in, post_form, read_mail

NEW_PASSWORD = "another-Sturdy-passphrase-77"


def ask_for_reset(client, email):
    return post_form(client, "/forgot-password", {"email": email})


def test_reset_password_through_the_emailed_link(app, client):
    create_user(app, email="ada@example.com")
    other_device = app.test_client()
    log_in(other_device, "ada@example.com")

    response = ask_for_reset(client, "ADA@example.com ")
    assert response.status_code == 303
    [message] = read_mail(app)
    link = link_in(message, "/reset-password/")

    assert client.get(link).status_code == 200
    done = post_form(client, link, {"password": NEW_PASSWORD})
    assert done.status_code == 303

    old = post_form(client, "/login", {"email": "ada@example.com", "password": PASSWORD})
    assert old.status_code == 422
    log_in(app.test_client(), "ada@example.com", NEW_PASSWORD)
    # Every session from before the reset is logged out.
    assert other_device.get("/account/profile").status_code == 302
    # And the owner is told.
    assert "password was changed" in read_mail(app)[-1]["Subject"]


def test_the_link_works_once(app, client):
    create_user(app, email="ada@example.com")
    ask_for_reset(client, "ada@example.com")
    link = link_in(read_mail(app)[0], "/reset-password/")
    assert post_form(client, link, {"password": NEW_PASSWORD}).status_code == 303
    again = client.get(link)
    assert again.status_code == 400
    assert "already been used" in again.get_data(as_text=True)


def test_an_expired_link_is_refused(app, client):
    create_user(app, email="ada@example.com")
    ask_for_reset(client, "ada@example.com")
    link = link_in(read_mail(app)[0], "/reset-password/")
    app.config["RESET_PASSWORD_MAX_AGE"] = -1
    try:
        response = client.get(link)
    finally:
        app.config["RESET_PASSWORD_MAX_AGE"] = 3600
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)


def test_a_tampered_link_is_refused(app, client):
    create_user(app, email="ada@example.com")
    ask_for_reset(client, "ada@example.com")
    link = link_in(read_mail(app)[0], "/reset-password/")
    assert client.get(link.replace(".", "x", 1)).status_code == 400


def test_unknown_address_gets_the_same_answer_and_no_mail(app, client):
    response = ask_for_reset(client, "nobody@example.com")
    assert response.status_code == 303
    assert read_mail(app) == []


def test_a_weak_new_password_is_refused_and_the_link_still_works(app, client):
    user = create_user(app, email="ada@example.com")
    ask_for_reset(client, "ada@example.com")
    link = link_in(read_mail(app)[0], "/reset-password/")
    weak = post_form(client, link, {"password": "password1"})
    assert weak.status_code == 422
    with app.app_context():
        assert db.session.get(User, user.id).check_password(PASSWORD)
    assert post_form(client, link, {"password": NEW_PASSWORD}).status_code == 303


def test_resetting_proves_the_address_of_an_unverified_account(app, client):
    create_user(app, email="ada@example.com", status=UserStatus.UNVERIFIED, email_verified_at=None)
    ask_for_reset(client, "ada@example.com")
    link = link_in(read_mail(app)[0], "/reset-password/")
    post_form(client, link, {"password": NEW_PASSWORD})
    log_in(client, "ada@example.com", NEW_PASSWORD)


def test_deactivated_accounts_get_no_link(app, client):
    create_user(app, email="ada@example.com", status=UserStatus.DEACTIVATED)
    ask_for_reset(client, "ada@example.com")
    assert read_mail(app) == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(UserSession)) == 0


def test_a_guest_chooses_a_first_password_not_a_new_one(app, client):
    """The link a guest registration emails opens the same page as a reset: for an account
    without a password it asks for "your password"."""
    from tests.registrations.test_attend import make_event, register

    event = make_event(app, title="Open day")
    register(client, event.slug, {"full_name": "Gus Guest", "email": "gus@example.com"})
    [mail] = [m for m in read_mail(app) if "password" in m["Subject"].lower()]
    link = link_in(mail, "/reset-password/")

    page = client.get(link).get_data(as_text=True)
    assert "<h1>Choose your password</h1>" in page
    assert "new password" not in page.lower()

    done = post_form(client, link, {"password": NEW_PASSWORD})
    assert "Your password is saved." in client.get(done.headers["Location"]).get_data(
        as_text=True)
    log_in(app.test_client(), "gus@example.com", NEW_PASSWORD)


def test_someone_with_a_password_chooses_a_new_one(app, client):
    create_user(app, email="ada@example.com")
    ask_for_reset(client, "ada@example.com")

    page = client.get(link_in(read_mail(app)[0], "/reset-password/")).get_data(as_text=True)

    assert "<h1>Choose a new password</h1>" in page
    assert "Save my new password" in page

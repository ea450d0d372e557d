"""Sign-up and email verification over HTTP, with the bad input the issue lists."""

import sqlalchemy as sa

from app.accounts.models import User
from app.extensions import db
from app.states import UserStatus
from tests.conftest import PASSWORD, create_user, link_in, post_form, read_mail


def sign_up(client, **overrides):
    data = {
        "full_name": "Grace Hopper",
        "email": "grace@example.com",
        "password": PASSWORD,
        "timezone": "America/New_York",
        **overrides,
    }
    return post_form(client, "/signup", data)


def users(app):
    with app.app_context():
        return db.session.scalars(sa.select(User).execution_options(include_deleted=True)).all()


def test_sign_up_verify_and_log_in(app, client):
    response = sign_up(client)
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/signup/check-email")

    [account] = users(app)
    assert account.email == "grace@example.com"
    assert account.status == UserStatus.UNVERIFIED
    assert account.timezone == "America/New_York"

    [message] = read_mail(app)
    assert message["To"] == "grace@example.com"
    link = link_in(message, "/verify-email/")

    # Not yet verified: login is refused with a way to get a new link.
    refused = post_form(client, "/login", {"email": "grace@example.com", "password": PASSWORD})
    assert refused.status_code == 422
    assert "confirm your email" in refused.get_data(as_text=True)

    verified = client.get(link)
    assert verified.status_code == 303
    assert users(app)[0].status == UserStatus.ACTIVE

    logged_in = post_form(client, "/login", {"email": " GRACE@example.com ", "password": PASSWORD})
    assert logged_in.status_code == 303
    assert "Grace Hopper" in client.get("/").get_data(as_text=True)


def test_verification_link_twice_is_harmless(app, client):
    sign_up(client)
    link = link_in(read_mail(app)[0], "/verify-email/")
    assert client.get(link).status_code == 303
    assert client.get(link).status_code == 303
    assert users(app)[0].status == UserStatus.ACTIVE


def test_duplicate_email_in_any_case_is_a_form_error(app, client):
    create_user(app, email="taken@example.com")
    response = sign_up(client, email="  TAKEN@Example.COM ")
    assert response.status_code == 422
    assert "already exists" in response.get_data(as_text=True)
    assert len(users(app)) == 1


def test_weak_password_is_refused(app, client):
    response = sign_up(client, password="password123")
    assert response.status_code == 422
    assert "too easy to guess" in response.get_data(as_text=True)
    assert users(app) == []


def test_short_and_too_long_passwords_are_refused(app, client):
    short = sign_up(client, password="Ab1-xyz")
    assert short.status_code == 422
    assert "at least 10 characters" in short.get_data(as_text=True)
    long = sign_up(client, password="correct-horse-" * 20)
    assert long.status_code == 422
    assert users(app) == []


def test_invalid_email_is_refused(app, client):
    response = sign_up(client, email="not-an-email")
    assert response.status_code == 422
    assert "not a valid email address" in response.get_data(as_text=True)
    assert users(app) == []


def test_unknown_timezone_is_refused(app, client):
    response = sign_up(client, timezone="Mars/Olympus_Mons")
    assert response.status_code == 422
    assert users(app) == []


def test_missing_csrf_token_is_refused(app, client):
    response = client.post(
        "/signup",
        data={"full_name": "X", "email": "x@example.com", "password": PASSWORD, "timezone": "UTC"},
    )
    assert response.status_code == 400
    assert "form has expired" in response.get_data(as_text=True)
    assert users(app) == []


def test_tampered_verification_link_is_refused(app, client):
    sign_up(client)
    link = link_in(read_mail(app)[0], "/verify-email/")
    tampered = link[:-3] + ("aaa" if not link.endswith("aaa") else "bbb")
    response = client.get(tampered)
    assert response.status_code == 400
    assert "not valid" in response.get_data(as_text=True)
    assert users(app)[0].status == UserStatus.UNVERIFIED


def test_expired_verification_link_is_refused(app, client):
    sign_up(client)
    link = link_in(read_mail(app)[0], "/verify-email/")
    app.config["VERIFY_EMAIL_MAX_AGE"] = -1
    try:
        response = client.get(link)
    finally:
        app.config["VERIFY_EMAIL_MAX_AGE"] = 3 * 24 * 3600
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    assert users(app)[0].status == UserStatus.UNVERIFIED


def test_resend_verification_sends_a_new_link(app, client):
    sign_up(client)
    response = post_form(
        client, "/verify-email/resend", {"email": "grace@example.com"}, page="/signup/check-email"
    )
    assert response.status_code == 303
    assert len(read_mail(app)) == 2


def test_signing_up_completes_an_invited_account(app, client):
    create_user(app, email="invited@example.com", status=UserStatus.INVITED, email_verified_at=None)
    response = sign_up(client, email="invited@example.com")
    assert response.status_code == 303
    [account] = users(app)
    assert account.status == UserStatus.UNVERIFIED
    assert account.full_name == "Grace Hopper"


def test_a_new_user_has_a_lifecycle_status_before_it_is_saved(ctx):
    user = User(email="new@example.com")
    assert user.status == UserStatus.UNVERIFIED
    user.verify_email()
    assert user.status == UserStatus.ACTIVE and user.is_active

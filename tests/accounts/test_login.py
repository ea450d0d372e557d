"""Logging in and out, refusals by account state, and throttling of repeated failures."""

import pytest
import sqlalchemy as sa

from app.accounts.models import User, UserSession
from app.extensions import db, limiter
from app.states import UserStatus
from tests.conftest import PASSWORD, TEST_REDIS_URL, create_user, log_in, post_form, require


def attempt(client, email, password):
    return post_form(client, "/login", {"email": email, "password": password})


def test_log_in_and_out(app, client):
    user = create_user(app, email="ada@example.com", full_name="Ada Lovelace")
    response = log_in(client, "ada@example.com")
    assert response.headers["Location"] == "/dashboard"
    assert "Ada Lovelace" in client.get("/").get_data(as_text=True)

    with app.app_context():
        [session] = db.session.scalars(sa.select(UserSession)).all()
        assert session.user_id == user.id
        assert db.session.get(User, user.id).last_login_at is not None

    logout = post_form(client, "/logout", page="/")
    assert logout.status_code == 303
    assert client.get("/account/profile").status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(UserSession.revoked_at)) is not None


def test_next_parameter_is_followed_only_within_the_site(app, client):
    create_user(app, email="ada@example.com")
    data = {"email": "ada@example.com", "password": PASSWORD, "next": "/account/sessions"}
    response = post_form(client, "/login", data)
    assert response.headers["Location"] == "/account/sessions"

    other = app.test_client()
    data["next"] = "https://evil.example.net/"
    response = post_form(other, "/login", data)
    assert response.headers["Location"] == "/dashboard"


def test_the_first_login_lands_on_the_dashboard_with_a_welcome(app, client):
    create_user(app, email="ada@example.com", full_name="Ada Lovelace")

    first = log_in(client, "ada@example.com")
    dashboard = client.get(first.headers["Location"]).get_data(as_text=True)
    assert first.headers["Location"] == "/dashboard"
    assert "Welcome to Convene, Ada Lovelace." in dashboard
    assert 'href="/events/new"' in dashboard

    post_form(client, "/logout", page="/dashboard")
    again = client.get(log_in(client, "ada@example.com").headers["Location"])
    assert "Welcome back, Ada Lovelace." in again.get_data(as_text=True)
    assert "Welcome to Convene" not in again.get_data(as_text=True)


def test_logged_in_the_home_page_and_the_listing_offer_to_create_an_event(app, client):
    create_user(app, email="ada@example.com")
    for path in ("/", "/events"):
        assert 'href="/events/new"' not in client.get(path).get_data(as_text=True)

    log_in(client, "ada@example.com")

    home = client.get("/").get_data(as_text=True)
    assert 'href="/events/new"' in home and 'href="/dashboard"' in home
    assert "Go to my account" not in home
    assert 'href="/events/new"' in client.get("/events").get_data(as_text=True)


def test_wrong_password_and_unknown_email_get_the_same_message(app, client):
    create_user(app, email="ada@example.com")
    wrong = attempt(client, "ada@example.com", "not-the-password")
    unknown = attempt(client, "nobody@example.com", "not-the-password")
    for response in (wrong, unknown):
        assert response.status_code == 422
        assert "Invalid email or password." in response.get_data(as_text=True)
    assert client.get("/account/profile").status_code == 302


@pytest.mark.parametrize(
    "status, message",
    [
        (UserStatus.DEACTIVATED, "deactivated"),
        (UserStatus.UNVERIFIED, "confirm your email"),
        (UserStatus.INVITED, "no password yet"),
    ],
)
def test_accounts_that_may_not_log_in_are_told_why(app, client, status, message):
    create_user(app, email="ada@example.com", status=status)
    response = attempt(client, "ada@example.com", PASSWORD)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(UserSession)) == 0


def test_soft_deleted_account_cannot_log_in(app, client):
    user = create_user(app, email="ada@example.com")
    with app.app_context():
        db.session.get(User, user.id).soft_delete()
        db.session.commit()
    response = attempt(client, "ada@example.com", PASSWORD)
    assert response.status_code == 422
    assert "Invalid email or password." in response.get_data(as_text=True)


def test_failures_for_one_account_are_throttled(app, client):
    create_user(app, email="ada@example.com")
    for _ in range(5):
        assert attempt(client, "ada@example.com", "wrong-password").status_code == 422
    # The sixth try is refused before the password is even checked, right or wrong.
    blocked = attempt(client, "ada@example.com", PASSWORD)
    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.get_data(as_text=True)
    # Another account from the same address is not affected by this account's limit.
    create_user(app, email="bob@example.com")
    assert attempt(client, "bob@example.com", PASSWORD).status_code == 303


def test_successful_logins_do_not_count_toward_the_limit(app, client):
    create_user(app, email="ada@example.com")
    for _ in range(7):
        fresh = app.test_client()
        assert attempt(fresh, "ada@example.com", PASSWORD).status_code == 303


def test_failures_from_one_address_are_throttled_across_accounts(app, client):
    for n in range(30):
        response = attempt(client, f"nobody{n}@example.com", "wrong-password")
        assert response.status_code == 422
    assert attempt(client, "someone-else@example.com", "wrong-password").status_code == 429


def test_logout_needs_a_post_with_csrf(app, client):
    create_user(app, email="ada@example.com")
    log_in(client, "ada@example.com")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/account/profile").status_code == 200


def test_throttling_counts_in_redis_when_configured(make_app):
    """In production the counts live in Redis, shared by every web process."""
    require(TEST_REDIS_URL is not None, "TEST_REDIS_URL is not set: no Redis for throttling")
    import redis

    app = make_app(RATELIMIT_STORAGE_URI=TEST_REDIS_URL)
    server = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        create_user(app, email="ada@example.com")
        for _ in range(5):
            # A new client each time: the count follows the account, not the browser.
            assert attempt(app.test_client(), "ada@example.com", "wrong").status_code == 422
        assert any(b"login-account:ada@example.com" in key for key in server.keys("LIMITS*"))
        assert attempt(app.test_client(), "ada@example.com", PASSWORD).status_code == 429
    finally:
        with app.app_context():
            limiter.reset()

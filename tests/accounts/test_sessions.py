"""Login sessions: listed with device and IP, revocable (remember-me included), and
last-seen written at most once a minute."""

import re
from datetime import timedelta

import sqlalchemy as sa

from app.accounts.models import UserSession
from app.core.types import utcnow
from app.extensions import db
from tests.conftest import create_user, csrf_token, log_in, query_counter

FIREFOX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def browser(app, user_agent):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = user_agent
    return client


def session_rows(app):
    with app.app_context():
        return db.session.scalars(sa.select(UserSession).order_by(UserSession.id)).all()


def revoke(client, session_uuid, htmx=False):
    headers = {"HX-Request": "true"} if htmx else {}
    token = csrf_token(client, "/account/sessions")
    return client.post(
        f"/account/sessions/{session_uuid}/revoke", data={"csrf_token": token}, headers=headers
    )


def test_sessions_page_lists_devices(app):
    create_user(app, email="ada@example.com")
    laptop, phone = browser(app, FIREFOX), browser(app, IPHONE)
    log_in(laptop, "ada@example.com")
    log_in(phone, "ada@example.com")
    page = laptop.get("/account/sessions").get_data(as_text=True)
    assert "Firefox 128 on Ubuntu" in page
    assert "Mobile Safari 17 on iOS" in page
    assert page.count("This device") == 1


def test_revoking_another_session_logs_it_out_on_its_next_request(app):
    create_user(app, email="ada@example.com")
    laptop, phone = browser(app, FIREFOX), browser(app, IPHONE)
    log_in(laptop, "ada@example.com")
    log_in(phone, "ada@example.com")
    phone_session = session_rows(app)[1]

    response = revoke(laptop, phone_session.uuid, htmx=True)
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert "<html" not in fragment  # HTMX gets the list fragment only
    assert "<td>Mobile Safari" not in fragment
    assert "<td>Firefox 128 on Ubuntu" in fragment
    assert "The session on Mobile Safari 17 on iOS is logged out." in fragment

    assert phone.get("/account/profile").status_code == 302
    assert laptop.get("/account/profile").status_code == 200


def test_revoking_a_session_kills_its_remember_me_cookie(app):
    create_user(app, email="ada@example.com")
    laptop, phone = browser(app, FIREFOX), browser(app, IPHONE)
    log_in(phone, "ada@example.com", remember=True)
    remember = phone.get_cookie("remember_token")
    assert remember is not None and remember.http_only

    # The browser is closed and opened again: only the remember-me cookie is left.
    reopened = browser(app, IPHONE)
    reopened.set_cookie("remember_token", remember.value)
    assert reopened.get("/account/profile").status_code == 200

    log_in(laptop, "ada@example.com")
    phone_session = session_rows(app)[0]
    assert revoke(laptop, phone_session.uuid).status_code == 200

    again = browser(app, IPHONE)
    again.set_cookie("remember_token", remember.value)
    assert again.get("/account/profile").status_code == 302


def test_revoking_the_current_session_logs_out_here(app):
    create_user(app, email="ada@example.com")
    laptop = browser(app, FIREFOX)
    log_in(laptop, "ada@example.com")
    [current] = session_rows(app)
    response = revoke(laptop, current.uuid)
    assert response.status_code == 303
    assert laptop.get("/account/profile").status_code == 302


def test_another_users_session_cannot_be_revoked(app):
    create_user(app, email="ada@example.com")
    create_user(app, email="eve@example.com")
    ada, eve = browser(app, FIREFOX), browser(app, IPHONE)
    log_in(ada, "ada@example.com")
    log_in(eve, "eve@example.com")
    ada_session = session_rows(app)[0]
    assert revoke(eve, ada_session.uuid).status_code == 404
    assert ada.get("/account/profile").status_code == 200


def test_last_seen_is_written_at_most_once_a_minute(app):
    create_user(app, email="ada@example.com")
    laptop = browser(app, FIREFOX)
    log_in(laptop, "ada@example.com")

    def session_updates():
        with app.app_context(), query_counter(db.engine) as statements:
            assert laptop.get("/account/profile").status_code == 200
        return [s for s in statements if s.lstrip().upper().startswith("UPDATE USER_SESSIONS")]

    assert session_updates() == []  # just logged in: seen now

    with app.app_context():
        two_minutes_ago = utcnow() - timedelta(minutes=2)
        db.session.execute(sa.update(UserSession).values(last_seen_at=two_minutes_ago))
        db.session.commit()
    assert len(session_updates()) == 1
    assert session_updates() == []
    [row] = session_rows(app)
    assert utcnow() - row.last_seen_at < timedelta(seconds=30)


def test_htmx_requests_carry_the_csrf_token_in_a_header(app):
    """base.html sets hx-headers with X-CSRFToken, so HTMX posts need no form field."""
    create_user(app, email="ada@example.com")
    laptop, phone = browser(app, FIREFOX), browser(app, IPHONE)
    log_in(laptop, "ada@example.com")
    log_in(phone, "ada@example.com")
    phone_session = session_rows(app)[1]
    page = laptop.get("/account/sessions").get_data(as_text=True)
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    path = f"/account/sessions/{phone_session.uuid}/revoke"

    refused = laptop.post(path, headers={"HX-Request": "true"})
    assert refused.status_code == 400
    accepted = laptop.post(path, headers={"HX-Request": "true", "X-CSRFToken": token})
    assert accepted.status_code == 200
    assert phone.get("/account/profile").status_code == 302

"""Connecting a Zoom account (issue 5): the OAuth authorization-code flow against Zoom's
documented endpoints, the connection kept encrypted, disconnecting, Zoom's deauthorization
notice, and the organizer's Zoom page."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
import responses
import sqlalchemy as sa
from cryptography.fernet import Fernet

from app.accounts.models import User
from app.core import privacy
from app.core.encryption import decrypt
from app.core.types import utcnow
from app.extensions import db
from app.zoom.models import WebhookStatus, ZoomConnection, ZoomWebhookLog
from tests.conftest import PASSWORD, create_user, log_in, post_form
from tests.zoom.connection_helpers import (
    API,
    AUTHORIZE_URL,
    BASIC_AUTH,
    CALLBACK,
    CLIENT_ID,
    PROFILE,
    REVOKE_URL,
    TOKEN,
    TOKEN_URL,
    form_body,
    make_connection,
    query_of,
)
from tests.zoom.helpers import deliver


@pytest.fixture
def organizer(app, client):
    user = create_user(app, email="organizer@example.com")
    log_in(client, user.email)
    return user


def connections(app) -> list[ZoomConnection]:
    with app.app_context():
        found = db.session.scalars(sa.select(ZoomConnection)).all()
        db.session.expunge_all()
        return found


def raw_tokens(app) -> tuple[str, str]:
    """The token columns as the database holds them."""
    with app.app_context():
        return tuple(db.session.execute(
            sa.text("SELECT access_token, refresh_token FROM zoom_connections")
        ).one())


def start(client) -> str:
    """Begin connecting; returns the state Zoom is asked to send back."""
    response = client.get("/zoom/connect")
    assert response.status_code == 303
    return query_of(response.headers["Location"])["state"][0]


def zoom_answers(mock, *, token=None, profile=None) -> None:
    mock.post(TOKEN_URL, json=token or TOKEN)
    mock.get(f"{API}/users/me", json=profile or PROFILE)


def store_connection(app, user_id, **fields) -> None:
    with app.app_context():
        make_connection(user_id, **fields)
        db.session.commit()


# --- Connecting


def test_connect_sends_the_organizer_to_zooms_authorize_page(app, client, organizer,
                                                             zoom_oauth):
    response = client.get("/zoom/connect")
    assert response.status_code == 303
    location = response.headers["Location"]
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == AUTHORIZE_URL
    query = query_of(location)
    assert query["response_type"] == ["code"]
    assert query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == [CALLBACK]
    assert len(query["state"][0]) >= 20
    with client.session_transaction() as session:
        assert session["zoom_oauth_state"] == query["state"][0]


def test_the_callback_exchanges_the_code_and_stores_the_connection(app, client, organizer,
                                                                   zoom_oauth):
    state = start(client)
    with responses.RequestsMock() as mock:
        zoom_answers(mock)
        response = client.get(f"/zoom/oauth/callback?code=auth-code-1&state={state}")
        token_request, profile_request = (call.request for call in mock.calls)
    assert response.status_code == 303 and response.headers["Location"] == "/zoom/account"

    # The token endpoint: client credentials as HTTP Basic auth, the code in the form body.
    assert token_request.method == "POST" and token_request.url == TOKEN_URL
    assert token_request.headers["Authorization"] == BASIC_AUTH
    assert token_request.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert form_body(token_request) == {
        "grant_type": ["authorization_code"], "code": ["auth-code-1"], "redirect_uri": [CALLBACK],
    }
    # Who connected: GET /users/me with the new access token.
    assert profile_request.headers["Authorization"] == f"Bearer {TOKEN['access_token']}"

    [connection] = connections(app)
    assert connection.user_id == organizer.id
    assert connection.zoom_user_id == PROFILE["id"]
    assert connection.zoom_account_id == PROFILE["account_id"]
    assert connection.zoom_email == "host@example.com"
    assert connection.access_token == TOKEN["access_token"]
    assert connection.refresh_token == TOKEN["refresh_token"]
    assert connection.scopes == TOKEN["scope"]
    assert 3500 < (connection.expires_at - utcnow()).total_seconds() <= 3599
    assert connection.needs_reconnect_at is None
    page = client.get("/zoom/account").get_data(as_text=True)
    assert "Your Zoom account host@example.com is connected." in page


def test_the_database_holds_no_plaintext_token(app, client, organizer, zoom_oauth):
    state = start(client)
    with responses.RequestsMock() as mock:
        zoom_answers(mock)
        client.get(f"/zoom/oauth/callback?code=c&state={state}")
    access, refresh = raw_tokens(app)
    assert TOKEN["access_token"] not in access and TOKEN["refresh_token"] not in refresh
    with app.app_context():
        assert decrypt(access) == TOKEN["access_token"]
        assert decrypt(refresh) == TOKEN["refresh_token"]


def test_connecting_again_replaces_the_connection(app, client, organizer, zoom_oauth):
    store_connection(app, organizer.id, needs_reconnect_at=utcnow(), last_error="revoked")
    state = start(client)
    with responses.RequestsMock() as mock:
        zoom_answers(mock, profile={**PROFILE, "email": "new@example.com"})
        assert client.get(f"/zoom/oauth/callback?code=c&state={state}").status_code == 303
    [connection] = connections(app)
    assert connection.zoom_email == "new@example.com"
    assert connection.access_token == TOKEN["access_token"]
    assert connection.needs_reconnect_at is None and connection.last_error == ""


@pytest.mark.parametrize("query", ["?code=c&state=forged", "?code=c", "?code=c&state="])
def test_a_wrong_or_missing_state_is_refused_and_nothing_is_stored(app, client, organizer,
                                                                   zoom_oauth, query):
    start(client)
    with responses.RequestsMock():  # any call to Zoom would fail the test
        response = client.get("/zoom/oauth/callback" + query)
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "does not belong to a connection you started here" in body
    assert connections(app) == []


def test_a_state_is_used_once(app, client, organizer, zoom_oauth):
    state = start(client)
    with responses.RequestsMock() as mock:
        zoom_answers(mock)
        assert client.get(f"/zoom/oauth/callback?code=c&state={state}").status_code == 303
    with responses.RequestsMock():
        assert client.get(f"/zoom/oauth/callback?code=c&state={state}").status_code == 400


def test_the_organizer_declining_at_zoom_stores_nothing(app, client, organizer, zoom_oauth):
    state = start(client)
    with responses.RequestsMock():
        response = client.get(f"/zoom/oauth/callback?error=access_denied&state={state}")
    assert response.status_code == 400
    assert "Zoom did not connect your account: access_denied" in response.get_data(as_text=True)
    assert connections(app) == []


def test_zoom_refusing_the_code_shows_its_reason_and_stores_nothing(app, client, organizer,
                                                                    zoom_oauth):
    state = start(client)
    with responses.RequestsMock() as mock:
        mock.post(TOKEN_URL, status=400,
                  json={"reason": "Invalid authorization code", "error": "invalid_request"})
        response = client.get(f"/zoom/oauth/callback?code=stale&state={state}")
    assert response.status_code == 400
    assert "Zoom refused the connection: invalid_request" in response.get_data(as_text=True)
    assert connections(app) == []


def test_zoom_down_during_the_exchange_stores_nothing(app, client, organizer, zoom_oauth):
    state = start(client)
    with responses.RequestsMock() as mock:
        mock.post(TOKEN_URL, json=TOKEN)
        mock.get(f"{API}/users/me", status=503, json={"code": 503, "message": "Busy"})
        response = client.get(f"/zoom/oauth/callback?code=c&state={state}")
    assert response.status_code == 400
    assert "Zoom did not tell who connected: Busy" in response.get_data(as_text=True)
    assert connections(app) == []


def test_connect_without_a_zoom_app_says_what_to_configure(app, client, organizer):
    response = client.get("/zoom/connect", follow_redirects=True)
    assert "ZOOM_CLIENT_ID" in response.get_data(as_text=True)
    with client.session_transaction() as session:
        assert "zoom_oauth_state" not in session


# --- Disconnecting


def test_disconnect_revokes_at_zoom_and_forgets_the_connection(app, client, organizer,
                                                               zoom_oauth):
    store_connection(app, organizer.id)
    with responses.RequestsMock() as mock:
        mock.post(REVOKE_URL, json={"status": "success"})
        response = post_form(client, "/zoom/disconnect", page="/zoom/account")
        [revoke] = [call.request for call in mock.calls]
    assert response.status_code == 303
    assert revoke.headers["Authorization"] == BASIC_AUTH
    assert form_body(revoke)["token"] == ["old-access-token"]
    assert connections(app) == []


def test_disconnect_goes_on_when_zoom_cannot_revoke(app, client, organizer, zoom_oauth):
    store_connection(app, organizer.id)
    with responses.RequestsMock() as mock:
        mock.post(REVOKE_URL, status=500, body="oops")
        assert post_form(client, "/zoom/disconnect", page="/zoom/account").status_code == 303
    assert connections(app) == []


def test_disconnect_needs_the_csrf_token(app, client, organizer, zoom_oauth):
    store_connection(app, organizer.id)
    assert client.post("/zoom/disconnect").status_code == 400
    assert len(connections(app)) == 1


def test_one_organizer_cannot_disconnect_another(app, client, organizer, zoom_oauth):
    other = create_user(app, email="other@example.com")
    store_connection(app, other.id)
    with responses.RequestsMock():
        post_form(client, "/zoom/disconnect", page="/zoom/account")
    assert [c.user_id for c in connections(app)] == [other.id]


# --- Zoom's app_deauthorized notice


def deauthorized(user_id=PROFILE["id"], account_id=PROFILE["account_id"]) -> dict:
    return {
        "event": "app_deauthorized",
        "event_ts": 1718900000123,
        "payload": {
            "account_id": account_id,
            "user_id": user_id,
            "signature": "827edc3452044f0bc86bdd5684afb7d1e6becfa1a767f24df1b287853cf73000",
            "deauthorization_time": "2024-06-20T16:13:20.632Z",
            "client_id": CLIENT_ID,
        },
    }


def test_the_deauthorization_webhook_disconnects(app, client, organizer):
    other = create_user(app, email="other@example.com")
    store_connection(app, organizer.id)
    store_connection(app, other.id, zoom_user_id="someone-else")
    assert deliver(client, deauthorized()).status_code == 200
    assert [c.user_id for c in connections(app)] == [other.id]
    with app.app_context():
        log = db.session.scalar(sa.select(ZoomWebhookLog))
        assert log.status == WebhookStatus.PROCESSED


def test_a_deauthorization_for_nobody_here_is_ignored(app, client, organizer):
    store_connection(app, organizer.id)
    deliver(client, deauthorized(user_id="unknown-user"))
    assert len(connections(app)) == 1
    with app.app_context():
        log = db.session.scalar(sa.select(ZoomWebhookLog))
        assert log.status == WebhookStatus.IGNORED
        assert log.error == "no connection of this Zoom user"


def test_a_deauthorization_from_another_account_is_ignored(app, client, organizer):
    store_connection(app, organizer.id)
    deliver(client, deauthorized(account_id="another-account"))
    assert len(connections(app)) == 1


# --- The Zoom page


def page(client) -> str:
    response = client.get("/zoom/account")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_page_offers_to_connect(app, client, organizer, zoom_oauth):
    body = page(client)
    assert "No Zoom account is connected." in body
    assert 'href="/zoom/connect"' in body
    assert "simulated" not in body
    assert 'href="/zoom/account" aria-current="page"' in body  # in the account navigation


def test_the_page_says_when_no_zoom_app_is_configured(app, client, organizer):
    body = page(client)
    assert "ZOOM_CLIENT_ID" in body and 'href="/zoom/connect"' not in body


def test_the_page_says_plainly_when_zoom_is_simulated(app, client, organizer, monkeypatch):
    monkeypatch.setitem(app.config, "ZOOM_FAKE", True)
    assert "Zoom is simulated on this site" in page(client)


def test_the_page_shows_the_connected_account(app, client, organizer, zoom_oauth):
    store_connection(app, organizer.id)
    body = page(client)
    assert "old@example.com" in body and "Connected since" in body
    assert 'action="/zoom/disconnect"' in body
    assert "old-access-token" not in body


def test_the_page_asks_to_reconnect_when_zoom_refused_the_token(app, client, organizer,
                                                                zoom_oauth):
    store_connection(app, organizer.id, needs_reconnect_at=utcnow(), last_error="invalid_grant")
    body = page(client)
    assert "Your Zoom account needs to be connected again." in body
    assert "Zoom said: invalid_grant" in body
    assert 'href="/zoom/connect"' in body


# --- Keys rotation


OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def test_keys_rotate_re_encrypts_the_tokens(app, make_app):
    user = create_user(app, email="organizer@example.com")
    with make_app(ENCRYPTION_KEYS=OLD_KEY).app_context():
        make_connection(user.id)
        db.session.commit()
    before = raw_tokens(app)
    rotating = make_app(ENCRYPTION_KEYS=f"{NEW_KEY},{OLD_KEY}")
    result = rotating.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    after = raw_tokens(app)
    assert after[0] != before[0] and after[1] != before[1]
    with make_app(ENCRYPTION_KEYS=NEW_KEY).app_context():  # the old key is gone
        connection = db.session.scalar(sa.select(ZoomConnection))
        assert connection.access_token == "old-access-token"
        assert connection.refresh_token == "old-refresh-token"


# --- Admin


def test_the_admin_view_lists_connections_without_their_tokens(app, client):
    admin = create_user(app, email="admin@example.com", is_admin=True)
    store_connection(app, admin.id, needs_reconnect_at=utcnow(), last_error="invalid_grant")
    log_in(client, admin.email)
    listing = client.get("/admin/zoomconnection/")
    assert listing.status_code == 200
    [connection] = connections(app)
    details = client.get(f"/admin/zoomconnection/details/?id={connection.id}")
    assert details.status_code == 200
    access, refresh = raw_tokens(app)
    for response in (listing, details):
        body = response.get_data(as_text=True)
        assert "old@example.com" in body and "invalid_grant" in body
        for secret in ("old-access-token", "old-refresh-token", access, refresh):
            assert secret not in body
    # Read-only: no editing, creating or deleting.
    assert client.get(f"/admin/zoomconnection/edit/?id={connection.id}").status_code == 302
    assert client.get("/admin/zoomconnection/new/").status_code == 302
    client.post("/admin/zoomconnection/delete/", data={"id": connection.id})
    assert len(connections(app)) == 1


# --- Settings


def test_zoom_is_simulated_unless_in_production(make_app, monkeypatch):
    assert make_app().config["ZOOM_FAKE"] is True
    production = make_app(CONVENE_ENV="production", SECRET_KEY="s", ENCRYPTION_KEYS=NEW_KEY)
    assert production.config["ZOOM_FAKE"] is False
    monkeypatch.setenv("ZOOM_FAKE", "0")
    assert make_app().config["ZOOM_FAKE"] is False
    monkeypatch.setenv("ZOOM_FAKE", "1")
    assert make_app(CONVENE_ENV="production", SECRET_KEY="s",
                    ENCRYPTION_KEYS=NEW_KEY).config["ZOOM_FAKE"] is True
    monkeypatch.setenv("ZOOM_CLIENT_ID", "from-the-environment")
    assert make_app().config["ZOOM_CLIENT_ID"] == "from-the-environment"


# --- Privacy


def test_the_connection_is_exported_without_tokens_and_goes_with_the_account(app, client,
                                                                            organizer,
                                                                            zoom_oauth):
    store_connection(app, organizer.id)
    with app.app_context():
        user = db.session.get(User, organizer.id)
        exported = privacy.export_user_data(user)["zoom_connection"]
        assert exported["zoom_email"] == "old@example.com"
        assert "token" not in json.dumps(exported)
    with responses.RequestsMock() as mock:
        mock.post(REVOKE_URL, json={"status": "success"})
        response = post_form(client, "/account/delete", {"password": PASSWORD},
                             page="/account/privacy")
        assert response.status_code == 200  # the "account deleted" page
        assert form_body(mock.calls[0].request)["token"] == ["old-access-token"]
    assert connections(app) == []

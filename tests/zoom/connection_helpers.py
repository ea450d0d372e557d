"""A Zoom OAuth app for the tests: its credentials, Zoom's URLs, and a stored connection."""

from __future__ import annotations

import base64
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from app.core.types import utcnow
from app.extensions import db
from app.zoom.models import ZoomConnection

CLIENT_ID = "zoom-client-id"
CLIENT_SECRET = "zoom-client-secret"
BASIC_AUTH = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
API = "https://api.zoom.us/v2"
TOKEN_URL = "https://zoom.us/oauth/token"
AUTHORIZE_URL = "https://zoom.us/oauth/authorize"
REVOKE_URL = "https://zoom.us/oauth/revoke"
CALLBACK = "http://localhost/zoom/oauth/callback"

# As Zoom's token endpoint answers (https://developers.zoom.us/docs/integrations/oauth/).
TOKEN = {
    "access_token": "eyJ-new-access-token",
    "token_type": "bearer",
    "refresh_token": "eyJ-new-refresh-token",
    "expires_in": 3599,
    "scope": "meeting:write:meeting meeting:read:list_past_participants user:read:user",
    "api_url": "https://api.zoom.us",
}
PROFILE = {
    "id": "KDcuGIm1QgePTO8WbOqwIQ",
    "account_id": "q6gBJVO5TzexKYTb_I2rpg",
    "email": "host@example.com",
    "first_name": "Jill",
    "last_name": "Chill",
}


@pytest.fixture
def zoom_oauth(app, monkeypatch):
    """A configured Zoom OAuth app, and Zoom for real (ZOOM_FAKE off)."""
    for name, value in (("ZOOM_CLIENT_ID", CLIENT_ID), ("ZOOM_CLIENT_SECRET", CLIENT_SECRET),
                        ("ZOOM_FAKE", False)):
        monkeypatch.setitem(app.config, name, value)


def make_connection(user_id: int, *, expires_in: float = 3600, **fields) -> ZoomConnection:
    """A stored connection (flushed, not committed) whose access token expires in
    `expires_in` seconds."""
    values = {
        "zoom_user_id": PROFILE["id"],
        "zoom_account_id": PROFILE["account_id"],
        "zoom_email": "old@example.com",
        "access_token": "old-access-token",
        "refresh_token": "old-refresh-token",
        "expires_at": utcnow() + timedelta(seconds=expires_in),
        "scopes": "meeting:write:meeting",
        **fields,
    }
    connection = ZoomConnection(user_id=user_id, **values)
    db.session.add(connection)
    db.session.flush()
    return connection


def form_body(request) -> dict[str, list[str]]:
    body = request.body
    return parse_qs(body.decode() if isinstance(body, bytes) else body)


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)

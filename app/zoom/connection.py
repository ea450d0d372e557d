"""Connecting an organizer's Zoom account: Zoom's OAuth authorization-code flow (through
Authlib), the token refresh, the disconnection and Zoom's deauthorization notice.

Zoom's endpoints: authorize and token under ZOOM_OAUTH_BASE (the token endpoint takes the
client id and secret as HTTP Basic auth), GET /users/me under ZOOM_API_BASE for who
connected. Services flush; the view commits.
"""

from __future__ import annotations

import logging

import requests
import sqlalchemy as sa
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from flask import current_app
from flask_babel import gettext as _

from app.core import privacy
from app.core.errors import DomainError
from app.core.types import utcnow
from app.core.urls import external_url
from app.extensions import db
from app.zoom.models import ZoomConnection

log = logging.getLogger(__name__)

REFRESH_LEEWAY = 60  # seconds before expires_at when the access token is refreshed
TIMEOUT = 30


def oauth_url(path: str) -> str:
    return current_app.config["ZOOM_OAUTH_BASE"].rstrip("/") + path


def is_configured() -> bool:
    return bool(current_app.config.get("ZOOM_CLIENT_ID") and current_app.config.get(
        "ZOOM_CLIENT_SECRET"))


def oauth_session(**kwargs) -> OAuth2Session:
    config = current_app.config
    session = OAuth2Session(
        client_id=config["ZOOM_CLIENT_ID"],
        client_secret=config["ZOOM_CLIENT_SECRET"],
        token_endpoint_auth_method="client_secret_basic",
        token_endpoint=oauth_url("/oauth/token"),
        redirect_uri=external_url("zoom.oauth_callback"),
        leeway=REFRESH_LEEWAY,
        **kwargs,
    )
    session.default_timeout = TIMEOUT
    return session


def authorization_url() -> tuple[str, str]:
    """Zoom's authorize URL and the `state` it carries (the view keeps it in the session)."""
    return oauth_session().create_authorization_url(oauth_url("/oauth/authorize"))


def authorized_session(connection: ZoomConnection) -> OAuth2Session:
    """A session with the connection's token; when Authlib refreshes it, the new token is
    stored on the connection (Zoom rotates refresh tokens: losing the new one would end the
    connection at the next refresh)."""

    def update_token(token, refresh_token=None, access_token=None):
        connection.store_token(token)
        keep_at_once(connection)

    return oauth_session(token=connection.as_token(), update_token=update_token)


TOKEN_COLUMNS = (
    "access_token", "refresh_token", "expires_at", "scopes", "needs_reconnect_at", "last_error"
)


def keep_at_once(connection: ZoomConnection) -> None:
    """Write the connection's token state in a transaction of its own, committed now.

    Zoom honours only the newest refresh token: if the operation that caused a refresh then
    fails and rolls back (a refused meeting, a failed job), the token Zoom just issued must
    survive it, or the organizer would have to reconnect. The row is written on a second
    connection and marked committed in this session (so this session never writes it again).
    When that cannot be done without waiting on this session itself — the row is new or
    locked in this transaction, or SQLite's one write lock is this session's — the write joins
    the session's transaction instead (the operations that call Zoom do so before they write).
    """
    from sqlalchemy.orm.attributes import set_committed_value

    values = {name: getattr(connection, name) for name in TOKEN_COLUMNS}
    if not _holds_sqlite_write_lock() and _write_independently(connection.id, values):
        for name, value in values.items():
            set_committed_value(connection, name, value)
        return
    db.session.flush()


def _write_independently(connection_id: int, values: dict) -> bool:
    try:
        with db.engine.begin() as independent:
            row = independent.execute(
                sa.select(ZoomConnection.id)
                .where(ZoomConnection.id == connection_id)
                .with_for_update(nowait=True)  # locked by this session's transaction: give up
            ).first()
            if row is None:  # not committed yet: created in this session's transaction
                return False
            independent.execute(
                sa.update(ZoomConnection).where(ZoomConnection.id == connection_id).values(values)
            )
    except sa.exc.OperationalError:
        return False
    return True


def _holds_sqlite_write_lock() -> bool:
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        return False
    return connection.connection.dbapi_connection.in_transaction


class ZoomConnectionService:
    @staticmethod
    def connect(user_id: int, code: str) -> ZoomConnection:
        """Exchange the authorization code, ask Zoom who connected, keep the connection (one
        per user: connecting again replaces the old one)."""
        session = oauth_session()
        try:
            token = session.fetch_token(oauth_url("/oauth/token"), code=code)
            response = session.get(
                current_app.config["ZOOM_API_BASE"].rstrip("/") + "/users/me", timeout=TIMEOUT
            )
        except OAuthError as error:
            raise DomainError(_("Zoom refused the connection: %(reason)s",
                                reason=error.description or error.error)) from error
        except requests.RequestException as error:
            raise DomainError(
                _("Zoom could not be reached: %(error)s", error=str(error))
            ) from error
        if response.status_code != 200:
            from app.zoom.client import zoom_message

            raise DomainError(_("Zoom did not tell who connected: %(reason)s",
                                reason=zoom_message(response)))
        profile = response.json()
        connection = ZoomConnection.of(user_id) or ZoomConnection(user_id=user_id)
        connection.store_token(token)
        connection.zoom_user_id = str(profile.get("id") or "")
        connection.zoom_account_id = str(profile.get("account_id") or "")
        connection.zoom_email = str(profile.get("email") or "")
        connection.connected_at = utcnow()
        db.session.add(connection)
        db.session.flush()
        return connection

    @staticmethod
    def disconnect(connection: ZoomConnection) -> None:
        """Revoke the token at Zoom (best effort: the connection goes either way) and forget
        it. Meetings already created stay at Zoom."""
        if is_configured():
            try:
                oauth_session().revoke_token(
                    oauth_url("/oauth/revoke"), token=connection.access_token,
                    timeout=TIMEOUT,
                )
            except (OAuthError, requests.RequestException) as error:
                log.warning("Zoom token revocation failed for user %s: %s",
                            connection.user_id, error)
        db.session.delete(connection)
        db.session.flush()

    @staticmethod
    def forget_deauthorized(zoom_user_id: str, zoom_account_id: str) -> int:
        """Zoom's app_deauthorized: the user removed the app at Zoom, the tokens are dead.
        Returns how many connections were deleted."""
        if not zoom_user_id:
            return 0
        query = sa.select(ZoomConnection).where(ZoomConnection.zoom_user_id == zoom_user_id)
        if zoom_account_id:
            query = query.where(ZoomConnection.zoom_account_id == zoom_account_id)
        connections = db.session.scalars(query).all()
        for connection in connections:
            db.session.delete(connection)
        db.session.flush()
        return len(connections)


def export_connection(user) -> dict | None:
    """"Download my data": which Zoom account is connected (never the tokens)."""
    connection = ZoomConnection.of(user)
    if connection is None:
        return None
    return {
        "zoom_email": connection.zoom_email,
        "zoom_user_id": connection.zoom_user_id,
        "zoom_account_id": connection.zoom_account_id,
        "scopes": connection.scopes,
        "connected_at": connection.connected_at.isoformat(),
        "needs_reconnect_at": (connection.needs_reconnect_at.isoformat()
                               if connection.needs_reconnect_at else None),
    }


def forget_connection(user) -> None:
    """Account deletion: disconnect Zoom (revoking the token at Zoom, best effort)."""
    connection = ZoomConnection.of(user)
    if connection is not None:
        ZoomConnectionService.disconnect(connection)


privacy.register("zoom_connection", export=export_connection, anonymise=forget_connection)

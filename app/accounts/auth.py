"""Flask-Login wiring: a request is authenticated by a live UserSession, not just a user id."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, current_app, redirect, request, url_for
from flask_babel import lazy_gettext as _l

from app.accounts.models import User, UserSession
from app.core.bearer import hash_token
from app.core.htmx import is_htmx, redirect_to
from app.core.types import utcnow
from app.extensions import db, login_manager


def init_auth(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please log in to see that page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(unauthorized)


def load_user(token: str) -> User | None:
    """The user of a live login session, in one query; records when it was last seen."""
    row = db.session.execute(
        sa.select(UserSession, User)
        .join(User, UserSession.user_id == User.id)
        .where(UserSession.token_hash == hash_token(token), UserSession.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    session, user = row
    if not user.is_active:
        return None
    user._login_token = token
    user.current_session = session
    _touch(session)
    return user


def _touch(session: UserSession) -> None:
    """Write last-seen at most once per interval, on its own connection: a request's own
    transaction must not be committed by the act of loading the user."""
    now = utcnow()
    if not session.is_due_for_touch(now):
        return
    ip_address = (request.remote_addr or "")[:45]
    with db.engine.begin() as connection:
        connection.execute(
            sa.update(UserSession)
            .where(UserSession.id == session.id)
            .values(last_seen_at=now, ip_address=ip_address)
        )
    sa.orm.attributes.set_committed_value(session, "last_seen_at", now)
    sa.orm.attributes.set_committed_value(session, "ip_address", ip_address)


def unauthorized():
    """Anonymous visitors go to the login page and come back afterwards."""
    login_url = url_for("accounts.login", next=request.full_path.rstrip("?"))
    if is_htmx():
        return redirect_to(login_url)
    if current_app.login_manager.login_message:
        from flask import flash

        flash(str(current_app.login_manager.login_message), "info")
    return redirect(login_url)

"""Signed, expiring links for email verification and password reset.

A reset token carries the user's security stamp, which changes when the password is set:
so a reset link works once. A verification token carries the email address it confirms.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.core.errors import ValidationError

VERIFY_EMAIL = "verify-email"
RESET_PASSWORD = "reset-password"

_MAX_AGE_SETTING = {VERIFY_EMAIL: "VERIFY_EMAIL_MAX_AGE", RESET_PASSWORD: "RESET_PASSWORD_MAX_AGE"}


class InvalidToken(ValidationError):
    pass


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"convene.{purpose}")


def make_token(user, purpose: str) -> str:
    payload = {"u": str(user.uuid)}
    if purpose == VERIFY_EMAIL:
        payload["e"] = user.email
    else:
        payload["s"] = user.security_stamp
    return _serializer(purpose).dumps(payload)


def read_token(token: str, purpose: str) -> dict:
    """The token's payload; raises InvalidToken with a message for a person."""
    max_age = current_app.config[_MAX_AGE_SETTING[purpose]]
    try:
        return _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        raise InvalidToken(_l("This link has expired. Ask for a new one below.")) from None
    except BadSignature:
        raise InvalidToken(
            _l("This link is not valid. Check that you copied all of it.")
        ) from None


def token_matches(user, payload: dict, purpose: str) -> bool:
    """Whether a decoded payload still applies to `user` (same address, unchanged stamp)."""
    if payload.get("u") != str(user.uuid):
        return False
    if purpose == VERIFY_EMAIL:
        return payload.get("e") == user.email
    return payload.get("s") == user.security_stamp

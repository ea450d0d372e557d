"""The password policy: long enough, not too long, and not easy to guess (zxcvbn)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from zxcvbn import zxcvbn

from app.core.errors import ValidationError

MIN_LENGTH = 10
MAX_LENGTH = 128
MIN_SCORE = 3  # zxcvbn: "safely unguessable" against online attacks and slow offline ones


def check_password_strength(password: str, *, user_inputs: list[str] = ()) -> None:
    """Raise ValidationError(field="password") explaining what is wrong with `password`."""
    if len(password) < MIN_LENGTH:
        raise ValidationError(
            _l("Use at least %(count)d characters for your password.", count=MIN_LENGTH),
            field="password",
        )
    if len(password) > MAX_LENGTH:
        raise ValidationError(
            _l("Use at most %(count)d characters for your password.", count=MAX_LENGTH),
            field="password",
        )
    inputs = [part for value in user_inputs if value for part in _parts(value)]
    result = zxcvbn(password, user_inputs=inputs)
    if result["score"] < MIN_SCORE:
        feedback = result["feedback"]
        hints = " ".join(filter(None, [feedback.get("warning"), *feedback.get("suggestions", [])]))
        raise ValidationError(
            _l("This password is too easy to guess. %(hints)s", hints=hints), field="password"
        )


def _parts(value: str) -> list[str]:
    """A name or email split into the words an attacker would try first."""
    words = value.lower().replace("@", " ").replace(".", " ").split()
    return [value.lower(), *words]

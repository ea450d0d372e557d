"""The password policy: long enough, not too long, and not easy to guess (zxcvbn)."""

from __future__ import annotations

from zxcvbn import zxcvbn

from app.core.errors import ValidationError

MIN_LENGTH = 10
MAX_LENGTH = 128
MIN_SCORE = 3  # zxcvbn: "safely unguessable" against online attacks and slow offline ones


def check_password_strength(password: str, *, user_inputs: list[str] = ()) -> None:
    """Raise ValidationError(field="password") explaining what is wrong with `password`."""
    if len(password) < MIN_LENGTH:
        raise ValidationError(
            f"Use at least {MIN_LENGTH} characters for your password.", field="password"
        )
    if len(password) > MAX_LENGTH:
        raise ValidationError(
            f"Use at most {MAX_LENGTH} characters for your password.", field="password"
        )
    inputs = [part for value in user_inputs if value for part in _parts(value)]
    result = zxcvbn(password, user_inputs=inputs)
    if result["score"] < MIN_SCORE:
        feedback = result["feedback"]
        hints = " ".join(filter(None, [feedback.get("warning"), *feedback.get("suggestions", [])]))
        raise ValidationError(
            ("This password is too easy to guess. " + hints).strip(), field="password"
        )


def _parts(value: str) -> list[str]:
    """A name or email split into the words an attacker would try first."""
    words = value.lower().replace("@", " ").replace(".", " ").split()
    return [value.lower(), *words]

"""Helpers shared by every area's views for forms and redirects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

from flask import flash

from app.core.errors import DomainError
from app.extensions import db

T = TypeVar("T")

FORM_ERROR_STATUS = 422  # a form re-rendered with errors


def show_error(form, error: DomainError) -> None:
    """Attach a domain error to the form field it names, or flash it when it names none."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        flash(error.message, "error")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What became of one operation: its result when it was committed, else the refusal."""

    value: T | None = None
    error: DomainError | None = None

    def __bool__(self) -> bool:
        return self.error is None


def attempt(action: Callable[[], T], form: Any = None, *, show: bool = True) -> Outcome[T]:
    """Run one operation as one transaction: commit what it did, or roll all of it back when
    the domain refuses it and show why — on the form field the error names, else as a flashed
    message (`show=False` leaves that to the caller, who reads `outcome.error`)."""
    try:
        value = action()
    except DomainError as error:
        db.session.rollback()
        if show:
            show_error(form, error)
        return Outcome(error=error)
    db.session.commit()
    return Outcome(value=value)


def safe_next_url(target: str | None, default: str) -> str:
    """`target` when it is a path on this site, else `default` (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    # Browsers read "/\evil.example" as "//evil.example" and drop tabs and newlines from a
    # URL, so "/\t/evil.example" would be one too: refuse backslashes and control characters.
    if "\\" in target or any(ord(char) < 32 or ord(char) == 127 for char in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target

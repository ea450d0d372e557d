"""Helpers shared by every area's views for forms and redirects."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash

from app.core.errors import DomainError

FORM_ERROR_STATUS = 422  # a form re-rendered with errors


def show_error(form, error: DomainError) -> None:
    """Attach a domain error to the form field it names, or flash it when it names none."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        flash(error.message, "error")


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

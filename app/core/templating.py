"""Template globals and filters: HTMX detection and dates in the viewer's timezone."""

from __future__ import annotations

from datetime import datetime

from flask import Flask
from flask_babel import format_datetime, format_timedelta

from app.core.htmx import is_htmx
from app.core.types import utcnow


def local_datetime(value: datetime | None, format: str = "medium") -> str:
    """A datetime in the viewer's timezone and locale (Babel does both)."""
    if value is None:
        return ""
    return format_datetime(value, format)


def time_ago(value: datetime | None) -> str:
    if value is None:
        return ""
    return format_timedelta(value - utcnow(), add_direction=True)


def register(app: Flask) -> None:
    app.jinja_env.globals.update(is_htmx=is_htmx)
    app.jinja_env.filters.update(datetime=local_datetime, time_ago=time_ago)

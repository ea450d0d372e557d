"""Template globals and filters: HTMX detection and dates in the viewer's timezone."""

from __future__ import annotations

from datetime import datetime

from flask import Flask, g
from flask_babel import format_datetime, format_timedelta, get_translations

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


def _translations():
    """The request's translations, looked up once: Flask-Babel's own template callables look
    them up again for every `_()`, which was a quarter of a simple page's time."""
    if "_convene_translations" not in g:
        g._convene_translations = get_translations()
    return g._convene_translations


def register(app: Flask) -> None:
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
    )
    app.jinja_env.globals.update(is_htmx=is_htmx)
    app.jinja_env.filters.update(datetime=local_datetime, time_ago=time_ago)

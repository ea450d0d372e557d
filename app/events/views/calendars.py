"""calendars pages."""

from app.events.views import bp  # noqa: F401

"""Public event pages: the listing and one event."""

from app.events.views import bp  # noqa: F401

"""Routes: see app/registrations/views/__init__.py."""

from app.registrations.views import bp  # noqa: F401

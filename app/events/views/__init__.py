"""The events blueprint: organizer pages, public pages, speakers and calendars, each in its
own module so that each stays small."""

from flask import Blueprint

bp = Blueprint("events", __name__)

from app.events.views import public  # noqa: E402,F401  (routes register on import)

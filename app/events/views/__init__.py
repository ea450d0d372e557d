"""The events blueprint. Routes live in one module per job so that each stays small:
manage (organizer pages), speakers, public (listing, event page, dashboard), calendars."""

from flask import Blueprint

bp = Blueprint("events", __name__)

from app.events.views import calendars, manage, public, speakers  # noqa: E402,F401

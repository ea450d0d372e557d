"""The registrations blueprint, one module per job: attend (an attendee registers, sees and
cancels their registration), roster (the organizer's attendee list, check-in, messages),
outreach (invitations and reminders)."""

from flask import Blueprint

bp = Blueprint("registrations", __name__)

from app.registrations.views import attend, outreach, roster  # noqa: E402,F401

"""Public event pages: the listing, one event, and the user's dashboard."""

from flask import render_template
from flask_login import login_required

from app.events.views import bp


@bp.get("/events")
def event_list():
    # Placeholder route so that navigation links resolve; the public pages replace it.
    return render_template("events/public/list.html")


@bp.get("/dashboard")
@login_required
def dashboard():
    return render_template("events/public/dashboard.html")

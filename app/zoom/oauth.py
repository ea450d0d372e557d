"""The organizer's Zoom page: connect a Zoom account (OAuth), see its state, disconnect it;
and the local page fake meeting links lead to when ZOOM_FAKE is on.

The rules live in app/zoom/connection.py.
"""

from __future__ import annotations

import re

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.accounts.forms import EmptyForm
from app.core.forms import attempt
from app.core.htmx import redirect_to
from app.zoom.connection import ZoomConnectionService, authorization_url, is_configured
from app.zoom.models import ZoomConnection
from app.zoom.views import bp

STATE_KEY = "zoom_oauth_state"
MEETING_ID = re.compile(r"^[0-9]{9,12}$")


def _account_url() -> str:
    return url_for("zoom.account")


@bp.get("/zoom/account")
@login_required
def account():
    return render_template(
        "zoom/account.html", connection=ZoomConnection.of(current_user),
        is_configured=is_configured(), is_fake=current_app.config.get("ZOOM_FAKE"),
        form=EmptyForm(),
    )


@bp.get("/zoom/connect")
@login_required
def connect():
    if not is_configured():
        flash(_("Zoom is not set up on this site: an administrator must set ZOOM_CLIENT_ID "
                "and ZOOM_CLIENT_SECRET."), "error")
        return redirect(_account_url(), code=303)
    url, state = authorization_url()
    session[STATE_KEY] = state
    return redirect(url, code=303)


@bp.get("/zoom/oauth/callback")
@login_required
def oauth_callback():
    expected = session.pop(STATE_KEY, None)
    if not expected or request.args.get("state") != expected:
        return _failed(_("This Zoom answer does not belong to a connection you started here "
                         "(or it was already used). Nothing was stored: start again."))
    if request.args.get("error"):
        return _failed(_("Zoom did not connect your account: %(reason)s",
                         reason=request.args.get("error_description")
                         or request.args["error"]))
    code = request.args.get("code", "")
    if not code:
        return _failed(_("Zoom sent no authorization code. Nothing was stored: start again."))
    outcome = attempt(lambda: ZoomConnectionService.connect(current_user.id, code), show=False)
    if outcome.error:
        return _failed(outcome.error.message)
    flash(_("Your Zoom account %(email)s is connected.", email=outcome.value.zoom_email),
          "success")
    return redirect(_account_url(), code=303)


def _failed(reason: str):
    return render_template("zoom/connect_failed.html", reason=reason), 400


@bp.post("/zoom/disconnect")
@login_required
def disconnect():
    if not EmptyForm().validate_on_submit():
        abort(400)
    connection = ZoomConnection.of(current_user)
    if connection is not None:
        attempt(lambda: ZoomConnectionService.disconnect(connection))
        flash(_("Your Zoom account is disconnected."), "success")
    return redirect_to(_account_url())


@bp.get("/zoom/fake/<meeting_id>")
def fake_meeting(meeting_id: str):
    if not current_app.config.get("ZOOM_FAKE") or not MEETING_ID.match(meeting_id):
        abort(404)
    return render_template("zoom/fake_meeting.html", meeting_id=meeting_id,
                           is_host=request.args.get("role") == "host")

"""The organizer's attendance page: per session, each attendee's minutes, percent and
whether they attended; the participants nobody matched, to match by hand or ignore; the CSV.

Every route loads the event with `load_event_for_editing` (404 when the user cannot see it,
403 when they cannot edit it); the rules live in app/zoom/attendance.py.
"""

from __future__ import annotations

import csv
import io
import uuid

import sqlalchemy as sa
from flask import Response, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from app.accounts.forms import EmptyForm
from app.certificates.services import EventEligibility
from app.core.forms import attempt
from app.core.htmx import redirect_to, render
from app.events.models import Event
from app.events.queries import event_part_or_404
from app.events.views.manage import load_event_for_editing
from app.extensions import db
from app.registrations.models import Registration
from app.zoom.attendance import (
    AttendanceService,
    SessionBlock,
    attendance_blocks,
    csv_rows,
    own_attendance,
)
from app.zoom.models import AttendanceRecord
from app.zoom.views import bp

# The attendee's own figures, on their registration page (templates/registrations/attend).
bp.add_app_template_global(own_attendance, "own_attendance")


def _page_url(event: Event) -> str:
    return url_for("zoom.manage_attendance", event_uuid=event.uuid)


def _qualifying(event: Event, blocks: list[SessionBlock]) -> tuple[int, int]:
    """How many of the attendees holding a seat qualify for a certificate, of how many: the
    certificates' own rule, so that the two pages never disagree."""
    attendees = {line.registration.id: line.registration
                 for block in blocks for line in block.lines if line.registration.holds_seat}
    judged = EventEligibility(event).of(attendees.values())
    return sum(1 for verdict in judged.values() if verdict.eligible), len(attendees)


@bp.get("/events/<uuid:event_uuid>/attendance")
@login_required
def manage_attendance(event_uuid: uuid.UUID):
    event = load_event_for_editing(event_uuid)
    blocks = attendance_blocks(event)
    return render("zoom/attendance.html", "zoom/_attendance.html", event=event,
                  blocks=blocks, qualifying=_qualifying(event, blocks), actions=EmptyForm())


@bp.get("/events/<uuid:event_uuid>/attendance.csv")
@login_required
def export_attendance(event_uuid: uuid.UUID):
    event = load_event_for_editing(event_uuid)
    buffer = io.StringIO()
    csv.writer(buffer).writerows(csv_rows(event))
    return Response(
        buffer.getvalue(), mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="attendance-{event.slug}.csv"'},
    )


def _record_of(event: Event, record_uuid: uuid.UUID) -> AttendanceRecord:
    return event_part_or_404(AttendanceRecord, event, record_uuid)


def _done(event: Event, message: str | None):
    if message:
        flash(message, "success")
    return redirect_to(_page_url(event))


@bp.post("/events/<uuid:event_uuid>/attendance/<uuid:record_uuid>/match")
@login_required
def match_participant(event_uuid: uuid.UUID, record_uuid: uuid.UUID):
    event = load_event_for_editing(event_uuid)
    record = _record_of(event, record_uuid)
    if not EmptyForm().validate_on_submit():
        abort(400)
    registration = None
    try:
        chosen = uuid.UUID(request.form.get("registration", ""))
    except ValueError:
        chosen = None
    if chosen is not None:
        registration = db.session.scalar(
            sa.select(Registration).where(Registration.uuid == chosen,
                                          Registration.event_id == event.id)
        )
    name = record.user_name or record.email
    outcome = attempt(lambda: AttendanceService.match_by_hand(event, record, registration))
    return _done(event, None if outcome.error else _(
        "%(participant)s is now matched to %(name)s.", participant=name,
        name=registration.display_name if registration else ""))


@bp.post("/events/<uuid:event_uuid>/attendance/<uuid:record_uuid>/ignore")
@login_required
def ignore_participant(event_uuid: uuid.UUID, record_uuid: uuid.UUID):
    event = load_event_for_editing(event_uuid)
    record = _record_of(event, record_uuid)
    if not EmptyForm().validate_on_submit():
        abort(400)
    name = record.user_name or record.email
    outcome = attempt(lambda: AttendanceService.ignore(event, record))
    return _done(event, None if outcome.error else _(
        "%(participant)s is ignored.", participant=name))

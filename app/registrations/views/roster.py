"""The organizer's attendee page ("roster"): the list with search, filters and pages, the
counts and chart, the CSV export, check-in, cancel / move from the waitlist / add someone,
and "email attendees". Every route loads the event with `load_event_for_editing` (404 when
the user cannot see it, 403 when they cannot edit it); the rules live in
app/registrations/roster.py, app/registrations/messages.py and RegistrationService.
"""

from __future__ import annotations

import csv
import io
import uuid

import sqlalchemy as sa
from flask import (
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy.orm import joinedload, selectinload
from wtforms import EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length

from app.accounts.forms import EmptyForm
from app.core.errors import DomainError
from app.core.forms import FORM_ERROR_STATUS, attempt, show_error
from app.core.htmx import is_htmx, render
from app.events.models import Event
from app.events.queries import event_part_or_404
from app.events.views.manage import load_event_for_editing
from app.extensions import db
from app.registrations.messages import (
    AUDIENCE_LABELS,
    BODY_MAX,
    SUBJECT_MAX,
    VARIABLES,
    Audience,
    MessageService,
    audience_label,
    check_templates,
    count_recipients,
    subjects_as_sent,
)
from app.registrations.models import AttendeeMessage, Registration
from app.registrations.roster import (
    RosterFilters,
    RosterService,
    answer_choices,
    csv_header,
    csv_rows,
    registration_chart,
    roster_counts,
    roster_page,
    roster_row,
)
from app.registrations.services import RegistrationService
from app.registrations.views import bp

# --- Forms


class AddAttendeeForm(FlaskForm):
    full_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])


class MessageForm(FlaskForm):
    audience = SelectField(
        _l("Send to"),
        choices=[(audience.value, label) for audience, label in AUDIENCE_LABELS.items()],
        default=Audience.CONFIRMED.value,
    )
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=SUBJECT_MAX)])
    body = TextAreaField(
        _l("Message"),
        validators=[DataRequired(), Length(max=BODY_MAX)],
        description=_l("Plain text. Use {{ attendee_name }} and the other variables below; "
                       "each person receives their own copy."),
        render_kw={"rows": 10},
    )

    @property
    def chosen_audience(self) -> Audience:
        return Audience(self.audience.data)

    def check(self) -> bool:
        """The form's own checks and the template checks (syntax, variables), all at once."""
        self.validate()
        for name, messages in check_templates(self.subject.data or "",
                                              self.body.data or "").items():
            field = getattr(self, name)
            field.errors = [*field.errors, *(m for m in messages if m not in field.errors)]
        return not self.errors


# --- The attendee page


def _load(event_uuid: uuid.UUID) -> Event:
    return load_event_for_editing(event_uuid, selectinload(Event.custom_fields))


def _roster_url(event: Event, filters: RosterFilters | None = None) -> str:
    return url_for("registrations.manage_attendees", event_uuid=event.uuid,
                   **(filters.args() if filters else {}))


def _roster_context(event: Event, filters: RosterFilters) -> dict:
    return {
        "event": event,
        "filters": filters,
        "results": roster_page(event, filters),
        "counts": roster_counts(event),
        "answer_choices": answer_choices(filters.question),
        "actions": EmptyForm(),
        "can_check_in": event.format.has_venue,
    }


@bp.get("/events/<uuid:event_uuid>/attendees")
@login_required
def manage_attendees(event_uuid: uuid.UUID):
    event = _load(event_uuid)
    filters = RosterFilters.from_args(request.args, event)
    context = _roster_context(event, filters)
    if not is_htmx():
        context.update(chart=registration_chart(event),
                       add_form=AddAttendeeForm(formdata=None))
    return render("registrations/roster/attendees.html", "registrations/roster/_results.html",
                  **context)


@bp.get("/events/<uuid:event_uuid>/attendees.csv")
@login_required
def export_attendees(event_uuid: uuid.UUID):
    """The list as CSV with the page's filters, streamed: the rows are read in batches while
    the response is sent, in an app context of their own (not the request's, which has
    ended by then)."""
    event = _load(event_uuid)
    stream = _csv_stream(current_app._get_current_object(), event.id,
                         request.args.to_dict(), csv_header(event))
    return Response(
        stream, mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="attendees-{event.slug}.csv"'},
    )


def _csv_stream(app, event_id: int, args: dict, header: list[str]):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    with app.app_context():
        event = db.session.get(Event, event_id)
        filters = RosterFilters.from_args(args, event)
        for row in csv_rows(event, filters):
            writer.writerow(row)
            if buffer.tell() > 64 * 1024:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue()


def _registration_of(event: Event, registration_uuid: uuid.UUID) -> Registration:
    return event_part_or_404(Registration, event, registration_uuid)


@bp.post("/events/<uuid:event_uuid>/attendees/<uuid:registration_uuid>/check-in")
@login_required
def check_in_attendee(event_uuid: uuid.UUID, registration_uuid: uuid.UUID):
    """Toggle the check-in; HTMX gets the row back (and the counts and the message, out of
    band), as it now is: changed, or unchanged with the reason."""
    event = _load(event_uuid)
    registration = _registration_of(event, registration_uuid)
    attempt(lambda: RosterService.check_in(registration))  # a refusal is flashed
    if is_htmx():
        event = _load(event_uuid)
        return render_template(
            "registrations/roster/_row_swap.html", event=event,
            row=roster_row(event, registration_uuid), counts=roster_counts(event),
            actions=EmptyForm(), can_check_in=event.format.has_venue,
        )
    return _after_change(event)


@bp.post("/events/<uuid:event_uuid>/attendees/<uuid:registration_uuid>/cancel")
@login_required
def cancel_attendee(event_uuid: uuid.UUID, registration_uuid: uuid.UUID):
    event = _load(event_uuid)
    registration = _registration_of(event, registration_uuid)
    name = registration.display_name
    outcome = attempt(lambda: RegistrationService.cancel(registration, current_user))
    if outcome:
        flash(_("The registration of %(name)s is cancelled.", name=name), "success")
        for promoted in outcome.value:
            flash(_("%(name)s moved up from the waitlist and is emailed.",
                    name=promoted.display_name), "success")
    return _after_change(event)


@bp.post("/events/<uuid:event_uuid>/attendees/<uuid:registration_uuid>/promote")
@login_required
def promote_attendee(event_uuid: uuid.UUID, registration_uuid: uuid.UUID):
    event = _load(event_uuid)
    registration = _registration_of(event, registration_uuid)
    name = registration.display_name
    if attempt(lambda: RegistrationService.promote(registration, current_user)):
        flash(_("%(name)s has a seat now and is emailed.", name=name), "success")
    return _after_change(event)


def _after_change(event: Event):
    """HTMX (a row's button, with the filters included) gets the list back, with the counts
    out of band; a plain form goes back to the page it came from."""
    event = _load(event.uuid)
    filters = RosterFilters.from_args(request.form, event)
    if is_htmx():
        return render_template("registrations/roster/_results.html",
                               **_roster_context(event, filters), refresh_counts=True)
    return redirect(_roster_url(event, filters), code=303)


@bp.post("/events/<uuid:event_uuid>/attendees/add")
@login_required
def add_attendee(event_uuid: uuid.UUID):
    event = _load(event_uuid)
    form = AddAttendeeForm()
    if form.validate():
        added = attempt(
            lambda: RosterService.add_attendee(event, form.email.data, form.full_name.data),
            form,
        )
        if added:
            registration = added.value.registration
            name = registration.display_name
            if registration.holds_seat:
                message = _("%(name)s is registered and emailed a confirmation.", name=name)
            else:
                message = _("The event is full: %(name)s is on the waitlist and is emailed.",
                            name=name)
            flash(message, "success")
            if added.value.password_link_sent:
                flash(_("%(name)s is new here: they are also emailed a link to choose a "
                        "password.", name=name), "info")
            return redirect(_roster_url(event), code=303)
    event = _load(event_uuid)
    filters = RosterFilters.from_args({}, event)
    return render_template(
        "registrations/roster/attendees.html", **_roster_context(event, filters),
        chart=registration_chart(event), add_form=form, add_open=True,
    ), FORM_ERROR_STATUS


# --- Email attendees


def _messages_context(event: Event, form: MessageForm) -> dict:
    history = db.session.scalars(
        sa.select(AttendeeMessage)
        .where(AttendeeMessage.event_id == event.id)
        .order_by(AttendeeMessage.created_at.desc(), AttendeeMessage.id.desc())
        .options(joinedload(AttendeeMessage.sent_by))
    ).all()
    return {
        "event": event,
        "form": form,
        "history": history,
        "subjects": subjects_as_sent(history),
        "variables": VARIABLES,
        "audience_sizes": {a.value: count_recipients(event, a) for a in Audience},
        "audience_label": audience_label,
    }


@bp.get("/events/<uuid:event_uuid>/messages")
@login_required
def manage_messages(event_uuid: uuid.UUID):
    event = load_event_for_editing(event_uuid)
    form = MessageForm(formdata=None)
    return render_template("registrations/roster/messages.html",
                           **_messages_context(event, form))


@bp.post("/events/<uuid:event_uuid>/messages")
@login_required
def send_message(event_uuid: uuid.UUID):
    event = load_event_for_editing(event_uuid)
    form = MessageForm()
    if form.check():
        sent = attempt(lambda: MessageService.send(
            event, current_user, form.chosen_audience, form.subject.data, form.body.data
        ), form)
        if sent:
            flash(_("Your message is on its way to %(count)s people.",
                    count=sent.value.recipient_count), "success")
            return redirect(url_for("registrations.manage_messages", event_uuid=event.uuid),
                            code=303)
    event = load_event_for_editing(event_uuid)
    return render_template("registrations/roster/messages.html",
                           **_messages_context(event, form)), FORM_ERROR_STATUS


@bp.post("/events/<uuid:event_uuid>/messages/preview")
@login_required
def preview_message(event_uuid: uuid.UUID):
    """The message as its first recipient would read it; nothing is sent or saved."""
    event = load_event_for_editing(event_uuid)
    form = MessageForm()
    preview = None
    if form.check():
        try:
            preview = MessageService.preview(event, current_user, form.chosen_audience,
                                             form.subject.data, form.body.data)
        except DomainError as error:
            show_error(form, error)
    db.session.rollback()
    return render_template("registrations/roster/_preview.html", event=event, form=form,
                           preview=preview)

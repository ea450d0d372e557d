"""Organizer pages: create and edit an event, change its status, build its schedule and its
registration questions. Every route loads the event by uuid, lets `user.can_edit_event`
decide (404 when the user cannot even see the event, 403 when they can see but not edit),
calls one model method or service, commits once, and redirects (303) or renders.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload, selectinload

from app.accounts.forms import EmptyForm
from app.core.errors import DomainError
from app.core.forms import FORM_ERROR_STATUS, attempt, safe_next_url, show_error
from app.core.htmx import dialog_done, is_htmx, redirect_to, render
from app.core.templating import datetime_long
from app.core.urls import external_url
from app.events.forms import (
    CancelEventForm,
    CustomFieldForm,
    EventForm,
    RescheduleForm,
    SessionForm,
    VenueForm,
    to_utc,
)
from app.events.models import (
    CustomFieldType,
    Event,
    EventCustomField,
    EventSession,
    EventStatusHistory,
    SessionSpeaker,
)
from app.events.services import (
    CustomFieldService,
    EventService,
    VenueService,
    check_details,
    session_time_warnings,
)
from app.events.views import bp
from app.extensions import db
from app.states import EVENT_MACHINE

# The status changes offered as buttons: trigger, endpoint, label, button style.
STATUS_ACTIONS = (
    ("publish", "events.publish_event", _l("Publish"), "button"),
    ("start", "events.start_event", _l("Start now"), "button button-secondary"),
    ("complete", "events.complete_event", _l("Mark as completed"), "button button-secondary"),
    ("close", "events.close_event", _l("Close"), "button button-secondary"),
    ("reopen", "events.reopen_event", _l("Reopen"), "button button-secondary"),
)


# --- Loading and permissions


def load_event_for_editing(event_uuid: uuid.UUID, *options) -> Event:
    """The event, if the current user may edit it: 404 when they cannot even see it (or it
    does not exist), 403 when they can see it but not edit it."""
    event = db.session.scalar(sa.select(Event).where(Event.uuid == event_uuid).options(*options))
    if event is None or not current_user.can_view_event(event):
        abort(404)
    if not current_user.can_edit_event(event):
        abort(403)
    return event


def _session_of(event: Event, session_uuid: uuid.UUID) -> EventSession:
    session = next((s for s in event.sessions if s.uuid == session_uuid), None)
    if session is None:
        abort(404)
    return session


def _field_of(event: Event, field_uuid: uuid.UUID) -> EventCustomField:
    field = next((f for f in event.custom_fields if f.uuid == field_uuid), None)
    if field is None:
        abort(404)
    return field


def _manage_url(event: Event) -> str:
    return url_for("events.manage_event", event_uuid=event.uuid)


def speakers_url(event: Event) -> str | None:
    """The speakers page, when the speakers area provides one."""
    if "events.manage_speakers" not in current_app.view_functions:
        return None
    return url_for("events.manage_speakers", event_uuid=event.uuid)


@bp.app_context_processor
def _manage_helpers() -> dict:
    return {"event_speakers_url": speakers_url}


# --- Creating and editing


def _check_event_form(form: EventForm, event: Event | None = None) -> bool:
    """Run the form's own checks and, when the times could be read, every rule of
    `check_details`: the organizer sees all the problems at once. True when there are none."""
    form.validate()
    readable = form.start_at.data and form.end_at.data
    if readable and not (form.format.errors or form.visibility.errors):
        for problem in check_details(form.to_details(), event, current_user):
            field = getattr(form, problem.field or "", None)
            if field is None or not field.errors:
                show_error(form, problem)
    return not form.errors


@bp.route("/events/new", methods=["GET", "POST"])
@login_required
def create_event():
    form = EventForm()
    if not form.is_submitted():
        form.timezone.process(None, current_user.timezone)  # its choices keep that zone
        form.preselect_organization(request.args.get("organization"))
    elif _check_event_form(form):
        created = attempt(lambda: EventService.create(current_user, form.to_details()), form)
        if created:
            flash(_("“%(title)s” is saved as a draft. Add sessions, then publish it.",
                    title=created.value.title), "success")
            return redirect(_manage_url(created.value), code=303)
    status = FORM_ERROR_STATUS if form.is_submitted() else 200
    return render_template("events/manage/new.html", form=form), status


@bp.post("/events/validate")
@login_required
def validate_new_event():
    return _validation_fragment(EventForm())


@bp.post("/events/<uuid:event_uuid>/validate")
@login_required
def validate_event(event_uuid: uuid.UUID):
    event = load_event_for_editing(event_uuid, selectinload(Event.sessions))
    return _validation_fragment(EventForm(), event)


def _validation_fragment(form: EventForm, event: Event | None = None):
    """The problems with what has been typed so far; nothing is saved. Fields still empty
    are not reported yet: the organizer has not reached them."""
    _check_event_form(form, event)
    db.session.rollback()
    problems = [
        (field, error)
        for field in form
        if field.errors and field.name != "csrf_token" and _was_typed(field)
        for error in field.errors
    ]
    return render_template("events/manage/_event_form_check.html", problems=problems)


def _was_typed(field) -> bool:
    return any(value.strip() for value in request.form.getlist(field.name))


@bp.route("/events/<uuid:event_uuid>/edit", methods=["GET", "POST"])
@login_required
def edit_event(event_uuid: uuid.UUID):
    event = load_event_for_editing(event_uuid, selectinload(Event.sessions))
    form = EventForm.for_event(event)
    if form.is_submitted():
        try:
            event.check_editable()
            if _check_event_form(form, event):
                EventService.update(event, form.to_details(), editor=current_user)
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
            if not event.is_editable:
                return redirect(_manage_url(event), code=303)
        if not form.errors:
            db.session.commit()
            flash(_("The event is saved."), "success")
            return redirect(_manage_url(event), code=303)
    status = FORM_ERROR_STATUS if form.is_submitted() else 200
    return render_template("events/manage/edit.html", event=event, form=form), status


@bp.route("/venues/new", methods=["GET", "POST"])
@login_required
def create_venue():
    """Add a venue: a page of its own, or (HTMX) the dialog of the event form, which on
    success adds the venue to the form's Venue list, chosen, and closes; nothing typed in
    the event form is lost."""
    back = safe_next_url(request.values.get("next"), url_for("events.create_event"))
    form = VenueForm()
    if not form.is_submitted():
        form.preselect_organization(request.args.get("organization_id", type=int))
    elif form.validate():
        added = attempt(lambda: VenueService.create(current_user, **form.values()), form)
        if added and is_htmx():
            flash(_("The venue “%(name)s” is added and chosen.", name=added.value.name),
                  "success")
            return dialog_done("events/manage/_venue_added.html", venue=added.value)
        if added:
            flash(_("The venue “%(name)s” is added: choose it in the Venue list.",
                    name=added.value.name), "success")
            return redirect(back, code=303)
    status = FORM_ERROR_STATUS if form.errors else 200
    return render("events/manage/venue.html", "events/manage/_venue_dialog.html",
                  form=form, back=back), status


# --- The overview and status changes


def _status_context(event: Event) -> dict:
    return {
        "event": event,
        "share_url": external_url("events.event_detail", slug=event.slug),
        "actions": [
            (endpoint, label, style)
            for trigger, endpoint, label, style in STATUS_ACTIONS
            if EVENT_MACHINE.may(event, trigger)
        ],
        "can_cancel": EVENT_MACHINE.may(event, "cancel"),
        "cancel_form": CancelEventForm(formdata=None),
        "form": EmptyForm(),
    }


def _overview_options() -> tuple:
    return (
        selectinload(Event.history).joinedload(EventStatusHistory.changed_by),
        selectinload(Event.sessions),
        joinedload(Event.venue),
    )


@bp.get("/events/<uuid:event_uuid>/manage")
@login_required
def manage_event(event_uuid: uuid.UUID):
    event = load_event_for_editing(event_uuid, *_overview_options())
    return render(
        "events/manage/overview.html", "events/manage/_status.html", **_status_context(event)
    )


def _change_status(event: Event, change: Callable[[], None], done: str):
    """Run one status change; refusals become a message. HTMX gets the status panel back."""
    if attempt(change):
        flash(done, "success")
    if is_htmx():
        event = load_event_for_editing(event.uuid, *_overview_options())
        return render_template("events/manage/_status.html", **_status_context(event))
    return redirect(_manage_url(event), code=303)


@bp.post("/events/<uuid:event_uuid>/publish")
@login_required
def publish_event(event_uuid: uuid.UUID):
    event = load_event_for_editing(event_uuid, selectinload(Event.sessions))
    return _change_status(event, lambda: event.publish(current_user), _published(event))


def _published(event: Event) -> str:
    """What publishing did, as it will happen: the start time ahead, or already passed."""
    if event.is_recurring:
        return _("The event is published: it is listed while it repeats.")
    if event.has_started():
        return _("The event is published. Its start time has passed, so it goes live "
                 "within a minute.")
    return _("The event is published. It goes live by itself on %(start)s.",
             start=datetime_long(event.start_at, event.timezone))


@bp.post("/events/<uuid:event_uuid>/start")
@login_required
def start_event(event_uuid: uuid.UUID):
    """Start now; more than EARLY_START_NOTICE ahead of time the organizer confirms first
    (a form posting `confirm`), and the model refuses an unconfirmed early start anyway."""
    event = load_event_for_editing(event_uuid)
    confirmed = request.form.get("confirm") == "yes"
    if not confirmed and event.start_needs_confirmation() and EVENT_MACHINE.may(event, "start"):
        return render("events/manage/start_confirm.html", "events/manage/_start_confirm.html",
                      event=event, form=EmptyForm())
    return _change_status(
        event, lambda: event.start_by_hand(current_user, _("Started by hand"),
                                          confirmed=confirmed),
        _("The event is live."),
    )


@bp.post("/events/<uuid:event_uuid>/complete")
@login_required
def complete_event(event_uuid: uuid.UUID):
    event = load_event_for_editing(event_uuid)
    return _change_status(event, lambda: event.complete(current_user, _("Completed by hand")),
                          _("The event is completed."))


@bp.post("/events/<uuid:event_uuid>/close")
@login_required
def close_event(event_uuid: uuid.UUID):
    event = load_event_for_editing(event_uuid)
    return _change_status(event, lambda: event.close(current_user),
                          _("The event is closed: nothing more can change."))


@bp.post("/events/<uuid:event_uuid>/reopen")
@login_required
def reopen_event(event_uuid: uuid.UUID):
    event = load_event_for_editing(event_uuid)
    return _change_status(event, lambda: event.reopen(current_user),
                          _("The event is reopened."))


@bp.post("/events/<uuid:event_uuid>/cancel")
@login_required
def cancel_event(event_uuid: uuid.UUID):
    event = load_event_for_editing(event_uuid, selectinload(Event.sessions))
    form = CancelEventForm()
    return _change_status(event, lambda: event.cancel(current_user, form.reason.data or ""),
                          _("The event is cancelled."))


@bp.post("/events/<uuid:event_uuid>/delete")
@login_required
def delete_event(event_uuid: uuid.UUID):
    event = load_event_for_editing(event_uuid)
    if not attempt(event.delete_draft):
        return redirect_to(_manage_url(event))
    flash(_("The draft “%(title)s” is deleted.", title=event.title), "success")
    return redirect_to(url_for("events.dashboard"))


@bp.route("/events/<uuid:event_uuid>/reschedule", methods=["GET", "POST"])
@login_required
def reschedule_event(event_uuid: uuid.UUID):
    event = load_event_for_editing(event_uuid, selectinload(Event.sessions))
    form = RescheduleForm()
    if not form.is_submitted():
        form.start_at.data = event.local(event.start_at).replace(tzinfo=None)
    elif form.validate():
        new_start = to_utc(form.start_at.data, event.tzinfo)
        new_end = new_start + (event.end_at - event.start_at)
        if attempt(lambda: event.reschedule(new_start, new_end), form):
            flash(_("The event and its sessions are moved."), "success")
            return redirect(_manage_url(event), code=303)
    status = FORM_ERROR_STATUS if form.is_submitted() else 200
    return render_template("events/manage/reschedule.html", event=event, form=form), status


# --- Sessions


def _schedule_options() -> tuple:
    return (
        selectinload(Event.sessions)
        .selectinload(EventSession.speakers)
        .joinedload(SessionSpeaker.user),
    )


def _render_sessions(event: Event, form: SessionForm, status: int = 200):
    return render(
        "events/manage/sessions.html", "events/manage/_sessions.html",
        event=event, form=form, days=event.get_sessions_by_day(), actions=EmptyForm(),
    ), status


@bp.get("/events/<uuid:event_uuid>/sessions")
@login_required
def manage_sessions(event_uuid: uuid.UUID):
    event = load_event_for_editing(event_uuid, *_schedule_options())
    form = SessionForm(formdata=None)
    start, end = event.next_session_slot()
    form.start_at.data = event.local(start).replace(tzinfo=None)
    form.end_at.data = event.local(end).replace(tzinfo=None)
    return _render_sessions(event, form)


@bp.post("/events/<uuid:event_uuid>/sessions")
@login_required
def add_session(event_uuid: uuid.UUID):
    event = load_event_for_editing(event_uuid, *_schedule_options())
    form = SessionForm()
    if form.validate():
        added = attempt(lambda: event.add_session(**form.to_fields(event)), form)
        if added:
            flash(_("“%(title)s” is added to the schedule.", title=added.value.title),
                  "success")
            return redirect(url_for("events.manage_sessions", event_uuid=event.uuid), code=303)
    # A rolled-back add leaves the event expired: render from a fresh load.
    event = load_event_for_editing(event_uuid, *_schedule_options())
    return render_template(
        "events/manage/sessions.html", event=event, form=form,
        days=event.get_sessions_by_day(), actions=EmptyForm(),
    ), FORM_ERROR_STATUS


@bp.post("/events/<uuid:event_uuid>/sessions/check")
@login_required
def check_session_times(event_uuid: uuid.UUID):
    """The live warning under the session times: overlaps, outside the event. Saves nothing."""
    event = load_event_for_editing(event_uuid, selectinload(Event.sessions))
    form = SessionForm()
    form.validate()
    start_at, end_at = (None, None)
    if not (form.start_at.errors or form.end_at.errors):
        start_at, end_at = form.times(event)
    ignore = None
    if request.form.get("session_uuid"):
        try:
            ignore = _session_of(event, uuid.UUID(request.form["session_uuid"]))
        except ValueError:
            abort(400)
    warnings = []
    if start_at and end_at:
        warnings = session_time_warnings(event, start_at, end_at, ignore)
    return render_template("events/manage/_session_check.html", warnings=warnings)


@bp.route("/events/<uuid:event_uuid>/sessions/<uuid:session_uuid>/edit",
          methods=["GET", "POST"])
@login_required
def edit_session(event_uuid: uuid.UUID, session_uuid: uuid.UUID):
    event = load_event_for_editing(event_uuid, selectinload(Event.sessions))
    session = _session_of(event, session_uuid)
    form = SessionForm.for_session(session)
    save = lambda: EventService.update_session(  # noqa: E731
        event, session, **form.to_fields(event)
    )
    if form.is_submitted() and form.validate() and attempt(save, form):
        flash(_("“%(title)s” is saved.", title=session.title), "success")
        return redirect(url_for("events.manage_sessions", event_uuid=event.uuid), code=303)
    status = FORM_ERROR_STATUS if form.is_submitted() else 200
    return render_template(
        "events/manage/session_edit.html", event=event, session=session, form=form
    ), status


def _schedule_change(event_uuid: uuid.UUID, session_uuid: uuid.UUID, change, done: str | None):
    event = load_event_for_editing(event_uuid, *_schedule_options())
    session = _session_of(event, session_uuid)
    if attempt(lambda: change(event, session)) and done:
        flash(done % {"title": session.title}, "success")
    if is_htmx():
        event = load_event_for_editing(event_uuid, *_schedule_options())
        return render_template(
            "events/manage/_sessions.html", event=event, days=event.get_sessions_by_day(),
            actions=EmptyForm(),
        )
    return redirect(url_for("events.manage_sessions", event_uuid=event_uuid), code=303)


@bp.post("/events/<uuid:event_uuid>/sessions/<uuid:session_uuid>/cancel")
@login_required
def cancel_session(event_uuid: uuid.UUID, session_uuid: uuid.UUID):
    reason = request.form.get("reason", "")
    return _schedule_change(
        event_uuid, session_uuid, lambda event, session: event.cancel_session(session, reason),
        _("“%(title)s” is cancelled."),
    )


@bp.post("/events/<uuid:event_uuid>/sessions/<uuid:session_uuid>/move-up")
@login_required
def move_session_up(event_uuid: uuid.UUID, session_uuid: uuid.UUID):
    return _schedule_change(
        event_uuid, session_uuid, lambda event, session: event.move_session(session, -1), None
    )


@bp.post("/events/<uuid:event_uuid>/sessions/<uuid:session_uuid>/move-down")
@login_required
def move_session_down(event_uuid: uuid.UUID, session_uuid: uuid.UUID):
    return _schedule_change(
        event_uuid, session_uuid, lambda event, session: event.move_session(session, 1), None
    )


# --- Custom registration fields


def _fields_options() -> tuple:
    return (selectinload(Event.custom_fields),)


@bp.get("/events/<uuid:event_uuid>/fields")
@login_required
def manage_fields(event_uuid: uuid.UUID):
    event = load_event_for_editing(event_uuid, *_fields_options())
    return render(
        "events/manage/fields.html", "events/manage/_fields.html",
        event=event, form=CustomFieldForm(formdata=None), actions=EmptyForm(),
    )


@bp.post("/events/<uuid:event_uuid>/fields")
@login_required
def add_field(event_uuid: uuid.UUID):
    event = load_event_for_editing(event_uuid, *_fields_options())
    form = CustomFieldForm()
    if form.validate():
        added = attempt(lambda: CustomFieldService.add(
            event, label=form.label.data, field_type=CustomFieldType(form.field_type.data),
            required=form.required.data, options=form.option_list(),
            help_text=form.help_text.data or "",
        ), form)
        if added:
            flash(_("The question “%(label)s” is added.", label=added.value.label), "success")
            return redirect(url_for("events.manage_fields", event_uuid=event.uuid), code=303)
    event = load_event_for_editing(event_uuid, *_fields_options())
    return render_template(
        "events/manage/fields.html", event=event, form=form, actions=EmptyForm()
    ), FORM_ERROR_STATUS


def _fields_change(event_uuid: uuid.UUID, field_uuid: uuid.UUID, change, done: str | None):
    event = load_event_for_editing(event_uuid, *_fields_options())
    field = _field_of(event, field_uuid)
    label = field.label
    if attempt(lambda: change(event, field)) and done:
        flash(done % {"label": label}, "success")
    if is_htmx():
        event = load_event_for_editing(event_uuid, *_fields_options())
        return render_template("events/manage/_fields.html", event=event, actions=EmptyForm())
    return redirect(url_for("events.manage_fields", event_uuid=event_uuid), code=303)


@bp.post("/events/<uuid:event_uuid>/fields/<uuid:field_uuid>/delete")
@login_required
def delete_field(event_uuid: uuid.UUID, field_uuid: uuid.UUID):
    return _fields_change(event_uuid, field_uuid, CustomFieldService.remove,
                          _("The question “%(label)s” is deleted."))


@bp.post("/events/<uuid:event_uuid>/fields/<uuid:field_uuid>/move-up")
@login_required
def move_field_up(event_uuid: uuid.UUID, field_uuid: uuid.UUID):
    return _fields_change(
        event_uuid, field_uuid, lambda event, field: CustomFieldService.move(event, field, -1),
        None,
    )


@bp.post("/events/<uuid:event_uuid>/fields/<uuid:field_uuid>/move-down")
@login_required
def move_field_down(event_uuid: uuid.UUID, field_uuid: uuid.UUID):
    return _fields_change(
        event_uuid, field_uuid, lambda event, field: CustomFieldService.move(event, field, 1),
        None,
    )

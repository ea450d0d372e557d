"""The organizer's speakers page (search, add, invite, assign to sessions, remove) and a
speaker's own sessions. Rules live in SpeakerService; each failure is one message."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.accounts.models import User
from app.core.fields import text_param
from app.core.forms import FORM_ERROR_STATUS, attempt
from app.core.htmx import is_htmx, render
from app.events.models import Event, EventSession
from app.events.permissions import EventPermission
from app.events.queries import event_part_or_404
from app.events.services import MIN_SEARCH_LENGTH, SpeakerService
from app.events.speaker_forms import (
    ROLE_LABELS,
    AddSpeakerForm,
    AssignSpeakerForm,
    InviteSpeakerForm,
)
from app.events.views import bp
from app.extensions import db
from app.states import UserStatus

PAGE = "events/speakers/manage.html"


def load_event(event_uuid: uuid.UUID, permission: EventPermission) -> Event:
    """The event, if the current user has `permission` in it: 404 when they may not even
    see the event, 403 when they may see it but not do this."""
    event = db.session.scalar(sa.select(Event).where(Event.uuid == event_uuid))
    if event is None:
        abort(404)
    if not current_user.has_event_permission(event, permission):
        abort(403 if current_user.can_view_event(event) else 404)
    return event


def load_session(event: Event, session_uuid: uuid.UUID) -> EventSession:
    return event_part_or_404(EventSession, event, session_uuid)


def load_user(user_uuid) -> User | None:
    if user_uuid is None:
        return None
    return db.session.scalar(sa.select(User).where(User.uuid == user_uuid))


def board(event: Event, **extra) -> dict:
    """What the speakers panel shows, in a constant number of queries."""
    sessions = event.get_sessions_with_speakers()
    speakers = event.get_speakers_with_sessions(sessions)
    return {
        "event": event,
        "sessions": sessions,
        "speakers": speakers,
        "speaker_count": sum(1 for entry in speakers if entry.is_event_speaker),
        "add_form": AddSpeakerForm(sessions, formdata=None),
        "assign_form": AssignSpeakerForm([entry.user for entry in speakers], formdata=None),
        "role_labels": ROLE_LABELS,
        **extra,
    }


def respond(event: Event, message: str, ok: bool, invite_form: InviteSpeakerForm | None = None):
    """HTMX gets the panel back with the message in its live region (422 on a refusal);
    a plain form post gets a flash and a redirect to the page. `message` is plain text: a
    lazy message has `__html__`, so Jinja and the session cookie would take it for markup."""
    if is_htmx():
        context = board(event, message=message, ok=ok, invite_form=invite_form)
        status = 200 if ok else FORM_ERROR_STATUS
        return render_template("events/speakers/_response.html", **context), status
    flash(message, "success" if ok else "error")
    return redirect(url_for("events.manage_speakers", event_uuid=event.uuid), code=303)


def commit_or_refuse(event: Event, action, success: str):
    done = attempt(action, show=False)
    if not done:
        return respond(event, done.error.message, ok=False)
    return respond(event, success, ok=True)


@bp.get("/events/<uuid:event_uuid>/speakers")
@login_required
def manage_speakers(event_uuid: uuid.UUID):
    event = load_event(event_uuid, EventPermission.MANAGE_SPEAKERS)
    q = text_param(request.args.get("q"))
    context = board(event, q=q, candidates=SpeakerService.find_candidates(event, q))
    context["invite_form"] = InviteSpeakerForm(context["sessions"], formdata=None)
    return render_template(PAGE, min_length=MIN_SEARCH_LENGTH, **context)


@bp.get("/events/<uuid:event_uuid>/speakers/search")
@login_required
def search_speakers(event_uuid: uuid.UUID):
    event = load_event(event_uuid, EventPermission.MANAGE_SPEAKERS)
    q = text_param(request.args.get("q"))
    if not is_htmx():
        return redirect(url_for("events.manage_speakers", event_uuid=event.uuid, q=q or None))
    return render(
        PAGE, "events/speakers/_search_results.html",
        event=event, q=q, min_length=MIN_SEARCH_LENGTH,
        candidates=SpeakerService.find_candidates(event, q),
        add_form=AddSpeakerForm(event.get_schedule(), formdata=None),
    )


@bp.post("/events/<uuid:event_uuid>/speakers")
@login_required
def add_speaker(event_uuid: uuid.UUID):
    event = load_event(event_uuid, EventPermission.MANAGE_SPEAKERS)
    form = AddSpeakerForm(event.get_schedule())
    user = load_user(form.user_uuid) if form.validate_on_submit() else None
    if user is None or user.status != UserStatus.ACTIVE:
        return respond(event, _("Choose a person from the search results."), ok=False)
    session = form.chosen_session
    if session is not None:
        action = lambda: SpeakerService.register_speaker_for_session(  # noqa: E731
            session, user, form.chosen_role
        )
        done = _("%(name)s now speaks at “%(session)s”.", name=user.display_name,
                 session=session.title)
    else:
        action = lambda: SpeakerService.add_event_speaker(event, user)  # noqa: E731
        done = _("%(name)s is now a speaker of this event.", name=user.display_name)
    return commit_or_refuse(event, action, done)


@bp.post("/events/<uuid:event_uuid>/sessions/<uuid:session_uuid>/speakers")
@login_required
def assign_session_speaker(event_uuid: uuid.UUID, session_uuid: uuid.UUID):
    event = load_event(event_uuid, EventPermission.MANAGE_SPEAKERS)
    session = load_session(event, session_uuid)
    people = [entry.user for entry in event.get_speakers_with_sessions()]
    form = AssignSpeakerForm(people)
    if not form.validate_on_submit():
        return respond(event, _("Choose one of the event's speakers and a role."), ok=False)
    user = next(u for u in people if str(u.uuid) == form.user.data)
    return commit_or_refuse(
        event,
        lambda: SpeakerService.register_speaker_for_session(session, user, form.chosen_role),
        _("%(name)s now speaks at “%(session)s”.", name=user.display_name, session=session.title),
    )


@bp.post("/events/<uuid:event_uuid>/sessions/<uuid:session_uuid>/speakers/<uuid:user_uuid>/remove")
@login_required
def remove_session_speaker(event_uuid: uuid.UUID, session_uuid: uuid.UUID, user_uuid: uuid.UUID):
    event = load_event(event_uuid, EventPermission.MANAGE_SPEAKERS)
    session = load_session(event, session_uuid)
    user = load_user(user_uuid)
    if user is None or not session.has_speaker(user):
        abort(404)
    return commit_or_refuse(
        event,
        lambda: SpeakerService.remove_session_speaker(session, user),
        _("%(name)s no longer speaks at “%(session)s”.", name=user.display_name,
          session=session.title),
    )


@bp.post("/events/<uuid:event_uuid>/speakers/<uuid:user_uuid>/remove")
@login_required
def remove_speaker(event_uuid: uuid.UUID, user_uuid: uuid.UUID):
    event = load_event(event_uuid, EventPermission.MANAGE_SPEAKERS)
    user = load_user(user_uuid)
    if user is None:
        abort(404)
    return commit_or_refuse(
        event,
        lambda: SpeakerService.remove_event_speaker(event, user),
        _("%(name)s is no longer a speaker of this event.", name=user.display_name),
    )


@bp.post("/events/<uuid:event_uuid>/speakers/invite")
@login_required
def invite_speaker(event_uuid: uuid.UUID):
    event = load_event(event_uuid, EventPermission.MANAGE_SPEAKERS)
    form = InviteSpeakerForm(event.get_schedule())
    if form.validate_on_submit():
        invited = attempt(lambda: SpeakerService.invite_speaker(
            event, current_user, email=form.email.data, full_name=form.full_name.data or "",
            session=form.chosen_session, role=form.chosen_role,
        ), show=False)
        if not invited:
            return invite_refused(event, form, invited.error.message, invited.error)
        user, emailed = invited.value
        if emailed:
            message = _("%(email)s is invited: we emailed them a link to set a password.",
                        email=user.email)
        else:
            message = _("%(name)s already has an account and is now a speaker.",
                        name=user.display_name)
        fresh = InviteSpeakerForm(event.get_schedule(), formdata=None)
        return respond(event, message, ok=True, invite_form=fresh)
    return invite_refused(event, form, _("Check the highlighted fields of the invitation."))


def invite_refused(event: Event, form: InviteSpeakerForm, message: str, error=None):
    """The invitation form again, with what was typed, its errors and the message."""
    field = getattr(form, error.field, None) if error is not None and error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    if is_htmx():
        return respond(event, message, ok=False, invite_form=form)
    flash(message, "error")
    context = board(event, q="", candidates=[], invite_form=form)
    return render_template(PAGE, min_length=MIN_SEARCH_LENGTH, **context), FORM_ERROR_STATUS


@bp.get("/events/<uuid:event_uuid>/my-sessions")
@login_required
def my_sessions(event_uuid: uuid.UUID):
    event = load_event(event_uuid, EventPermission.VIEW_OWN_SESSIONS)
    sessions = [s for s in event.get_sessions_with_speakers() if s.has_speaker(current_user)]
    return render_template(
        "events/speakers/my_sessions.html", event=event, sessions=sessions,
        zone=current_user.tzinfo, role_labels=ROLE_LABELS,
    )

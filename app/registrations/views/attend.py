"""The attendee's side of registration: the registration form (logged in, or as a guest; with
the event's questions and, when offered, session sign-up), the person's own registration page,
adding and dropping sessions, and cancelling. The rules live in RegistrationService."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import abort, flash, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField, StringField
from wtforms.validators import DataRequired, Length

from app.core.errors import DomainError, ValidationError
from app.core.forms import FORM_ERROR_STATUS, attempt, safe_next_url
from app.core.htmx import redirect_to
from app.events.models import Event, EventSession
from app.events.views.public import can_view, viewer_zone
from app.extensions import db
from app.registrations.answers import AnswerErrors, answers_by_field, input_name
from app.registrations.invitations import InvitationService
from app.registrations.models import Registration
from app.registrations.services import (
    LIVE_STATUSES,
    OPEN_STATUSES,
    RegistrationOutcome,
    RegistrationService,
    session_seats,
)
from app.registrations.views import bp
from app.states import RegistrationStatus

# A guest (not logged in) sees the registrations made in this browser: their uuids are kept
# in the signed session cookie, and nobody else's browser has them.
GUEST_KEY = "guest_registrations"
GUEST_KEEP = 20


class RegistrationForm(FlaskForm):
    """Who registers (guests only; a logged-in person is who they are). The questions and the
    session picks are built from the event: see templates/registrations/attend/_form.html."""

    full_name = StringField(
        _l("Full name"), validators=[DataRequired(_l("Enter your name.")), Length(max=200)]
    )
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(_l("Enter your email address.")), Length(max=254)],
        description=_l("We send your confirmation here, and a link to choose a password."),
    )

    @classmethod
    def for_viewer(cls, invitation=None) -> RegistrationForm:
        form = cls()
        if current_user.is_authenticated:
            del form.full_name
            del form.email
        elif invitation is not None and not form.is_submitted():
            form.email.data = invitation.email
        return form


# --- Loading


def load_event(slug: str):
    """The event and the invitation whose link was followed (?invite=<token>): 404 when the
    event does not exist for this person (a private event, unless the link invites them)."""
    event = event_by_slug(slug)
    if event is None or event.is_deleted:
        abort(404)
    invitation = InvitationService.for_token(event, request.args.get("invite"))
    if not can_view(event) and invitation is None:
        abort(404)
    return event, invitation


def event_by_slug(slug: str) -> Event | None:
    """Just the event: these pages load its questions and sessions when they show them (a
    registration, the hot path, needs little of what the event page loads)."""
    return db.session.scalar(sa.select(Event).where(Event.slug == slug))


def guest_uuids() -> list[str]:
    return list(session.get(GUEST_KEY, []))


def remember_for_guest(registration: Registration) -> None:
    kept = [u for u in guest_uuids() if u != str(registration.uuid)]
    session[GUEST_KEY] = [*kept, str(registration.uuid)][-GUEST_KEEP:]


def is_owner(registration: Registration) -> bool:
    if current_user.is_authenticated and registration.user_id == current_user.id:
        return True
    return str(registration.uuid) in guest_uuids()


def load_own_registration(registration_uuid: uuid.UUID) -> Registration:
    """The registration, if it is the viewer's; 404 otherwise (nobody learns it exists)."""
    registration = db.session.scalar(
        sa.select(Registration).where(Registration.uuid == registration_uuid)
    )
    if registration is None or not is_owner(registration):
        abort(404)
    return registration


def find_own_registration(event: Event) -> Registration | None:
    """The viewer's registration for the event: the live one, else the latest cancelled."""
    if current_user.is_authenticated:
        owner = Registration.user_id == current_user.id
    else:
        uuids = [uuid.UUID(u) for u in guest_uuids()]
        if not uuids:
            return None
        owner = Registration.uuid.in_(uuids)
    return db.session.scalar(
        sa.select(Registration)
        .where(Registration.event_id == event.id, owner)
        .order_by(Registration.status.in_(LIVE_STATUSES).desc(), Registration.id.desc())
        .limit(1)
    )


def submitted_sessions(event: Event) -> list[EventSession] | None:
    """The sessions picked on the registration form (None: the event has no sign-up)."""
    if not event.session_signup:
        return None
    return picked_sessions(event, request.form.getlist("sessions"))


def picked_sessions(event: Event, names: list[str]) -> list[EventSession]:
    """The sessions of `event` named by the submitted uuids; a forged one is refused."""
    by_uuid = {str(s.uuid): s for s in event.sessions}
    unknown = [name for name in names if name not in by_uuid]
    if unknown:
        raise ValidationError(_("Choose sessions from the list."), field="sessions")
    return [by_uuid[name] for name in dict.fromkeys(names)]


# --- Registering


def render_form(event, form, invitation, status=200, answer_errors=None, session_error=None):
    refused = RegistrationService.refusal(
        event, current_user if current_user.is_authenticated else None, invitation
    )
    return render_template(
        "registrations/attend/register.html",
        event=event,
        form=form,
        invitation=invitation,
        refusal=refused[1] if refused else None,
        state=RegistrationService.state_for(event),
        fields=event.custom_fields,
        values=request.form if request.method == "POST" else {},
        answer_errors=answer_errors or {},
        session_error=session_error,
        sessions=event.get_schedule() if event.session_signup else [],
        seats=session_seats(event) if event.session_signup else {},
        picked=set(request.form.getlist("sessions")) if request.method == "POST" else set(),
        input_name=input_name,
        zone=viewer_zone(event),
    ), status


@bp.route("/events/<slug>/register", methods=["GET", "POST"])
def register(slug: str):
    event, invitation = load_event(slug)
    already = (
        request.method == "GET"
        and current_user.is_authenticated
        and RegistrationService.find_live(event, current_user) is not None
    )
    if already:
        return redirect_to(url_for("registrations.my_registration", slug=event.slug))
    form = RegistrationForm.for_viewer(invitation)
    if request.method == "GET":
        return render_form(event, form, invitation)

    if not form.validate():
        # Show the answers' problems with the form's, all at once.
        try:
            RegistrationService.check_choices(event, request.form, submitted_sessions(event))
        except ValidationError as error:  # AnswerErrors, or a forged session
            return refused(event, form, invitation, error)
        return render_form(event, form, invitation, FORM_ERROR_STATUS)

    def action() -> RegistrationOutcome:
        sessions = submitted_sessions(event)
        if current_user.is_authenticated:
            return RegistrationService.submit(
                event, current_user, answers=request.form, sessions=sessions,
                invitation=invitation,
            )
        return RegistrationService.register_guest(
            event, email=form.email.data, full_name=form.full_name.data, answers=request.form,
            sessions=sessions, invitation=invitation,
        )

    done = attempt(action, show=False)
    if not done:
        return refused(event, form, invitation, done.error)
    return registered(slug, done.value)


def refused(event, form, invitation, error: DomainError):
    if isinstance(error, AnswerErrors):
        return render_form(event, form, invitation, FORM_ERROR_STATUS, error.errors,
                           session_error=error.errors.get("sessions"))
    if error.field == "sessions":
        return render_form(event, form, invitation, FORM_ERROR_STATUS,
                           session_error=error.message)
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        flash(error.message, "error")
    return render_form(event, form, invitation, FORM_ERROR_STATUS)


def registered(slug: str, outcome: RegistrationOutcome):
    """After the commit: say what happened, without loading the committed rows again."""
    registration = outcome.registration
    if not current_user.is_authenticated:
        if not outcome.created and str(registration.uuid) not in guest_uuids():
            # Someone else's registration (or one made in another browser): not shown here.
            flash(_("This email address is already registered for this event. Log in to see "
                    "or change the registration."), "info")
            return redirect_to(url_for("events.event_detail", slug=slug))
        remember_for_guest(registration)
    if not outcome.created:
        flash(_("You were already registered: here is your registration."), "info")
    elif outcome.status == RegistrationStatus.CONFIRMED:
        flash(_("You are registered. We emailed your confirmation."), "success")
    else:
        flash(_("The event is full: you are on the waitlist, number %(position)s in line.",
                position=outcome.position), "warning")
    if outcome.password_link_sent:
        flash(_("We made an account for %(email)s and emailed a link to choose a password.",
                email=registration.email), "info")
    return redirect_to(url_for("registrations.my_registration", slug=slug))


# --- The person's own registration


@bp.get("/events/<slug>/registration")
def my_registration(slug: str):
    event = event_by_slug(slug)
    if event is None:
        abort(404)
    registration = find_own_registration(event)
    if registration is None:
        if not can_view(event):
            abort(404)
        return redirect_to(url_for("registrations.register", slug=event.slug))
    places = [p for p in registration.session_places if p.status in LIVE_STATUSES]
    held = {p.session_id for p in places}
    can_change = (
        registration.is_live and event.session_signup and event.status in OPEN_STATUSES
    )
    return render_template(
        "registrations/attend/registration.html",
        event=event,
        registration=registration,
        position=RegistrationService.waitlist_position(registration),
        answers=answers_by_field(registration),
        places=[(p, RegistrationService.session_position(p)) for p in places],
        addable=[s for s in event.get_schedule() if s.id not in held] if can_change else [],
        seats=session_seats(event) if can_change else {},
        can_change_sessions=can_change,
        is_guest=not current_user.is_authenticated,
        zone=viewer_zone(event),
    )


@bp.post("/registrations/<uuid:registration_uuid>/cancel")
def cancel_registration(registration_uuid: uuid.UUID):
    registration = load_own_registration(registration_uuid)
    event = registration.event
    was_live = registration.is_live
    actor = current_user if current_user.is_authenticated else None
    done = attempt(lambda: RegistrationService.cancel(registration, actor))
    if done and was_live:
        flash(_("Your registration for “%(event)s” is cancelled.", event=event.title), "success")
    default = url_for("registrations.my_registration", slug=event.slug)
    return redirect_to(safe_next_url(request.form.get("next"), default))


@bp.post("/registrations/<uuid:registration_uuid>/sessions")
def add_sessions(registration_uuid: uuid.UUID):
    registration = load_own_registration(registration_uuid)
    event = registration.event
    done = attempt(lambda: RegistrationService.add_sessions(
        registration, picked_sessions(event, request.form.getlist("sessions"))
    ))
    if done:
        flash(_("Your sessions are updated."), "success")
    return redirect_to(url_for("registrations.my_registration", slug=event.slug) + "#sessions")


@bp.post("/registrations/<uuid:registration_uuid>/sessions/<uuid:session_uuid>/drop")
def drop_session(registration_uuid: uuid.UUID, session_uuid: uuid.UUID):
    registration = load_own_registration(registration_uuid)
    event = registration.event
    chosen = next((s for s in event.sessions if s.uuid == session_uuid), None)
    if chosen is None:
        abort(404)
    actor = current_user if current_user.is_authenticated else None
    done = attempt(lambda: RegistrationService.drop_session(registration, chosen, actor))
    if done and done.value:
        flash(_("You left “%(session)s”.", session=chosen.title), "success")
    return redirect_to(url_for("registrations.my_registration", slug=event.slug) + "#sessions")

"""Outreach, for an event's organizers: invitations (paste addresses, resend, delete) and
reminders (add at chosen times before the start, delete pending ones). Routes load the event
with `load_event_for_editing` (404/403 like every organizer page), call one service, commit
once and redirect (303) or render; HTMX buttons get the list fragment back."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from app.accounts.forms import EmptyForm
from app.core.forms import FORM_ERROR_STATUS, attempt
from app.core.htmx import is_htmx
from app.events.models import Event
from app.events.queries import event_part_or_404
from app.events.views.manage import load_event_for_editing
from app.registrations.invitations import (
    PAGE_SIZE,
    InvitationService,
    InviteResult,
    invitation_refusal,
)
from app.registrations.models import EventInvitation, EventReminder
from app.registrations.outreach_forms import InviteForm, ReminderForm
from app.registrations.reminders import (
    ReminderService,
    ReminderState,
    can_add_reminders,
    describe_offset,
)
from app.registrations.views import bp

# --- Invitations


def _invitations_url(event: Event, page: int = 1) -> str:
    values = {"page": page} if page > 1 else {}
    return url_for("registrations.manage_invitations", event_uuid=event.uuid, **values)


def _invitation_of(event: Event, invitation_uuid: uuid.UUID) -> EventInvitation:
    return event_part_or_404(EventInvitation, event, invitation_uuid)


def _invitations_context(event: Event, page: int) -> dict:
    counts = InvitationService.counts(event)
    pages = max((counts.total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(max(page, 1), pages)
    return {
        "event": event, "counts": counts, "invitations": InvitationService.page(event, page),
        "page": page, "pages": pages, "refusal": invitation_refusal(event),
        "actions": EmptyForm(),
    }


def _render_invitations(event: Event, form: InviteForm, result: InviteResult | None = None,
                        status: int = 200, page: int = 1):
    return render_template(
        "registrations/outreach/invitations.html", form=form, result=result,
        **_invitations_context(event, page),
    ), status


@bp.get("/events/<uuid:event_uuid>/invitations")
@login_required
def manage_invitations(event_uuid: uuid.UUID):
    event = load_event_for_editing(event_uuid)
    page = request.args.get("page", 1, type=int)
    if is_htmx():
        return render_template("registrations/outreach/_invitations.html",
                               **_invitations_context(event, page))
    return _render_invitations(event, InviteForm(formdata=None), page=page)


@bp.post("/events/<uuid:event_uuid>/invitations")
@login_required
def invite(event_uuid: uuid.UUID):
    event = load_event_for_editing(event_uuid)
    form = InviteForm()
    if not form.validate():
        return _render_invitations(event, form, status=FORM_ERROR_STATUS)
    done = attempt(lambda: InvitationService.invite(event, current_user, form.addresses.data),
                   form)
    if not done:
        return _render_invitations(event, form, status=FORM_ERROR_STATUS)
    result = done.value
    if result.invited:
        flash(ngettext("%(num)d invitation is on its way.",
                       "%(num)d invitations are on their way.", len(result.invited)), "success")
    # What was not invited stays in the box, the bad addresses first, to fix and paste again.
    retry = InviteForm(formdata=None)
    retry.addresses.data = "\n".join(result.invalid)
    return _render_invitations(event, retry, result=result)


def _invitation_change(event_uuid: uuid.UUID, invitation_uuid: uuid.UUID, change, done: str):
    event = load_event_for_editing(event_uuid)
    invitation = _invitation_of(event, invitation_uuid)
    email = invitation.email
    if attempt(lambda: change(event, invitation)):
        flash(done % {"email": email}, "success")
    page = request.args.get("page", 1, type=int)
    if is_htmx():
        event = load_event_for_editing(event_uuid)
        return render_template("registrations/outreach/_invitations.html",
                               **_invitations_context(event, page))
    return redirect(_invitations_url(event, page), code=303)


@bp.post("/events/<uuid:event_uuid>/invitations/<uuid:invitation_uuid>/resend")
@login_required
def resend_invitation(event_uuid: uuid.UUID, invitation_uuid: uuid.UUID):
    return _invitation_change(
        event_uuid, invitation_uuid,
        lambda event, invitation: InvitationService.resend(event, invitation, current_user),
        _("The invitation to %(email)s is sent again."),
    )


@bp.post("/events/<uuid:event_uuid>/invitations/<uuid:invitation_uuid>/delete")
@login_required
def delete_invitation(event_uuid: uuid.UUID, invitation_uuid: uuid.UUID):
    return _invitation_change(
        event_uuid, invitation_uuid, InvitationService.delete,
        _("The invitation to %(email)s is deleted: its link no longer fills in the form."),
    )


# --- Reminders


def _reminders_context(event: Event) -> dict:
    return {"event": event, "rows": ReminderService.rows(event), "states": ReminderState,
            "can_add": can_add_reminders(event), "actions": EmptyForm()}


def _render_reminders(event: Event, form: ReminderForm, status: int = 200):
    return render_template("registrations/outreach/reminders.html", form=form,
                           **_reminders_context(event)), status


@bp.get("/events/<uuid:event_uuid>/reminders")
@login_required
def manage_reminders(event_uuid: uuid.UUID):
    event = load_event_for_editing(event_uuid)
    if is_htmx():
        return render_template("registrations/outreach/_reminders.html",
                               **_reminders_context(event))
    return _render_reminders(event, ReminderForm(formdata=None))


@bp.post("/events/<uuid:event_uuid>/reminders")
@login_required
def add_reminder(event_uuid: uuid.UUID):
    event = load_event_for_editing(event_uuid)
    form = ReminderForm()
    if form.validate():
        added = attempt(lambda: ReminderService.add(event, form.offset_minutes()), form)
        if added:
            flash(_("Attendees will be reminded %(when)s before the start.",
                    when=describe_offset(added.value.offset_minutes)), "success")
            return redirect(url_for("registrations.manage_reminders", event_uuid=event.uuid),
                            code=303)
        event = load_event_for_editing(event_uuid)  # a rolled-back add expires the event
    return _render_reminders(event, form, FORM_ERROR_STATUS)


@bp.post("/events/<uuid:event_uuid>/reminders/<uuid:reminder_uuid>/delete")
@login_required
def delete_reminder(event_uuid: uuid.UUID, reminder_uuid: uuid.UUID):
    event = load_event_for_editing(event_uuid)
    reminder = event_part_or_404(EventReminder, event, reminder_uuid)
    when = describe_offset(reminder.offset_minutes)
    if attempt(lambda: ReminderService.remove(event, reminder)):
        flash(_("The reminder %(when)s before the start is deleted.", when=when), "success")
    if is_htmx():
        event = load_event_for_editing(event_uuid)
        return render_template("registrations/outreach/_reminders.html",
                               **_reminders_context(event))
    return redirect(url_for("registrations.manage_reminders", event_uuid=event_uuid), code=303)

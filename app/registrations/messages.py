"""“Email attendees”: an organizer writes a subject and a body as Jinja templates, previews
them for the first recipient, and sends one message per recipient.

The templates are organizer-supplied, so they render in the sandbox every person-written
template uses (app/core/sandbox.py) with StrictUndefined and a fixed set of variables
(checked before anything is sent, with the line of each problem, as
EmailTemplate.validate_templates does), within its size budgets and a CPU deadline per
message, and the rendered text has a size limit: a template that expands to megabytes or
loops for long is refused, not sent.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, replace

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from app.core.errors import ValidationError
from app.core.sandbox import RenderFailed, render_source, template_problems, within_deadline
from app.core.templating import datetime_long
from app.core.types import utcnow
from app.core.urls import external_url
from app.events.models import Event
from app.extensions import db
from app.jobs import enqueue
from app.mailing.services import MailService
from app.organizations.branding import email_branding
from app.registrations.models import AttendeeMessage, Registration
from app.states import RegistrationStatus

log = logging.getLogger(__name__)

SUBJECT_MAX = 200  # AttendeeMessage.subject
BODY_MAX = 20_000  # what an organizer may type
RENDERED_MAX = 100_000  # characters a body may expand to for one recipient
SEND_BATCH = 500

VARIABLES = (
    "attendee_name", "attendee_email", "event_title", "event_url", "event_start", "event_end",
    "event_location", "organizer_name",
)



class Audience(enum.Enum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CHECKED_IN = "checked_in"
    EVERYONE = "everyone"  # everyone registered: confirmed and waitlisted

    @property
    def label(self) -> str:
        return str(AUDIENCE_LABELS[self])

    def where(self, event: Event) -> list[sa.ColumnElement[bool]]:
        conditions = [Registration.event_id == event.id]
        if self == Audience.WAITLISTED:
            conditions.append(Registration.status == RegistrationStatus.WAITLISTED)
        elif self == Audience.EVERYONE:
            conditions.append(Registration.status.in_(
                (RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED)))
        else:
            conditions.append(Registration.status == RegistrationStatus.CONFIRMED)
            if self == Audience.CHECKED_IN:
                conditions.append(Registration.checked_in_at.is_not(None))
        return conditions


AUDIENCE_LABELS = {
    Audience.CONFIRMED: _l("Confirmed attendees"),
    Audience.WAITLISTED: _l("People on the waitlist"),
    Audience.CHECKED_IN: _l("Checked-in attendees"),
    Audience.EVERYONE: _l("Everyone registered (confirmed and waitlisted)"),
}


def audience_label(value: str) -> str:
    """The label of a stored audience value (the history shows old messages too)."""
    try:
        return Audience(value).label
    except ValueError:
        return value


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    recipient: str = ""  # whose copy this is (the preview says so)


def check_templates(subject: str, body: str) -> dict[str, list[str]]:
    """Problems per field ("subject", "body"): empty, too long, a syntax error (with its
    line), a variable that is not offered. Empty when the templates may be sent.

    The same checks and messages as EmailTemplate.validate_templates (app/core/sandbox.py).
    """
    errors: dict[str, list[str]] = {}
    for name, source, limit in (("subject", subject, SUBJECT_MAX), ("body", body, BODY_MAX)):
        if not source.strip():
            errors.setdefault(name, []).append(_("This template cannot be empty."))
            continue
        if len(source) > limit:
            errors.setdefault(name, []).append(
                _("Keep it under %(max)s characters.", max=limit))
            continue
        problems = template_problems(source, frozenset(VARIABLES))
        if problems:
            errors[name] = problems
    return errors


def render_for(subject: str, body: str, context: dict) -> Rendered:
    """The subject (one line) and body for one recipient, both within one deadline;
    ValidationError (on the field at fault) when either fails to render or grows past the
    limits."""
    at = {"field": "subject"}

    def both() -> Rendered:
        rendered_subject = " ".join(
            render_source(subject, context, limit=SUBJECT_MAX * 2, field="subject").split())
        at["field"] = "body"
        return Rendered(rendered_subject,
                        render_source(body, context, limit=RENDERED_MAX, field="body"))

    try:
        return within_deadline(both)
    except RenderFailed as error:  # no field: time ran out in the one `at` names
        raise ValidationError(error.message, field=error.field or at["field"]) from error


# --- Context


def event_context(event: Event, sender) -> dict:
    """The variables that are the same for every recipient (`sender`: the organizer)."""
    if not event.format.has_venue:
        location = _("Online")
    else:
        location = (
            ", ".join(part for part in (event.venue.name, event.venue.city) if part)
            if event.venue is not None else _("To be announced")
        )
        if event.format.is_online:
            location = _("%(venue)s and online", venue=location)
    return {
        "event_title": event.title,
        "event_url": external_url("events.event_detail", slug=event.slug),
        "event_start": f"{datetime_long(event.start_at, event.timezone)} ({event.timezone})",
        "event_end": f"{datetime_long(event.end_at, event.timezone)} ({event.timezone})",
        "event_location": location,
        "organizer_name": sender.display_name if sender is not None else "",
    }


def recipient_context(base: dict, registration: Registration) -> dict:
    return {
        **base,
        "attendee_name": registration.display_name,
        "attendee_email": registration.email,
    }


@dataclass(frozen=True)
class _Sample:
    full_name: str
    email: str

    @property
    def display_name(self) -> str:
        return self.full_name or self.email


# Whom the preview is for while the audience is still empty.
SAMPLE_RECIPIENT = _Sample(full_name="Alex Example", email="alex@example.com")


# Shown for what differs per recipient where the history shows a subject.
PER_RECIPIENT = {name: "{{ " + name + " }}" for name in ("attendee_name", "attendee_email")}


def subjects_as_sent(messages: list[AttendeeMessage]) -> dict[int, str]:
    """Each message's subject with its event's values filled in, by message id, for the
    history; what differs per recipient keeps its placeholder. A subject that no longer
    renders (its event changed) is shown as written. One deadline for them all."""
    bases: dict[int | None, dict] = {}
    for message in messages:  # read from the database here, not within the deadline
        if message.sent_by_id not in bases:
            bases[message.sent_by_id] = {**event_context(message.event, message.sent_by),
                                         **PER_RECIPIENT}

    def as_sent(message: AttendeeMessage) -> str:
        try:
            return " ".join(render_source(message.subject, bases[message.sent_by_id],
                                          limit=SUBJECT_MAX * 2).split())
        except RenderFailed:
            return message.subject

    try:
        return within_deadline(lambda: {m.id: as_sent(m) for m in messages})
    except RenderFailed:
        return {message.id: message.subject for message in messages}


# --- Sending


def recipients_query(event: Event, audience: Audience) -> sa.Select:
    return (
        sa.select(Registration)
        .where(*audience.where(event))
        .order_by(Registration.created_at, Registration.id)
    )


def count_recipients(event: Event, audience: Audience) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(Registration.id)).where(*audience.where(event))
    )


def first_recipient(event: Event, audience: Audience) -> Registration | None:
    return db.session.scalar(recipients_query(event, audience).limit(1))


class MessageService:
    @staticmethod
    def preview(event: Event, sender, audience: Audience, subject: str, body: str
                ) -> Rendered:
        """The message as the first recipient of `audience` would receive it (a sample
        attendee when there is nobody yet); nothing is sent or stored."""
        errors = check_templates(subject, body)
        if errors:
            field, messages = next(iter(errors.items()))
            raise ValidationError(messages[0], field=field)
        recipient = first_recipient(event, audience) or SAMPLE_RECIPIENT
        context = recipient_context(event_context(event, sender), recipient)
        rendered = render_for(subject, body, context)
        return replace(rendered, recipient=context["attendee_name"])

    @staticmethod
    def send(event: Event, sender, audience: Audience, subject: str, body: str
             ) -> AttendeeMessage:
        """Record the message and queue its delivery (a job renders and queues one email per
        recipient after the commit). Refused when the templates are wrong, when they do not
        render for the first recipient, or when the audience is empty."""
        errors = check_templates(subject, body)
        if errors:
            field, messages = next(iter(errors.items()))
            raise ValidationError(messages[0], field=field)
        recipient = first_recipient(event, audience)
        if recipient is None:
            raise ValidationError(
                _("Nobody is in this group yet: choose another audience."), field="audience"
            )
        render_for(subject, body, recipient_context(event_context(event, sender), recipient))
        message = AttendeeMessage(
            event=event, sent_by_id=sender.id, audience=audience.value, subject=subject,
            body=body, recipient_count=count_recipients(event, audience),
        )
        db.session.add(message)
        db.session.flush()
        enqueue(send_attendee_message, message.id, queue="emails")
        return message


def send_attendee_message(message_id: int) -> None:
    """Job: render the message for each recipient and queue one email each (delivered by
    their own jobs after this one commits). One transaction: a failure queues nothing and
    the retry starts over, so nobody gets it twice. A recipient whose copy cannot be
    rendered (a huge name, a loop that runs past the deadline for them) is skipped and
    logged as an error with the reason; the others still get theirs."""
    message = db.session.get(AttendeeMessage, message_id)
    if message is None:
        return
    event = message.event
    base = event_context(event, message.sent_by)
    brand = email_branding(event)  # the organization's logo and colour (issue 7)
    audience = Audience(message.audience)
    # People who registered after the message was sent do not get it.
    query = (
        recipients_query(event, audience)
        .where(Registration.created_at <= message.created_at)
        .options(joinedload(Registration.user))
        .execution_options(yield_per=SEND_BATCH)
    )
    sent = skipped = 0
    for registration in db.session.scalars(query):
        try:
            rendered = render_for(message.subject, message.body,
                                  recipient_context(base, registration))
        except ValidationError as error:
            skipped += 1
            log.error("attendee message %s: not sent to registration %s, whose copy cannot "
                      "be rendered: %s", message_id, registration.id, error.message)
            continue
        MailService.send(
            "attendee_message",
            registration.email,
            {
                "message_subject": rendered.subject,
                "message_body": rendered.body,
                "user_name": registration.display_name,
                "event_title": event.title,
                "event_url": base["event_url"],
                **brand,
            },
            user=registration.user,
        )
        sent += 1
    log.info("attendee message %s: %s queued, %s skipped at %s", message_id, sent, skipped,
             utcnow().isoformat())

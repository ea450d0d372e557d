"""Sending email: a log row now, delivery in a job after the commit."""

from __future__ import annotations

import logging
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid

import sqlalchemy as sa
from flask import current_app

from app.core import privacy
from app.core.sandbox import RenderFailed
from app.core.types import utcnow
from app.extensions import db
from app.jobs import enqueue
from app.mailing.attachments import build_attachment, check_attachment_kind
from app.mailing.defaults import DEFAULTS, default_template
from app.mailing.models import EmailLog, EmailStatus, EmailTemplate, RenderedEmail

log = logging.getLogger(__name__)

# Header lines up to RFC 5322's limit of 998 characters. At the default 78, a subject that
# fits on one line only without its "Subject: " is moved whole to a continuation line, and
# readers get it back with a leading space.
MAIL_POLICY = policy.default.clone(max_line_length=998)


class MailService:
    @staticmethod
    def send(
        template_name: str,
        recipient: str,
        context: dict,
        user=None,
        attachments: list[dict] | None = None,
    ) -> EmailLog:
        """Queue a message; it is delivered by a job once the caller's transaction commits.

        `context` must be JSON-serialisable: the job renders the template. `attachments` are
        references ({"kind": "event_ics", "id": 5}) built into files at delivery
        (app/mailing/attachments.py).
        """
        for attachment in attachments or ():
            check_attachment_kind(attachment["kind"])
        template = EmailTemplate.get_for(template_name)  # unknown names fail here, not later
        entry = EmailLog(
            template_name=template.internal_name,
            user_id=user.id if user is not None else None,
            recipient=recipient,
            context=dict(context),
            attachments=list(attachments) if attachments else None,
            status=EmailStatus.QUEUED,
        )
        db.session.add(entry)
        db.session.flush()
        from app.mailing.jobs import deliver_email

        enqueue(deliver_email, entry.id, queue="emails")
        return entry

    @staticmethod
    def render(template: EmailTemplate, context: dict) -> RenderedEmail:
        """The message's parts from `template`; when an admin's edited template fails (a
        variable the code does not pass, a loop past the deadline), the shipped default
        instead, logged as an error: the person still gets their link."""
        try:
            return template.render(context)
        except RenderFailed as error:
            if template.id is None or template.internal_name not in DEFAULTS:
                raise
            log.error("email template %r cannot be rendered (%s: %s): sent with the "
                      "built-in default instead", template.internal_name, error.field,
                      error.message)
            return default_template(template.internal_name).render(context)

    @staticmethod
    def build_message(entry: EmailLog, template: EmailTemplate) -> EmailMessage:
        context = {"site_url": current_app.config.get("SITE_URL", ""), **(entry.context or {})}
        rendered = MailService.render(template, context)
        message = EmailMessage(policy=MAIL_POLICY)
        message["Subject"] = rendered.subject
        message["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
        message["To"] = entry.recipient
        message["Message-ID"] = make_msgid(domain="convene.local")
        message.set_content(rendered.text)
        html = rendered.html
        if html:
            from app.organizations.branding import branded_email_html

            html = branded_email_html(html, context)  # an organization's event (issue 7)
            message.add_alternative(html, subtype="html")
        for attachment in entry.attachments or ():
            file = build_attachment(attachment["kind"], attachment["id"])
            if file is not None:
                maintype, _, subtype = file.content_type.partition("/")
                message.add_attachment(
                    file.content, maintype=maintype, subtype=subtype, filename=file.filename
                )
        return message

    @staticmethod
    def mark_sent(entry: EmailLog, subject: str) -> None:
        entry.status = EmailStatus.SENT
        entry.subject = subject[:500]
        entry.sent_at = utcnow()
        entry.error = ""
        entry.context = None  # the links it held must not outlive the message


def seed_default_templates() -> int:
    """Copy the shipped templates into the database where missing; returns how many."""
    existing = set(db.session.scalars(sa.select(EmailTemplate.internal_name)))
    missing = [name for name in DEFAULTS if name not in existing]
    for name in missing:
        db.session.add(default_template(name))
    db.session.flush()
    return len(missing)


# --- Privacy: the messages sent to a user


def export_emails(user) -> list[dict]:
    rows = db.session.scalars(
        sa.select(EmailLog)
        .where(EmailLog.user_id == user.id)
        .order_by(EmailLog.created_at, EmailLog.id)
    )
    return [
        {
            "template": row.template_name,
            "recipient": row.recipient,
            "subject": row.subject,
            "status": row.status.value,
            "created_at": row.created_at.isoformat(),
            "sent_at": row.sent_at and row.sent_at.isoformat(),
        }
        for row in rows
    ]


def anonymise_emails(user) -> None:
    """Keep which messages were sent and when; drop what names the person.

    The subject may hold their name (admins may put `{{ user_name }}` in it) and an SMTP
    error quotes the address, so both go with the address and the context.
    """
    db.session.execute(
        sa.update(EmailLog)
        .where(EmailLog.user_id == user.id)
        .values(
            recipient=privacy.anonymised_email(user),
            context=None,
            subject="",
            error="",
        )
    )


privacy.register("emails", export=export_emails, anonymise=anonymise_emails)

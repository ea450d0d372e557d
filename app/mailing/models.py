"""Email templates (editable by admins, rendered in Jinja's sandbox) and the email log."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Model
from app.core.sandbox import (
    RenderFailed,
    html_env,
    render_source,
    template_problems,
    text_env,
    within_deadline,
)
from app.core.types import Email, UTCDateTime, ValidatedJSON, enum_column
from app.extensions import db

VARIABLES_SCHEMA = {
    "type": "array",
    "items": {"type": "string", "pattern": "^[a-z_][a-z0-9_]*$"},
    "uniqueItems": True,
}

# Template variables are JSON scalars keyed by identifiers (rendering takes nothing else).
CONTEXT_SCHEMA = {
    "type": "object",
    "propertyNames": {"pattern": "^[a-z_][a-z0-9_]*$"},
    "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
}

# Files built when the message is delivered, by a builder registered under `kind`
# (app/mailing/attachments.py): the log row holds a reference, never the bytes.
ATTACHMENTS_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "kind": {"type": "string", "pattern": "^[a-z_][a-z0-9_]*$"},
            "id": {"type": "integer"},
        },
        "required": ["kind", "id"],
        "additionalProperties": False,
    },
    "maxItems": 10,
}

MAX_RENDERED = 200_000  # characters one part of one message may expand to


def sample_value(name: str) -> str:
    """A made-up value for a template variable, to try a template before it is saved."""
    if name == "site_url" or name.endswith("_url"):
        return "https://convene.example/sample"
    return f"Sample {name.replace('_', ' ')}"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str | None


class EmailTemplateType(enum.Enum):
    TRANSACTIONAL = "transactional"
    NOTIFICATION = "notification"
    NEWSLETTER = "newsletter"
    MARKETING = "marketing"
    SYSTEM = "system"


class EmailTemplate(Model):
    """A message's subject, text and HTML as Jinja2 templates (seed 002 "Mailing Domain").

    `variables` lists the names a template may use; anything else is refused on save.
    """

    __tablename__ = "email_templates"

    internal_name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    template_type: Mapped[EmailTemplateType] = mapped_column(
        enum_column(EmailTemplateType), default=EmailTemplateType.TRANSACTIONAL
    )
    subject: Mapped[str] = mapped_column(sa.String(500))
    content_text: Mapped[str] = mapped_column(sa.Text)
    content_html: Mapped[str | None] = mapped_column(sa.Text)
    variables: Mapped[list] = mapped_column(ValidatedJSON(VARIABLES_SCHEMA), default=list)
    is_active: Mapped[bool] = mapped_column(default=True)

    def __str__(self) -> str:
        return self.display_name or self.internal_name

    @classmethod
    def get_for(cls, internal_name: str) -> EmailTemplate:
        """The active template of that name: the admins' row if any, else the shipped default."""
        from app.mailing.defaults import default_template

        row = db.session.scalar(
            sa.select(cls).where(cls.internal_name == internal_name, cls.is_active.is_(True))
        )
        return row or default_template(internal_name)

    def render(self, context: dict) -> RenderedEmail:
        """Subject, text and HTML, within the sandbox's budgets and one deadline;
        RenderFailed (naming the field at fault) otherwise. The subject is one line: a
        template must not be able to inject another header."""
        at = {"field": "subject"}

        def part(field: str, source: str, html: bool = False) -> str:
            at["field"] = field
            return render_source(source, context, html=html, limit=MAX_RENDERED, field=field)

        def parts() -> RenderedEmail:
            subject = " ".join(part("subject", self.subject).split())
            text = part("content_text", self.content_text)
            html = part("content_html", self.content_html, True) if self.content_html else None
            return RenderedEmail(subject, text, html)

        try:
            return within_deadline(parts)
        except RenderFailed as error:
            error.field = error.field or at["field"]  # the one running when time ran out
            raise

    def validate_templates(self) -> dict[str, list[str]]:
        """Errors per field: syntax errors (with the line), variables not in `variables`,
        and then whatever stops a trial render with made-up values (a value too large, a
        loop past the deadline, internals the sandbox refuses): a template that is saved
        can be sent."""
        errors: dict[str, list[str]] = {}
        allowed = set(self.variables or [])
        for name, source, env in (
            ("subject", self.subject, text_env),
            ("content_text", self.content_text, text_env),
            ("content_html", self.content_html, html_env),
        ):
            if not source:
                if name != "content_html":
                    errors.setdefault(name, []).append("This template cannot be empty.")
                continue
            problems = template_problems(source, allowed, env)
            if problems:
                errors[name] = problems
        if errors:
            return errors
        try:
            self.render({name: sample_value(name) for name in allowed})
        except RenderFailed as error:
            errors[error.field or "content_text"] = [error.message]
        return errors


class EmailStatus(enum.Enum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"


class EmailLog(Model):
    """Every message the site sends: to whom, from which template, and what became of it.

    `context` holds the template variables until the message is sent, then it is cleared:
    links in it (password resets) must not outlive their use.
    """

    __tablename__ = "email_logs"

    template_name: Mapped[str] = mapped_column(sa.String(100), index=True)
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    recipient: Mapped[str] = mapped_column(Email)
    subject: Mapped[str] = mapped_column(sa.String(500), default="")
    status: Mapped[EmailStatus] = mapped_column(
        enum_column(EmailStatus), default=EmailStatus.QUEUED, index=True
    )
    error: Mapped[str] = mapped_column(sa.Text, default="")
    context: Mapped[dict | None] = mapped_column(ValidatedJSON(CONTEXT_SCHEMA))
    attachments: Mapped[list | None] = mapped_column(ValidatedJSON(ATTACHMENTS_SCHEMA))
    attempts: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __str__(self) -> str:
        return f"{self.template_name} to {self.recipient}"

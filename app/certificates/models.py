"""Certificates: the designs organizers make (CertificateTemplate) and the certificates
issued from them, whose data is frozen at issue (seed 003 Certificate, CertificateTemplate,
CertificateStatusHistory; DESIGN.md "Decisions": one ACTIVE certificate per registration),
and the status lists that publish their revocations (app/certificates/status_list.py)."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.errors import DomainError, ValidationError
from app.core.models import Model, SoftDeleteMixin
from app.core.types import Email, UTCDateTime, ValidatedJSON, enum_column, utcnow
from app.core.urls import external_url
from app.extensions import db
from app.states import CERTIFICATE_MACHINE, CertificateStatus


class CertificateTemplateKind(enum.Enum):
    HTML = "html"  # Jinja HTML + CSS, rendered by xhtml2pdf
    BACKGROUND = "background"  # a background image with fields placed by `field_positions`


PAGE_SIZES = ("A4", "Letter")
ORIENTATIONS = ("portrait", "landscape")

# The placeholders every certificate offers (app/certificates/rendering.py fills them).
PLACEHOLDERS = (
    "attendee_name",
    "event_title",
    "event_dates",
    "cpd_credits",
    "issue_date",
    "verification_code",
    "verify_url",
    "qr_code",
    "organizer_name",
)
FONTS = ("helvetica", "times", "courier")

# seed 003 §JSON Field Schemas: where each placeholder sits on a background-image template.
# Lengths are millimetres from the page's top-left corner; `width` is the text box's width
# (for the QR code: its side).
FIELD_POSITIONS_SCHEMA = {
    "type": "object",
    "propertyNames": {"enum": list(PLACEHOLDERS)},
    "additionalProperties": {
        "type": "object",
        "required": ["x", "y"],
        "additionalProperties": False,
        "properties": {
            "x": {"type": "number", "minimum": 0, "maximum": 500},
            "y": {"type": "number", "minimum": 0, "maximum": 500},
            "font_size": {"type": "number", "minimum": 4, "maximum": 200},
            "font": {"enum": list(FONTS)},
            "color": {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$"},
            "align": {"enum": ["left", "center", "right"]},
            "width": {"type": "number", "minimum": 1, "maximum": 500},
        },
    },
}

# No 0/O, 1/I/L, U: read aloud or typed from paper without ambiguity. 20 characters of a
# 31-letter alphabet are ~99 bits: unguessable.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
CODE_LENGTH = 20

_ACTIVE_ROW = "status = 'active'"

# Positions in one status list: 16 KB of bits, the minimum the W3C Bitstring Status List
# sets so that a list hides each certificate among enough others (herd privacy).
STATUS_LIST_ENTRIES = 131_072


def new_verification_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


class CertificateTemplate(SoftDeleteMixin, Model):
    """A certificate design. Organizers own theirs; the shipped default (`is_default`, no
    owner) is edited by admins only. Deleting is soft and refused while in use (PROTECT)."""

    __tablename__ = "certificate_templates"

    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[CertificateTemplateKind] = mapped_column(
        enum_column(CertificateTemplateKind), default=CertificateTemplateKind.HTML
    )
    html: Mapped[str] = mapped_column(sa.Text, default="")  # Jinja source, sandboxed
    css: Mapped[str] = mapped_column(sa.Text, default="")
    page_size: Mapped[str] = mapped_column(sa.String(10), default="A4")
    orientation: Mapped[str] = mapped_column(sa.String(10), default="landscape")
    background_key: Mapped[str | None] = mapped_column(sa.String(300))  # storage key
    field_positions: Mapped[dict] = mapped_column(
        ValidatedJSON(FIELD_POSITIONS_SCHEMA), default=dict
    )
    is_default: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    owner_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # Shared with an organization's members (issue 7, migration 0016); None: personal.
    organization_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="SET NULL"), index=True
    )

    owner = relationship("User")
    organization = relationship("Organization")

    def __str__(self) -> str:
        return self.name

    def is_editable_by(self, user) -> bool:
        """Admins edit every template (the default included); organizers their own."""
        if getattr(user, "is_admin", False):
            return True
        if self.organization_id is not None and not self.is_default:
            # An organization's template: its admins manage it (issue 7).
            from app.organizations.permissions import OrgPermission

            if user.has_org_permission(self.organization_id, OrgPermission.MANAGE_TEMPLATES):
                return True
        return not self.is_default and self.owner_id is not None and self.owner_id == user.id

    def is_usable_by(self, user) -> bool:
        """Whether `user` may choose it for an event (or copy it): theirs, the default, or
        one of an organization where they may create events."""
        if self.is_default or self.is_editable_by(user):
            return True
        from app.organizations.permissions import OrgPermission

        return self.organization_id is not None and user.has_org_permission(
            self.organization_id, OrgPermission.CREATE_EVENTS
        )

    @classmethod
    def usable_by(cls, user) -> sa.Select:
        """The templates `user` may choose: the default first, then theirs and their
        organizations' by name (seed 003 "Query Pattern Changes": mine + my organizations',
        without duplicates — one row per template, whatever the memberships)."""
        from app.organizations.permissions import OrgPermission

        return (
            sa.select(cls)
            .where(sa.or_(
                cls.is_default.is_(True),
                cls.owner_id == user.id,
                cls.organization_id.in_(user.org_ids_with(OrgPermission.CREATE_EVENTS)),
            ))
            .order_by(cls.is_default.desc(), cls.name, cls.id)
        )

    def is_in_use(self) -> bool:
        """Whether an event chooses it or a certificate was issued from it."""
        from app.events.models import Event

        used_by_event = sa.select(Event.id).where(
            Event.certificate_template_id == self.id, Event.deleted_at.is_(None)
        )
        used_by_certificate = sa.select(Certificate.id).where(Certificate.template_id == self.id)
        return bool(
            db.session.scalar(sa.select(sa.or_(sa.exists(used_by_event),
                                               sa.exists(used_by_certificate))))
        )

    def delete(self) -> None:
        """Soft delete, refused while in use (seed 003: certificates PROTECT their template)."""
        if self.is_default:
            raise ValidationError(_l("The default template cannot be deleted."))
        if self.is_in_use():
            raise ValidationError(
                _l("This template is used by an event or an issued certificate and cannot be "
                   "deleted. Choose another template for those events first.")
            )
        self.soft_delete()

    def render_html(self, context: dict) -> str:
        """The complete HTML document for xhtml2pdf, rendered in the sandbox with a budget."""
        from app.certificates.rendering import render_template_html

        return render_template_html(self, context)


class StatusList(Model):
    """A revocation status list: STATUS_LIST_ENTRIES positions, each held by at most one
    certificate, whose bit is set once that certificate is revoked. One list gives out
    positions at a time (`is_filling`: True on it, NULL on the others, under a UNIQUE
    constraint); `allocated` counts the positions it gave, and when none are left it is
    closed and the next one opened (app/certificates/status_list.py)."""

    __tablename__ = "status_lists"
    __table_args__ = (
        sa.CheckConstraint(f"allocated BETWEEN 0 AND {STATUS_LIST_ENTRIES}",
                           name="allocated_within_entries"),
    )

    allocated: Mapped[int] = mapped_column(default=0, server_default="0")
    is_filling: Mapped[bool | None] = mapped_column(unique=True)  # True or NULL, see above

    def __str__(self) -> str:
        return str(self.uuid)

    @property
    def room(self) -> int:
        return STATUS_LIST_ENTRIES - self.allocated

    def credential_url(self) -> str:
        """Where its status list credential is published (statusListCredential)."""
        return external_url("certificates.status_list_credential", list_uuid=self.uuid)

    def revoked_positions(self) -> list[int]:
        """The positions whose certificate is revoked: the bits that are set."""
        return list(db.session.scalars(
            sa.select(Certificate.status_list_index).where(
                Certificate.status_list_id == self.id,
                Certificate.status == CertificateStatus.REVOKED,
            )
        ))


class Certificate(Model):
    """One certificate for one registration. Everything printed on it is copied at issue, so
    editing the event later never changes it (seed 003: immutable after issuance). Never
    deleted: revoked instead, and a revoked one may be followed by a new one."""

    __tablename__ = "certificates"
    __table_args__ = (
        sa.Index(
            "uq_certificates_one_active",
            "registration_id",
            unique=True,
            sqlite_where=sa.text(_ACTIVE_ROW),
            postgresql_where=sa.text(_ACTIVE_ROW),
        ),
        sa.CheckConstraint("cpd_credits >= 0", name="cpd_credits_not_negative"),
        sa.Index("uq_certificates_status_list_position", "status_list_id", "status_list_index",
                 unique=True),
        # A list's revoked positions (its set bits) read from the index alone.
        sa.Index("ix_certificates_status_list_bits", "status_list_id", "status",
                 "status_list_index"),
    )

    registration_id: Mapped[int] = mapped_column(
        sa.ForeignKey("registrations.id", ondelete="RESTRICT"), index=True
    )
    event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("events.id", ondelete="RESTRICT"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    template_id: Mapped[int] = mapped_column(
        sa.ForeignKey("certificate_templates.id", ondelete="RESTRICT"), index=True
    )
    status: Mapped[CertificateStatus] = mapped_column(
        enum_column(CertificateStatus), default=CertificateStatus.ACTIVE, index=True
    )
    verification_code: Mapped[str] = mapped_column(
        sa.String(32), unique=True, default=new_verification_code
    )
    # Frozen at issue.
    attendee_name: Mapped[str] = mapped_column(sa.String(200))
    attendee_email: Mapped[str] = mapped_column(Email)
    event_title: Mapped[str] = mapped_column(sa.String(200))
    event_starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    event_ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    event_timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    cpd_credits: Mapped[Decimal] = mapped_column(sa.Numeric(6, 2), default=Decimal("0"))
    organizer_name: Mapped[str] = mapped_column(sa.String(200), default="")
    # The organization's brand when it was issued (issue 7): a storage key and a #rrggbb.
    organization_logo_key: Mapped[str] = mapped_column(
        sa.String(300), default="", server_default=""
    )
    organization_colour: Mapped[str] = mapped_column(sa.String(7), default="", server_default="")
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    revocation_reason: Mapped[str] = mapped_column(sa.Text, default="")
    # The rendered file (app/certificates/jobs.py).
    pdf_key: Mapped[str | None] = mapped_column(sa.String(300))
    pdf_rendered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Its position in a revocation status list, given when it is saved and never changed
    # (app/certificates/status_list.py); NULL only before that.
    status_list_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("status_lists.id", ondelete="RESTRICT")
    )
    status_list_index: Mapped[int | None] = mapped_column()

    registration = relationship("Registration")
    event = relationship("Event")
    user = relationship("User", foreign_keys=[user_id])
    issued_by = relationship("User", foreign_keys=[issued_by_id])
    revoked_by = relationship("User", foreign_keys=[revoked_by_id])
    template: Mapped[CertificateTemplate] = relationship()
    status_list: Mapped[StatusList | None] = relationship()
    history: Mapped[list[CertificateStatusHistory]] = relationship(
        back_populates="certificate",
        cascade="all, delete-orphan",
        order_by="CertificateStatusHistory.id",
    )

    def __init__(self, **fields):
        fields.setdefault("status", CertificateStatus.ACTIVE)
        fields.setdefault("verification_code", new_verification_code())
        super().__init__(**fields)

    def __str__(self) -> str:
        return f"{self.attendee_name} · {self.event_title}"

    @property
    def is_active(self) -> bool:
        return self.status == CertificateStatus.ACTIVE

    def verify_url(self) -> str:
        """The public page that says whether this certificate is valid (printed as QR code)."""
        return external_url("certificates.verify", code=self.verification_code)

    def revoke(self, actor, reason: str) -> None:
        """Revoke for good (terminal): a reason is required and recorded in the history."""
        reason = (reason or "").strip()
        if not reason:
            raise ValidationError(_l("Give a reason for revoking the certificate."),
                                  field="reason")
        if self.status == CertificateStatus.REVOKED:
            raise DomainError(_l("This certificate is already revoked."))
        CERTIFICATE_MACHINE.fire(self, "revoke", actor=actor, reason=reason)
        self.revoked_at = utcnow()
        self.revoked_by_id = getattr(actor, "id", None)
        self.revocation_reason = reason

    def record_transition(self, before, after, *, actor=None, reason=None) -> None:
        """Write the audit row; called by CERTIFICATE_MACHINE, and by the issuer with
        (None, ACTIVE) when the certificate is issued."""
        self.history.append(
            CertificateStatusHistory(
                from_status=before,
                to_status=after,
                changed_by_id=getattr(actor, "id", None),
                reason=reason or "",
            )
        )


class CertificateStatusHistory(Model):
    """Who moved a certificate from which status to which, when and why (seed 003 audit)."""

    __tablename__ = "certificate_status_history"

    certificate_id: Mapped[int] = mapped_column(
        sa.ForeignKey("certificates.id", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[CertificateStatus | None] = mapped_column(
        enum_column(CertificateStatus, name="from_status")
    )
    to_status: Mapped[CertificateStatus] = mapped_column(
        enum_column(CertificateStatus, name="to_status")
    )
    changed_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    reason: Mapped[str] = mapped_column(sa.Text, default="")

    certificate: Mapped[Certificate] = relationship(back_populates="history")
    changed_by = relationship("User")

    @property
    def changed_at(self) -> datetime:
        return self.created_at

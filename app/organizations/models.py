"""Organizations: teams with a role hierarchy that share events and certificate templates
(seed 003 "Phase 2", seeds 000/001 for roles, permissions and ownership transfer)."""

from __future__ import annotations

import enum
import re
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, contains_eager, mapped_column, relationship, validates

from app.core.bearer import lookup_hash, new_token
from app.core.errors import ValidationError
from app.core.models import Model, SlugMixin, SoftDeleteMixin
from app.core.types import Email, UTCDateTime, ValidatedJSON, enum_column, utcnow
from app.extensions import db
from app.organizations.permissions import (
    OrgPermission,
    OrgRole,
    permissions_of,
    role_allows,
)

COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
INVITATION_LIFETIME = timedelta(days=14)


class Organization(SlugMixin, SoftDeleteMixin, Model):
    """A team: its members share its events and templates; its branding shows on them."""

    __tablename__ = "organizations"

    name: Mapped[str] = mapped_column(sa.String(200))
    logo_key: Mapped[str | None] = mapped_column(sa.String(300))  # app/core/storage key
    primary_colour: Mapped[str] = mapped_column(sa.String(7), default="")
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )

    memberships: Mapped[list[OrganizationMembership]] = relationship(
        back_populates="organization", cascade="all, delete-orphan", passive_deletes=True
    )

    def __str__(self) -> str:
        return self.name

    @validates("primary_colour")
    def _check_colour(self, key, value: str | None) -> str:
        value = (value or "").strip().lower()
        if value and not COLOUR.fullmatch(value):
            raise ValidationError(
                _l("Give the colour as #rrggbb, for example #1a5fb4."), field="primary_colour"
            )
        return value

    @validates("name")
    def _check_name(self, key, value: str) -> str:
        value = (value or "").strip()
        if not value:
            raise ValidationError(_l("Give the organization a name."), field="name")
        if len(value) > 200:
            raise ValidationError(_l("Use at most 200 characters."), field="name")
        return value

    # --- Roles (seed 001: the hierarchy is data, app/organizations/permissions.py)

    def get_membership(self, user) -> OrganizationMembership | None:
        if user is None or getattr(user, "id", None) is None:
            return None
        return db.session.scalar(
            sa.select(OrganizationMembership).where(
                OrganizationMembership.organization_id == self.id,
                OrganizationMembership.user_id == user.id,
            )
        )

    def get_role(self, user) -> OrgRole | None:
        """`user`'s role here, or None (one query on the (organization, user) unique index)."""
        if user is None or getattr(user, "id", None) is None:
            return None
        return db.session.scalar(
            sa.select(OrganizationMembership.role).where(
                OrganizationMembership.organization_id == self.id,
                OrganizationMembership.user_id == user.id,
            )
        )

    def is_member(self, user) -> bool:
        return self.get_role(user) is not None

    def is_owner(self, user) -> bool:
        return self.get_role(user) == OrgRole.OWNER

    def get_user_permissions(self, user) -> frozenset[OrgPermission]:
        """Everything `user` may do here: what their role's level reaches (seed 001)."""
        return permissions_of(self.get_role(user))

    def has_permission(self, user, permission: OrgPermission) -> bool:
        return role_allows(self.get_role(user), permission)

    def count_owners(self) -> int:
        return db.session.scalar(
            sa.select(sa.func.count(OrganizationMembership.id)).where(
                OrganizationMembership.organization_id == self.id,
                OrganizationMembership.role == OrgRole.OWNER,
            )
        )

    def get_members(self) -> list[OrganizationMembership]:
        """Every membership with its user, highest role first, then by name (one query)."""
        from app.accounts.models import User

        rank = sa.case(
            *((OrganizationMembership.role == role, role.level) for role in OrgRole),
            else_=0,
        )
        return list(
            db.session.scalars(
                sa.select(OrganizationMembership)
                .join(User, User.id == OrganizationMembership.user_id)
                .where(OrganizationMembership.organization_id == self.id)
                .options(contains_eager(OrganizationMembership.user))
                .order_by(rank.desc(), User.full_name, User.email)
            )
        )

    def count_members(self) -> int:
        return db.session.scalar(
            sa.select(sa.func.count(OrganizationMembership.id)).where(
                OrganizationMembership.organization_id == self.id
            )
        )

    # --- Branding

    @property
    def has_branding(self) -> bool:
        return bool(self.logo_key or self.primary_colour)

    def branding(self) -> dict:
        """What templates (event pages, emails, certificates) need to show the brand."""
        from app.core.urls import external_url

        logo_url = (
            external_url("organizations.logo", slug=self.slug, v=self.logo_key.rsplit("/", 1)[-1])
            if self.logo_key else ""
        )
        return {
            "organization_name": self.name,
            "organization_logo": logo_url,
            "organization_colour": self.primary_colour or "",
        }


class OrganizationMembership(Model):
    """A user's role in an organization: at most one per (organization, user)."""

    __tablename__ = "organization_memberships"
    __table_args__ = (
        sa.UniqueConstraint("organization_id", "user_id"),
        # Exactly one OWNER at all times (issue 7): the database refuses a second one.
        sa.Index("uq_organization_memberships_one_owner", "organization_id", unique=True,
                 postgresql_where=sa.text("role = 'owner'"),
                 sqlite_where=sa.text("role = 'owner'")),
    )

    organization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE")
    )
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[OrgRole] = mapped_column(enum_column(OrgRole), default=OrgRole.MEMBER)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organization: Mapped[Organization] = relationship(back_populates="memberships")
    user = relationship("User")

    def __str__(self) -> str:
        return f"{self.user} · {self.role.value}"


class OrganizationInvitation(Model):
    """An emailed invitation to join with a role; the link's token is the credential, and
    only its hash is stored (app/core/bearer)."""

    __tablename__ = "organization_invitations"

    organization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(Email)
    role: Mapped[OrgRole] = mapped_column(enum_column(OrgRole), default=OrgRole.MEMBER)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organization: Mapped[Organization] = relationship()
    invited_by = relationship("User")

    def __str__(self) -> str:
        return f"{self.email} → {self.organization}"

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and not self.is_expired

    @property
    def is_expired(self) -> bool:
        return self.accepted_at is None and utcnow() >= self.expires_at

    def renew(self) -> str:
        """Sent (again) now, valid for a full lifetime, with a new link: returns its token,
        which exists only in the email (an earlier email's link stops working)."""
        token, self.token_hash = new_token()
        self.sent_at = utcnow()
        self.expires_at = self.sent_at + INVITATION_LIFETIME
        return token

    @classmethod
    def for_token(cls, token: str | None) -> OrganizationInvitation | None:
        token_hash = lookup_hash(token)
        if token_hash is None:
            return None
        return db.session.scalar(sa.select(cls).where(cls.token_hash == token_hash))


class OrgAction(enum.Enum):
    CREATED = "created"
    SETTINGS_CHANGED = "settings_changed"
    MEMBER_INVITED = "member_invited"
    INVITATION_RESENT = "invitation_resent"
    INVITATION_CANCELLED = "invitation_cancelled"
    MEMBER_JOINED = "member_joined"
    ROLE_CHANGED = "role_changed"
    MEMBER_REMOVED = "member_removed"
    MEMBER_LEFT = "member_left"
    OWNERSHIP_TRANSFERRED = "ownership_transferred"
    EVENT_CREATED = "event_created"
    TEMPLATE_SHARED = "template_shared"


ACTIVITY_DATA_SCHEMA = {
    "type": "object",
    "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
}


class ActivityLog(Model):
    """Who did what in an organization, and when (seed 001 `_log_ownership_transfer`)."""

    __tablename__ = "organization_activity"
    __table_args__ = (sa.Index("ix_organization_activity_org_created", "organization_id",
                               "created_at"),)

    organization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE")
    )
    actor_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[OrgAction] = mapped_column(enum_column(OrgAction))
    target: Mapped[str] = mapped_column(sa.String(300), default="")
    data: Mapped[dict | None] = mapped_column(ValidatedJSON(ACTIVITY_DATA_SCHEMA))

    organization: Mapped[Organization] = relationship()
    actor = relationship("User")

    @classmethod
    def record(cls, organization: Organization, actor, action: OrgAction, target: str = "",
               **data) -> ActivityLog:
        entry = cls(organization=organization, actor_id=getattr(actor, "id", None),
                    action=action, target=str(target)[:300], data=data or None)
        db.session.add(entry)
        return entry


def _watch_for_page_cache() -> None:
    """An organization's name, logo and colour are part of its events' cached pages: saving
    it starts a new cache generation."""
    from app.core.cache import watch

    watch(Organization)


_watch_for_page_cache()

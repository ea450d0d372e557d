"""Accounts: users with a lifecycle, and the login sessions they can see and revoke."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship
from ua_parser import parse as parse_user_agent
from werkzeug.security import check_password_hash, generate_password_hash

from app.core.bearer import lookup_hash, new_token
from app.core.errors import ValidationError
from app.core.models import Model, SoftDeleteMixin
from app.core.types import Email, UTCDateTime, enum_column, utcnow
from app.extensions import db
from app.states import USER_MACHINE, UserStatus


def new_security_stamp() -> str:
    return secrets.token_hex(16)


def check_timezone(name: str) -> str:
    """Return `name` if it is an IANA timezone, else raise a ValidationError."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            _l("Unknown timezone: %(name)s.", name=name), field="timezone"
        ) from None
    return name


class User(SoftDeleteMixin, Model):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(Email, unique=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    full_name: Mapped[str] = mapped_column(sa.String(200), default="")
    professional_title: Mapped[str] = mapped_column(sa.String(200), default="")
    credentials: Mapped[str] = mapped_column(sa.String(200), default="")
    bio: Mapped[str] = mapped_column(sa.Text, default="")
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    status: Mapped[UserStatus] = mapped_column(
        enum_column(UserStatus), default=UserStatus.UNVERIFIED, index=True
    )
    is_admin: Mapped[bool] = mapped_column(default=False)
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Rotated when the password changes or the account is erased: old reset links stop working.
    security_stamp: Mapped[str] = mapped_column(sa.String(32), default=new_security_stamp)
    # The hash of the secret in the URL of the private "my events" calendar feed (app/core/bearer).
    feed_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)

    sessions: Mapped[list[UserSession]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )
    certifications: Mapped[list[UserCertification]] = relationship(
        back_populates="user",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="UserCertification.cert_type",
    )

    def __init__(self, **fields):
        # Column defaults apply at INSERT; the lifecycle needs a status from the start.
        fields.setdefault("status", UserStatus.UNVERIFIED)
        super().__init__(**fields)

    # The login session this request is authenticated by (set by the user loader).
    current_session: ClassVar[UserSession | None] = None

    def __str__(self) -> str:
        return self.display_name

    # --- Flask-Login

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    @property
    def is_active(self) -> bool:
        return self.status == UserStatus.ACTIVE and not self.is_deleted

    def get_id(self) -> str | None:
        """Flask-Login stores the login session's token, so revoking the session logs out."""
        return getattr(self, "_login_token", None)

    # --- Identity and profile

    @property
    def display_name(self) -> str:
        return self.full_name or self.email.split("@")[0]

    @property
    def tzinfo(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def has_password(self) -> bool:
        return self.password_hash is not None

    def set_password(self, password: str) -> None:
        """Hash and store a password; every outstanding reset link stops working."""
        method = current_app.config["PASSWORD_HASH_METHOD"]
        self.password_hash = generate_password_hash(password, method=method)
        self.security_stamp = new_security_stamp()

    def check_password(self, password: str) -> bool:
        return self.password_hash is not None and check_password_hash(self.password_hash, password)

    def update_profile(self, **fields: str) -> None:
        """Change the editable profile fields; the timezone must be an IANA name."""
        allowed = {"full_name", "professional_title", "credentials", "bio", "timezone"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"not profile fields: {sorted(unknown)}")
        if "timezone" in fields:
            check_timezone(fields["timezone"])
        for name, value in fields.items():
            setattr(self, name, value.strip() if name != "bio" else value)

    # --- Lifecycle (app/states.py USER_MACHINE)

    def verify_email(self) -> None:
        USER_MACHINE.fire(self, "verify_email")
        self.email_verified_at = utcnow()

    def claim(self) -> None:
        """An invited account proves its address by setting a password from a link."""
        USER_MACHINE.fire(self, "claim")
        self.email_verified_at = utcnow()

    def deactivate(self) -> None:
        USER_MACHINE.fire(self, "deactivate")
        self.revoke_all_sessions()

    def reactivate(self) -> None:
        USER_MACHINE.fire(self, "reactivate")

    def login_refusal(self) -> str | None:
        """Why this account may not log in now, or None when it may."""
        if self.is_deleted or self.status == UserStatus.DELETED:
            return _l("Invalid email or password.")
        if self.status == UserStatus.DEACTIVATED:
            return _l("This account has been deactivated. Contact the site administrators.")
        if self.status == UserStatus.UNVERIFIED:
            return _l("Please confirm your email address first: use the link we emailed you.")
        if self.status == UserStatus.INVITED:
            return _l("This account has no password yet. Use “Forgot password” to set one.")
        return None

    # --- Login sessions

    def get_active_sessions(self) -> list[UserSession]:
        return list(
            db.session.scalars(
                sa.select(UserSession)
                .where(UserSession.user_id == self.id, UserSession.revoked_at.is_(None))
                .order_by(UserSession.last_seen_at.desc())
            )
        )

    def revoke_all_sessions(self, except_session: UserSession | None = None) -> int:
        """Revoke every live login session (but `except_session`); returns how many."""
        query = sa.update(UserSession).where(
            UserSession.user_id == self.id, UserSession.revoked_at.is_(None)
        )
        if except_session is not None:
            query = query.where(UserSession.id != except_session.id)
        result = db.session.execute(query.values(revoked_at=utcnow()))
        return result.rowcount


    # --- Private calendar feed

    @property
    def has_feed(self) -> bool:
        return self.feed_token_hash is not None

    def rotate_feed_token(self) -> str:
        """A new feed token, returned this once (only its hash is kept, so the URL can be
        shown only now); the old feed URL stops working."""
        token, self.feed_token_hash = new_token()
        return token

    @classmethod
    def for_feed_token(cls, token: str | None) -> User | None:
        """The active user whose feed this token opens, or None."""
        token_hash = lookup_hash(token)
        if token_hash is None:
            return None
        user = db.session.scalar(sa.select(cls).where(cls.feed_token_hash == token_hash))
        return user if user is not None and user.is_active else None

    # --- Events (seed 000: "what can this user do?")

    def get_event_role(self, event):
        """This user's role in `event`, or None."""
        from app.events.models import EventUser

        return db.session.scalar(
            sa.select(EventUser.role).where(
                EventUser.event_id == event.id, EventUser.user_id == self.id
            )
        )

    def has_event_permission(self, event, permission) -> bool:
        """The user's own role in the event decides; for an organization's event, so does
        their role in the organization (app/organizations/permissions.py)."""
        from app.events.permissions import role_allows

        if role_allows(self.get_event_role(event), permission):
            return True
        return self.has_org_event_permission(event, permission)

    def has_org_event_permission(self, event, permission) -> bool:
        from app.organizations.permissions import event_permission_via_org

        org_permission = event_permission_via_org(permission)
        organization_id = getattr(event, "organization_id", None)
        if organization_id is None or org_permission is None:
            return False
        return self.has_org_permission(organization_id, org_permission)

    def can_edit_event(self, event) -> bool:
        from app.events.permissions import EventPermission

        return self.has_event_permission(event, EventPermission.EDIT)

    def can_manage_speakers(self, event) -> bool:
        from app.events.permissions import EventPermission

        return self.has_event_permission(event, EventPermission.MANAGE_SPEAKERS)

    def can_view_event(self, event) -> bool:
        """Public and unlisted events are visible once published; drafts and private events
        only to the people of the event (and site admins)."""
        if event.is_publicly_visible:
            return True
        from app.events.permissions import EventPermission

        return self.is_admin or self.has_event_permission(event, EventPermission.VIEW)

    def can_use_venue(self, venue) -> bool:
        """Whether this user may choose `venue` for an event: a site-wide venue, their own,
        or one of an organization where they may create events (the same venues as
        `EventLocation.usable_by`)."""
        if venue.is_site_wide or (venue.owner_id is not None and venue.owner_id == self.id):
            return True
        from app.organizations.permissions import OrgPermission

        return venue.organization_id is not None and self.has_org_permission(
            venue.organization_id, OrgPermission.CREATE_EVENTS
        )

    def get_managed_events(self):
        """Events this user organises or may edit through an organization, newest first:
        mine + my organizations', without duplicates (seed 003 "Query Pattern Changes")."""
        from app.events.models import Event, EventRole, EventUser
        from app.organizations.permissions import OrgPermission

        organizing = sa.select(EventUser.event_id).where(
            EventUser.user_id == self.id, EventUser.role == EventRole.ORGANIZER
        )
        return list(
            db.session.scalars(
                sa.select(Event)
                .where(sa.or_(
                    Event.id.in_(organizing),
                    Event.organization_id.in_(self.org_ids_with(OrgPermission.EDIT_EVENTS)),
                ))
                .order_by(Event.start_at.desc())
            )
        )

    # --- Organizations (seeds 000/001: membership and role checks)

    def get_active_memberships(self):
        """This user's memberships of live organizations, with the organization loaded."""
        from sqlalchemy.orm import contains_eager

        from app.organizations.models import Organization, OrganizationMembership

        return list(
            db.session.scalars(
                sa.select(OrganizationMembership)
                .join(Organization, Organization.id == OrganizationMembership.organization_id)
                .where(OrganizationMembership.user_id == self.id,
                       Organization.deleted_at.is_(None))
                .options(contains_eager(OrganizationMembership.organization))
                .order_by(Organization.name)
            )
        )

    def get_org_role(self, organization_id: int):
        """This user's role in the (live) organization, or None."""
        from app.organizations.models import Organization, OrganizationMembership

        return db.session.scalar(
            sa.select(OrganizationMembership.role)
            .join(Organization, Organization.id == OrganizationMembership.organization_id)
            .where(OrganizationMembership.organization_id == organization_id,
                   OrganizationMembership.user_id == self.id,
                   Organization.deleted_at.is_(None))
        )

    def has_role_in_org(self, organization_id: int, role) -> bool:
        """Whether this user holds exactly `role` in the organization (seed 001)."""
        return self.get_org_role(organization_id) == role

    def has_org_permission(self, organization_id: int, permission) -> bool:
        from app.organizations.permissions import role_allows

        return role_allows(self.get_org_role(organization_id), permission)

    def is_org_admin(self, organization_id: int) -> bool:
        """ADMIN or OWNER of the organization."""
        from app.organizations.permissions import OrgRole

        role = self.get_org_role(organization_id)
        return role is not None and role.outranks_or_equals(OrgRole.ADMIN)

    def can_access_organization(self, organization_id: int) -> bool:
        """Members see their organization; site admins see every one (seed 000)."""
        return self.is_admin or self.get_org_role(organization_id) is not None

    def can_join_organization(self, organization) -> bool:
        """An active account that is not yet a member of a live organization (seed 001)."""
        return (
            self.is_active
            and not organization.is_deleted
            and self.get_org_role(organization.id) is None
        )

    def org_ids_with(self, permission):
        """A subquery: the live organizations where this user holds `permission`."""
        from app.organizations.models import Organization, OrganizationMembership
        from app.organizations.permissions import roles_with

        return (
            sa.select(OrganizationMembership.organization_id)
            .join(Organization, Organization.id == OrganizationMembership.organization_id)
            .where(OrganizationMembership.user_id == self.id,
                   OrganizationMembership.role.in_(roles_with(permission)),
                   Organization.deleted_at.is_(None))
        )

    def get_upcoming_events(self, now: datetime | None = None):
        """Events this user is part of (any role) that have not ended, soonest first."""
        from app.events.models import Event, EventUser

        now = now or utcnow()
        return list(
            db.session.execute(
                sa.select(Event, EventUser.role)
                .join(EventUser, EventUser.event_id == Event.id)
                .where(EventUser.user_id == self.id, Event.end_at > now)
                .order_by(Event.start_at)
            ).all()
        )

    def get_speaking_sessions(
        self, on: date | None = None, exclude_cancelled: bool = True, tz: tzinfo | None = None
    ):
        """Sessions this user speaks at (seed 000), optionally on the day `on`: from midnight
        to midnight in `tz` (UTC unless given; a session's rules pass its event's timezone)."""
        from app.events.models import EventSession, SessionSpeaker
        from app.states import SessionStatus

        query = (
            sa.select(EventSession)
            .join(SessionSpeaker, SessionSpeaker.session_id == EventSession.id)
            .where(SessionSpeaker.user_id == self.id)
            .order_by(EventSession.start_at)
        )
        if exclude_cancelled:
            query = query.where(EventSession.status != SessionStatus.CANCELLED)
        if on is not None:
            # Each midnight on its own: a day with a DST change lasts 23 or 25 hours.
            zone = tz or UTC
            day_start = datetime.combine(on, time.min, tzinfo=zone).astimezone(UTC)
            next_day = on + timedelta(days=1)
            day_end = datetime.combine(next_day, time.min, tzinfo=zone).astimezone(UTC)
            query = query.where(
                EventSession.start_at >= day_start, EventSession.start_at < day_end
            )
        return list(db.session.scalars(query))

    def is_available(self, start_at: datetime, end_at: datetime, ignore_session=None) -> bool:
        """Whether this user speaks at no other session during [start_at, end_at)."""
        from app.events.models import EventSession, SessionSpeaker
        from app.states import SessionStatus

        query = (
            sa.select(EventSession.id)
            .join(SessionSpeaker, SessionSpeaker.session_id == EventSession.id)
            .where(
                SessionSpeaker.user_id == self.id,
                EventSession.status != SessionStatus.CANCELLED,
                EventSession.start_at < end_at,
                EventSession.end_at > start_at,
            )
        )
        if ignore_session is not None and ignore_session.id is not None:
            query = query.where(EventSession.id != ignore_session.id)
        return db.session.scalar(query.limit(1)) is None

    def has_certification(self, cert_type: str, on: date | None = None) -> bool:
        """Whether the user holds a certification of that type, valid on `on` (today)."""
        on = on or utcnow().date()
        wanted = cert_type.strip().lower()
        return any(
            c.cert_type.strip().lower() == wanted and c.is_valid_on(on)
            for c in self.certifications
        )


class UserCertification(Model):
    """A professional certification a user holds (seed 000 has_certification)."""

    __tablename__ = "user_certifications"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    cert_type: Mapped[str] = mapped_column(sa.String(100))
    issuer: Mapped[str] = mapped_column(sa.String(200), default="")
    issued_on: Mapped[date | None] = mapped_column(sa.Date)
    expires_on: Mapped[date | None] = mapped_column(sa.Date)

    user: Mapped[User] = relationship(back_populates="certifications")

    def is_valid_on(self, on: date) -> bool:
        """An expired certification does not count; one without an expiry always does."""
        return self.expires_on is None or self.expires_on >= on


class UserSession(Model):
    """One login: a browser a user signed in from (seed 003 UserSession).

    Only a hash of the token is stored; the token itself lives in the user's cookies.
    """

    __tablename__ = "user_sessions"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_agent: Mapped[str] = mapped_column(sa.String(512), default="")
    device: Mapped[str] = mapped_column(sa.String(200), default="")
    ip_address: Mapped[str] = mapped_column(sa.String(45), default="")
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="sessions")

    @classmethod
    def start(cls, user: User, *, user_agent: str, ip_address: str) -> tuple[UserSession, str]:
        """Open a login session; returns it with the token to put in the cookie."""
        token, token_hash = new_token()
        session = cls(
            user=user,
            token_hash=token_hash,
            user_agent=(user_agent or "")[:512],
            device=describe_device(user_agent or ""),
            ip_address=(ip_address or "")[:45],
            last_seen_at=utcnow(),
        )
        db.session.add(session)
        return session, token

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def revoke(self) -> None:
        """Idempotent: revoking a revoked session changes nothing."""
        if self.revoked_at is None:
            self.revoked_at = utcnow()

    def is_due_for_touch(self, now: datetime) -> bool:
        interval = timedelta(seconds=current_app.config["USER_SESSION_TOUCH_INTERVAL"])
        return now - self.last_seen_at >= interval


def describe_device(user_agent: str) -> str:
    """A short human description such as "Firefox 128 on Ubuntu"."""
    if not user_agent:
        return "Unknown device"
    parsed = parse_user_agent(user_agent)
    browser = parsed.user_agent.family if parsed.user_agent else "Unknown browser"
    if parsed.user_agent and parsed.user_agent.major:
        browser = f"{browser} {parsed.user_agent.major}"
    system = parsed.os.family if parsed.os else "an unknown system"
    return f"{browser} on {system}"[:200]

"""Operations on organizations that span models: each checks the actor's role, writes an
activity log row, and only flushes; the view (or job) commits once."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.core.errors import PermissionDenied, ValidationError
from app.core.templating import datetime_long
from app.core.types import InvalidEmail, canonical_email, utcnow
from app.core.urls import external_url
from app.extensions import db
from app.mailing.services import MailService
from app.organizations.logos import check_logo, store_logo
from app.organizations.models import (
    SLUG,
    ActivityLog,
    OrgAction,
    Organization,
    OrganizationInvitation,
    OrganizationMembership,
)
from app.organizations.permissions import OrgPermission, OrgRole, role_allows

ROLE_LABELS = {
    OrgRole.OWNER: _l("Owner"),
    OrgRole.ADMIN: _l("Admin"),
    OrgRole.MANAGER: _l("Manager"),
    OrgRole.MEMBER: _l("Member"),
}


def require(organization: Organization, actor, permission: OrgPermission) -> OrgRole:
    """The actor's role, when it holds `permission`; PermissionDenied otherwise."""
    role = organization.get_role(actor)
    if not role_allows(role, permission):
        raise PermissionDenied(_l("Your role in this organization does not allow that."))
    return role


def grantable_roles(actor_role: OrgRole | None) -> list[OrgRole]:
    """The roles an actor may give (by invitation or change): up to their own level, never
    OWNER, which only a transfer hands over."""
    if actor_role is None:
        return []
    return [r for r in OrgRole if r != OrgRole.OWNER and actor_role.outranks_or_equals(r)]


def _check_grantable(actor_role: OrgRole, role: OrgRole) -> None:
    if role == OrgRole.OWNER:
        raise ValidationError(
            _l("Nobody is made owner this way: the owner transfers ownership."), field="role"
        )
    if not actor_role.outranks_or_equals(role):
        raise ValidationError(
            _l("You cannot give a role above your own (%(role)s).",
               role=ROLE_LABELS[actor_role]),
            field="role",
        )


def _slug_taken(slug: str) -> bool:
    # Soft-deleted organizations keep their slugs (the column is unique).
    query = sa.select(Organization.id).where(Organization.slug == slug)
    return db.session.scalar(query.execution_options(include_deleted=True)) is not None


class OrganizationService:
    @staticmethod
    def create(creator, *, name: str, slug: str = "", primary_colour: str = "",
               logo: bytes | None = None) -> Organization:
        """A new organization; its creator is its OWNER."""
        slug = (slug or "").strip().lower()
        if slug and not SLUG.fullmatch(slug):
            raise ValidationError(
                _l("Use lower-case letters, digits and single hyphens, e.g. “city-medics”."),
                field="slug",
            )
        if slug and _slug_taken(slug):
            raise ValidationError(
                _l("The address “%(slug)s” is taken: choose another.", slug=slug), field="slug"
            )
        if logo:
            check_logo(logo)  # before anything is written
        organization = Organization(name=name, slug=slug or None, primary_colour=primary_colour,
                                    created_by_id=creator.id)
        db.session.add(organization)
        db.session.add(OrganizationMembership(organization=organization, user_id=creator.id,
                                              role=OrgRole.OWNER))
        try:
            with db.session.begin_nested():
                db.session.flush()
        except sa.exc.IntegrityError:  # the same slug, chosen a moment ago by someone else
            raise ValidationError(_l("That address is taken: choose another."),
                                  field="slug") from None
        if logo:
            organization.logo_key = store_logo(organization.uuid, logo)
        ActivityLog.record(organization, creator, OrgAction.CREATED, organization.name)
        db.session.flush()
        return organization

    @staticmethod
    def update_settings(organization: Organization, actor, *, name: str, primary_colour: str,
                        logo: bytes | None = None, remove_logo: bool = False) -> Organization:
        require(organization, actor, OrgPermission.EDIT_SETTINGS)
        if logo:
            check_logo(logo)  # before anything changes
        organization.name = name
        organization.primary_colour = primary_colour
        if logo:
            organization.logo_key = store_logo(organization.uuid, logo)
        elif remove_logo:
            organization.logo_key = None
        changed = sorted(
            attr.key for attr in sa.inspect(organization).attrs if attr.history.has_changes()
        )
        if changed:
            ActivityLog.record(organization, actor, OrgAction.SETTINGS_CHANGED,
                               organization.name, fields=", ".join(changed))
        db.session.flush()
        return organization

    # --- Invitations

    @staticmethod
    def invite(organization: Organization, actor, email: str, role: OrgRole
               ) -> OrganizationInvitation:
        """Invite an address with a role and email the link (sent once the caller commits)."""
        actor_role = require(organization, actor, OrgPermission.MANAGE_MEMBERS)
        try:
            address = canonical_email(email)
        except InvalidEmail as error:
            raise ValidationError(str(error), field="email") from None
        _check_grantable(actor_role, role)
        from app.accounts.models import User

        member = db.session.scalar(
            sa.select(OrganizationMembership.id)
            .join(User, User.id == OrganizationMembership.user_id)
            .where(OrganizationMembership.organization_id == organization.id,
                   User.email == address)
        )
        if member is not None:
            raise ValidationError(
                _l("%(email)s is already a member.", email=address), field="email"
            )
        existing = db.session.scalar(
            sa.select(OrganizationInvitation).where(
                OrganizationInvitation.organization_id == organization.id,
                OrganizationInvitation.email == address,
                OrganizationInvitation.accepted_at.is_(None),
            )
        )
        if existing is not None and existing.is_pending:
            raise ValidationError(
                _l("%(email)s is already invited: resend the invitation from the list.",
                   email=address),
                field="email",
            )
        if existing is not None:  # expired: a fresh one replaces it
            db.session.delete(existing)
        invitation = OrganizationInvitation(
            organization=organization, email=address, role=role, invited_by_id=actor.id,
        )
        token = invitation.renew()
        db.session.add(invitation)
        ActivityLog.record(organization, actor, OrgAction.MEMBER_INVITED, address,
                           role=role.value)
        db.session.flush()
        _send_invitation(invitation, token, actor)
        return invitation

    @staticmethod
    def resend(organization: Organization, actor, invitation: OrganizationInvitation) -> None:
        require(organization, actor, OrgPermission.MANAGE_MEMBERS)
        _check_belongs(organization, invitation)
        if invitation.accepted_at is not None:
            raise ValidationError(_l("%(email)s has already joined.", email=invitation.email))
        token = invitation.renew()
        ActivityLog.record(organization, actor, OrgAction.INVITATION_RESENT, invitation.email)
        db.session.flush()
        _send_invitation(invitation, token, actor)

    @staticmethod
    def cancel(organization: Organization, actor, invitation: OrganizationInvitation) -> None:
        """Withdraw a pending invitation: its link stops working."""
        require(organization, actor, OrgPermission.MANAGE_MEMBERS)
        _check_belongs(organization, invitation)
        if invitation.accepted_at is not None:
            raise ValidationError(_l("%(email)s has already joined.", email=invitation.email))
        ActivityLog.record(organization, actor, OrgAction.INVITATION_CANCELLED, invitation.email)
        db.session.delete(invitation)
        db.session.flush()

    @staticmethod
    def accept(invitation: OrganizationInvitation, user) -> OrganizationMembership:
        """`user` joins with the invited role. The link was emailed to the invited address,
        so only the account with that address may use it."""
        organization = invitation.organization
        if invitation.accepted_at is not None:
            raise ValidationError(_l("This invitation has already been used."))
        if invitation.is_expired:
            raise ValidationError(
                _l("This invitation has expired. Ask the organization for a new one.")
            )
        if organization.is_deleted:
            raise ValidationError(_l("This organization no longer exists."))
        if user.email != invitation.email:
            raise PermissionDenied(
                _l("This invitation was sent to %(email)s. Log in with that address to accept "
                   "it.", email=invitation.email)
            )
        if organization.is_member(user):
            raise ValidationError(_l("You are already a member of %(name)s.",
                                     name=organization.name))
        membership = OrganizationMembership(organization=organization, user_id=user.id,
                                            role=invitation.role)
        db.session.add(membership)
        invitation.accepted_at = utcnow()
        ActivityLog.record(organization, user, OrgAction.MEMBER_JOINED, user.email,
                           role=invitation.role.value)
        db.session.flush()
        return membership

    @staticmethod
    def accept_for_new_account(invitation: OrganizationInvitation):
        """Accept for an address without a usable account: one is made (INVITED, no
        password yet, like guest registrations) and joins. Returns the user, whose next step
        is choosing a password."""
        from app.accounts.services import AccountService

        user = AccountService.invite(invitation.email)
        if user.has_password:
            raise PermissionDenied(_l("Log in to accept this invitation."))
        OrganizationService.accept(invitation, user)
        return user

    # --- Members

    @staticmethod
    def change_role(organization: Organization, actor, membership: OrganizationMembership,
                    role: OrgRole) -> None:
        actor_role = require(organization, actor, OrgPermission.MANAGE_MEMBERS)
        _check_belongs(organization, membership)
        _check_can_touch(actor, actor_role, membership)
        _check_grantable(actor_role, role)
        if membership.role == role:
            return
        before = membership.role
        membership.role = role
        ActivityLog.record(organization, actor, OrgAction.ROLE_CHANGED,
                           membership.user.email, before=before.value, after=role.value)
        db.session.flush()

    @staticmethod
    def remove_member(organization: Organization, actor,
                      membership: OrganizationMembership) -> None:
        actor_role = require(organization, actor, OrgPermission.MANAGE_MEMBERS)
        _check_belongs(organization, membership)
        _check_can_touch(actor, actor_role, membership)
        ActivityLog.record(organization, actor, OrgAction.MEMBER_REMOVED,
                           membership.user.email, role=membership.role.value)
        db.session.delete(membership)
        db.session.flush()

    @staticmethod
    def leave(organization: Organization, user) -> None:
        membership = organization.get_membership(user)
        if membership is None:
            raise ValidationError(_l("You are not a member of this organization."))
        if membership.role == OrgRole.OWNER:
            raise ValidationError(
                _l("The owner cannot leave: transfer ownership to another member first.")
            )
        ActivityLog.record(organization, user, OrgAction.MEMBER_LEFT, user.email,
                           role=membership.role.value)
        db.session.delete(membership)
        db.session.flush()

    @staticmethod
    def transfer_ownership(organization: Organization, actor, new_owner,
                           confirm_name: str) -> None:
        """OWNER → another member, in one transaction (seed 001): the new owner becomes
        OWNER, the old one ADMIN, and the activity log records it. Only flushes: a failure
        at any step leaves the caller's transaction to roll back whole."""
        require(organization, actor, OrgPermission.TRANSFER_OWNERSHIP)
        if (confirm_name or "").strip() != organization.name:
            raise ValidationError(
                _l("Type the organization's name exactly to confirm."), field="confirm_name"
            )
        if new_owner is None:
            raise ValidationError(_l("Choose a member."), field="new_owner")
        if new_owner.id == actor.id:
            raise ValidationError(_l("You are already the owner."), field="new_owner")
        incoming = organization.get_membership(new_owner)
        if incoming is None:
            raise ValidationError(
                _l("Ownership goes to an existing member only."), field="new_owner"
            )
        outgoing = organization.get_membership(actor)
        # One OWNER at all times, enforced by a unique index: demote before promoting.
        outgoing.role = OrgRole.ADMIN
        db.session.flush()
        incoming.role = OrgRole.OWNER
        db.session.flush()
        ActivityLog.record(organization, actor, OrgAction.OWNERSHIP_TRANSFERRED,
                           new_owner.email, previous_owner=actor.email)
        db.session.flush()

    # --- Certificate templates

    @staticmethod
    def share_template(organization: Organization, actor, template) -> None:
        """Hand one of the actor's own templates to the organization: its managers may then
        choose it for their events and its admins edit it."""
        require(organization, actor, OrgPermission.MANAGE_TEMPLATES)
        if template.is_default or template.owner_id != actor.id:
            raise ValidationError(_l("Share one of your own templates."), field="template")
        if template.organization_id is not None:
            raise ValidationError(_l("That template already belongs to an organization."),
                                  field="template")
        template.organization_id = organization.id
        ActivityLog.record(organization, actor, OrgAction.TEMPLATE_SHARED, template.name)
        db.session.flush()


def _check_belongs(organization: Organization, row) -> None:
    if row.organization_id != organization.id:
        raise ValidationError(_l("That belongs to another organization."))


def _check_can_touch(actor, actor_role: OrgRole, membership: OrganizationMembership) -> None:
    if membership.user_id == actor.id:
        raise ValidationError(_l("You cannot change your own membership here."))
    if membership.role == OrgRole.OWNER:
        raise ValidationError(
            _l("The owner cannot be changed or removed: only the owner transfers ownership.")
        )
    if not actor_role.outranks_or_equals(membership.role):
        raise ValidationError(_l("You cannot change a member whose role is above yours."))


def _send_invitation(invitation: OrganizationInvitation, token: str, inviter) -> None:
    organization = invitation.organization
    MailService.send(
        "organization_invitation",
        invitation.email,
        {
            "inviter_name": getattr(inviter, "display_name", None) or _("A member"),
            "role": str(ROLE_LABELS[invitation.role]),
            "accept_url": external_url("organizations.invitation", token=token),
            "expires_on": datetime_long(invitation.expires_at, "UTC"),
            **organization.branding(),  # name, logo URL and colour
        },
    )


def record_event_created(event) -> None:
    """`event_created`: an organization's new event appears in its activity log."""
    if event.organization_id is None:
        return
    organization = db.session.get(Organization, event.organization_id)
    ActivityLog.record(organization, event.created_by_id and _user(event.created_by_id),
                       OrgAction.EVENT_CREATED, event.title)


def _user(user_id: int):
    from app.accounts.models import User

    return db.session.get(User, user_id)


# --- Privacy (app/core/privacy): memberships and invitations are personal data


def export_memberships(user) -> dict:
    memberships = user.get_active_memberships()
    invitations = db.session.scalars(
        sa.select(OrganizationInvitation).where(OrganizationInvitation.email == user.email)
    )
    return {
        "memberships": [{"organization": m.organization.name, "role": m.role.value,
                         "joined_at": m.joined_at.isoformat()} for m in memberships],
        "invitations": [{"organization": i.organization.name, "role": i.role.value,
                         "sent_at": i.sent_at.isoformat(),
                         "accepted_at": i.accepted_at.isoformat() if i.accepted_at else None}
                        for i in invitations],
    }


def anonymise_memberships(user) -> None:
    """Leave every organization. An owner is refused: an organization must always have one,
    so ownership is transferred first (nothing is erased in that case)."""
    owned = db.session.scalars(
        sa.select(Organization.name)
        .join(OrganizationMembership, OrganizationMembership.organization_id == Organization.id)
        .where(OrganizationMembership.user_id == user.id,
               OrganizationMembership.role == OrgRole.OWNER)
    ).all()
    if owned:
        raise ValidationError(_l(
            "You own %(names)s: transfer ownership to another member before deleting your "
            "account.", names=", ".join(f"“{name}”" for name in owned)))
    db.session.execute(sa.delete(OrganizationMembership)
                       .where(OrganizationMembership.user_id == user.id))
    db.session.execute(sa.delete(OrganizationInvitation)
                       .where(OrganizationInvitation.email == user.email))


def _register_privacy() -> None:
    from app.core import privacy

    privacy.register("organizations", export=export_memberships,
                     anonymise=anonymise_memberships, order=10)


_register_privacy()

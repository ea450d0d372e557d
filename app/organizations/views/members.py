"""Members of an organization: the list with HTMX role changes and removals, invitations
(send, resend, cancel), leaving, and accepting an invitation from its emailed link."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.accounts import tokens
from app.accounts.forms import EmptyForm
from app.accounts.services import find_user_by_email
from app.core.forms import FORM_ERROR_STATUS, attempt
from app.core.htmx import is_htmx, redirect_to
from app.extensions import db
from app.organizations import queries
from app.organizations.forms import InviteForm, RoleForm
from app.organizations.models import Organization, OrganizationInvitation, OrganizationMembership
from app.organizations.permissions import OrgPermission, OrgRole, role_allows
from app.organizations.services import ROLE_LABELS, OrganizationService, grantable_roles
from app.organizations.views import bp, load_organization


def members_url(organization: Organization) -> str:
    return url_for("organizations.members", slug=organization.slug)


def _membership_of(organization: Organization, membership_uuid: uuid.UUID):
    """A membership of THIS organization: another organization's uuid is simply not found."""
    return db.first_or_404(sa.select(OrganizationMembership).where(
        OrganizationMembership.uuid == membership_uuid,
        OrganizationMembership.organization_id == organization.id,
    ))


def _invitation_of(organization: Organization, invitation_uuid: uuid.UUID):
    return db.first_or_404(sa.select(OrganizationInvitation).where(
        OrganizationInvitation.uuid == invitation_uuid,
        OrganizationInvitation.organization_id == organization.id,
    ))


def _members_page(organization, role, invite_form=None, status=200):
    can_manage = role_allows(role, OrgPermission.MANAGE_MEMBERS)
    roles = grantable_roles(role)
    return render_template(
        "organizations/members.html", organization=organization, role=role,
        members=organization.get_members(), can_manage=can_manage,
        invitations=queries.pending_invitations(organization) if can_manage else [],
        invite_form=invite_form or (InviteForm(roles) if can_manage else None),
        grantable=roles, role_labels=ROLE_LABELS, empty_form=EmptyForm(),
    ), status


@bp.get("/orgs/<slug>/members")
@login_required
def members(slug: str):
    organization, role = load_organization(slug)
    return _members_page(organization, role)


@bp.post("/orgs/<slug>/members/invite")
@login_required
def invite_member(slug: str):
    organization, role = load_organization(slug, OrgPermission.MANAGE_MEMBERS)
    # Every role is offered to the form, so that a role above one's own gets the service's
    # clear message instead of WTForms' "not a valid choice".
    form = InviteForm(list(OrgRole))
    if form.validate_on_submit():
        sent = attempt(lambda: OrganizationService.invite(
            organization, current_user, form.email.data, OrgRole(form.role.data)), form)
        if sent:
            flash(_("An invitation is on its way to %(email)s.", email=sent.value.email),
                  "success")
            return redirect(members_url(organization), code=303)
    form.role.choices = InviteForm(grantable_roles(role)).role.choices
    return _members_page(organization, role, form, FORM_ERROR_STATUS)


@bp.post("/orgs/<slug>/members/<uuid:membership_uuid>/role")
@login_required
def change_role(slug: str, membership_uuid: uuid.UUID):
    organization, role = load_organization(slug, OrgPermission.MANAGE_MEMBERS)
    membership = _membership_of(organization, membership_uuid)
    form = RoleForm(list(OrgRole))
    if not form.validate_on_submit():
        flash(_("Choose a role from the list."), "error")
        return redirect_to(members_url(organization))
    changed = attempt(lambda: OrganizationService.change_role(
        organization, current_user, membership, OrgRole(form.role.data)))
    if changed and is_htmx():
        return render_template(
            "organizations/_member_row.html", organization=organization, member=membership,
            can_manage=True, grantable=grantable_roles(role), role_labels=ROLE_LABELS,
            empty_form=EmptyForm(), saved=True,
        )
    if changed:
        flash(_("%(name)s is now %(role)s.", name=membership.user.display_name,
                role=ROLE_LABELS[membership.role]), "success")
    return redirect_to(members_url(organization))


@bp.post("/orgs/<slug>/members/<uuid:membership_uuid>/remove")
@login_required
def remove_member(slug: str, membership_uuid: uuid.UUID):
    organization, _role = load_organization(slug, OrgPermission.MANAGE_MEMBERS)
    membership = _membership_of(organization, membership_uuid)
    name = membership.user.display_name
    removed = attempt(lambda: OrganizationService.remove_member(
        organization, current_user, membership))
    if removed and is_htmx():
        return ""  # the row goes away
    if removed:
        flash(_("%(name)s is no longer a member.", name=name), "success")
    return redirect_to(members_url(organization))


@bp.post("/orgs/<slug>/leave")
@login_required
def leave(slug: str):
    organization, _role = load_organization(slug)
    left = attempt(lambda: OrganizationService.leave(organization, current_user))
    if left:
        flash(_("You have left %(name)s.", name=organization.name), "success")
        return redirect_to(url_for("organizations.list_organizations"))
    return redirect_to(members_url(organization))


@bp.post("/orgs/<slug>/invitations/<uuid:invitation_uuid>/resend")
@login_required
def resend_invitation(slug: str, invitation_uuid: uuid.UUID):
    organization, _role = load_organization(slug, OrgPermission.MANAGE_MEMBERS)
    invitation = _invitation_of(organization, invitation_uuid)
    if attempt(lambda: OrganizationService.resend(organization, current_user, invitation)):
        flash(_("The invitation is sent again to %(email)s.", email=invitation.email),
              "success")
    return redirect_to(members_url(organization) + "#invitations")


@bp.post("/orgs/<slug>/invitations/<uuid:invitation_uuid>/cancel")
@login_required
def cancel_invitation(slug: str, invitation_uuid: uuid.UUID):
    organization, _role = load_organization(slug, OrgPermission.MANAGE_MEMBERS)
    invitation = _invitation_of(organization, invitation_uuid)
    email = invitation.email
    if attempt(lambda: OrganizationService.cancel(organization, current_user, invitation)):
        flash(_("The invitation to %(email)s is withdrawn.", email=email), "success")
    return redirect_to(members_url(organization) + "#invitations")


# --- Accepting, from the emailed link (no login needed to see it)


def _invitation_for(token: str) -> OrganizationInvitation:
    invitation = OrganizationInvitation.for_token(token)
    if invitation is None:
        abort(404)
    return invitation


def _accept_situation(invitation: OrganizationInvitation) -> str:
    """What the person holding the link can do: one word the page and the POST share."""
    if invitation.accepted_at is not None:
        return "used"
    if invitation.is_expired or invitation.organization.is_deleted:
        return "expired"
    if current_user.is_authenticated:
        return "accept" if current_user.email == invitation.email else "other_account"
    account = find_user_by_email(invitation.email)
    return "log_in" if account is not None and account.has_password else "new_account"


@bp.route("/join/<token>", methods=["GET", "POST"])
def invitation(token: str):
    invitation = _invitation_for(token)
    situation = _accept_situation(invitation)
    form = EmptyForm()
    if form.validate_on_submit() and situation in ("accept", "new_account"):
        if situation == "accept":
            joined = attempt(lambda: OrganizationService.accept(invitation, current_user))
            if joined:
                flash(_("Welcome to %(name)s.", name=invitation.organization.name), "success")
                return redirect(url_for("organizations.dashboard",
                                        slug=invitation.organization.slug), code=303)
        else:
            made = attempt(lambda: OrganizationService.accept_for_new_account(invitation))
            if made:
                flash(_("You have joined %(name)s. Choose a password for your account.",
                        name=invitation.organization.name), "success")
                reset = tokens.make_token(made.value, tokens.RESET_PASSWORD)
                return redirect(url_for("accounts.reset_password", token=reset), code=303)
    status = 200 if situation in ("accept", "new_account", "log_in") else 410
    if form.is_submitted() and situation not in ("accept", "new_account"):
        status = 403 if situation in ("other_account", "log_in") else status
    return render_template(
        "organizations/invitation.html", invitation=invitation, situation=situation,
        form=form, role_label=ROLE_LABELS[invitation.role],
        login_url=url_for("accounts.login", next=url_for("organizations.invitation",
                                                         token=token)),
    ), status

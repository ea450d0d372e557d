"""Organization pages: create one, its dashboard, settings, ownership transfer, activity log,
and its logo (public: event pages and emails show it)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.accounts.forms import EmptyForm
from app.accounts.models import User
from app.core.fields import int_param
from app.core.forms import FORM_ERROR_STATUS, attempt
from app.core.storage import InvalidKey, get_storage
from app.extensions import db
from app.organizations import queries
from app.organizations.forms import OrganizationForm, SettingsForm, TransferForm, read_upload
from app.organizations.logos import content_type
from app.organizations.models import Organization
from app.organizations.permissions import OrgPermission, role_allows
from app.organizations.services import ROLE_LABELS, OrganizationService
from app.organizations.views import bp, load_organization


def dashboard_url(organization: Organization) -> str:
    return url_for("organizations.dashboard", slug=organization.slug)


@bp.get("/organizations")
@login_required
def list_organizations():
    return render_template("organizations/list.html",
                           memberships=current_user.get_active_memberships(),
                           role_labels=ROLE_LABELS)


@bp.route("/organizations/new", methods=["GET", "POST"])
@login_required
def create_organization():
    form = OrganizationForm()
    if form.validate_on_submit():
        created = attempt(lambda: OrganizationService.create(
            current_user, name=form.name.data, slug=form.slug.data or "",
            primary_colour=form.primary_colour.data or "", logo=read_upload(form.logo),
        ), form)
        if created:
            flash(_("“%(name)s” is created and you are its owner. Invite your team next.",
                    name=created.value.name), "success")
            return redirect(url_for("organizations.members", slug=created.value.slug), code=303)
    status = FORM_ERROR_STATUS if form.is_submitted() else 200
    return render_template("organizations/new.html", form=form), status


@bp.get("/orgs/<slug>")
@login_required
def dashboard(slug: str):
    organization, role = load_organization(slug)
    may_share = role_allows(role, OrgPermission.MANAGE_TEMPLATES)
    return render_template(
        "organizations/dashboard.html", organization=organization, role=role,
        board=queries.dashboard_for(organization), role_labels=ROLE_LABELS,
        can=lambda permission: role_allows(role, OrgPermission[permission]),
        templates=queries.organization_templates(organization),
        shareable=queries.shareable_templates(current_user) if may_share else [],
        share_form=EmptyForm(),
    )


@bp.post("/orgs/<slug>/templates/share")
@login_required
def share_template(slug: str):
    from app.certificates.models import CertificateTemplate

    organization, _role = load_organization(slug, OrgPermission.MANAGE_TEMPLATES)
    template = db.session.scalar(sa.select(CertificateTemplate).where(
        CertificateTemplate.uuid == _uuid_or_none(request.form.get("template", "")),
        CertificateTemplate.owner_id == current_user.id,
    ))
    if template is None:
        flash(_("Choose one of your templates."), "error")
    elif attempt(lambda: OrganizationService.share_template(organization, current_user,
                                                            template)):
        flash(_("“%(name)s” is now shared with %(org)s.", name=template.name,
                org=organization.name), "success")
    return redirect(dashboard_url(organization) + "#templates", code=303)


@bp.route("/orgs/<slug>/settings", methods=["GET", "POST"])
@login_required
def settings(slug: str):
    organization, role = load_organization(slug, OrgPermission.EDIT_SETTINGS)
    form = SettingsForm(obj=organization)
    if form.validate_on_submit():
        saved = attempt(lambda: OrganizationService.update_settings(
            organization, current_user, name=form.name.data,
            primary_colour=form.primary_colour.data or "", logo=read_upload(form.logo),
            remove_logo=bool(form.remove_logo.data),
        ), form)
        if saved:
            flash(_("The settings are saved."), "success")
            return redirect(url_for("organizations.settings", slug=organization.slug), code=303)
    status = FORM_ERROR_STATUS if form.is_submitted() else 200
    return render_template("organizations/settings.html", organization=organization,
                           role=role, form=form), status


@bp.route("/orgs/<slug>/transfer", methods=["GET", "POST"])
@login_required
def transfer(slug: str):
    organization, role = load_organization(slug, OrgPermission.TRANSFER_OWNERSHIP)
    others = [m for m in organization.get_members() if m.user_id != current_user.id]
    form = TransferForm(others)
    if form.validate_on_submit():
        new_owner = db.session.scalar(
            sa.select(User).where(User.uuid == _uuid_or_none(form.new_owner.data))
        )
        done = attempt(lambda: OrganizationService.transfer_ownership(
            organization, current_user, new_owner, form.confirm_name.data), form)
        if done:
            flash(_("%(name)s is now the owner; you are an admin.",
                    name=new_owner.display_name), "success")
            return redirect(url_for("organizations.members", slug=organization.slug), code=303)
    status = FORM_ERROR_STATUS if form.is_submitted() else 200
    return render_template("organizations/transfer.html", organization=organization,
                           role=role, form=form, has_others=bool(others)), status


def _uuid_or_none(value: str):
    import uuid

    try:
        return uuid.UUID(value)
    except (TypeError, ValueError):
        return None


@bp.get("/orgs/<slug>/activity")
@login_required
def activity(slug: str):
    organization, role = load_organization(slug, OrgPermission.VIEW_ACTIVITY)
    page = int_param(request.args.get("page"), 1, minimum=1, maximum=10_000)
    rows, has_next = queries.activity_page(organization, page)
    return render_template("organizations/activity.html", organization=organization,
                           role=role, rows=rows, page=page, has_next=has_next)


@bp.get("/orgs/<slug>/logo")
def logo(slug: str):
    """The organization's logo for anyone: it brands public pages and emails."""
    organization = db.session.scalar(sa.select(Organization).where(Organization.slug == slug))
    if organization is None or not organization.logo_key:
        abort(404)
    storage = get_storage()
    try:
        if not storage.exists(organization.logo_key):
            abort(404)
        data = storage.read(organization.logo_key)
    except InvalidKey:
        abort(404)
    response = Response(data, content_type=content_type(organization.logo_key))
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response

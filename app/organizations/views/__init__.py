"""The organizations blueprint: one module per job (pages: create, dashboard, settings,
transfer, activity; members: the member list, roles and invitations)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, g, session
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.extensions import db
from app.organizations.models import OrgAction, Organization
from app.organizations.permissions import OrgPermission, OrgRole, role_allows

bp = Blueprint("organizations", __name__)

CURRENT_ORG = "current_organization"


def load_organization(
    slug: str, permission: OrgPermission = OrgPermission.VIEW_ORGANIZATION
) -> tuple[Organization, OrgRole | None]:
    """The organization and the current user's role in it: 404 to people outside it (its
    existence is nobody else's business), 403 to members whose role lacks `permission`.
    Site admins may look at any organization's dashboard, and act on none."""
    organization = db.session.scalar(sa.select(Organization).where(Organization.slug == slug))
    if organization is None:
        abort(404)
    role = organization.get_role(current_user)
    if role is None and not current_user.is_admin:
        abort(404)
    admin_look = current_user.is_admin and permission == OrgPermission.VIEW_ORGANIZATION
    if not role_allows(role, permission) and not admin_look:
        abort(403)
    if role is not None:
        session[CURRENT_ORG] = organization.slug  # the switcher shows it first
    return organization, role


ACTIVITY_LABELS = {
    OrgAction.CREATED: _l("Created the organization"),
    OrgAction.SETTINGS_CHANGED: _l("Changed the settings"),
    OrgAction.MEMBER_INVITED: _l("Invited"),
    OrgAction.INVITATION_RESENT: _l("Resent the invitation to"),
    OrgAction.INVITATION_CANCELLED: _l("Withdrew the invitation to"),
    OrgAction.MEMBER_JOINED: _l("Joined"),
    OrgAction.ROLE_CHANGED: _l("Changed the role of"),
    OrgAction.MEMBER_REMOVED: _l("Removed"),
    OrgAction.MEMBER_LEFT: _l("Left"),
    OrgAction.OWNERSHIP_TRANSFERRED: _l("Transferred ownership to"),
    OrgAction.EVENT_CREATED: _l("Created the event"),
    OrgAction.TEMPLATE_SHARED: _l("Shared the certificate template"),
}


def org_switcher() -> dict:
    """The navigation's organization menu: the user's organizations, the current one (the
    last one visited, remembered in the session) first. One query, on pages for people who
    are logged in only (anonymous pages stay cacheable)."""
    if not current_user.is_authenticated:
        return {"current": None, "others": []}
    if "convene.org_switcher" not in g:
        memberships = current_user.get_active_memberships()
        wanted = session.get(CURRENT_ORG)
        current = next((m.organization for m in memberships
                        if m.organization.slug == wanted), None)
        others = [m.organization for m in memberships if m.organization is not current]
        g.setdefault("convene.org_switcher", {"current": current, "others": others})
    return g.get("convene.org_switcher")


@bp.app_context_processor
def _organization_helpers() -> dict:
    from app.organizations.services import ROLE_LABELS

    return {
        "org_switcher": org_switcher,
        "role_label": lambda role: ROLE_LABELS.get(role, ""),
        "org_allows": lambda role, name: role_allows(role, OrgPermission[name]),
        "activity_label": lambda action: ACTIVITY_LABELS.get(action, action.value),
    }


from app.organizations.views import members, pages  # noqa: E402,F401

"""Building organizations for tests: plain values out, no ORM object outlives its session."""

from __future__ import annotations

import io
from types import SimpleNamespace

import sqlalchemy as sa
from PIL import Image

from app.accounts.models import User
from app.extensions import db
from app.organizations.models import (
    ActivityLog,
    Organization,
    OrganizationInvitation,
    OrganizationMembership,
)
from app.organizations.permissions import OrgRole
from app.organizations.services import OrganizationService
from tests.conftest import create_user

ROLES = (OrgRole.OWNER, OrgRole.ADMIN, OrgRole.MANAGER, OrgRole.MEMBER)


def png_bytes(size: int = 8, colour: str = "#1a5fb4") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def make_org(app, name: str = "City Medics", prefix: str = "", **extra_members) -> SimpleNamespace:
    """An organization with one person per role (owner, admin, manager, member) and an
    outsider; `extra_members` adds name=OrgRole. Returns ids, emails and the slug."""
    prefix = prefix or name.split()[0].lower()
    people = {role.value: create_user(app, email=f"{prefix}-{role.value}@example.com",
                                      full_name=f"{role.value.title()} {name}")
              for role in ROLES}
    for person, _role in extra_members.items():
        people[person] = create_user(app, email=f"{prefix}-{person}@example.com")
    with app.test_request_context():
        owner = db.session.get(User, people["owner"].id)
        organization = OrganizationService.create(owner, name=name)
        for role in ROLES[1:]:
            db.session.add(OrganizationMembership(organization=organization,
                                                  user_id=people[role.value].id, role=role))
        for person, role in extra_members.items():
            db.session.add(OrganizationMembership(organization=organization,
                                                  user_id=people[person].id, role=role))
        db.session.commit()
        return SimpleNamespace(id=organization.id, uuid=organization.uuid,
                               slug=organization.slug, name=organization.name, **people)


def roles_of(app, org_id: int) -> dict[str, OrgRole]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(User.email, OrganizationMembership.role)
            .join(User, User.id == OrganizationMembership.user_id)
            .where(OrganizationMembership.organization_id == org_id)
        ).all()
        db.session.remove()
        return dict(rows)


def org_state(app, org_id: int) -> tuple:
    """Everything an organization action could change, to compare before and after."""
    with app.app_context():
        organization = db.session.scalar(sa.select(Organization).where(Organization.id == org_id)
                                         .execution_options(include_deleted=True))
        state = (
            organization.name, organization.slug, organization.primary_colour,
            organization.logo_key, organization.deleted_at,
            sorted(roles_of(app, org_id).items()),
            sorted(db.session.execute(
                sa.select(OrganizationInvitation.email, OrganizationInvitation.role,
                          OrganizationInvitation.sent_at, OrganizationInvitation.accepted_at)
                .where(OrganizationInvitation.organization_id == org_id)).all()),
            db.session.scalar(sa.select(sa.func.count(ActivityLog.id))
                              .where(ActivityLog.organization_id == org_id)),
        )
        db.session.remove()
        return state

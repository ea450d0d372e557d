"""Read-side queries of the organization pages, each a fixed number of queries whatever the
number of members, events or log rows."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from app.core.types import utcnow
from app.events.models import Event
from app.extensions import db
from app.organizations.models import (
    ActivityLog,
    Organization,
    OrganizationInvitation,
    OrganizationMembership,
)

UPCOMING_LIMIT = 10
ACTIVITY_PAGE_SIZE = 50


@dataclass(frozen=True)
class OrgDashboard:
    upcoming: list[Event]
    member_count: int
    event_count: int
    upcoming_count: int
    pending_invitations: int


def dashboard_for(organization: Organization) -> OrgDashboard:
    now = utcnow()
    upcoming = list(db.session.scalars(
        sa.select(Event)
        .where(Event.organization_id == organization.id, Event.end_at > now)
        .order_by(Event.start_at, Event.id)
        .limit(UPCOMING_LIMIT)
    ))
    counts = db.session.execute(sa.select(
        sa.select(sa.func.count(OrganizationMembership.id))
        .where(OrganizationMembership.organization_id == organization.id).scalar_subquery(),
        sa.select(sa.func.count(Event.id))
        .where(Event.organization_id == organization.id, Event.deleted_at.is_(None))
        .scalar_subquery(),
        sa.select(sa.func.count(Event.id))
        .where(Event.organization_id == organization.id, Event.deleted_at.is_(None),
               Event.end_at > now)
        .scalar_subquery(),
        sa.select(sa.func.count(OrganizationInvitation.id))
        .where(OrganizationInvitation.organization_id == organization.id,
               OrganizationInvitation.accepted_at.is_(None),
               OrganizationInvitation.expires_at > now)
        .scalar_subquery(),
    )).one()
    return OrgDashboard(upcoming=upcoming, member_count=counts[0], event_count=counts[1],
                        upcoming_count=counts[2], pending_invitations=counts[3])


def pending_invitations(organization: Organization) -> list[OrganizationInvitation]:
    """Invitations not yet accepted (expired ones too, marked, so they can be resent)."""
    return list(db.session.scalars(
        sa.select(OrganizationInvitation)
        .where(OrganizationInvitation.organization_id == organization.id,
               OrganizationInvitation.accepted_at.is_(None))
        .options(joinedload(OrganizationInvitation.invited_by))
        .order_by(OrganizationInvitation.sent_at.desc(), OrganizationInvitation.id.desc())
    ))


def activity_page(organization: Organization, page: int = 1) -> tuple[list[ActivityLog], bool]:
    """One page of the activity log, newest first, and whether there is a next one."""
    rows = list(db.session.scalars(
        sa.select(ActivityLog)
        .where(ActivityLog.organization_id == organization.id)
        .options(joinedload(ActivityLog.actor))
        .order_by(ActivityLog.created_at.desc(), ActivityLog.id.desc())
        .offset((max(page, 1) - 1) * ACTIVITY_PAGE_SIZE)
        .limit(ACTIVITY_PAGE_SIZE + 1)
    ))
    return rows[:ACTIVITY_PAGE_SIZE], len(rows) > ACTIVITY_PAGE_SIZE


def organization_templates(organization: Organization) -> list:
    """The organization's certificate templates, by name (one query)."""
    from app.certificates.models import CertificateTemplate

    return list(db.session.scalars(
        sa.select(CertificateTemplate)
        .where(CertificateTemplate.organization_id == organization.id)
        .order_by(CertificateTemplate.name, CertificateTemplate.id)
    ))


def shareable_templates(user) -> list:
    """The user's own templates that belong to no organization yet (one query)."""
    from app.certificates.models import CertificateTemplate

    return list(db.session.scalars(
        sa.select(CertificateTemplate)
        .where(CertificateTemplate.owner_id == user.id,
               CertificateTemplate.organization_id.is_(None),
               CertificateTemplate.is_default.is_(False))
        .order_by(CertificateTemplate.name, CertificateTemplate.id)
    ))

"""Each organization role × each organization action, over HTTP: one written-out table.

The people: anonymous, an outsider (logged in, not a member), a site admin (not a member),
and a member of each role; statuses are in that order. 302 for anonymous is "sent to the
login page"; 404 is "this organization (or its private event) does not exist for you";
403 is "your role does not allow it"; 303 is the redirect after an action done (or
refused with a message). Every cell runs against a freshly built organization, so a
destructive action never changes what another request sees. Requests carry valid data, so
a 303 means the action was done: the DONE check of each row confirms it. Site admins see
every organization and event (as they see events today) but act in none.
"""

from __future__ import annotations

import itertools
import secrets
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.core.bearer import hash_token
from app.core.types import utcnow
from app.events.models import Event, EventVisibility
from app.extensions import db
from app.organizations.models import OrganizationInvitation, OrganizationMembership
from app.organizations.permissions import OrgRole
from app.states import EventStatus
from tests.conftest import create_user, csrf_token, log_in
from tests.factories import EventFactory
from tests.organizations.helpers import make_org, roles_of

PEOPLE = ("anonymous", "outsider", "site_admin", "owner", "admin", "manager", "member")
_numbers = itertools.count()

# action: (method, path template, form data, statuses in PEOPLE order)
MATRIX = {
    "view dashboard": ("GET", "/orgs/{slug}", {}, (302, 404, 200, 200, 200, 200, 200)),
    "view members": ("GET", "/orgs/{slug}/members", {}, (302, 404, 200, 200, 200, 200, 200)),
    "invite": ("POST", "/orgs/{slug}/members/invite", {"email": "new@example.com",
                                                       "role": "member"},
               (302, 404, 403, 303, 303, 403, 403)),
    "change a role": ("POST", "/orgs/{slug}/members/{target}/role", {"role": "manager"},
                      (302, 404, 403, 303, 303, 403, 403)),
    "remove a member": ("POST", "/orgs/{slug}/members/{target}/remove", {},
                        (302, 404, 403, 303, 303, 403, 403)),
    "resend an invitation": ("POST", "/orgs/{slug}/invitations/{invitation}/resend", {},
                             (302, 404, 403, 303, 303, 403, 403)),
    "cancel an invitation": ("POST", "/orgs/{slug}/invitations/{invitation}/cancel", {},
                             (302, 404, 403, 303, 303, 403, 403)),
    "view settings": ("GET", "/orgs/{slug}/settings", {}, (302, 404, 403, 200, 200, 403, 403)),
    "edit settings": ("POST", "/orgs/{slug}/settings", {"name": "Renamed",
                                                        "primary_colour": "#123456"},
                      (302, 404, 403, 303, 303, 403, 403)),
    "view activity": ("GET", "/orgs/{slug}/activity", {}, (302, 404, 403, 200, 200, 403, 403)),
    "view transfer": ("GET", "/orgs/{slug}/transfer", {}, (302, 404, 403, 200, 403, 403, 403)),
    "transfer ownership": ("POST", "/orgs/{slug}/transfer", {"new_owner": "{target_user}",
                                                             "confirm_name": "{name}"},
                           (302, 404, 403, 303, 403, 403, 403)),
    "view a private org event": ("GET", "/events/{event_slug}", {},
                                 (404, 404, 200, 200, 200, 200, 200)),
    "manage an org event": ("GET", "/events/{event_uuid}/manage", {},
                            (302, 404, 403, 200, 200, 200, 403)),
    "edit an org event": ("GET", "/events/{event_uuid}/edit", {},
                          (302, 404, 403, 200, 200, 200, 403)),
}

# What each successful action changed, checked for every role that got its success status.
DONE = {
    "invite": lambda s: s["invited"] == {"new@example.com", "pending@example.com"},
    "change a role": lambda s: s["roles"]["target@x"] == OrgRole.MANAGER,
    "remove a member": lambda s: "target@x" not in s["roles"],
    "cancel an invitation": lambda s: s["invited"] == set(),
    "edit settings": lambda s: s["name"] == "Renamed",
    "transfer ownership": lambda s: s["roles"]["target@x"] == OrgRole.OWNER,
}


def build(app) -> dict:
    """A fresh organization with a person per role, a target member, a pending invitation and
    a private draft event; returns what the paths and checks need."""
    prefix = f"o{next(_numbers)}"
    org = make_org(app, name=f"Org {prefix}", prefix=prefix, target=OrgRole.MEMBER)
    with app.test_request_context():
        owner = db.session.get(User, org.owner.id)
        target_user = db.session.get(User, org.target.id)
        invitation = OrganizationInvitation(
            organization_id=org.id, email="pending@example.com", role=OrgRole.MEMBER,
            token_hash=hash_token(secrets.token_urlsafe()), invited_by_id=owner.id,
            sent_at=utcnow(), expires_at=utcnow() + timedelta(days=3))
        event = EventFactory(organizer=db.session.get(User, create_user(
            app, email=f"{prefix}-creator@example.com").id), status=EventStatus.DRAFT,
            visibility=EventVisibility.PRIVATE)
        event.organization_id = org.id
        db.session.add(invitation)
        db.session.commit()
        membership = db.session.scalar(sa.select(OrganizationMembership.uuid).where(
            OrganizationMembership.user_id == org.target.id))
        return {"org": org, "slug": org.slug, "name": org.name, "target": membership,
                "target_user": target_user.uuid, "target_email": target_user.email,
                "invitation": invitation.uuid, "event_slug": event.slug,
                "event_uuid": event.uuid}


def state(app, data) -> dict:
    org = data["org"]
    with app.app_context():
        invited = set(db.session.scalars(sa.select(OrganizationInvitation.email).where(
            OrganizationInvitation.organization_id == org.id)))
        name = db.session.scalar(sa.text("SELECT name FROM organizations WHERE id = :id"),
                                 {"id": org.id})
        db.session.remove()
    roles = {("target@x" if email == data["target_email"] else email): role
             for email, role in roles_of(app, org.id).items()}
    return {"invited": invited, "name": name, "roles": roles}


def client_for(app, person: str, data: dict):
    client = app.test_client()
    if person == "anonymous":
        return client, csrf_token(client, "/login")
    org = data["org"]
    if person == "outsider":
        email = create_user(app, email=f"{org.slug}-outsider@example.com").email
    elif person == "site_admin":
        email = create_user(app, email=f"{org.slug}-admin@example.com", is_admin=True).email
    else:
        email = getattr(org, person).email
    log_in(client, email)
    return client, csrf_token(client, "/account/profile")


@pytest.mark.parametrize("action", sorted(MATRIX))
def test_each_role_may_do_what_the_table_says(app, action):
    method, template, form, statuses = MATRIX[action]
    mismatches = []
    for person, expected in zip(PEOPLE, statuses, strict=True):
        data = build(app)
        before = state(app, data)
        client, token = client_for(app, person, data)
        path = template.format(**data)
        if method == "GET":
            response = client.get(path)
        else:
            values = {k: v.format(**data) for k, v in form.items()}
            response = client.post(path, data={**values, "csrf_token": token})
        if response.status_code != expected:
            mismatches.append(f"{action} as {person}: {response.status_code}, "
                              f"expected {expected}")
            continue
        after = state(app, data)
        if method == "POST" and expected == 303 and action in DONE:
            if not DONE[action](after):
                mismatches.append(f"{action} as {person}: answered 303 but nothing changed")
        elif method == "POST" and after != before:
            mismatches.append(f"{action} as {person}: refused, yet something changed")
    assert not mismatches, "\n".join(mismatches)


def test_a_manager_creates_an_org_event_and_a_member_may_not(app):
    data = build(app)
    org = data["org"]
    fields = {"title": "Ward round", "timezone": "UTC", "start_at": "2031-05-01T09:00",
              "end_at": "2031-05-01T11:00", "format": "virtual", "visibility": "private",
              "cpd_credits": "1", "attendance_threshold": "75",
              "organization_id": str(org.id)}
    for person, allowed in (("manager", True), ("member", False)):
        client, _token = client_for(app, person, data)
        token = csrf_token(client, "/events/new")
        response = client.post("/events/new", data={**fields, "csrf_token": token,
                                                    "title": f"Ward round {person}"})
        assert (response.status_code == 303) is allowed, (person, response.status_code)
    with app.app_context():
        titles = set(db.session.scalars(sa.select(Event.title).where(
            Event.organization_id == org.id)))
    assert "Ward round manager" in titles and "Ward round member" not in titles

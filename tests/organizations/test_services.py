"""OrganizationService and the role rules: every bad input of issue 7 is refused with a clear
message and changes nothing; ownership transfer is one transaction."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.core.errors import DomainError, PermissionDenied, ValidationError
from app.extensions import db
from app.organizations.models import (
    ActivityLog,
    OrgAction,
    Organization,
    OrganizationMembership,
)
from app.organizations.permissions import (
    PERMISSION_LEVELS,
    OrgPermission,
    OrgRole,
    permissions_of,
)
from app.organizations.services import OrganizationService
from tests.conftest import create_user
from tests.organizations.helpers import make_org, org_state, png_bytes, roles_of


def load(org):
    organization = db.session.get(Organization, org.id)
    person = lambda who: db.session.get(User, getattr(org, who).id)  # noqa: E731
    return organization, person


# --- The role hierarchy is data


def test_permissions_cascade_down_the_hierarchy():
    owner, admin, manager, member = (permissions_of(r) for r in OrgRole)
    assert member < manager < admin < owner
    assert owner == frozenset(OrgPermission)
    assert OrgPermission.TRANSFER_OWNERSHIP not in admin
    assert OrgPermission.MANAGE_MEMBERS in admin and OrgPermission.MANAGE_MEMBERS not in manager
    assert OrgPermission.CREATE_EVENTS in manager and OrgPermission.CREATE_EVENTS not in member
    assert permissions_of(None) == frozenset()
    assert set(PERMISSION_LEVELS) == set(OrgPermission)


def test_user_side_methods(app):
    org = make_org(app)
    with app.test_request_context():
        organization, person = load(org)
        admin, member = person("admin"), person("member")
        assert admin.is_org_admin(org.id) and not member.is_org_admin(org.id)
        assert member.has_role_in_org(org.id, OrgRole.MEMBER)
        assert not member.has_role_in_org(org.id, OrgRole.ADMIN)
        assert member.can_access_organization(org.id)
        assert [m.organization.name for m in member.get_active_memberships()] == [org.name]
        assert organization.get_user_permissions(member) == permissions_of(OrgRole.MEMBER)
        outsider = db.session.get(User, create_user(app, email="out@example.com").id)
        assert not outsider.can_access_organization(org.id)
        assert outsider.can_join_organization(organization)
        assert not member.can_join_organization(organization)
        organization.soft_delete()
        db.session.flush()
        assert member.get_active_memberships() == []
        assert not member.can_access_organization(org.id)


def test_creating_makes_the_creator_owner_and_logs_it(app):
    user = create_user(app, email="founder@example.com")
    with app.test_request_context():
        founder = db.session.get(User, user.id)
        organization = OrganizationService.create(founder, name="  Ward 7  ",
                                                  primary_colour="#AABBCC", logo=png_bytes())
        db.session.commit()
        assert organization.name == "Ward 7" and organization.slug == "ward-7"
        assert organization.primary_colour == "#aabbcc"
        assert organization.get_role(founder) == OrgRole.OWNER
        assert organization.logo_key.endswith(".png")
        actions = db.session.scalars(sa.select(ActivityLog.action)).all()
        assert actions == [OrgAction.CREATED]


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"name": ""}, "name", "name"),
    ({"name": "A", "slug": "Not A Slug!"}, "slug", "lower-case"),
    ({"name": "A", "primary_colour": "blue"}, "primary_colour", "#rrggbb"),
    ({"name": "A", "logo": b"not an image at all"}, "logo", "PNG, JPEG"),
    ({"name": "A", "logo": b"\x89PNG" + b"0" * (2 * 1024 * 1024)}, "logo", "2 MB"),
])
def test_bad_organization_details_are_refused_and_nothing_is_written(app, fields, field,
                                                                     message):
    user = create_user(app, email="founder@example.com")
    with app.test_request_context():
        with pytest.raises(ValidationError) as refused:
            OrganizationService.create(db.session.get(User, user.id), **fields)
        db.session.rollback()
        assert refused.value.field == field and message in refused.value.message
        assert db.session.scalar(sa.select(sa.func.count(Organization.id))) == 0
        assert db.session.scalar(sa.select(sa.func.count(OrganizationMembership.id))) == 0


def test_a_taken_slug_is_refused(app):
    org = make_org(app)
    before = org_state(app, org.id)
    user = create_user(app, email="second@example.com")
    with app.test_request_context():
        with pytest.raises(ValidationError, match="taken") as refused:
            OrganizationService.create(db.session.get(User, user.id), name="Other",
                                       slug=org.slug)
        assert refused.value.field == "slug"
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count(Organization.id))) == 1
    assert org_state(app, org.id) == before


# --- Invitations


@pytest.mark.parametrize(("inviter", "email", "role", "message"), [
    ("admin", "city-member@example.com", OrgRole.MEMBER, "already a member"),
    ("admin", "CITY-Manager@Example.com ", OrgRole.MEMBER, "already a member"),
    ("admin", "not-an-address", OrgRole.MEMBER, "not a valid email"),
    ("manager", "new@example.com", OrgRole.MEMBER, "does not allow"),
    ("admin", "new@example.com", OrgRole.OWNER, "transfers ownership"),
    ("member", "new@example.com", OrgRole.MEMBER, "does not allow"),
])
def test_bad_invitations_are_refused_and_change_nothing(app, inviter, email, role, message):
    org = make_org(app)
    before = org_state(app, org.id)
    with app.test_request_context():
        organization, person = load(org)
        with pytest.raises(DomainError, match=message):
            OrganizationService.invite(organization, person(inviter), email, role)
        db.session.rollback()
    assert org_state(app, org.id) == before


def test_an_admin_cannot_invite_above_their_own_role(app):
    org = make_org(app)
    with app.test_request_context():
        organization, person = load(org)
        # An ADMIN may invite an ADMIN (their own level), never above; a second owner never.
        OrganizationService.invite(organization, person("admin"), "peer@example.com",
                                   OrgRole.ADMIN)
        with pytest.raises(ValidationError, match="transfers ownership"):
            OrganizationService.invite(organization, person("owner"), "o@example.com",
                                       OrgRole.OWNER)


def test_a_pending_invitation_is_not_sent_twice(app):
    org = make_org(app)
    with app.test_request_context():
        organization, person = load(org)
        OrganizationService.invite(organization, person("admin"), "new@example.com",
                                   OrgRole.MANAGER)
        with pytest.raises(ValidationError, match="already invited"):
            OrganizationService.invite(organization, person("owner"), "new@example.com",
                                       OrgRole.MEMBER)


def test_accepting_joins_with_the_role_once(app):
    org = make_org(app)
    guest = create_user(app, email="guest@example.com")
    with app.test_request_context():
        organization, person = load(org)
        invitation = OrganizationService.invite(organization, person("admin"),
                                                "guest@example.com", OrgRole.MANAGER)
        someone_else = person("member")
        with pytest.raises(PermissionDenied, match="guest@example.com"):
            OrganizationService.accept(invitation, someone_else)
        user = db.session.get(User, guest.id)
        OrganizationService.accept(invitation, user)
        assert organization.get_role(user) == OrgRole.MANAGER
        with pytest.raises(ValidationError, match="already been used"):
            OrganizationService.accept(invitation, user)


# --- Members


@pytest.mark.parametrize(("actor", "target", "role", "message"), [
    ("admin", "owner", OrgRole.MEMBER, "owner cannot be changed"),
    ("admin", "member", OrgRole.OWNER, "transfers ownership"),
    ("owner", "member", OrgRole.OWNER, "transfers ownership"),
    ("manager", "member", OrgRole.MANAGER, "does not allow"),
    ("admin", "admin", OrgRole.MEMBER, "your own membership"),
])
def test_role_changes_stay_within_the_actors_level(app, actor, target, role, message):
    org = make_org(app)
    before = org_state(app, org.id)
    with app.test_request_context():
        organization, person = load(org)
        membership = organization.get_membership(person(target))
        with pytest.raises(DomainError, match=message):
            OrganizationService.change_role(organization, person(actor), membership, role)
        db.session.rollback()
    assert org_state(app, org.id) == before


def test_an_admin_may_change_another_admin_but_a_manager_no_one(app):
    org = make_org(app, boss=OrgRole.ADMIN)
    with app.test_request_context():
        organization, person = load(org)
        other_admin = organization.get_membership(person("boss"))
        OrganizationService.change_role(organization, person("admin"), other_admin,
                                        OrgRole.MANAGER)
        assert other_admin.role == OrgRole.MANAGER
        with pytest.raises(PermissionDenied):
            OrganizationService.change_role(organization, person("manager"), other_admin,
                                            OrgRole.MEMBER)


def test_the_owner_can_be_neither_removed_nor_leave(app):
    org = make_org(app)
    before = org_state(app, org.id)
    with app.test_request_context():
        organization, person = load(org)
        owner_membership = organization.get_membership(person("owner"))
        with pytest.raises(ValidationError, match="owner cannot be changed or removed"):
            OrganizationService.remove_member(organization, person("admin"), owner_membership)
        with pytest.raises(ValidationError, match="transfer ownership"):
            OrganizationService.leave(organization, person("owner"))
        db.session.rollback()
    assert org_state(app, org.id) == before


def test_removing_and_leaving_write_the_activity_log(app):
    org = make_org(app)
    with app.test_request_context():
        organization, person = load(org)
        OrganizationService.remove_member(organization, person("admin"),
                                          organization.get_membership(person("member")))
        OrganizationService.leave(organization, person("manager"))
        db.session.commit()
        actions = db.session.scalars(
            sa.select(ActivityLog.action).order_by(ActivityLog.id)).all()
    assert actions[-2:] == [OrgAction.MEMBER_REMOVED, OrgAction.MEMBER_LEFT]
    assert set(roles_of(app, org.id).values()) == {OrgRole.OWNER, OrgRole.ADMIN}


def test_the_database_refuses_a_second_owner(app):
    org = make_org(app)
    with app.test_request_context():
        organization, person = load(org)
        organization.get_membership(person("admin")).role = OrgRole.OWNER
        with pytest.raises(sa.exc.IntegrityError):
            db.session.flush()
        db.session.rollback()


# --- Ownership transfer


def test_transfer_makes_the_new_owner_owner_and_the_old_one_admin(app):
    org = make_org(app)
    with app.test_request_context():
        organization, person = load(org)
        OrganizationService.transfer_ownership(organization, person("owner"),
                                               person("member"), org.name)
        db.session.commit()
        entry = db.session.scalar(sa.select(ActivityLog).order_by(ActivityLog.id.desc()))
        assert entry.action == OrgAction.OWNERSHIP_TRANSFERRED
        assert entry.target == org.member.email
        assert entry.data == {"previous_owner": org.owner.email}
    roles = roles_of(app, org.id)
    assert roles[org.member.email] == OrgRole.OWNER
    assert roles[org.owner.email] == OrgRole.ADMIN
    assert list(roles.values()).count(OrgRole.OWNER) == 1


@pytest.mark.parametrize(("actor", "new_owner", "confirm", "message"), [
    ("admin", "member", "City Medics", "does not allow"),
    ("owner", "owner", "City Medics", "already the owner"),
    ("owner", "outsider", "City Medics", "existing member"),
    ("owner", "member", "city medics", "exactly"),
    ("owner", None, "City Medics", "Choose a member"),
])
def test_bad_transfers_are_refused_and_change_nothing(app, actor, new_owner, confirm, message):
    org = make_org(app)
    outsider = create_user(app, email="outsider@example.com")
    before = org_state(app, org.id)
    with app.test_request_context():
        organization, person = load(org)
        target = {None: None, "outsider": db.session.get(User, outsider.id)}.get(
            new_owner, person(new_owner) if new_owner not in (None, "outsider") else None)
        with pytest.raises(DomainError, match=message):
            OrganizationService.transfer_ownership(organization, person(actor), target,
                                                   confirm)
        db.session.rollback()
    assert org_state(app, org.id) == before


def test_a_failure_late_in_the_transfer_rolls_all_of_it_back(app, monkeypatch):
    """The role changes are flushed before the log row is written: an error there must
    leave both roles as they were."""
    org = make_org(app)
    before = org_state(app, org.id)

    def failing_record(*args, **kwargs):
        raise ValidationError("the activity log is unavailable")

    monkeypatch.setattr(ActivityLog, "record", failing_record)
    with app.test_request_context():
        organization, person = load(org)
        from app.core.forms import attempt

        outcome = attempt(lambda: OrganizationService.transfer_ownership(
            organization, person("owner"), person("manager"), org.name), show=False)
        assert not outcome and "unavailable" in outcome.error.message
    assert org_state(app, org.id) == before


# --- Privacy


def test_deleting_an_account_leaves_organizations_but_an_owner_must_transfer_first(app):
    from app.accounts.services import AccountService
    from app.core.privacy import export_user_data
    from tests.conftest import PASSWORD

    org = make_org(app)
    before = org_state(app, org.id)
    with app.test_request_context():
        _organization, person = load(org)
        member = person("member")
        exported = export_user_data(member)["organizations"]
        assert exported["memberships"][0]["organization"] == org.name
        with pytest.raises(ValidationError, match="transfer ownership"):
            AccountService.delete_account(person("owner"), PASSWORD)
        db.session.rollback()
    assert org_state(app, org.id) == before
    with app.test_request_context():
        AccountService.delete_account(db.session.get(User, org.member.id), PASSWORD)
        db.session.commit()
    assert org.member.email not in roles_of(app, org.id)

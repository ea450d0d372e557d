"""The organization pages over HTTP: create (logo upload), invite and accept from the email,
HTMX member rows, leave, transfer (with an injected failure), settings, activity, the
switcher, and constant query counts for 2 and 20 rows."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.core.bearer import hash_token
from app.core.errors import ValidationError
from app.core.storage import get_storage
from app.core.types import utcnow
from app.extensions import db
from app.organizations.models import (
    ActivityLog,
    Organization,
    OrganizationInvitation,
    OrganizationMembership,
)
from app.organizations.permissions import OrgRole
from app.states import UserStatus
from tests.conftest import (
    PASSWORD,
    create_user,
    csrf_token,
    link_in,
    log_in,
    mail_text,
    post_form,
    query_counter,
    read_mail,
)
from tests.core.image_files import REFUSED_IMAGES
from tests.organizations.helpers import make_org, org_state, png_bytes, roles_of

HTMX = {"HX-Request": "true"}


def logged_in(app, email):
    client = app.test_client()
    log_in(client, email)
    return client


def org_count(app) -> int:
    with app.app_context():
        count = db.session.scalar(sa.select(sa.func.count(Organization.id)))
        db.session.remove()
        return count


# --- Creating


def test_creating_an_organization_with_a_logo(app, client):
    create_user(app, email="founder@example.com")
    log_in(client, "founder@example.com")
    response = post_form(client, "/organizations/new", {
        "name": "Northern Nurses", "slug": "", "primary_colour": "#0b6e4f",
        "logo": (io.BytesIO(png_bytes()), "logo.png"),
    }, content_type="multipart/form-data")
    assert response.status_code == 303
    assert response.headers["Location"] == "/orgs/northern-nurses/members"
    members = client.get("/orgs/northern-nurses/members").get_data(as_text=True)
    assert "Northern Nurses" in members and "Owner" in members
    logo = client.get("/orgs/northern-nurses/logo")
    assert logo.status_code == 200 and logo.content_type == "image/png"
    assert logo.data == png_bytes()
    assert app.test_client().get("/orgs/northern-nurses/logo").status_code == 200  # public


def test_a_logo_that_is_not_an_image_or_too_large_is_refused(app, client):
    create_user(app, email="founder@example.com")
    log_in(client, "founder@example.com")
    for upload, message in (
        ((io.BytesIO(b"%PDF-1.4 not an image"), "logo.png"), "PNG, JPEG, GIF, or WebP"),
        ((io.BytesIO(png_bytes() + b"0" * (2 * 1024 * 1024)), "big.png"), "at most 2 MB"),
    ):
        response = post_form(client, "/organizations/new",
                             {"name": "Northern Nurses", "logo": upload},
                             page="/organizations/new", content_type="multipart/form-data")
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    assert org_count(app) == 0


def stored_logos(app) -> list[str]:
    with app.app_context():
        return get_storage().keys_written_before("organizations", utcnow() + timedelta(days=1))


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("name", list(REFUSED_IMAGES))
def test_an_image_bomb_or_a_broken_logo_is_a_form_error_and_nothing_is_saved(app, name):
    data, message = REFUSED_IMAGES[name]
    org = make_org(app)
    admin = logged_in(app, org.admin.email)
    files, before = stored_logos(app), org_state(app, org.id)

    created = post_form(admin, "/organizations/new",
                        {"name": "Northern Nurses", "logo": (io.BytesIO(data()), "logo.png")},
                        page="/organizations/new", content_type="multipart/form-data")
    changed = post_form(admin, f"/orgs/{org.slug}/settings",
                        {"name": "Renamed", "logo": (io.BytesIO(data()), "logo.png")},
                        page=f"/orgs/{org.slug}/settings", content_type="multipart/form-data")

    for response in (created, changed):
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    assert org_count(app) == 1
    assert org_state(app, org.id) == before
    assert stored_logos(app) == files


def test_a_large_but_reasonable_logo_is_still_accepted(app, client):
    create_user(app, email="founder@example.com")
    log_in(client, "founder@example.com")
    response = post_form(client, "/organizations/new", {
        "name": "Northern Nurses", "logo": (io.BytesIO(png_bytes(size=1200)), "logo.png"),
    }, content_type="multipart/form-data")
    assert response.status_code == 303
    assert client.get("/orgs/northern-nurses/logo").data == png_bytes(size=1200)


def test_a_taken_slug_is_refused_with_a_message(app, client):
    org = make_org(app)
    create_user(app, email="second@example.com")
    log_in(client, "second@example.com")
    response = post_form(client, "/organizations/new", {"name": "Other", "slug": org.slug})
    assert response.status_code == 422
    assert "is taken" in response.get_data(as_text=True)
    assert org_count(app) == 1


# --- Inviting and accepting


def invite(client, org, email, role="member"):
    return post_form(client, f"/orgs/{org.slug}/members/invite",
                     {"email": email, "role": role}, page=f"/orgs/{org.slug}/members")


def test_an_existing_user_accepts_from_the_emailed_link(app):
    org = make_org(app)
    create_user(app, email="newcomer@example.com")
    admin = logged_in(app, org.admin.email)
    assert invite(admin, org, "Newcomer@Example.com", "manager").status_code == 303
    message = read_mail(app)[-1]
    assert message["To"] == "newcomer@example.com"
    assert "City Medics" in message["Subject"] and "Manager" in mail_text(message)
    link = link_in(message, "/join/")

    newcomer = app.test_client()
    page = newcomer.get(link).get_data(as_text=True)
    assert "Log in to accept" in page  # the address has an account
    log_in(newcomer, "newcomer@example.com")
    response = post_form(newcomer, link)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/orgs/{org.slug}"
    assert roles_of(app, org.id)["newcomer@example.com"] == OrgRole.MANAGER
    assert "already been used" in newcomer.get(link).get_data(as_text=True)


def test_a_new_address_gets_an_account_and_chooses_a_password(app):
    org = make_org(app)
    admin = logged_in(app, org.admin.email)
    invite(admin, org, "fresh@example.com")
    link = link_in(read_mail(app)[-1], "/join/")

    visitor = app.test_client()
    assert "We will make an account" in visitor.get(link).get_data(as_text=True)
    response = post_form(visitor, link)
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/reset-password/")
    assert roles_of(app, org.id)["fresh@example.com"] == OrgRole.MEMBER
    set_password = post_form(visitor, response.headers["Location"],
                             {"password": PASSWORD, "confirm": PASSWORD})
    assert set_password.status_code == 303
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "fresh@example.com"))
        assert user.status == UserStatus.ACTIVE
    log_in(visitor, "fresh@example.com")


def test_the_link_is_refused_to_another_account(app):
    org = make_org(app)
    admin = logged_in(app, org.admin.email)
    invite(admin, org, "someone@example.com")
    link = link_in(read_mail(app)[-1], "/join/")
    other = logged_in(app, org.member.email)
    page = other.get(link)
    assert "was sent to someone@example.com" in page.get_data(as_text=True)
    assert post_form(other, link).status_code == 403
    assert "someone@example.com" not in roles_of(app, org.id)


def test_only_the_hash_of_the_invitation_token_is_stored(app):
    org = make_org(app)
    admin = logged_in(app, org.admin.email)
    invite(admin, org, "someone@example.com")
    link = link_in(read_mail(app)[-1], "/join/")
    token = link.removeprefix("/join/")
    with app.app_context():
        row = dict(db.session.execute(sa.select(OrganizationInvitation.__table__)).mappings()
                   .one())
    assert row["token_hash"] == hash_token(token) != token
    assert token not in str(row)

    visitor = app.test_client()
    assert visitor.get(link).status_code == 200
    assert visitor.get(f"/join/{row['token_hash']}").status_code == 404  # the hash opens nothing
    assert visitor.get(f"/join/{token[:-1]}").status_code == 404
    assert visitor.get("/join/" + "x" * 500).status_code == 404


def test_a_resent_invitation_has_a_new_link_and_the_first_stops_working(app):
    org = make_org(app)
    admin = logged_in(app, org.admin.email)
    invite(admin, org, "someone@example.com")
    with app.app_context():
        invitation_uuid = db.session.scalar(sa.select(OrganizationInvitation.uuid))
    post_form(admin, f"/orgs/{org.slug}/invitations/{invitation_uuid}/resend",
              page=f"/orgs/{org.slug}/members")
    first, second = (link_in(message, "/join/") for message in read_mail(app))
    assert first != second
    visitor = app.test_client()
    assert visitor.get(first).status_code == 404
    assert "We will make an account" in visitor.get(second).get_data(as_text=True)


def test_an_expired_invitation_says_so(app):
    org = make_org(app)
    admin = logged_in(app, org.admin.email)
    invite(admin, org, "late@example.com")
    link = link_in(read_mail(app)[-1], "/join/")
    with app.app_context():
        invitation = db.session.scalar(sa.select(OrganizationInvitation))
        invitation.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    response = app.test_client().get(link)
    assert response.status_code == 410 and "expired" in response.get_data(as_text=True)


def test_bad_invitations_show_a_message_and_change_nothing(app):
    org = make_org(app)
    before = org_state(app, org.id)
    admin = logged_in(app, org.admin.email)
    for email, role, message in (
        (org.member.email, "member", "already a member"),
        ("not-an-address", "member", "not a valid email address"),
        ("new@example.com", "owner", "transfers ownership"),
    ):
        response = invite(admin, org, email, role)
        assert response.status_code == 422, email
        assert message in response.get_data(as_text=True)
    manager = logged_in(app, org.manager.email)
    assert invite(manager, org, "new@example.com").status_code == 403
    assert org_state(app, org.id) == before


def test_resend_and_cancel_an_invitation(app):
    org = make_org(app)
    admin = logged_in(app, org.admin.email)
    invite(admin, org, "pending@example.com")
    with app.app_context():
        invitation_uuid = db.session.scalar(sa.select(OrganizationInvitation.uuid))
    base = f"/orgs/{org.slug}/invitations/{invitation_uuid}"
    members = f"/orgs/{org.slug}/members"
    assert post_form(admin, base + "/resend", page=members).status_code == 303
    assert len(read_mail(app)) == 2
    assert post_form(admin, base + "/cancel", page=members).status_code == 303
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(OrganizationInvitation.id))) == 0


# --- Members: HTMX rows, leaving


def membership_uuid(app, org, email):
    with app.app_context():
        return db.session.scalar(
            sa.select(OrganizationMembership.uuid)
            .join(User, User.id == OrganizationMembership.user_id)
            .where(OrganizationMembership.organization_id == org.id, User.email == email)
        )


def test_changing_a_role_over_htmx_returns_the_row(app):
    org = make_org(app)
    admin = logged_in(app, org.admin.email)
    target = membership_uuid(app, org, org.member.email)
    token = csrf_token(admin, f"/orgs/{org.slug}/members")
    response = admin.post(f"/orgs/{org.slug}/members/{target}/role",
                          data={"role": "manager", "csrf_token": token}, headers=HTMX)
    assert response.status_code == 200
    row = response.get_data(as_text=True)
    assert row.strip().startswith(f'<tr id="member-{target}"')
    assert 'value="manager" selected' in row and "Saved" in row
    assert roles_of(app, org.id)[org.member.email] == OrgRole.MANAGER


def test_removing_over_htmx_empties_the_row_and_the_owner_stays(app):
    org = make_org(app)
    admin = logged_in(app, org.admin.email)
    token = csrf_token(admin, f"/orgs/{org.slug}/members")
    member = membership_uuid(app, org, org.member.email)
    response = admin.post(f"/orgs/{org.slug}/members/{member}/remove",
                          data={"csrf_token": token}, headers=HTMX)
    assert response.status_code == 200 and response.get_data(as_text=True) == ""
    owner = membership_uuid(app, org, org.owner.email)
    refused = admin.post(f"/orgs/{org.slug}/members/{owner}/remove",
                         data={"csrf_token": token}, headers=HTMX)
    assert refused.status_code == 204 and refused.headers["HX-Redirect"]
    page = admin.get(f"/orgs/{org.slug}/members").get_data(as_text=True)
    assert "owner cannot be changed or removed" in page
    roles = roles_of(app, org.id)
    assert org.member.email not in roles and roles[org.owner.email] == OrgRole.OWNER


def test_leaving(app):
    org = make_org(app)
    manager = logged_in(app, org.manager.email)
    response = post_form(manager, f"/orgs/{org.slug}/leave", page=f"/orgs/{org.slug}/members")
    assert response.status_code == 303
    assert manager.get(f"/orgs/{org.slug}").status_code == 404
    owner = logged_in(app, org.owner.email)
    post_form(owner, f"/orgs/{org.slug}/leave", page=f"/orgs/{org.slug}/members")
    assert "transfer ownership" in owner.get(f"/orgs/{org.slug}/members").get_data(as_text=True)
    assert roles_of(app, org.id)[org.owner.email] == OrgRole.OWNER


# --- Transfer


def test_transfer_over_http_and_the_roles_shown_afterwards(app):
    org = make_org(app)
    owner = logged_in(app, org.owner.email)
    with app.app_context():
        member_uuid = str(db.session.get(User, org.member.id).uuid)
    wrong = post_form(owner, f"/orgs/{org.slug}/transfer",
                      {"new_owner": member_uuid, "confirm_name": "City"})
    assert wrong.status_code == 422 and "exactly" in wrong.get_data(as_text=True)
    done = post_form(owner, f"/orgs/{org.slug}/transfer",
                     {"new_owner": member_uuid, "confirm_name": org.name})
    assert done.status_code == 303
    assert owner.get(f"/orgs/{org.slug}/transfer").status_code == 403  # no longer the owner
    page = owner.get(f"/orgs/{org.slug}/members").get_data(as_text=True)
    assert "Organization · Admin" in page
    roles = roles_of(app, org.id)
    assert roles[org.member.email] == OrgRole.OWNER and roles[org.owner.email] == OrgRole.ADMIN


def test_a_transfer_failing_at_its_last_step_changes_nothing(app, monkeypatch):
    org = make_org(app)
    owner = logged_in(app, org.owner.email)
    with app.app_context():
        member_uuid = str(db.session.get(User, org.member.id).uuid)
    page = f"/orgs/{org.slug}/transfer"
    token = csrf_token(owner, page)
    before = org_state(app, org.id)
    original = ActivityLog.record

    def fail_on_transfer(organization, actor, action, *args, **kwargs):
        if action.value == "ownership_transferred":
            raise ValidationError("The log could not be written.")
        return original(organization, actor, action, *args, **kwargs)

    monkeypatch.setattr(ActivityLog, "record", fail_on_transfer)
    response = owner.post(page, data={"new_owner": member_uuid, "confirm_name": org.name,
                                      "csrf_token": token})
    assert response.status_code == 422
    assert "The log could not be written." in response.get_data(as_text=True)
    assert org_state(app, org.id) == before


# --- Settings, activity, dashboard, switcher


def test_settings_need_an_admin_and_validate_the_colour(app):
    org = make_org(app)
    manager = logged_in(app, org.manager.email)
    assert manager.get(f"/orgs/{org.slug}/settings").status_code == 403
    admin = logged_in(app, org.admin.email)
    bad = post_form(admin, f"/orgs/{org.slug}/settings",
                    {"name": "City Medics", "primary_colour": "red"})
    assert bad.status_code == 422 and "#rrggbb" in bad.get_data(as_text=True)
    good = post_form(admin, f"/orgs/{org.slug}/settings",
                     {"name": "City Medics Trust", "primary_colour": "#123456"})
    assert good.status_code == 303
    activity = admin.get(f"/orgs/{org.slug}/activity").get_data(as_text=True)
    assert "Changed the settings" in activity and "Created the organization" in activity


def test_the_switcher_lists_my_organizations_and_remembers_the_current_one(app):
    org = make_org(app)
    second = make_org(app, name="Rural Care", prefix="rural")
    client = logged_in(app, org.member.email)
    with app.test_request_context():
        db.session.add(OrganizationMembership(organization_id=second.id,
                                              user_id=org.member.id, role=OrgRole.MEMBER))
        db.session.commit()
    client.get(f"/orgs/{second.slug}")
    page = client.get("/dashboard").get_data(as_text=True)
    switcher = page[page.index('class="org-switcher"'):page.index("</details>")]
    assert "<summary>Rural Care</summary>" in switcher
    assert "City Medics" in switcher
    assert 'aria-current="true">Rural Care' in switcher


def counts_for(app, client, path):
    with app.app_context(), query_counter(db.engine) as statements:
        assert client.get(path).status_code == 200
    return len(statements)


def test_list_pages_run_the_same_queries_for_2_and_20_rows(app):
    org = make_org(app)
    admin = logged_in(app, org.admin.email)

    def grow(count):
        from tests.factories import EventFactory, UserFactory

        with app.test_request_context():
            organization = db.session.get(Organization, org.id)
            actor = db.session.get(User, org.admin.id)
            for _number in range(count):
                user = UserFactory()
                db.session.add(OrganizationMembership(organization=organization,
                                                      user_id=user.id, role=OrgRole.MEMBER))
                db.session.add(OrganizationInvitation(
                    organization=organization, email=f"{user.uuid}@example.com",
                    token_hash=hash_token(str(user.uuid)), invited_by_id=actor.id, sent_at=utcnow(),
                    expires_at=utcnow() + timedelta(days=1)))
                ActivityLog.record(organization, actor, ActivityLog.action.type.enum_class
                                   .MEMBER_JOINED, user.email)
                event = EventFactory(organizer=actor)
                event.organization_id = organization.id
            db.session.commit()

    paths = [f"/orgs/{org.slug}", f"/orgs/{org.slug}/members", f"/orgs/{org.slug}/activity",
             "/organizations", "/dashboard"]
    grow(2)
    for path in paths:
        counts_for(app, admin, path)  # warm
    few = [counts_for(app, admin, path) for path in paths]
    grow(18)
    many = [counts_for(app, admin, path) for path in paths]
    assert few == many


def test_names_are_escaped_everywhere_they_are_shown(app, client):
    create_user(app, email="founder@example.com")
    log_in(client, "founder@example.com")
    name = "Ward <b>7</b> & \"Friends\"'"
    response = post_form(client, "/organizations/new", {"name": name, "slug": "ward-7"})
    assert response.status_code == 303
    for path in ("/orgs/ward-7", "/orgs/ward-7/members", "/organizations", "/dashboard"):
        page = client.get(path).get_data(as_text=True)
        assert "<b>7</b>" not in page, path
        assert "Ward &lt;b&gt;7&lt;/b&gt; &amp;" in page, path


def test_every_organization_page_has_a_plain_title(app):
    """The <title> holds text only: the page's name, then the site's."""
    import re

    org = make_org(app)
    owner = logged_in(app, org.owner.email)
    for path in (f"/orgs/{org.slug}", f"/orgs/{org.slug}/members", f"/orgs/{org.slug}/settings",
                 f"/orgs/{org.slug}/activity", f"/orgs/{org.slug}/transfer"):
        page = owner.get(path).get_data(as_text=True)
        title = re.search(r"<title>(.*?)</title>", page, re.S).group(1)
        assert "<" not in title and title.endswith("Convene"), (path, title)


def test_an_event_created_for_the_organization_is_in_its_activity_log(app):
    org = make_org(app)
    manager = logged_in(app, org.manager.email)
    response = post_form(manager, "/events/new", {
        "title": "Ward round", "timezone": "UTC", "start_at": "2031-05-01T09:00",
        "end_at": "2031-05-01T11:00", "format": "virtual", "visibility": "public",
        "cpd_credits": "1", "attendance_threshold": "75", "organization_id": str(org.id),
    })
    assert response.status_code == 303
    admin = logged_in(app, org.admin.email)
    activity = admin.get(f"/orgs/{org.slug}/activity").get_data(as_text=True)
    assert "Created the event: Ward round" in activity
    dashboard = admin.get(f"/orgs/{org.slug}").get_data(as_text=True)
    assert "Ward round" in dashboard

"""Organization-owned events and templates: members see and manage them by role, queries give
"mine + my organizations'" without duplicates, a member of org A gets 404 for everything of
org B, and the brand shows on event pages (cached ones too), emails and certificates."""

from __future__ import annotations

import io

import sqlalchemy as sa

from app.accounts.models import User
from app.certificates.models import CertificateTemplate
from app.events.models import EventVisibility
from app.extensions import db
from app.organizations.branding import branded_email_html
from app.organizations.models import Organization, OrganizationMembership
from app.organizations.permissions import OrgRole
from app.states import EventStatus
from tests.conftest import csrf_token, log_in, post_form
from tests.factories import EventFactory
from tests.organizations.helpers import make_org, png_bytes


def org_event(app, org, **fields):
    """An event of `org`, organised by its owner; returns (uuid, slug, id)."""
    with app.test_request_context():
        event = EventFactory(organizer=db.session.get(User, org.owner.id), **fields)
        event.organization_id = org.id
        db.session.commit()
        return event.uuid, event.slug, event.id


def org_template(app, org, name="Org design"):
    with app.test_request_context():
        template = CertificateTemplate(name=name, html="<p>{{ attendee_name }}</p>",
                                       owner_id=org.owner.id, organization_id=org.id)
        db.session.add(template)
        db.session.commit()
        return template.uuid


def logged_in(app, email):
    client = app.test_client()
    log_in(client, email)
    return client


def test_a_member_of_org_a_gets_404_for_everything_of_org_b(app):
    a = make_org(app, name="Alpha Clinic")
    b = make_org(app, name="Beta Clinic")
    event_uuid, event_slug, _id = org_event(
        app, b, visibility=EventVisibility.PRIVATE, status=EventStatus.PUBLISHED)
    template_uuid = org_template(app, b)
    with app.app_context():
        b_member = db.session.scalar(sa.select(OrganizationMembership.uuid).where(
            OrganizationMembership.organization_id == b.id,
            OrganizationMembership.user_id == b.member.id))
    for who in ("owner", "admin", "manager", "member"):
        client = logged_in(app, getattr(a, who).email)
        token = csrf_token(client, f"/orgs/{a.slug}/members")
        assert client.get(f"/events/{event_slug}").status_code == 404, who
        assert client.get(f"/events/{event_uuid}/manage").status_code == 404, who
        assert client.get(f"/orgs/{b.slug}").status_code == 404, who
        assert client.get(f"/orgs/{b.slug}/members").status_code == 404, who
        # B's membership uuid under A's address: not found there either.
        response = client.post(f"/orgs/{a.slug}/members/{b_member}/remove",
                               data={"csrf_token": token})
        assert response.status_code in (403, 404), who
        if who in ("owner", "admin"):
            assert response.status_code == 404
        assert client.get(f"/certificates/templates/{template_uuid}/edit").status_code == 404
        listing = client.get("/certificates/templates").get_data(as_text=True)
        assert "Org design" not in listing
    with app.app_context():
        assert db.session.scalar(sa.select(OrganizationMembership.id).where(
            OrganizationMembership.uuid == b_member)) is not None


def test_org_templates_are_listed_once_for_members_who_create_events(app):
    org = make_org(app)
    template_uuid = org_template(app, org)
    manager = logged_in(app, org.manager.email)
    listing = manager.get("/certificates/templates").get_data(as_text=True)
    assert "Org design" in listing
    assert manager.get(f"/certificates/templates/{template_uuid}/edit").status_code == 403
    admin = logged_in(app, org.admin.email)
    assert admin.get(f"/certificates/templates/{template_uuid}/edit").status_code == 200
    member = logged_in(app, org.member.email)
    assert "Org design" not in member.get("/certificates/templates").get_data(as_text=True)
    with app.test_request_context():
        owner = db.session.get(User, org.owner.id)  # the owner also owns it: still one row
        rows = db.session.scalars(CertificateTemplate.usable_by(owner)).all()
        assert [t.name for t in rows].count("Org design") == 1


def test_my_events_are_mine_plus_my_organizations_without_duplicates(app):
    org = make_org(app)
    org_event(app, org, title="Shared ward round")
    with app.test_request_context():
        manager = db.session.get(User, org.manager.id)
        own = EventFactory(organizer=manager, title="Manager's own talk")
        both = EventFactory(organizer=manager, title="Organised and shared")
        both.organization_id = org.id
        db.session.commit()
        titles = [e.title for e in manager.get_managed_events()]
        assert sorted(titles) == sorted(
            ["Shared ward round", "Manager's own talk", "Organised and shared"])
        member = db.session.get(User, org.member.id)
        assert member.get_managed_events() == []  # members see, managers manage
        assert own.organization_id is None
    dashboard = logged_in(app, org.manager.email).get("/dashboard").get_data(as_text=True)
    assert dashboard.count(">Organised and shared</a>") == 1
    assert "Shared ward round" in dashboard


def test_the_event_form_offers_only_organizations_where_i_create_events(app):
    org = make_org(app)
    other = make_org(app, name="Other Org", prefix="other")
    with app.test_request_context():
        db.session.add(OrganizationMembership(organization_id=other.id,
                                              user_id=org.manager.id, role=OrgRole.MEMBER))
        db.session.commit()
    manager = logged_in(app, org.manager.email)
    form = manager.get(f"/events/new?organization={org.slug}").get_data(as_text=True)
    assert f'<option selected value="{org.id}">City Medics</option>' in form
    assert ">Other Org</option>" not in form
    member = logged_in(app, org.member.email)
    assert 'name="organization_id"' not in member.get("/events/new").get_data(as_text=True)


def test_an_org_event_page_shows_the_brand_and_a_settings_change_refreshes_it(app,
                                                                             monkeypatch):
    org = make_org(app)
    _uuid, slug, _id = org_event(app, org)
    monkeypatch.setitem(app.config, "PAGE_CACHE", True)
    visitor = app.test_client()
    page = visitor.get(f"/events/{slug}").get_data(as_text=True)
    assert "Organized by City Medics" in page
    admin = logged_in(app, org.admin.email)
    response = post_form(admin, f"/orgs/{org.slug}/settings", {
        "name": "City Medics Trust", "primary_colour": "#0b6e4f",
        "logo": (io.BytesIO(png_bytes()), "logo.png"),
    }, content_type="multipart/form-data")
    assert response.status_code == 303
    page = visitor.get(f"/events/{slug}").get_data(as_text=True)
    assert "Organized by City Medics Trust" in page
    assert 'data-org-colour="#0b6e4f"' in page  # app.js sets --org-colour from it
    assert f"/orgs/{org.slug}/logo?v=" in page


def test_certificates_keep_the_brand_they_were_issued_with(app):
    """The name, logo and colour are frozen into the certificate: rebranding the
    organization later changes no issued certificate."""
    from app.certificates.rendering import certificate_context
    from app.certificates.services import CertificateService
    from tests.certificates.issuing_helpers import attend, completed_event, register

    org = make_org(app)
    with app.test_request_context():
        organization = db.session.get(Organization, org.id)
        organization.primary_colour = "#aa0000"
        organization.logo_key = "organizations/x/logo-1.png"
        owner = db.session.get(User, org.owner.id)
        event = completed_event(owner)
        event.organization_id = org.id
        registration = register(event, "Ada Lovelace")
        attend(registration, 90)
        certificate = CertificateService.issue(registration, owner)
        db.session.commit()

        organization.name = "Renamed Trust"
        organization.primary_colour = "#00aa00"
        organization.logo_key = "organizations/x/logo-2.png"
        db.session.commit()
        db.session.expire_all()

        context = certificate_context(certificate)
        assert context["organizer_name"] == "City Medics"
        assert context["organization_logo"] == "storage:organizations/x/logo-1.png"
        assert context["organization_colour"] == "#aa0000"
        personal = completed_event(owner, title="Personal event")
        mine = register(personal, "Grace Hopper")
        attend(mine, 90)
        plain = certificate_context(CertificateService.issue(mine, owner))
        assert (plain["organization_logo"], plain["organization_colour"]) == ("", "")
        assert plain["organizer_name"] == owner.display_name


def test_reminders_and_attendee_messages_of_an_org_event_carry_the_brand(app):
    """Every email about an organization's event opens with its name and colour."""
    from app.registrations.jobs import _send_one
    from app.registrations.messages import Audience, MessageService
    from app.registrations.models import Registration
    from app.states import RegistrationStatus
    from tests.conftest import read_mail

    org = make_org(app)
    _uuid, _slug, event_id = org_event(app, org)
    with app.test_request_context():
        from app.events.models import Event

        db.session.get(Organization, org.id).primary_colour = "#aa0000"
        event = db.session.get(Event, event_id)
        member = db.session.get(User, org.member.id)
        registration = Registration(event=event, user_id=member.id, email=member.email,
                                    full_name=member.full_name,
                                    status=RegistrationStatus.CONFIRMED)
        db.session.add(registration)
        db.session.flush()
        _send_one(event, registration)
        MessageService.send(event, db.session.get(User, org.owner.id), Audience.CONFIRMED,
                            "Parking", "Use the north entrance.")
        db.session.commit()

    mail = read_mail(app)
    assert len(mail) == 2
    for message in mail:
        html = message.get_body(preferencelist=("html",)).get_content()
        assert html.startswith('<div style="border-top:4px solid #aa0000'), message["Subject"]
        assert "City Medics" in html


def test_emails_get_the_brand():
    html = branded_email_html("<p>Hi</p>", {"organization_name": "A & B",
                                            "organization_colour": "#aa0000",
                                            "organization_logo": ""})
    assert html.startswith('<div style="border-top:4px solid #aa0000')
    assert "A &amp; B" in html and html.endswith("<p>Hi</p>")
    assert branded_email_html("<p>Hi</p>", {}) == "<p>Hi</p>"


def test_sharing_a_template_is_offered_only_with_a_template_to_share(app):
    org = make_org(app)
    admin = logged_in(app, org.admin.email)
    empty = admin.get(f"/orgs/{org.slug}").get_data(as_text=True)
    assert "No shared certificate templates yet." in empty
    assert "below" not in empty[empty.index('id="templates"'):]  # nothing is below
    assert 'href="/certificates/templates/new">Create a certificate template</a>' in empty
    with app.test_request_context():
        db.session.add(CertificateTemplate(name="Mine", html="<p>x</p>", owner_id=org.admin.id))
        db.session.commit()
    ready = admin.get(f"/orgs/{org.slug}").get_data(as_text=True)
    assert "Share one of yours below" in ready and 'id="share-template"' in ready
    assert "Create a certificate template" not in ready


def test_an_admin_shares_a_template_with_the_organization(app):
    org = make_org(app)
    other = make_org(app, name="Other Org", prefix="other")
    with app.test_request_context():
        mine = CertificateTemplate(name="Admin's design", html="<p>x</p>", owner_id=org.admin.id)
        theirs = CertificateTemplate(name="Not yours", html="<p>x</p>", owner_id=org.owner.id)
        db.session.add_all([mine, theirs])
        db.session.commit()
        mine_uuid, theirs_uuid = str(mine.uuid), str(theirs.uuid)
    share = f"/orgs/{org.slug}/templates/share"
    manager = logged_in(app, org.manager.email)
    token = csrf_token(manager, f"/orgs/{org.slug}")
    assert manager.post(share, data={"template": mine_uuid, "csrf_token": token}
                        ).status_code == 403
    outsider = logged_in(app, other.admin.email)
    token = csrf_token(outsider, f"/orgs/{other.slug}")
    assert outsider.post(share, data={"template": mine_uuid, "csrf_token": token}
                         ).status_code == 404
    admin = logged_in(app, org.admin.email)
    dashboard = admin.get(f"/orgs/{org.slug}").get_data(as_text=True)
    assert "No shared certificate templates yet." in dashboard
    token = csrf_token(admin, f"/orgs/{org.slug}")
    refused = admin.post(share, data={"template": theirs_uuid, "csrf_token": token})
    assert refused.status_code == 303
    assert admin.post(share, data={"template": mine_uuid, "csrf_token": token}
                      ).status_code == 303
    with app.app_context():
        shared = {t.name: t.organization_id for t in db.session.scalars(
            sa.select(CertificateTemplate))}
    assert shared == {"Admin's design": org.id, "Not yours": None}
    assert "Admin&#39;s design" in admin.get(f"/orgs/{org.slug}").get_data(as_text=True)
    manager_list = manager.get("/certificates/templates").get_data(as_text=True)
    assert "Admin&#39;s design" in manager_list

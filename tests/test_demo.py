"""`flask demo load`: everything a first look at the site needs, and safe to run again."""

import sqlalchemy as sa

from app.demo import load_demo
from app.extensions import db
from app.registrations.models import EventInvitation, Registration


def test_demo_data_loads_once_with_registrations_a_waitlist_and_invitations(ctx):
    assert any("registrations" in line for line in load_demo())
    statuses = sorted(status.value for status in db.session.scalars(sa.select(Registration.status)))
    # 3 for the conference, 2 + 1 waitlisted for the webinar, 3 for the completed course
    assert statuses == ["confirmed"] * 8 + ["waitlisted"]
    assert db.session.scalar(sa.select(sa.func.count(EventInvitation.id))) == 2

    assert not any("registrations" in line for line in load_demo())  # nothing twice
    assert db.session.scalar(sa.select(sa.func.count(Registration.id))) == 9


def test_demo_data_has_an_organization_with_an_owner_a_member_and_an_event(ctx):
    from app.events.models import Event
    from app.organizations.models import Organization
    from app.organizations.permissions import OrgRole

    assert any("organization" in line for line in load_demo())
    organization = db.session.scalar(sa.select(Organization))
    roles = sorted((m.user.email, m.role) for m in organization.get_members())
    assert roles == [("attendee1@example.com", OrgRole.MEMBER),
                     ("organizer@example.com", OrgRole.OWNER)]
    assert db.session.scalar(sa.select(sa.func.count(Event.id))
                             .where(Event.organization_id == organization.id)) == 1
    assert not any("organization" in line for line in load_demo())  # nothing twice
    assert db.session.scalar(sa.select(sa.func.count(Organization.id))) == 1


def test_demo_data_has_a_completed_course_with_certificates_to_issue(ctx):
    from app.certificates.services import EventEligibility
    from app.events.models import Event
    from app.states import EventStatus

    load_demo()
    course = db.session.scalar(sa.select(Event).where(Event.title == "Resuscitation refresher"))
    assert course.status == EventStatus.COMPLETED
    registrations = db.session.scalars(
        sa.select(Registration).where(Registration.event_id == course.id)
    ).all()
    judged = EventEligibility(course).of(registrations)
    assert sorted(judged[r.id].eligible for r in registrations) == [False, True, True]
    load_demo()  # again: nothing added
    assert db.session.scalar(
        sa.select(sa.func.count(Event.id)).where(Event.title == "Resuscitation refresher")
    ) == 1


def test_the_demo_login_hint_names_the_port_served(make_app, monkeypatch):
    """`make run PORT=5201` loads the demo with PORT=5201: the hint must not say :5000."""
    monkeypatch.setenv("PORT", "5201")
    app = make_app(SITE_URL=None)

    result = app.test_cli_runner().invoke(args=["demo", "load"])

    assert result.exit_code == 0, result.output
    assert "Log in at http://127.0.0.1:5201/login with:" in result.output
    assert ":5000" not in result.output

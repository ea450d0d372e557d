"""`flask demo load`: idempotent demo data. Each area adds a loader to DEMO_LOADERS."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from app.accounts.models import User
from app.core.types import utcnow
from app.extensions import db
from app.mailing.services import seed_default_templates
from app.states import UserStatus

DEMO_PASSWORD = "convene-demo-2026"

DEMO_USERS = [
    # email, full name, professional title, admin
    ("admin@example.com", "Ada Admin", "Site administrator", True),
    ("organizer@example.com", "Olivia Organizer", "Education lead", False),
    ("attendee1@example.com", "Amir Attendee", "Registered nurse", False),
    ("attendee2@example.com", "Beatriz Attendee", "Physiotherapist", False),
    ("attendee3@example.com", "Chen Attendee", "Pharmacist", False),
]


def load_users() -> list[str]:
    lines = []
    for email, name, title, is_admin in DEMO_USERS:
        user = db.session.scalar(sa.select(User).where(User.email == email))
        if user is None:
            user = User(
                email=email, full_name=name, professional_title=title, is_admin=is_admin,
                status=UserStatus.ACTIVE, email_verified_at=utcnow(), timezone="Europe/London",
            )
            user.set_password(DEMO_PASSWORD)
            db.session.add(user)
        lines.append(f"  {email:28} {DEMO_PASSWORD}{'  (admin)' if is_admin else ''}")
    return lines


def load_mail_templates() -> list[str]:
    added = seed_default_templates()
    return [f"  {added} email templates added"] if added else []


DEMO_SPEAKERS = [
    ("speaker1@example.com", "Dr Sara Okafor", "Consultant cardiologist"),
    ("speaker2@example.com", "Dr Tomás Reyes", "Cardiac physiologist"),
    ("speaker3@example.com", "Priya Nair", "Advanced nurse practitioner"),
]


def _user(email: str) -> User:
    return db.session.scalar(sa.select(User).where(User.email == email))


def load_speakers() -> list[str]:
    for email, name, title in DEMO_SPEAKERS:
        if _user(email) is None:
            user = User(
                email=email, full_name=name, professional_title=title, status=UserStatus.ACTIVE,
                email_verified_at=utcnow(), timezone="Europe/London",
            )
            user.set_password(DEMO_PASSWORD)
            db.session.add(user)
    return [f"  {email:28} {DEMO_PASSWORD}  (speaker)" for email, _, _ in DEMO_SPEAKERS]


def _local(day: date, hour: int, minute: int = 0, zone: str = "Europe/London") -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def load_events() -> list[str]:
    """A community calendar, a three-day hybrid conference with speakers, a webinar, a draft
    and a weekly journal club that recurs (a calendar listing)."""
    from app.events.models import (
        Calendar,
        EventCategory,
        EventFormat,
        EventLocation,
        RecurrenceFrequency,
        RecurringRule,
    )
    from app.events.services import EventDetails, EventService, SpeakerService

    if db.session.scalar(sa.select(Calendar.id).where(Calendar.slug == "community")):
        return []
    organizer = _user("organizer@example.com")
    calendar = Calendar(name="Community", slug="community",
                        description="Education events for clinicians in the North.")
    cardiology, nursing, meetups = (
        EventCategory(name=name, calendar=calendar) for name in ("Cardiology", "Nursing", "Meetups")
    )
    venue = EventLocation(name="Leeds Conference Centre", address="1 Park Row", city="Leeds",
                          postal_code="LS1 5HD", country="United Kingdom",
                          is_site_wide=True)  # curated by the admins: every organizer sees it
    db.session.add_all([calendar, cardiology, nursing, meetups, venue])
    db.session.flush()

    first_day = (utcnow() + timedelta(days=21)).date()
    conference = EventService.create(organizer, EventDetails(
        title="Northern Cardiology Update", summary="Three days of talks and workshops.",
        description=(
            "## What to expect\n\nShort talks on **heart failure**, arrhythmias and "
            "prevention, with time for questions.\n\n- Workshops each afternoon\n"
            "- CPD certificate for attendees who attend 75% of the sessions"
        ),
        start_at=_local(first_day, 9), end_at=_local(first_day + timedelta(days=2), 17),
        timezone="Europe/London", format=EventFormat.HYBRID, venue_id=venue.id, capacity=120,
        max_speakers=10, cpd_credits="18", calendar_id=calendar.id,
        category_ids=(cardiology.id,),
    ))
    talks = [
        ("Opening: the state of heart failure care", 9, 10),
        ("Arrhythmias in practice", 10, 12),
        ("Workshop: reading ECGs", 13, 16),
    ]
    speakers = [_user(email) for email, _, _ in DEMO_SPEAKERS]
    for day in range(3):
        for index, (title, start, end) in enumerate(talks):
            session = conference.add_session(
                title=f"Day {day + 1}: {title}", room=f"Room {index + 1}",
                start_at=_local(first_day + timedelta(days=day), start),
                end_at=_local(first_day + timedelta(days=day), end),
            )
            db.session.flush()
            SpeakerService.register_speaker_for_session(session, speakers[index])
    conference.publish(organizer)

    webinar_day = (utcnow() + timedelta(days=9)).date()
    webinar = EventService.create(organizer, EventDetails(
        title="Wound care webinar", summary="One hour, online, with Q&A.",
        description="Evidence-based dressings and when to refer.",
        start_at=_local(webinar_day, 18), end_at=_local(webinar_day, 19),
        timezone="Europe/London", format=EventFormat.VIRTUAL, cpd_credits="1",
        calendar_id=calendar.id, category_ids=(nursing.id,),
    ))
    webinar.publish(organizer)

    EventService.create(organizer, EventDetails(
        title="Spring nursing symposium (draft)", summary="Still being planned.",
        start_at=_local(first_day + timedelta(days=60), 9),
        end_at=_local(first_day + timedelta(days=60), 17),
        timezone="Europe/London", format=EventFormat.VIRTUAL,
    ))

    club_day = (utcnow() + timedelta(days=(3 - utcnow().weekday()) % 7 or 7)).date()
    club = EventService.create(organizer, EventDetails(
        title="Thursday journal club", summary="A paper a week, discussed online.",
        start_at=_local(club_day, 18), end_at=_local(club_day, 19), timezone="Europe/London",
        format=EventFormat.VIRTUAL, calendar_id=calendar.id, category_ids=(meetups.id,),
    ))
    club.recurring_rule = RecurringRule(
        frequency=RecurrenceFrequency.WEEKLY, interval=1, count=20, weekdays=[3]
    )
    club.publish(organizer)
    return ["  events: a 3-day conference, a webinar, a draft and a weekly journal club"]


def load_registrations() -> list[str]:
    """Questions and registrations for the conference, a full webinar with someone on its
    waitlist, and invitations to the conference."""
    from app.events.models import CustomFieldType, Event, EventCustomField
    from app.registrations.answers import input_name
    from app.registrations.invitations import InvitationService
    from app.registrations.models import Registration
    from app.registrations.services import RegistrationService

    if db.session.scalar(sa.select(Registration.id).limit(1)) is not None:
        return []
    conference = db.session.scalar(sa.select(Event).where(Event.title == "Northern Cardiology "
                                                                       "Update"))
    webinar = db.session.scalar(sa.select(Event).where(Event.title == "Wound care webinar"))
    if conference is None or webinar is None:
        return []
    diet = EventCustomField(event=conference, label="Dietary needs", position=1,
                            field_type=CustomFieldType.SINGLE_CHOICE, required=True,
                            options=["None", "Vegetarian", "Vegan", "Gluten-free"])
    number = EventCustomField(event=conference, label="Professional registration number",
                              position=2, field_type=CustomFieldType.SHORT_TEXT,
                              help_text="GMC, NMC or HCPC number, for your CPD certificate.")
    db.session.add_all([diet, number])
    db.session.flush()
    choices = ["None", "Vegetarian", "Vegan"]
    attendees = [_user(f"attendee{n}@example.com") for n in (1, 2, 3)]
    for n, attendee in enumerate(attendees):
        RegistrationService.register(conference, attendee, answers={
            input_name(diet): choices[n], input_name(number): f"GMC {7100230 + n}",
        })
    webinar.capacity = 2
    for attendee in attendees:  # the third is waitlisted
        RegistrationService.register(webinar, attendee, answers={})
    InvitationService.invite(conference, _user("organizer@example.com"),
                             "colleague1@example.com, colleague2@example.com")
    return ["  registrations: 3 for the conference, a full webinar with a waitlist, "
            "2 invitations"]


DEMO_ZOOM_MEETING_ID = "89900000001"  # made up: for a webinar published without Zoom


def load_zoom() -> list[str]:
    """The webinar's Zoom meeting (fake with ZOOM_FAKE) was created when it was published;
    its confirmed attendees are registered in it here at once (the jobs that would do it
    find nothing left to do), so that `flask zoom simulate` fills its attendance through
    their registrant ids."""
    from app.events.models import Event
    from app.registrations.models import Registration
    from app.zoom.meetings import ZoomRegistrantService
    from app.zoom.models import ZoomMeeting, ZoomRegistrant

    webinar = db.session.scalar(sa.select(Event).where(Event.title == "Wound care webinar"))
    if webinar is None:
        return []
    meetings = sa.select(ZoomMeeting.id).where(ZoomMeeting.event_id == webinar.id)
    registrants = sa.select(ZoomRegistrant.id).join(ZoomMeeting).where(
        ZoomMeeting.event_id == webinar.id
    )
    if db.session.scalar(meetings.limit(1)) is None:
        if webinar.zoom_meeting_id:
            return []
        webinar.zoom_meeting_id = DEMO_ZOOM_MEETING_ID
    elif db.session.scalar(registrants.limit(1)) is not None:
        return []
    else:
        for registration in db.session.scalars(
            sa.select(Registration).where(Registration.event_id == webinar.id)
        ):
            ZoomRegistrantService.sync(registration)
    return [f"  zoom: the webinar is Zoom meeting {webinar.zoom_meeting_id}; with `flask run` "
            f"going, `flask zoom simulate {webinar.uuid}` sends its webhooks"]


DEMO_LOADERS: list[Callable[[], list[str]]] = [
    load_mail_templates, load_users, load_speakers, load_events, load_registrations, load_zoom,
]


def load_certificate_templates() -> list[str]:
    """The shipped certificate template (app/certificates/defaults.py), once."""
    from app.certificates.defaults import default_template
    from app.certificates.models import CertificateTemplate

    existed = db.session.scalar(
        sa.select(CertificateTemplate.id).where(CertificateTemplate.is_default.is_(True))
    )
    template = default_template()
    return [] if existed else [f"  certificate template “{template.name}” added"]


DEMO_LOADERS.insert(1, load_certificate_templates)


def load_organization() -> list[str]:
    """An organization (issue 7): the organizer owns it, an attendee is a member, and it
    has one event of its own."""
    from app.events.models import EventFormat, EventVisibility
    from app.events.services import EventDetails, EventService
    from app.organizations.models import Organization, OrganizationMembership
    from app.organizations.permissions import OrgRole
    from app.organizations.services import OrganizationService

    slug = "northern-clinical-education"
    if db.session.scalar(sa.select(Organization.id).where(Organization.slug == slug)
                         .execution_options(include_deleted=True)):
        return []
    owner = _user("organizer@example.com")
    organization = OrganizationService.create(
        owner, name="Northern Clinical Education", slug=slug, primary_colour="#0b6e4f"
    )
    db.session.add(OrganizationMembership(organization=organization,
                                          user_id=_user("attendee1@example.com").id,
                                          role=OrgRole.MEMBER))
    starts = _local((utcnow() + timedelta(days=35)).date(), 13)
    event = EventService.create(owner, EventDetails(
        title="Sepsis recognition workshop", timezone="Europe/London", start_at=starts,
        end_at=starts + timedelta(hours=3), format=EventFormat.VIRTUAL,
        summary="Spotting sepsis early on the ward: cases and practice.",
        visibility=EventVisibility.PUBLIC, cpd_credits="3", organization_id=organization.id,
    ))
    event.publish(owner)
    return [f"  organization “{organization.name}”: {owner.email} owns it, "
            "attendee1@example.com is a member, one event"]


DEMO_LOADERS.append(load_organization)


def load_completed_course() -> list[str]:
    """A course held last week, COMPLETED, whose certificates are still to be issued: two
    attendees checked in (eligible), one did not come. attendee1 tracks CPD credits."""
    from decimal import Decimal

    from app.certificates.cpd_models import CPDActivity, CPDPeriodKind, CPDRequirement
    from app.events.models import Event, EventFormat, EventRole
    from app.registrations.models import Registration
    from app.states import EventStatus, RegistrationStatus

    title = "Resuscitation refresher"
    if db.session.scalar(sa.select(Event.id).where(Event.title == title)
                         .execution_options(include_deleted=True)):
        return []
    organizer = _user("organizer@example.com")
    starts = _local((utcnow() - timedelta(days=7)).date(), 9)
    course = Event(
        title=title, summary="Adult basic and immediate life support, with assessment.",
        timezone="Europe/London", start_at=starts, end_at=starts + timedelta(hours=6),
        format=EventFormat.IN_PERSON, cpd_credits=Decimal("6"), created_by_id=organizer.id,
        status=EventStatus.COMPLETED, published_at=starts - timedelta(days=30),
    )
    db.session.add(course)
    course.add_member(organizer, EventRole.ORGANIZER)
    for n in (1, 2, 3):
        attendee = _user(f"attendee{n}@example.com")
        db.session.add(Registration(
            event=course, user_id=attendee.id, email=attendee.email,
            full_name=attendee.full_name, status=RegistrationStatus.CONFIRMED,
            confirmed_at=starts - timedelta(days=14),
            checked_in_at=starts + timedelta(minutes=5) if n < 3 else None,
        ))
    learner = _user("attendee1@example.com")
    requirement = CPDRequirement(user_id=learner.id, professional_body="Nursing and Midwifery "
                                 "Council", credits_required=Decimal("35"),
                                 period_kind=CPDPeriodKind.YEARLY, start_month=1)
    db.session.add(requirement)
    db.session.add(CPDActivity(user_id=learner.id, title="Journal club: sepsis bundles",
                               provider="St James's library", credits=Decimal("2"),
                               completed_on=(utcnow() - timedelta(days=40)).date()))
    return [f"  a completed course “{title}”: 2 attendees eligible for a certificate "
            "(issue them from its Certificates page); attendee1 tracks CPD credits"]


DEMO_LOADERS.append(load_completed_course)


def load_demo() -> list[str]:
    """Run every loader once in one transaction; returns lines to print."""
    lines = []
    for loader in DEMO_LOADERS:
        lines.extend(loader())
        db.session.flush()
    db.session.commit()
    return lines


@click.group("demo", cls=AppGroup, help="Demo data.")
def demo_cli():
    pass


@demo_cli.command("load")
def load_command():
    """Load demo data (safe to run again: existing rows are kept)."""
    from app.core.urls import external_url

    lines = load_demo()
    click.echo(f"Demo data is loaded. Log in at {external_url('accounts.login')} with:")
    for line in lines:
        click.echo(line)

"""Organizer forms: events, sessions, custom registration fields, venues.

Forms parse what was typed (local times in the event's timezone become aware UTC datetimes);
the rules themselves live in the models and services.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from app.core.fields import (
    BoundedDateTimeLocalField,
    BoundedIntegerField,
    bounded_int,
    optional_bounded_int,
)
from app.core.timezones import TimezoneField
from app.core.urls import WebURLField
from app.events.models import (
    Calendar,
    CustomFieldType,
    EventCategory,
    EventFormat,
    EventLocation,
    EventVisibility,
)
from app.events.services import EventDetails
from app.extensions import db

MAX_SEATS = 1_000_000  # an event's or a session's capacity
MAX_SPEAKERS = 10_000


def zone(name: str | None) -> ZoneInfo:
    """The zone to read typed times in; UTC when the name is unknown (the form then reports
    the timezone, and the times are not saved)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def to_utc(local: datetime | None, tz: ZoneInfo) -> datetime | None:
    """A wall-clock time in `tz` (as typed) as an aware UTC datetime."""
    if local is None:
        return None
    return local.replace(tzinfo=tz).astimezone(UTC)


def to_local(moment: datetime | None, tz: ZoneInfo) -> datetime | None:
    """An aware datetime as the wall-clock time a datetime-local input shows."""
    if moment is None:
        return None
    return moment.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0)


def local_field(label, required: bool = True, **kwargs) -> BoundedDateTimeLocalField:
    validators = [InputRequired()] if required else [Optional()]
    return BoundedDateTimeLocalField(label, validators=validators, **kwargs)


def enum_choices(enum_class, labels: dict) -> list[SelectChoice]:
    return [SelectChoice(member.value, labels[member]) for member in enum_class]


FORMAT_LABELS = {
    EventFormat.VIRTUAL: _l("Virtual (online)"),
    EventFormat.IN_PERSON: _l("In person"),
    EventFormat.HYBRID: _l("Hybrid (in person and online)"),
}
VISIBILITY_LABELS = {
    EventVisibility.PUBLIC: _l("Public: listed and searchable"),
    EventVisibility.UNLISTED: _l("Unlisted: anyone with the link"),
    EventVisibility.PRIVATE: _l("Private: only the people of the event"),
}
FIELD_TYPE_LABELS = {
    CustomFieldType.SHORT_TEXT: _l("Short text"),
    CustomFieldType.LONG_TEXT: _l("Long text"),
    CustomFieldType.SINGLE_CHOICE: _l("Single choice"),
    CustomFieldType.MULTIPLE_CHOICE: _l("Multiple choice"),
    CustomFieldType.CHECKBOX: _l("Checkbox"),
    CustomFieldType.NUMBER: _l("Number"),
    CustomFieldType.DATE: _l("Date"),
}


class EventForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    summary = StringField(
        _l("Summary"), validators=[Length(max=300)],
        description=_l("One sentence for listings and search results."),
    )
    description = TextAreaField(
        _l("Description"), validators=[Length(max=50_000)],
        description=_l("Markdown: **bold**, *italic*, lists, links and tables."),
    )
    timezone = TimezoneField(
        _l("Event timezone"), default="UTC", validate_choice=False,
        description=_l("Start, end and registration times are in this timezone."),
    )
    start_at = local_field(_l("Starts"))
    end_at = local_field(_l("Ends"))
    format = RadioField(
        _l("Format"), choices=enum_choices(EventFormat, FORMAT_LABELS),
        default=EventFormat.VIRTUAL.value, validators=[InputRequired()],
    )
    venue_id = SelectField(
        _l("Venue"), coerce=optional_bounded_int, validators=[Optional()],
        validate_choice=False,  # the event service says which venues are the user's to use
        description=_l("Needed for in-person and hybrid events."),
    )
    capacity = BoundedIntegerField(
        _l("Capacity"), validators=[Optional()], maximum=MAX_SEATS,
        description=_l("Leave empty for no limit."),
    )
    waitlist_enabled = BooleanField(_l("Offer a waitlist when the event is full"), default=True)
    session_signup = BooleanField(_l("Attendees pick their sessions"))
    max_speakers = BoundedIntegerField(
        _l("Maximum speakers"), validators=[Optional()], maximum=MAX_SPEAKERS,
        description=_l("Leave empty for no limit."),
    )
    allow_parallel_sessions = BooleanField(_l("Allow parallel sessions"))
    cpd_credits = StringField(
        _l("CPD credits"), default="0", validators=[Length(max=12)],
        description=_l("Credits an attendee earns for the whole event."),
    )
    attendance_threshold = BoundedIntegerField(
        _l("Attendance threshold (%)"), default=75, validators=[Optional()], maximum=100,
        message=_l("The attendance threshold is a percentage from 0 to 100."),
        description=_l("The share of a session an attendee must be present for to count as "
                       "attended, from 0 to 100. Leave empty for 75."),
    )
    registration_opens_at = local_field(
        _l("Registration opens"), required=False,
        description=_l("Leave empty to open registration when the event is published."),
    )
    registration_closes_at = local_field(
        _l("Registration closes"), required=False,
        description=_l("Leave empty to keep registration open until the event ends."),
    )
    visibility = RadioField(
        _l("Visibility"), choices=enum_choices(EventVisibility, VISIBILITY_LABELS),
        default=EventVisibility.PUBLIC.value, validators=[InputRequired()],
    )
    calendar_id = SelectField(
        _l("Calendar"), coerce=optional_bounded_int, validators=[Optional()]
    )
    category_ids = SelectMultipleField(
        _l("Categories"), coerce=bounded_int, validators=[Optional()]
    )
    organization_id = SelectField(
        _l("Organization"), coerce=optional_bounded_int, validators=[Optional()],
        description=_l("Its members see the event; managers and above edit it."),
    )
    certificate_template_id = SelectField(
        _l("Certificate template"), coerce=optional_bounded_int, validators=[Optional()],
        description=_l("The design of this event's certificates."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization_id.choices = organization_choices()
        self.certificate_template_id.choices = certificate_template_choices()
        self.venue_id.choices = venue_choices()
        calendars = db.session.scalars(sa.select(Calendar).order_by(Calendar.name))
        self.calendar_id.choices = [SelectChoice("", _l("— No calendar —"))] + [
            SelectChoice(calendar.id, calendar.name) for calendar in calendars
        ]
        categories = db.session.execute(
            sa.select(EventCategory.id, EventCategory.name, Calendar.name)
            .join(Calendar, Calendar.id == EventCategory.calendar_id)
            .order_by(Calendar.name, EventCategory.name)
        ).all()
        self.category_ids.choices = [
            SelectChoice(category_id, f"{calendar} · {name}")
            for category_id, name, calendar in categories
        ]

    @classmethod
    def for_event(cls, event) -> EventForm:
        """The form filled from a saved event, with times in the event's timezone.

        A submitted form is read from the request alone: WTForms would otherwise keep the
        saved value of any field the request leaves out (a UTC time read as a local one, a
        Decimal where text is expected)."""
        form = cls()
        if not form.is_submitted():
            form.process(obj=event)
            tz = event.tzinfo
            for name in ("start_at", "end_at", "registration_opens_at", "registration_closes_at"):
                getattr(form, name).data = to_local(getattr(event, name), tz)
            form.format.data = event.format.value
            form.visibility.data = event.visibility.value
            form.cpd_credits.data = _plain_decimal(event.cpd_credits)
            form.category_ids.data = [category.id for category in event.categories]
        if event.organization is not None and event.organization_id not in {
            choice.value for choice in form.organization_id.choices
        }:  # an organizer outside the organization keeps the event where it is
            form.organization_id.choices.append(
                SelectChoice(event.organization_id, event.organization.name)
            )
        if event.venue is not None and event.venue_id not in {
            choice.value for choice in form.venue_id.choices
        }:  # the event keeps its venue, even one its editor could not choose
            form.venue_id.choices.append(SelectChoice(event.venue_id, event.venue.one_line))
        if event.certificate_template is not None and event.certificate_template_id not in {
            choice.value for choice in form.certificate_template_id.choices
        }:  # another organizer's design stays selectable on the event that uses it
            form.certificate_template_id.choices.append(
                SelectChoice(event.certificate_template_id, event.certificate_template.name)
            )
        return form

    def preselect_organization(self, slug: str | None) -> None:
        """Start a new event in the organization the organizer came from (its dashboard)."""
        from app.organizations.models import Organization

        if slug:
            found = db.session.scalar(sa.select(Organization.id).where(Organization.slug == slug))
            if found in {choice.value for choice in self.organization_id.choices}:
                self.organization_id.data = found

    def to_details(self) -> EventDetails:
        tz = zone(self.timezone.data)
        return EventDetails(
            title=self.title.data or "",
            summary=self.summary.data or "",
            description=self.description.data or "",
            timezone=self.timezone.data or "",
            start_at=to_utc(self.start_at.data, tz),
            end_at=to_utc(self.end_at.data, tz),
            format=EventFormat(self.format.data or EventFormat.VIRTUAL.value),
            venue_id=self.venue_id.data,
            capacity=self.capacity.data,
            waitlist_enabled=bool(self.waitlist_enabled.data),
            session_signup=bool(self.session_signup.data),
            max_speakers=self.max_speakers.data,
            allow_parallel_sessions=bool(self.allow_parallel_sessions.data),
            cpd_credits=(self.cpd_credits.data or "0").strip(),
            attendance_threshold=(75 if self.attendance_threshold.data is None
                                  else self.attendance_threshold.data),
            registration_opens_at=to_utc(self.registration_opens_at.data, tz),
            registration_closes_at=to_utc(self.registration_closes_at.data, tz),
            visibility=EventVisibility(self.visibility.data or EventVisibility.PUBLIC.value),
            calendar_id=self.calendar_id.data,
            category_ids=tuple(self.category_ids.data or ()),
            organization_id=self.organization_id.data,
            certificate_template_id=self.certificate_template_id.data,
        )


def venue_choices() -> list[SelectChoice]:
    """No venue, and the venues the current user may choose (their own, their
    organizations', the site-wide ones)."""
    from flask_login import current_user

    choices = [SelectChoice("", _l("— No venue —"))]
    if current_user and current_user.is_authenticated:
        venues = db.session.scalars(EventLocation.usable_by(current_user))
        choices += [SelectChoice(venue.id, venue.one_line) for venue in venues]
    return choices


def certificate_template_choices() -> list[SelectChoice]:
    """The default design (no choice) and the certificate templates the current user may
    choose (their own, their organizations')."""
    from flask_login import current_user

    from app.certificates.models import CertificateTemplate

    choices = [SelectChoice("", _l("— The default template —"))]
    if current_user and current_user.is_authenticated:
        usable = db.session.scalars(CertificateTemplate.usable_by(current_user))
        choices += [SelectChoice(t.id, t.name) for t in usable if not t.is_default]
    return choices


def organization_choices() -> list[SelectChoice]:
    """"Just me" and the current user's organizations where they may create events."""
    from flask_login import current_user

    from app.organizations.models import Organization
    from app.organizations.permissions import OrgPermission

    choices = [SelectChoice("", _l("— Just me (a personal event) —"))]
    if current_user and current_user.is_authenticated:
        organizations = db.session.execute(
            sa.select(Organization.id, Organization.name)
            .where(Organization.id.in_(current_user.org_ids_with(OrgPermission.CREATE_EVENTS)))
            .order_by(Organization.name)
        ).all()
        choices += [SelectChoice(org_id, name) for org_id, name in organizations]
    return choices


def _plain_decimal(value) -> str:
    try:
        return format(Decimal(value).normalize(), "f")
    except (InvalidOperation, TypeError):
        return "0"


class CancelEventForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason for cancelling"), validators=[DataRequired(), Length(max=2000)],
        description=_l("Attendees and speakers will see this."),
    )


class RescheduleForm(FlaskForm):
    start_at = local_field(
        _l("New start"),
        description=_l("In the event's timezone. The end moves by the same amount, and so "
                       "does every session."),
    )


class SessionForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Length(max=10_000)])
    room = StringField(
        _l("Room"), validators=[Length(max=200)],
        description=_l("A room or track name; leave empty for online sessions."),
    )
    start_at = local_field(_l("Starts"))
    end_at = local_field(_l("Ends"))
    capacity = BoundedIntegerField(
        _l("Capacity"), validators=[Optional()], maximum=MAX_SEATS,
        description=_l("Leave empty to use the event's capacity."),
    )
    speaker_capacity = BoundedIntegerField(
        _l("Speaker places"), validators=[Optional()], maximum=MAX_SPEAKERS,
        description=_l("Leave empty for no limit."),
    )
    required_certification = StringField(
        _l("Required certification"), validators=[Length(max=100)],
        description=_l("Speakers must hold a valid certification of this type, for example "
                       "ACLS. Leave empty when none is needed."),
    )
    cpd_credits = StringField(
        _l("CPD credits"), validators=[Length(max=12)],
        description=_l("Leave empty when the session earns no credits of its own."),
    )

    def validate_cpd_credits(self, field) -> None:
        from wtforms import ValidationError as FieldError

        if field.data and field.data.strip():
            try:
                value = Decimal(field.data.strip())
            except InvalidOperation:
                raise FieldError(_l("Give a number, for example 1.5.")) from None
            if not value.is_finite() or value < 0 or value > 9999:
                raise FieldError(_l("CPD credits are a number from 0 to 9999."))

    @classmethod
    def for_session(cls, session) -> SessionForm:
        form = cls()  # submitted: read from the request alone (see EventForm.for_event)
        if not form.is_submitted():
            form.process(obj=session)
            tz = session.event.tzinfo
            form.start_at.data = to_local(session.start_at, tz)
            form.end_at.data = to_local(session.end_at, tz)
            form.required_certification.data = session.required_certification or ""
            form.cpd_credits.data = (
                "" if session.cpd_credits is None else _plain_decimal(session.cpd_credits)
            )
        return form

    def times(self, event) -> tuple[datetime | None, datetime | None]:
        tz = event.tzinfo
        return to_utc(self.start_at.data, tz), to_utc(self.end_at.data, tz)

    def to_fields(self, event) -> dict:
        start_at, end_at = self.times(event)
        credits = (self.cpd_credits.data or "").strip()
        return {
            "title": self.title.data.strip(),
            "description": (self.description.data or "").strip(),
            "room": (self.room.data or "").strip(),
            "start_at": start_at,
            "end_at": end_at,
            "capacity": self.capacity.data,
            "speaker_capacity": self.speaker_capacity.data,
            "required_certification": (self.required_certification.data or "").strip() or None,
            "cpd_credits": Decimal(credits) if credits else None,
        }


class CustomFieldForm(FlaskForm):
    label = StringField(_l("Question"), validators=[DataRequired(), Length(max=200)])
    help_text = StringField(
        _l("Help text"), validators=[Length(max=300)],
        description=_l("Shown under the question on the registration form."),
    )
    field_type = SelectField(
        _l("Answer type"), choices=enum_choices(CustomFieldType, FIELD_TYPE_LABELS),
        default=CustomFieldType.SHORT_TEXT.value,
    )
    required = BooleanField(_l("An answer is required"))
    options = TextAreaField(
        _l("Options"), validators=[Length(max=20_000)],
        description=_l("For choice questions: one option per line, at least two."),
    )

    def option_list(self) -> list[str]:
        return [line.strip() for line in (self.options.data or "").splitlines() if line.strip()]


class VenueForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    address = StringField(_l("Street address"), validators=[Length(max=300)])
    city = StringField(_l("City"), validators=[Length(max=120)])
    postal_code = StringField(_l("Postal code"), validators=[Length(max=20)])
    country = StringField(_l("Country"), validators=[Length(max=120)])
    url = WebURLField(_l("Website"), description=_l("Directions or the venue's own page."))
    notes = TextAreaField(
        _l("Notes"), validators=[Length(max=5000)],
        description=_l("Access, parking, the entrance to use…"),
    )
    organization = SelectField(
        _l("Who can choose it"), coerce=optional_bounded_int, validators=[Optional()],
        description=_l("An organization's venue is offered to its members who create events."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization.choices = [SelectChoice("", _l("Only me"))] + (
            organization_choices()[1:]
        )

    def preselect_organization(self, organization_id: int | None) -> None:
        """Start in the organization the event being written belongs to."""
        if organization_id in {choice.value for choice in self.organization.choices}:
            self.organization.data = organization_id

    def values(self) -> dict:
        """What VenueService.create takes."""
        fields = ("name", "address", "city", "postal_code", "country", "url", "notes")
        return {
            **{name: getattr(self, name).data or "" for name in fields},
            "organization_id": self.organization.data,
        }

"""factory_boy factories for the models; they add to db.session and flush."""

from __future__ import annotations

import factory
from factory.alchemy import SQLAlchemyModelFactory

from app.accounts.models import User
from app.core.types import utcnow
from app.extensions import db
from app.states import UserStatus

PASSWORD = "a-Sturdy-test-passphrase-42"


class BaseFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"


class UserFactory(BaseFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    status = UserStatus.ACTIVE
    timezone = "Europe/London"
    email_verified_at = factory.LazyFunction(utcnow)

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or PASSWORD)


# --- Events

from datetime import timedelta  # noqa: E402
from decimal import Decimal  # noqa: E402

from app.events.models import (  # noqa: E402
    Calendar,
    Event,
    EventCategory,
    EventFormat,
    EventLocation,
    EventRole,
    EventSession,
    EventVisibility,
)
from app.states import EventStatus  # noqa: E402


def in_days(days: float, hour: int = 9):
    """A moment `days` from now at `hour`:00 UTC (whole hours keep schedules readable)."""
    moment = utcnow() + timedelta(days=days)
    return moment.replace(hour=hour, minute=0, second=0, microsecond=0)


class CalendarFactory(BaseFactory):
    class Meta:
        model = Calendar

    name = factory.Sequence(lambda n: f"Calendar {n}")


class CategoryFactory(BaseFactory):
    class Meta:
        model = EventCategory

    name = factory.Sequence(lambda n: f"Category {n}")
    calendar = factory.SubFactory(CalendarFactory)


class VenueFactory(BaseFactory):
    class Meta:
        model = EventLocation

    name = factory.Sequence(lambda n: f"Hall {n}")
    address = "1 Main Street"
    city = "Leeds"
    country = "United Kingdom"
    is_site_wide = True  # offered to everyone; pass owner= or organization= (and False)


class EventFactory(BaseFactory):
    """A published public virtual event a week from now, 09:00–17:00 UTC, with an organizer."""

    class Meta:
        model = Event

    title = factory.Sequence(lambda n: f"Clinical update {n}")
    summary = "A day of short talks."
    description = "Talks about **practice**."
    description_html = "<p>Talks about <strong>practice</strong>.</p>"
    timezone = "Europe/London"
    format = EventFormat.VIRTUAL
    start_at = factory.LazyFunction(lambda: in_days(7, 9))
    end_at = factory.LazyAttribute(lambda e: e.start_at + timedelta(hours=8))
    status = EventStatus.PUBLISHED
    visibility = EventVisibility.PUBLIC
    cpd_credits = Decimal("6")
    created_by_id = factory.LazyFunction(lambda: UserFactory().id)

    @factory.post_generation
    def organizer(self, create, extracted, **kwargs):
        """`EventFactory(organizer=user)` makes `user` the organizer (and the creator)."""
        user = extracted or db.session.get(User, self.created_by_id)
        self.created_by_id = user.id
        self.add_member(user, EventRole.ORGANIZER)
        db.session.flush()


class SessionFactory(BaseFactory):
    class Meta:
        model = EventSession

    event = factory.SubFactory(EventFactory)
    title = factory.Sequence(lambda n: f"Session {n}")
    start_at = factory.LazyAttribute(lambda s: s.event.start_at)
    end_at = factory.LazyAttribute(lambda s: s.start_at + timedelta(hours=1))
    position = factory.Sequence(lambda n: n)

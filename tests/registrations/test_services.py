"""RegistrationService: seats, the waitlist, cancellation with FIFO promotion, refusals, privacy."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.accounts.services import AccountService
from app.core import privacy
from app.core.errors import ValidationError
from app.core.types import utcnow
from app.events.models import EventRole, EventVisibility
from app.extensions import db
from app.registrations.models import SEAT_HOLDING_STATUSES, Registration
from app.registrations.services import RegistrationService
from app.states import EventStatus, RegistrationStatus
from tests.conftest import mail_text, read_mail
from tests.factories import PASSWORD, EventFactory, UserFactory

CONFIRMED = RegistrationStatus.CONFIRMED
WAITLISTED = RegistrationStatus.WAITLISTED
CANCELLED = RegistrationStatus.CANCELLED


def register_many(event, count):
    return [RegistrationService.register(event, UserFactory()) for _ in range(count)]


def test_confirmed_until_full_then_waitlisted_in_order(ctx):
    event = EventFactory(capacity=2)
    registrations = register_many(event, 4)
    assert [r.status for r in registrations] == [CONFIRMED, CONFIRMED, WAITLISTED, WAITLISTED]
    assert [RegistrationService.waitlist_position(r) for r in registrations] == [None, None, 1, 2]
    assert registrations[0].confirmed_at is not None
    assert registrations[2].waitlisted_at is not None
    assert SEAT_HOLDING_STATUSES == (CONFIRMED,)


def test_unlimited_capacity_confirms_everyone(ctx):
    event = EventFactory(capacity=None)
    assert {r.status for r in register_many(event, 5)} == {CONFIRMED}


def test_full_event_without_waitlist_is_refused(ctx):
    event = EventFactory(capacity=1, waitlist_enabled=False)
    register_many(event, 1)
    with pytest.raises(ValidationError, match="This event is full."):
        RegistrationService.register(event, UserFactory())
    assert db.session.scalar(sa.select(sa.func.count(Registration.id))) == 1


def test_registering_makes_the_user_an_attendee_but_keeps_other_roles(ctx):
    organizer = UserFactory()
    event = EventFactory(organizer=organizer, capacity=5)
    attendee = UserFactory()
    RegistrationService.register(event, attendee)
    RegistrationService.register(event, organizer)
    assert event.get_role(attendee) == EventRole.ATTENDEE
    assert event.get_role(organizer) == EventRole.ORGANIZER


def test_double_submit_returns_the_same_registration(ctx):
    event = EventFactory(capacity=5)
    user = UserFactory()
    first = RegistrationService.register(event, user)
    second = RegistrationService.register(event, user)
    assert second is first
    assert db.session.scalar(sa.select(sa.func.count(Registration.id))) == 1


def test_the_database_refuses_two_live_registrations_of_one_person(ctx):
    event = EventFactory(capacity=5)
    user = UserFactory()
    RegistrationService.register(event, user)
    db.session.add(
        Registration(event=event, user_id=user.id, email=user.email, status=WAITLISTED)
    )
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()


def test_a_cancelled_registration_may_be_followed_by_a_new_one(ctx):
    event = EventFactory(capacity=5)
    user = UserFactory()
    first = RegistrationService.register(event, user)
    RegistrationService.cancel(first, user)
    second = RegistrationService.register(event, user)
    assert second is not first
    assert (first.status, second.status) == (CANCELLED, CONFIRMED)


def test_cancel_promotes_the_first_in_line_and_emails_them(app, ctx):
    event = EventFactory(capacity=1, title="Wound care")
    holder, first_in_line, second_in_line = register_many(event, 3)
    db.session.commit()
    sent_before = len(read_mail(app))

    promoted = RegistrationService.cancel(holder, holder.user)
    db.session.commit()

    assert promoted == [first_in_line]
    assert (holder.status, first_in_line.status, second_in_line.status) == (
        CANCELLED, CONFIRMED, WAITLISTED,
    )
    assert holder.cancelled_at is not None and first_in_line.confirmed_at is not None
    assert RegistrationService.waitlist_position(second_in_line) == 1
    new_mail = read_mail(app)[sent_before:]
    assert [m["To"] for m in new_mail] == [first_in_line.email]
    assert "Wound care" in new_mail[0]["Subject"]
    assert "it is yours" in mail_text(new_mail[0])


def test_registration_emails_say_confirmed_or_waitlisted_after_the_commit(app, ctx):
    event = EventFactory(capacity=1, title="Triage")
    confirmed, waitlisted = register_many(event, 2)
    assert read_mail(app) == []  # nothing leaves before the decision is committed
    db.session.commit()
    mail = {m["To"]: m for m in read_mail(app)}
    assert "You are registered" in mail[confirmed.email]["Subject"]
    assert "waitlist" in mail[waitlisted.email]["Subject"]
    assert "number 1 in line" in mail_text(mail[waitlisted.email])


def test_cancelling_twice_is_harmless(app, ctx):
    event = EventFactory(capacity=1)
    holder, waiting = register_many(event, 2)
    assert RegistrationService.cancel(holder) == [waiting]
    assert RegistrationService.cancel(holder) == []
    assert RegistrationService.cancel(waiting) == []  # a confirmed one cancelled: no one waits
    assert (holder.status, waiting.status) == (CANCELLED, CANCELLED)


def test_cancelling_a_waitlisted_registration_promotes_no_one(ctx):
    event = EventFactory(capacity=1)
    holder, first, second = register_many(event, 3)
    assert RegistrationService.cancel(first) == []
    assert (holder.status, second.status) == (CONFIRMED, WAITLISTED)
    assert RegistrationService.waitlist_position(second) == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"status": EventStatus.CANCELLED}, "was cancelled"),
        ({"status": EventStatus.COMPLETED}, "is over"),
        ({"status": EventStatus.CLOSED}, "is over"),
        ({"registration_closes_at": utcnow() - timedelta(minutes=1)}, "has closed"),
        ({"registration_opens_at": utcnow() + timedelta(days=1)}, "has not opened yet"),
    ],
)
def test_closed_events_refuse_registrations(ctx, fields, message):
    event = EventFactory(capacity=5, **fields)
    with pytest.raises(ValidationError, match=message):
        RegistrationService.register(event, UserFactory())
    assert db.session.scalar(sa.select(sa.func.count(Registration.id))) == 0


def test_drafts_and_private_events_refuse_outsiders(ctx):
    outsider = UserFactory()
    for event in (
        EventFactory(status=EventStatus.DRAFT),
        EventFactory(visibility=EventVisibility.PRIVATE),
    ):
        with pytest.raises(ValidationError, match="does not exist"):
            RegistrationService.register(event, outsider)
    assert db.session.scalar(sa.select(sa.func.count(Registration.id))) == 0


def test_private_event_accepts_its_own_people(ctx):
    event = EventFactory(visibility=EventVisibility.PRIVATE, capacity=5)
    member = UserFactory()
    event.add_member(member, EventRole.SPEAKER)
    assert RegistrationService.register(event, member).status == CONFIRMED


def test_a_soft_deleted_event_keeps_its_registrations(ctx):
    event = EventFactory(capacity=5)
    registration = RegistrationService.register(event, UserFactory())
    event.soft_delete()
    db.session.flush()
    db.session.expire_all()
    assert db.session.get(Registration, registration.id).event_id == event.id


def test_deleting_the_user_keeps_an_anonymised_registration(ctx):
    event = EventFactory(capacity=5)
    user = UserFactory(full_name="Ada Lovelace")
    registration = RegistrationService.register(event, user)
    exported = privacy.export_user_data(user)["registrations"]
    assert exported[0]["event"] == event.title and exported[0]["status"] == "confirmed"

    AccountService.delete_account(user, PASSWORD)
    db.session.flush()
    db.session.refresh(registration)
    assert registration.email == f"deleted-{user.uuid}@anonymized.local"
    assert registration.full_name == "Deleted User"
    assert registration.status == CONFIRMED  # the organizer's count does not change

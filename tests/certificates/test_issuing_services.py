"""Issuing certificates: eligibility and its reasons, issue / decline / revoke / reissue, the
one-live-certificate rule under a race, and the closing rule (app/certificates/services.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.certificates.models import Certificate
from app.certificates.services import CertificateService, EventEligibility, save_certificates
from app.core.errors import DomainError, ValidationError
from app.core.types import utcnow
from app.extensions import db
from app.registrations.models import Registration, SessionRegistration
from app.states import CertificateStatus, EventStatus, RegistrationStatus
from tests.certificates.issuing_helpers import (
    attend,
    completed_event,
    default_template,
    register,
)
from tests.factories import UserFactory


@pytest.fixture
def organizer(ctx):
    default_template()
    return UserFactory(full_name="Olga Organizer")


def certificates_of(registration) -> list[Certificate]:
    return db.session.scalars(
        sa.select(Certificate).where(Certificate.registration_id == registration.id)
        .order_by(Certificate.id)
    ).all()


# --- Eligibility


def test_attending_enough_of_the_session_makes_eligible_with_a_reason(organizer):
    event = completed_event(organizer)
    registration = register(event, "Ada")
    attend(registration, 80)

    eligibility = CertificateService.eligibility(registration)

    assert eligibility.eligible
    assert eligibility.reason == "attended 80 % of “Talk 1”"
    assert eligibility.credits == Decimal("6")


def test_attending_too_little_says_by_how_much(organizer):
    event = completed_event(organizer)
    registration = register(event, "Ada")
    attend(registration, 40)

    eligibility = CertificateService.eligibility(registration)

    assert not eligibility.eligible
    assert eligibility.reason == "attended 40 % of “Talk 1”, below 75 %"


def test_checked_in_is_eligible_without_attendance_and_nothing_is_not(organizer):
    event = completed_event(organizer)
    checked, absent = register(event, "Ada"), register(event, "Ben")
    checked.checked_in_at = utcnow()

    judged = EventEligibility(event).of([checked, absent])

    assert judged[checked.id].eligible and judged[checked.id].reason == "checked in"
    assert not judged[absent.id].eligible
    assert judged[absent.id].reason == "no attendance recorded for “Talk 1”"


def test_a_waitlisted_registration_is_not_eligible_even_checked_in(organizer):
    event = completed_event(organizer)
    registration = register(event, "Ada", status=RegistrationStatus.WAITLISTED)
    registration.checked_in_at = utcnow()

    assert CertificateService.eligibility(registration).reason == "waitlisted, not confirmed"


def test_multi_session_events_need_every_session(organizer):
    event = completed_event(organizer, sessions=2)
    first, second = event.sessions
    both, one = register(event, "Ada"), register(event, "Ben")
    attend(both, 90, first)
    attend(both, 80, second)
    attend(one, 90, first)
    attend(one, 30, second)

    judged = EventEligibility(event).of([both, one])

    assert judged[both.id].eligible and judged[both.id].reason == "attended all 2 sessions"
    assert not judged[one.id].eligible
    assert judged[one.id].reason == ("attended 1 of 2 sessions; attended 30 % of “Talk 2”, "
                                     "below 75 %")


def test_with_session_sign_up_only_the_chosen_sessions_count_and_their_credits(organizer):
    event = completed_event(organizer, sessions=2, session_signup=True)
    first, second = event.sessions
    first.cpd_credits, second.cpd_credits = Decimal("1.5"), Decimal("2")
    registration = register(event, "Ada")
    db.session.add(SessionRegistration(registration_id=registration.id, session_id=second.id,
                                       status=RegistrationStatus.CONFIRMED))
    attend(registration, 100, second)

    eligibility = CertificateService.eligibility(registration)

    assert eligibility.eligible and eligibility.reason == "attended 100 % of “Talk 2”"
    assert eligibility.credits == Decimal("2")  # the chosen session's own credits


def test_eligibility_of_a_whole_event_takes_the_same_queries_for_2_or_20(app, organizer):
    from tests.conftest import query_counter

    counts = []
    for size in (2, 20):
        event = completed_event(organizer, sessions=2, session_signup=True)
        registrations = [register(event, f"P{n}") for n in range(size)]
        for registration in registrations:
            db.session.add(SessionRegistration(registration_id=registration.id,
                                               session_id=event.sessions[0].id,
                                               status=RegistrationStatus.CONFIRMED))
            attend(registration, 90, event.sessions[0])
        db.session.expire_all()
        loaded = db.session.scalars(
            sa.select(Registration).where(Registration.event_id == event.id)).all()
        assert len(loaded) == size
        with query_counter(db.engine) as statements:
            judged = EventEligibility(event).of(loaded)
        assert all(j.eligible for j in judged.values())
        counts.append(len(statements))
    assert counts[0] == counts[1]


# --- Issuing


def test_issuing_freezes_the_data_and_writes_the_history(organizer):
    event = completed_event(organizer, title="Cardiology update", timezone="Europe/Paris")
    registration = register(event, "Ada Lovelace")
    attend(registration, 90)

    certificate = CertificateService.issue(registration, organizer)
    event.title = "Renamed later"
    db.session.flush()

    assert certificate.status == CertificateStatus.ACTIVE
    assert certificate.attendee_name == "Ada Lovelace"
    assert certificate.attendee_email == registration.email
    assert certificate.event_title == "Cardiology update"
    assert certificate.event_timezone == "Europe/Paris"
    assert certificate.event_starts_at == event.start_at
    assert certificate.cpd_credits == Decimal("6")
    assert certificate.organizer_name == "Olga Organizer"
    assert certificate.issued_by_id == organizer.id
    assert certificate.user_id == registration.user_id
    assert len(certificate.verification_code) == 20
    assert [(h.from_status, h.to_status) for h in certificate.history] == [
        (None, CertificateStatus.ACTIVE)]


def test_issuing_to_someone_not_eligible_is_refused_with_the_reason(organizer):
    event = completed_event(organizer)
    registration = register(event, "Ada")
    attend(registration, 40)

    with pytest.raises(DomainError, match="Ada is not eligible: attended 40 %"):
        CertificateService.issue(registration, organizer)
    assert certificates_of(registration) == []


@pytest.mark.parametrize(("status", "message"), [
    (EventStatus.LIVE, "once the event has completed"),
    (EventStatus.CLOSED, "reopen it to issue more"),
])
def test_issuing_needs_a_completed_event(organizer, status, message):
    event = completed_event(organizer, status=status)
    registration = register(event, "Ada")
    attend(registration, 90)

    with pytest.raises(DomainError, match=message):
        CertificateService.issue(registration, organizer)


def test_issuing_twice_is_refused(organizer):
    event = completed_event(organizer)
    registration = register(event, "Ada")
    attend(registration, 90)
    CertificateService.issue(registration, organizer)

    with pytest.raises(DomainError, match="one live certificate per registration"):
        CertificateService.issue(registration, organizer)
    assert len(certificates_of(registration)) == 1


def test_a_race_past_the_check_is_stopped_by_the_index(organizer):
    """Two issues at once both pass the check before either inserts: `has_active=False` is
    what the second one read. The partial unique index refuses it; the first one stays."""
    event = completed_event(organizer)
    registration = register(event, "Ada")
    attend(registration, 90)
    first = CertificateService.issue(registration, organizer)

    with pytest.raises(DomainError, match="one live certificate per registration"):
        CertificateService.issue(registration, organizer, has_active=False)

    assert [c.id for c in certificates_of(registration)] == [first.id]
    assert first.is_active  # the savepoint undid only the loser


def test_a_batch_that_loses_one_race_saves_the_others(organizer):
    """A bulk run saves its batch in one savepoint; when a concurrent issue won one
    registration meanwhile, only that certificate is refused, the rest are saved."""
    event = completed_event(organizer)
    registrations = [register(event, name) for name in ("Ada", "Grace", "Edsger")]
    for registration in registrations:
        attend(registration, 90)
    prepared = [CertificateService.prepare(r, organizer, has_active=False)
                for r in registrations]
    winner = CertificateService.issue(registrations[1], organizer)  # the concurrent issue

    refused = save_certificates(prepared)

    assert [c.registration_id for c, _reason in refused] == [registrations[1].id]
    assert "one live certificate per registration" in refused[0][1]
    assert [c.id for c in certificates_of(registrations[1])] == [winner.id]
    for registration in (registrations[0], registrations[2]):
        assert len(certificates_of(registration)) == 1
    assert len(certificates_of(registrations[0])[0].history) == 1


# --- Decline, revoke, reissue


def test_declining_needs_a_reason_and_blocks_issuing_until_undone(organizer):
    event = completed_event(organizer)
    registration = register(event, "Ada")
    attend(registration, 90)

    with pytest.raises(ValidationError, match="Give a reason"):
        CertificateService.decline(registration, organizer, "  ")
    CertificateService.decline(registration, organizer, "Left before the assessment")

    assert registration.certificate_decline_reason == "Left before the assessment"
    assert registration.certificate_declined_by_id == organizer.id
    assert registration.certificate_declined_at is not None
    with pytest.raises(DomainError, match="was declined: undo the decline first"):
        CertificateService.issue(registration, organizer)
    with pytest.raises(DomainError, match="already declined"):
        CertificateService.decline(registration, organizer, "Again")

    CertificateService.undo_decline(registration)
    assert registration.certificate_declined_at is None
    assert registration.certificate_decline_reason == ""
    assert CertificateService.issue(registration, organizer).is_active


def test_declining_a_registration_with_a_certificate_is_refused(organizer):
    event = completed_event(organizer)
    registration = register(event, "Ada")
    attend(registration, 90)
    CertificateService.issue(registration, organizer)

    with pytest.raises(DomainError, match="revoke it instead"):
        CertificateService.decline(registration, organizer, "Changed my mind")


def test_revoking_needs_a_reason_happens_once_and_allows_a_new_certificate(organizer):
    event = completed_event(organizer)
    registration = register(event, "Ada")
    attend(registration, 90)
    certificate = CertificateService.issue(registration, organizer)

    with pytest.raises(ValidationError):
        CertificateService.revoke(certificate, organizer, "")
    CertificateService.revoke(certificate, organizer, "Wrong person")
    with pytest.raises(DomainError, match="already revoked"):
        CertificateService.revoke(certificate, organizer, "Again")

    assert certificate.status == CertificateStatus.REVOKED
    assert certificate.revocation_reason == "Wrong person"
    assert [(h.from_status, h.to_status, h.reason) for h in certificate.history][-1] == (
        CertificateStatus.ACTIVE, CertificateStatus.REVOKED, "Wrong person")
    again = CertificateService.issue(registration, organizer)
    assert again.is_active and again.verification_code != certificate.verification_code
    assert [c.status for c in certificates_of(registration)] == [
        CertificateStatus.REVOKED, CertificateStatus.ACTIVE]


# --- Closing


def test_closing_waits_for_every_eligible_registration_and_reopening_allows_more(organizer):
    event = completed_event(organizer)
    ada, ben, cat = register(event, "Ada"), register(event, "Ben"), register(event, "Cat")
    attend(ada, 90)
    attend(ben, 90)
    attend(cat, 10)  # not eligible: does not hold closing up

    with pytest.raises(ValidationError, match="2 eligible registrations have neither"):
        event.close(organizer)
    CertificateService.issue(ada, organizer)
    with pytest.raises(ValidationError, match="1 eligible registration has neither"):
        event.close(organizer)
    CertificateService.decline(ben, organizer, "Did not pass the quiz")
    event.close(organizer)
    assert event.status == EventStatus.CLOSED

    CertificateService.undo_decline(ben)
    with pytest.raises(DomainError, match="reopen it"):
        CertificateService.issue(ben, organizer)
    event.reopen(organizer)
    assert CertificateService.issue(ben, organizer).is_active

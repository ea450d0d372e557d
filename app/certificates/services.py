"""Issuing certificates: who is eligible and why, issuing one, declining, revoking, and the
closing rule (issue 6; seed 003 "Certificate Status" and COMPLETED → CLOSED).

Rules, in one place:
- Eligible: a CONFIRMED registration that was checked in at the door, or that attended
  every session it was expected at — each per its SessionAttendance `attended` flag, which
  applies the event's attendance threshold (app/zoom/attendance.py). Expected sessions are
  the ones it signed up for when the event offers session sign-up, else every session that
  was not cancelled; an event without sessions (or with its own single Zoom meeting) is one.
- Credits: the event's CPD credits; when the expected sessions carry their own, the sum of
  theirs (an eligible registration attended them all).
- Issuing is open while the event is COMPLETED. A CLOSED event refuses it (reopen it to
  issue more); before it completes nobody's attendance is final.
- At most one ACTIVE certificate per registration: checked first for a clear message, and
  enforced by the partial unique index, which settles two issues racing each other.

Services only flush; the view or job commits once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext

from app.accounts.models import User
from app.certificates.defaults import template_for_event
from app.certificates.jobs import render_certificate_pdf
from app.certificates.models import Certificate, CertificateTemplate
from app.certificates.status_list import assign_status_entries
from app.core.errors import DomainError, ValidationError
from app.core.types import utcnow
from app.events.models import Event, EventSession
from app.extensions import db
from app.jobs import enqueue
from app.organizations.branding import frozen_brand
from app.registrations.models import Registration, SessionRegistration
from app.states import CertificateStatus, EventStatus, RegistrationStatus
from app.zoom.models import SessionAttendance


def one_live_certificate() -> str:
    return _("This registration already has a certificate: one live certificate per "
             "registration.")


@dataclass(frozen=True)
class Eligibility:
    """Whether a registration may get a certificate, why (for a person), and its credits."""

    eligible: bool
    reason: str
    credits: Decimal = Decimal("0")


class EventEligibility:
    """The eligibility of an event's registrations, in a constant number of queries: the
    sessions once, then per batch of registrations their attendance rows and session places."""

    def __init__(self, event: Event):
        self.event = event
        sessions = db.session.scalars(
            sa.select(EventSession).where(EventSession.event_id == event.id)
            .order_by(EventSession.start_at, EventSession.position, EventSession.id)
        ).all()
        self.sessions = [s for s in sessions if not s.is_cancelled]
        # One attendance scope for the whole event (None): no sessions, or the event's own
        # single Zoom meeting; the same choice as the attendance page.
        self.event_level = not self.sessions or (len(sessions) <= 1 and bool(event.zoom_meeting_id))

    def of(self, registrations: Iterable[Registration]) -> dict[int, Eligibility]:
        registrations = list(registrations)
        ids = [r.id for r in registrations]
        attendance: dict[tuple[int, int | None], SessionAttendance] = {}
        places: dict[int, set[int]] = {}
        if ids:
            for row in db.session.scalars(
                sa.select(SessionAttendance).where(SessionAttendance.registration_id.in_(ids))
            ):
                attendance[(row.registration_id, row.session_id)] = row
            if self.event.session_signup and not self.event_level:
                for registration_id, session_id in db.session.execute(
                    sa.select(SessionRegistration.registration_id, SessionRegistration.session_id)
                    .where(SessionRegistration.registration_id.in_(ids),
                           SessionRegistration.status == RegistrationStatus.CONFIRMED)
                ):
                    places.setdefault(registration_id, set()).add(session_id)
        return {r.id: self._judge(r, attendance, places.get(r.id, set())) for r in registrations}

    def _expected_sessions(self, session_ids: set[int]) -> list[EventSession]:
        if self.event.session_signup:
            return [s for s in self.sessions if s.id in session_ids]
        return self.sessions

    def _credits(self, expected: list[EventSession]) -> Decimal:
        own = [s.cpd_credits for s in expected if s.cpd_credits is not None]
        return sum(own, Decimal("0")) if own else (self.event.cpd_credits or Decimal("0"))

    def _judge(self, registration: Registration, attendance: dict,
               session_ids: set[int]) -> Eligibility:
        if registration.status != RegistrationStatus.CONFIRMED or registration.is_deleted:
            if registration.status == RegistrationStatus.WAITLISTED:
                return Eligibility(False, _("waitlisted, not confirmed"))
            return Eligibility(False, _("cancelled"))
        threshold = self.event.attendance_threshold
        if self.event_level:
            scopes: list[tuple[int | None, str]] = [(None, self.event.title)]
            credits = self.event.cpd_credits or Decimal("0")
        else:
            expected = self._expected_sessions(session_ids)
            scopes = [(s.id, s.title) for s in expected]
            credits = self._credits(expected)
        if registration.checked_in_at is not None:
            return Eligibility(True, _("checked in"), credits)
        if not scopes:
            return Eligibility(False, _("signed up for no session"))
        rows = [(title, attendance.get((registration.id, key))) for key, title in scopes]
        missed = [(title, row) for title, row in rows if row is None or not row.attended]
        if not missed:
            if len(rows) == 1:
                return Eligibility(True, _("attended %(percent)s %% of “%(title)s”",
                                           percent=rows[0][1].percent, title=rows[0][0]), credits)
            return Eligibility(True, _("attended all %(count)s sessions", count=len(rows)),
                               credits)
        title, row = missed[0]
        if row is None:
            detail = _("no attendance recorded for “%(title)s”", title=title)
        else:
            detail = _("attended %(percent)s %% of “%(title)s”, below %(threshold)s %%",
                       percent=row.percent, title=title, threshold=threshold)
        if len(rows) > 1:
            attended = len(rows) - len(missed)
            detail = _("attended %(attended)s of %(count)s sessions; %(detail)s",
                       attended=attended, count=len(rows), detail=detail)
        return Eligibility(False, detail)


def active_certificates(registration_ids: Iterable[int]) -> dict[int, Certificate]:
    """The ACTIVE certificate of each of these registrations that has one (one query)."""
    ids = list(registration_ids)
    if not ids:
        return {}
    return {
        c.registration_id: c
        for c in db.session.scalars(
            sa.select(Certificate).where(Certificate.registration_id.in_(ids),
                                         Certificate.status == CertificateStatus.ACTIVE)
        )
    }


def creator_name(event: Event) -> str:
    user = db.session.get(User, event.created_by_id)
    return user.display_name if user is not None else ""


def issuing_refusal(event: Event) -> str | None:
    """Why certificates cannot be issued for this event now, or None when they can."""
    if event.status == EventStatus.COMPLETED:
        return None
    if event.status == EventStatus.CLOSED:
        return _("The event is closed: reopen it to issue more certificates.")
    return _("Certificates are issued once the event has completed (it is %(status)s).",
             status=event.status.value)


def check_can_issue(event: Event) -> None:
    refusal = issuing_refusal(event)
    if refusal:
        raise DomainError(refusal)


@dataclass(frozen=True)
class IssueContext:
    """What every certificate of one event shares; read once for a whole batch."""

    template: CertificateTemplate
    organizer_name: str
    logo_key: str = ""
    colour: str = ""

    @classmethod
    def of(cls, event: Event) -> IssueContext:
        """The issuer printed on the certificates is the event's organization (with its
        brand), else the person who created the event."""
        organization_name, logo_key, colour = frozen_brand(event)
        return cls(template_for_event(event), organization_name or creator_name(event),
                   logo_key, colour)


def save_certificates(certificates: list[Certificate]) -> list[tuple[Certificate, str]]:
    """Save prepared certificates in one savepoint; returns the ones refused, with why.

    Each gets its position in a revocation status list first (a refused one leaves its
    position unused). The partial unique index keeps one ACTIVE certificate per
    registration: when a concurrent issue won the race for one of them, the batch is saved
    again one savepoint per certificate, so that only the losers are undone. A single
    certificate that loses raises the DomainError itself.
    """
    assign_status_entries(certificates)
    try:
        with db.session.begin_nested():
            db.session.add_all(certificates)
            db.session.flush()
        return []
    except sa.exc.IntegrityError as error:
        if len(certificates) == 1:
            raise DomainError(one_live_certificate()) from error
    refused = []
    for certificate in certificates:
        try:
            with db.session.begin_nested():  # a lost race undoes this certificate only
                db.session.add(certificate)
                db.session.flush()
        except sa.exc.IntegrityError:
            refused.append((certificate, one_live_certificate()))
    return refused


class CertificateService:
    @staticmethod
    def eligibility(registration: Registration) -> Eligibility:
        return EventEligibility(registration.event).of([registration])[registration.id]

    @staticmethod
    def pending_registrations(event: Event) -> list[Registration]:
        """Eligible registrations with neither an ACTIVE certificate nor a decline."""
        registrations = db.session.scalars(
            sa.select(Registration).where(
                Registration.event_id == event.id,
                Registration.status == RegistrationStatus.CONFIRMED,
                Registration.certificate_declined_at.is_(None),
                ~sa.exists().where(Certificate.registration_id == Registration.id,
                                   Certificate.status == CertificateStatus.ACTIVE),
            ).order_by(Registration.id)
        ).all()
        judged = EventEligibility(event).of(registrations)
        return [r for r in registrations if judged[r.id].eligible]

    @staticmethod
    def issue(registration: Registration, actor, *, eligibility: Eligibility | None = None,
              context: IssueContext | None = None,
              has_active: bool | None = None) -> Certificate:
        """Issue a certificate with its data frozen now, and queue its PDF. The keyword
        arguments let a caller pass what it has already read."""
        certificate = CertificateService.prepare(registration, actor, eligibility=eligibility,
                                                 context=context, has_active=has_active)
        save_certificates([certificate])
        enqueue(render_certificate_pdf, certificate.id)
        return certificate

    @staticmethod
    def prepare(registration: Registration, actor, *, eligibility: Eligibility | None = None,
                context: IssueContext | None = None,
                has_active: bool | None = None) -> Certificate:
        """A new certificate with its data frozen now, checked but not yet saved: `issue`
        saves one, a bulk run saves a batch at once (save_certificates)."""
        event = registration.event
        check_can_issue(event)
        if registration.certificate_declined_at is not None:
            raise DomainError(_("The certificate of %(name)s was declined: undo the decline "
                                "first.", name=registration.display_name))
        eligibility = eligibility or CertificateService.eligibility(registration)
        if not eligibility.eligible:
            raise DomainError(_("%(name)s is not eligible: %(reason)s.",
                                name=registration.display_name, reason=eligibility.reason))
        if has_active is None:
            has_active = registration.id in active_certificates([registration.id])
        if has_active:
            raise DomainError(one_live_certificate())
        context = context or IssueContext.of(event)
        certificate = Certificate(
            uuid=uuid.uuid4(),  # now, not at the flush: the PDF may be stored before it
            registration_id=registration.id,
            event_id=event.id,
            user_id=registration.user_id,
            template=context.template,
            attendee_name=registration.full_name or registration.display_name,
            attendee_email=registration.email,
            event_title=event.title,
            event_starts_at=event.start_at,
            event_ends_at=event.end_at,
            event_timezone=event.timezone,
            cpd_credits=eligibility.credits,
            organizer_name=context.organizer_name,
            organization_logo_key=context.logo_key,
            organization_colour=context.colour,
            issued_at=utcnow(),
            issued_by_id=getattr(actor, "id", None),
        )
        certificate.record_transition(None, CertificateStatus.ACTIVE, actor=actor)
        return certificate

    @staticmethod
    def decline(registration: Registration, actor, reason: str) -> None:
        """Record that this registration gets no certificate (who, when, why)."""
        reason = (reason or "").strip()
        if not reason:
            raise ValidationError(_("Give a reason for declining the certificate."),
                                  field="reason")
        if registration.certificate_declined_at is not None:
            raise DomainError(_("The certificate of %(name)s is already declined.",
                                name=registration.display_name))
        if registration.id in active_certificates([registration.id]):
            raise DomainError(_("%(name)s has a certificate: revoke it instead.",
                                name=registration.display_name))
        registration.certificate_declined_at = utcnow()
        registration.certificate_declined_by_id = getattr(actor, "id", None)
        registration.certificate_decline_reason = reason
        db.session.flush()

    @staticmethod
    def undo_decline(registration: Registration) -> None:
        if registration.certificate_declined_at is None:
            raise DomainError(_("The certificate of %(name)s is not declined.",
                                name=registration.display_name))
        registration.certificate_declined_at = None
        registration.certificate_declined_by_id = None
        registration.certificate_decline_reason = ""
        db.session.flush()

    @staticmethod
    def revoke(certificate: Certificate, actor, reason: str) -> None:
        """Revoke for good (the model checks the reason and the state); a new certificate
        may be issued afterwards."""
        certificate.revoke(actor, reason)
        db.session.flush()


def refuse_closing_with_pending_certificates(event: Event) -> None:
    """`event_closing`: COMPLETED → CLOSED once every eligible registration has a
    certificate or a decline."""
    pending = len(CertificateService.pending_registrations(event))
    if pending:
        raise ValidationError(ngettext(
            "%(num)d eligible registration has neither a certificate nor a decline: issue "
            "or decline it before closing the event.",
            "%(num)d eligible registrations have neither a certificate nor a decline: issue "
            "or decline them before closing the event.",
            pending,
        ))

"""The CPD tracker: credits earned per requirement and period, from the person's certificates
and the activities they logged elsewhere; and the operations on requirements and activities.

How a credit is dated: an activity by the day it was completed; a certificate by the day its
event ended, in the event's own timezone (frozen on the certificate). Professional bodies
count learning when it happened, and a certificate issued in January for a course that ended
in December belongs to December's period. Only ACTIVE certificates count: a revoked one
leaves the tracker at once. A logged activity linked to a requirement counts toward that one
only; one without a requirement counts toward all.

Everything a page needs is read in three queries (requirements, activities, certificates),
whatever the number of rows; periods and totals are worked out in Python.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from babel.dates import format_interval
from flask_babel import format_decimal
from flask_babel import gettext as _

from app.certificates.cpd_models import CPDActivity, CPDPeriod, CPDPeriodKind, CPDRequirement
from app.certificates.models import Certificate
from app.core import privacy
from app.core.templating import request_locale
from app.core.types import utcnow
from app.extensions import db
from app.states import CertificateStatus

MAX_HISTORY = 20  # previous periods shown per requirement


class CreditSource(enum.Enum):
    CERTIFICATE = "certificate"  # issued on this site
    ACTIVITY = "activity"  # logged by the person


@dataclass(frozen=True)
class CreditLine:
    """One thing that earned credits: a certificate or a logged activity."""

    day: date
    title: str
    provider: str
    credits: Decimal
    source: CreditSource
    certificate: Certificate | None = None
    activity: CPDActivity | None = None

    @property
    def credits_text(self) -> str:
        return format_credits(self.credits)

    @property
    def source_label(self) -> str:
        if self.source is CreditSource.CERTIFICATE:
            return _("Certificate")
        return _("External activity")

    @property
    def reference(self) -> str:
        """Where someone checking the record can confirm it: the public verification page of
        a certificate, the evidence link of an activity."""
        if self.certificate is not None:
            return self.certificate.verify_url()
        return self.activity.evidence_url if self.activity else ""


@dataclass(frozen=True)
class PeriodProgress:
    """A requirement's credits in one period."""

    requirement: CPDRequirement
    period: CPDPeriod
    back: int  # 0: the current period; 1: the one before...
    lines: list[CreditLine]

    @property
    def earned(self) -> Decimal:
        return sum((line.credits for line in self.lines), Decimal("0"))

    @property
    def required(self) -> Decimal:
        return self.requirement.credits_required

    @property
    def remaining(self) -> Decimal:
        return max(Decimal("0"), self.required - self.earned)

    @property
    def percent(self) -> int:
        """For the bar: capped at 100 (earning more than required fills it, no more)."""
        if self.required <= 0:
            return 100
        return min(100, int(self.earned * 100 / self.required))

    @property
    def is_met(self) -> bool:
        return self.earned >= self.required

    @property
    def label(self) -> str:
        return period_label(self.period)

    @property
    def earned_text(self) -> str:
        return format_credits(self.earned)

    @property
    def required_text(self) -> str:
        return format_credits(self.required)

    @property
    def remaining_text(self) -> str:
        return format_credits(self.remaining)

    @property
    def summary(self) -> str:
        """"18 of 30 credits, 12 to go, period Jan 1 – Dec 31, 2026"."""
        if self.is_met:
            return _("%(earned)s of %(required)s credits, requirement met, period %(period)s",
                     earned=format_credits(self.earned),
                     required=format_credits(self.required), period=self.label)
        return _("%(earned)s of %(required)s credits, %(remaining)s to go, period %(period)s",
                 earned=format_credits(self.earned), required=format_credits(self.required),
                 remaining=format_credits(self.remaining), period=self.label)


@dataclass
class CPDTracker:
    """What the tracker page shows for one person."""

    requirements: list[CPDRequirement]
    activities: list[CPDActivity]  # every logged activity, newest first
    current: list[PeriodProgress]  # each requirement's current period, in order
    selected: PeriodProgress | None  # the requirement and period opened below the summary
    history: list[PeriodProgress] = field(default_factory=list)  # selected's, newest first

    @property
    def oldest_back(self) -> int:
        return self.history[-1].back if self.history else 0


def format_credits(amount: Decimal) -> str:
    """"18", "1.5", "1,200" in the viewer's locale: no trailing zeros."""
    return format_decimal(amount, format="#,##0.##")


def period_label(period: CPDPeriod) -> str:
    """"1 Jan – 31 Dec 2026" in the viewer's locale."""
    return format_interval(period.start, period.end, "yMMMd", locale=request_locale())


def local_today(user) -> date:
    """Today in the person's timezone: a credit earned tonight is in tonight's period."""
    try:
        zone = ZoneInfo(user.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return utcnow().astimezone(zone).date()


def certificate_day(certificate: Certificate) -> date:
    """The day the certificate's event ended, where it took place (see the module's note)."""
    moment = certificate.event_ends_at or certificate.issued_at
    try:
        zone = ZoneInfo(certificate.event_timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return moment.astimezone(zone).date()


@dataclass(frozen=True)
class CreditLedger:
    """A person's requirements, activities and active certificates, read once."""

    requirements: list[CPDRequirement]
    activities: list[CPDActivity]
    certificate_lines: list[CreditLine]

    @classmethod
    def of(cls, user_id: int) -> CreditLedger:
        requirements = list(db.session.scalars(
            sa.select(CPDRequirement)
            .where(CPDRequirement.user_id == user_id)
            .order_by(CPDRequirement.professional_body, CPDRequirement.id)
        ))
        activities = list(db.session.scalars(
            sa.select(CPDActivity)
            .where(CPDActivity.user_id == user_id)
            .order_by(CPDActivity.completed_on.desc(), CPDActivity.id.desc())
        ))
        certificates = db.session.scalars(
            sa.select(Certificate)
            .where(
                Certificate.user_id == user_id,
                Certificate.status == CertificateStatus.ACTIVE,
                Certificate.cpd_credits > 0,
            )
            .order_by(Certificate.event_ends_at.desc(), Certificate.id.desc())
        )
        certificate_lines = [
            CreditLine(
                day=certificate_day(c),
                title=c.event_title,
                provider=c.organizer_name,
                credits=c.cpd_credits,
                source=CreditSource.CERTIFICATE,
                certificate=c,
            )
            for c in certificates
        ]
        return cls(requirements, activities, certificate_lines)

    def lines_for(self, requirement: CPDRequirement, period: CPDPeriod) -> list[CreditLine]:
        """The credits that count toward `requirement` in `period`, newest first."""
        lines = [line for line in self.certificate_lines if period.contains(line.day)]
        lines += [
            CreditLine(
                day=a.completed_on,
                title=a.title,
                provider=a.provider,
                credits=a.credits,
                source=CreditSource.ACTIVITY,
                activity=a,
            )
            for a in self.activities
            if period.contains(a.completed_on)
            and a.requirement_id in (None, requirement.id)
        ]
        return sorted(lines, key=lambda line: (line.day, line.title), reverse=True)

    def progress(self, requirement: CPDRequirement, today: date, back: int = 0) -> PeriodProgress:
        period = requirement.period(today, back)
        return PeriodProgress(requirement, period, back, self.lines_for(requirement, period))

    def earliest_day(self) -> date | None:
        days = [line.day for line in self.certificate_lines]
        days += [a.completed_on for a in self.activities]
        return min(days, default=None)

    def history_depth(self, requirement: CPDRequirement, today: date) -> int:
        return requirement.periods_back_to(self.earliest_day(), today, MAX_HISTORY)


def build_tracker(
    user, today: date, requirement_uuid: str | None = None, back: int = 0
) -> CPDTracker:
    """The tracker of `user`: every requirement's current period, and one requirement (the
    one asked for, else the first) opened at the period `back` periods ago."""
    ledger = CreditLedger.of(user.id)
    requirements = ledger.requirements
    current = [ledger.progress(r, today) for r in requirements]
    chosen = next((r for r in requirements if str(r.uuid) == requirement_uuid), None)
    chosen = chosen or (requirements[0] if requirements else None)
    if chosen is None:
        return CPDTracker(requirements, ledger.activities, current, None)
    depth = ledger.history_depth(chosen, today)
    back = max(0, min(back, depth))
    history = [ledger.progress(chosen, today, b) for b in range(1, depth + 1)]
    return CPDTracker(
        requirements, ledger.activities, current, ledger.progress(chosen, today, back), history
    )


def report_progress(requirement: CPDRequirement, today: date, back: int) -> PeriodProgress:
    """One requirement's period for the exports (`back` kept within its history)."""
    ledger = CreditLedger.of(requirement.user_id)
    back = max(0, min(back, ledger.history_depth(requirement, today)))
    return ledger.progress(requirement, today, back)


# --- Operations (they flush; the view commits through app.core.forms.attempt)


def find_requirement(user, requirement_uuid: uuid.UUID | str | None) -> CPDRequirement | None:
    """`user`'s requirement with that uuid, or None (other people's are never found)."""
    if not requirement_uuid:
        return None
    try:
        wanted = uuid.UUID(str(requirement_uuid))
    except ValueError:
        return None
    return db.session.scalar(
        sa.select(CPDRequirement).where(
            CPDRequirement.uuid == wanted, CPDRequirement.user_id == user.id
        )
    )


def find_activity(user, activity_uuid: uuid.UUID) -> CPDActivity | None:
    return db.session.scalar(
        sa.select(CPDActivity).where(CPDActivity.uuid == activity_uuid,
                                     CPDActivity.user_id == user.id)
    )


class CPDService:
    @staticmethod
    def add_requirement(user, **fields) -> CPDRequirement:
        requirement = CPDRequirement(user_id=user.id)
        requirement.update(**fields)  # refuses bad input before anything is added
        db.session.add(requirement)
        db.session.flush()
        return requirement

    @staticmethod
    def update_requirement(requirement: CPDRequirement, **fields) -> None:
        requirement.update(**fields)
        db.session.flush()

    @staticmethod
    def add_activity(user, **fields) -> CPDActivity:
        activity = CPDActivity(user_id=user.id)
        activity.update(today=local_today(user), **fields)
        db.session.add(activity)
        db.session.flush()
        return activity

    @staticmethod
    def update_activity(activity: CPDActivity, user, **fields) -> None:
        activity.update(today=local_today(user), **fields)
        db.session.flush()

    @staticmethod
    def delete_activity(activity: CPDActivity) -> None:
        db.session.delete(activity)
        db.session.flush()

    @staticmethod
    def delete_requirement(requirement: CPDRequirement) -> None:
        """Its activities stay, counting toward every requirement again (FK SET NULL)."""
        db.session.execute(
            sa.update(CPDActivity)
            .where(CPDActivity.requirement_id == requirement.id)
            .values(requirement_id=None)
            .execution_options(synchronize_session="fetch")
        )
        db.session.delete(requirement)
        db.session.flush()


# --- Privacy


def export_cpd(user) -> dict:
    requirements = db.session.scalars(
        sa.select(CPDRequirement).where(CPDRequirement.user_id == user.id)
        .order_by(CPDRequirement.id)
    )
    activities = db.session.scalars(
        sa.select(CPDActivity).where(CPDActivity.user_id == user.id).order_by(CPDActivity.id)
    )
    return {
        "requirements": [
            {
                "professional_body": r.professional_body,
                "credits_required": str(r.credits_required),
                "period": r.period_kind.value,
                "start_month": r.start_month if r.period_kind is CPDPeriodKind.YEARLY else None,
                "period_months": (
                    r.period_months if r.period_kind is CPDPeriodKind.ROLLING else None
                ),
                "active_from": r.active_from and r.active_from.isoformat(),
                "active_until": r.active_until and r.active_until.isoformat(),
            }
            for r in requirements
        ],
        "activities": [
            {
                "title": a.title,
                "provider": a.provider,
                "completed_on": a.completed_on.isoformat(),
                "credits": str(a.credits),
                "notes": a.notes,
                "evidence_url": a.evidence_url,
                "requirement": a.requirement.professional_body if a.requirement else None,
            }
            for a in activities
        ],
    }


def anonymise_cpd(user) -> None:
    """A person's CPD record is theirs alone: it goes with the account."""
    db.session.execute(sa.delete(CPDActivity).where(CPDActivity.user_id == user.id))
    db.session.execute(sa.delete(CPDRequirement).where(CPDRequirement.user_id == user.id))


privacy.register("cpd", export=export_cpd, anonymise=anonymise_cpd)

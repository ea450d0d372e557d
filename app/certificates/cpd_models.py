"""CPD (continuing professional development): what a person must earn per period, for which
professional body, and the external activities they log themselves (seed 003 CPDRequirement).

Certificates issued on this site count too; app/certificates/cpd.py adds both up per period.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from flask_babel import gettext as _
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.bounds import OUT_OF_RANGE, date_in_range, shift_date
from app.core.errors import ValidationError
from app.core.models import Model
from app.core.templating import month_name
from app.core.types import enum_column
from app.core.urls import check_web_url

MAX_CREDITS = Decimal("9999.99")  # Numeric(6, 2)
MAX_ROLLING_MONTHS = 120


class CPDPeriodKind(enum.Enum):
    """How a requirement cuts time into periods."""

    YEARLY = "yearly"  # twelve months from a start month (January: the calendar year)
    ROLLING = "rolling"  # the last N months, up to today


@dataclass(frozen=True)
class CPDPeriod:
    """One period of a requirement, both ends included."""

    start: date
    end: date

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


def parse_credits(value, field: str = "credits") -> Decimal:
    """A positive amount of credits with at most two decimals, or a ValidationError."""
    try:
        credits = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError(_("Enter the credits as a number, like 2 or 1.5."), field) from None
    if not credits.is_finite() or credits <= 0:
        raise ValidationError(_("Credits must be more than zero."), field)
    if credits > MAX_CREDITS:
        raise ValidationError(_("Credits must be at most %(max)s.", max=MAX_CREDITS), field)
    if credits != credits.quantize(Decimal("0.01")):
        raise ValidationError(_("Credits take at most two decimals."), field)
    return credits


class CPDRequirement(Model):
    """Credits a person must earn per period for one professional body, e.g. 30 a year."""

    __tablename__ = "cpd_requirements"
    __table_args__ = (
        sa.CheckConstraint("credits_required > 0", name="credits_required_positive"),
        sa.CheckConstraint("start_month BETWEEN 1 AND 12", name="start_month_valid"),
        sa.CheckConstraint(
            f"period_months BETWEEN 1 AND {MAX_ROLLING_MONTHS}", name="period_months_valid"
        ),
        sa.CheckConstraint(
            "active_until IS NULL OR active_from IS NULL OR active_until >= active_from",
            name="active_range_valid",
        ),
    )

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    professional_body: Mapped[str] = mapped_column(sa.String(200))
    credits_required: Mapped[Decimal] = mapped_column(sa.Numeric(6, 2))
    period_kind: Mapped[CPDPeriodKind] = mapped_column(
        enum_column(CPDPeriodKind), default=CPDPeriodKind.YEARLY
    )
    # YEARLY: the month each period starts in. ROLLING: how many months a period covers.
    start_month: Mapped[int] = mapped_column(default=1)
    period_months: Mapped[int] = mapped_column(default=12)
    active_from: Mapped[date | None] = mapped_column(sa.Date)
    active_until: Mapped[date | None] = mapped_column(sa.Date)

    user = relationship("User")
    activities: Mapped[list[CPDActivity]] = relationship(
        back_populates="requirement", passive_deletes=True
    )

    def __str__(self) -> str:
        return self.professional_body

    def update(
        self,
        *,
        professional_body: str,
        credits_required,
        period_kind: CPDPeriodKind,
        start_month: int | None = 1,
        period_months: int | None = 12,
        active_from: date | None = None,
        active_until: date | None = None,
    ) -> None:
        """Set every field at once, refusing (ValidationError naming the field) what cannot be
        a requirement, so that nothing half-valid is stored."""
        body = (professional_body or "").strip()
        if not body:
            raise ValidationError(_("Enter the professional body's name."), "professional_body")
        if len(body) > 200:
            raise ValidationError(_("Keep the name under 200 characters."), "professional_body")
        credits = parse_credits(credits_required, "credits_required")
        start_month = start_month or 1
        period_months = period_months or 12
        if not 1 <= start_month <= 12:
            raise ValidationError(_("Choose a month."), "start_month")
        if not 1 <= period_months <= MAX_ROLLING_MONTHS:
            raise ValidationError(
                _("A rolling period lasts 1 to %(max)s months.", max=MAX_ROLLING_MONTHS),
                "period_months",
            )
        for name, day in (("active_from", active_from), ("active_until", active_until)):
            if day and not date_in_range(day):
                raise ValidationError(OUT_OF_RANGE, name)
        if active_from and active_until and active_until < active_from:
            raise ValidationError(
                _("The end date must not be before the start date."), "active_until"
            )
        self.professional_body = body
        self.credits_required = credits
        self.period_kind = period_kind
        self.start_month = start_month
        self.period_months = period_months
        self.active_from = active_from
        self.active_until = active_until

    # --- Periods

    def anchor(self, today: date) -> date:
        """The day whose period is "current": today, kept within the active dates (a
        requirement that has ended shows its last period, one not started its first)."""
        if self.active_until and today > self.active_until:
            return self.active_until
        if self.active_from and today < self.active_from:
            return self.active_from
        return today

    def period(self, today: date, back: int = 0) -> CPDPeriod:
        """The current period (back=0) or the one `back` periods before it, clipped to the
        active dates."""
        anchor = self.anchor(today)
        # shift_date: far back, or from a date stored at the end of the calendar, a period
        # stops at the calendar's first or last day instead of failing.
        if self.period_kind is CPDPeriodKind.ROLLING:
            # Both ends from the anchor, so that periods meet without gap or overlap even
            # when months are short (31 March back one month is 28 February).
            end = shift_date(anchor, relativedelta(months=-self.period_months * back))
            start = shift_date(
                anchor, relativedelta(months=-self.period_months * (back + 1))
            ) + timedelta(days=1)
        else:
            year = anchor.year if anchor.month >= self.start_month else anchor.year - 1
            first = date(max(year, 1), self.start_month, 1)
            start = shift_date(first, relativedelta(years=-back))
            end = shift_date(start, relativedelta(years=1))
            end = end if end == date.max else end - timedelta(days=1)
        if self.active_from and start < self.active_from:
            start = self.active_from
        if self.active_until and end > self.active_until:
            end = self.active_until
        return CPDPeriod(start, end)

    def periods_back_to(self, earliest: date | None, today: date, limit: int = 20) -> int:
        """How many periods before the current one reach back to `earliest` (or to the
        active start), at most `limit`: the history worth showing."""
        floor = self.active_from or earliest
        if floor is None:
            return 0
        back = 0
        while back < limit and self.period(today, back).start > floor:
            previous = self.period(today, back + 1)
            if previous.end < previous.start:  # clipped away by active_from
                break
            back += 1
        return back

    def describe_period(self) -> str:
        if self.period_kind is CPDPeriodKind.ROLLING:
            return _("over the last %(months)s months", months=self.period_months)
        if self.start_month == 1:
            return _("per calendar year")
        return _("per year from %(month)s", month=month_name(date(2000, self.start_month, 1)))


class CPDActivity(Model):
    """A learning activity done elsewhere, logged by the person (a conference, a course).

    With a requirement it counts toward that one only; without, toward every requirement."""

    __tablename__ = "cpd_activities"
    __table_args__ = (
        sa.CheckConstraint("credits > 0", name="credits_positive"),
        sa.Index("ix_cpd_activities_user_completed", "user_id", "completed_on"),
    )

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    requirement_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("cpd_requirements.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(sa.String(200))
    provider: Mapped[str] = mapped_column(sa.String(200), default="")
    completed_on: Mapped[date] = mapped_column(sa.Date)
    credits: Mapped[Decimal] = mapped_column(sa.Numeric(6, 2))
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    evidence_url: Mapped[str] = mapped_column(sa.String(500), default="")

    user = relationship("User")
    requirement: Mapped[CPDRequirement | None] = relationship(back_populates="activities")

    def __str__(self) -> str:
        return self.title

    def update(
        self,
        *,
        title: str,
        completed_on: date | None,
        credits,
        today: date,
        provider: str = "",
        notes: str = "",
        evidence_url: str = "",
        requirement: CPDRequirement | None = None,
    ) -> None:
        """Set every field at once, refusing what cannot be a completed activity."""
        title = (title or "").strip()
        if not title:
            raise ValidationError(_("Enter what you did."), "title")
        if len(title) > 200:
            raise ValidationError(_("Keep the title under 200 characters."), "title")
        if completed_on is None:
            raise ValidationError(_("Enter the date you completed it."), "completed_on")
        if completed_on > today:
            raise ValidationError(
                _("The date cannot be in the future: log an activity once it is done."),
                "completed_on",
            )
        amount = parse_credits(credits)
        evidence_url = check_web_url(evidence_url, "evidence_url")  # shown as a link
        provider = (provider or "").strip()
        if len(provider) > 200:
            raise ValidationError(_("Keep the provider under 200 characters."), "provider")
        self.title = title
        self.completed_on = completed_on
        self.credits = amount
        self.provider = provider
        self.notes = (notes or "").strip()
        self.evidence_url = evidence_url
        self.requirement = requirement


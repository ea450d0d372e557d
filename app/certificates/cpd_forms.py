"""The CPD tracker's forms. They only parse; the rules (positive credits, valid dates, a
body's name) live in app/certificates/cpd_models.py, whose errors land on these fields."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from app.certificates.cpd_models import MAX_ROLLING_MONTHS, CPDPeriodKind, CPDRequirement
from app.core.fields import BoundedDateField, BoundedIntegerField, bounded_int
from app.core.urls import WebURLField

MONTHS = (
    _l("January"), _l("February"), _l("March"), _l("April"), _l("May"), _l("June"), _l("July"),
    _l("August"), _l("September"), _l("October"), _l("November"), _l("December"),
)


class RequirementForm(FlaskForm):
    professional_body = StringField(
        _l("Professional body"),
        validators=[InputRequired(_l("Enter the professional body's name.")), Length(max=200)],
        description=_l("Who asks for the credits. For example: Royal College of Nursing"),
    )
    credits_required = StringField(
        _l("Credits required per period"),
        validators=[InputRequired(_l("Enter how many credits you need."))],
        render_kw={"inputmode": "decimal"},
    )
    period_kind = SelectField(
        _l("Period"),
        choices=[
            (CPDPeriodKind.YEARLY.value, _l("Every year")),
            (CPDPeriodKind.ROLLING.value, _l("Rolling: the last few months")),
        ],
        default=CPDPeriodKind.YEARLY.value,
    )
    start_month = SelectField(
        _l("The year starts in"),
        choices=[(number, name) for number, name in enumerate(MONTHS, start=1)],
        coerce=bounded_int,
        default=1,
        description=_l("For a yearly period. January: the calendar year."),
    )
    period_months = BoundedIntegerField(
        _l("Months in a rolling period"),
        validators=[Optional()], minimum=1, maximum=MAX_ROLLING_MONTHS,
        default=12,
        description=_l("For a rolling period, e.g. 36 for three years."),
    )
    active_from = BoundedDateField(_l("Counts from"), validators=[Optional()],
                                   description=_l("Optional: when this requirement began."))
    active_until = BoundedDateField(_l("Counts until"), validators=[Optional()],
                                    description=_l("Optional: when it ends."))

    def values(self) -> dict:
        return {
            "professional_body": self.professional_body.data,
            "credits_required": self.credits_required.data,
            "period_kind": CPDPeriodKind(self.period_kind.data),
            "start_month": self.start_month.data,
            "period_months": self.period_months.data,
            "active_from": self.active_from.data,
            "active_until": self.active_until.data,
        }

    def fill_from(self, requirement: CPDRequirement) -> None:
        self.professional_body.data = requirement.professional_body
        self.credits_required.data = _plain(requirement.credits_required)
        self.period_kind.data = requirement.period_kind.value
        self.start_month.data = requirement.start_month
        self.period_months.data = requirement.period_months
        self.active_from.data = requirement.active_from
        self.active_until.data = requirement.active_until


class ActivityForm(FlaskForm):
    title = StringField(
        _l("Activity"),
        validators=[InputRequired(_l("Enter what you did.")), Length(max=200)],
        description=_l("For example: Annual conference of the British Cardiovascular Society"),
    )
    provider = StringField(_l("Provider"), validators=[Optional(), Length(max=200)])
    completed_on = BoundedDateField(
        _l("Completed on"),
        validators=[InputRequired(_l("Enter the date you completed it."))],
    )
    credits = StringField(
        _l("Credits"),
        validators=[InputRequired(_l("Enter the credits it earned."))],
        render_kw={"inputmode": "decimal"},
    )
    requirement = SelectField(
        _l("Counts toward"),
        description=_l("Leave on “All my requirements” unless it counts for one body only."),
    )
    evidence_url = WebURLField(
        _l("Evidence link"),
        description=_l("Optional: a web address where your certificate of attendance is."),
    )
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=5000)],
                          render_kw={"rows": 3})

    def __init__(self, requirements: list[CPDRequirement], *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._requirements = {str(r.uuid): r for r in requirements}
        self.requirement.choices = [("", _l("All my requirements"))] + [
            (key, r.professional_body) for key, r in self._requirements.items()
        ]

    def values(self) -> dict:
        return {
            "title": self.title.data,
            "provider": self.provider.data,
            "completed_on": self.completed_on.data,
            "credits": self.credits.data,
            "requirement": self._requirements.get(self.requirement.data or ""),
            "evidence_url": self.evidence_url.data,
            "notes": self.notes.data,
        }

    def fill_from(self, activity) -> None:
        self.title.data = activity.title
        self.provider.data = activity.provider
        self.completed_on.data = activity.completed_on
        self.credits.data = _plain(activity.credits)
        self.requirement.data = str(activity.requirement.uuid) if activity.requirement else ""
        self.evidence_url.data = activity.evidence_url
        self.notes.data = activity.notes


def _plain(amount) -> str:
    """"2.50" → "2.5", "30.00" → "30": as a person would type it."""
    text = format(amount, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text

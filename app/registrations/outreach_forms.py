"""Forms of the organizer's invitations and reminders pages. The rules live in
InvitationService (app/registrations/invitations.py) and ReminderService (reminders.py)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Optional

from app.core.fields import BoundedIntegerField
from app.registrations.invitations import MAX_PER_PASTE
from app.registrations.reminders import DAY, HOUR, MINUTE

CUSTOM = "custom"
UNITS = (("minutes", MINUTE, _l("minutes")), ("hours", HOUR, _l("hours")),
         ("days", DAY, _l("days")))


class InviteForm(FlaskForm):
    addresses = TextAreaField(
        _l("Email addresses"),
        validators=[DataRequired(_l("Paste at least one email address."))],
        description=_l("One per line, or separated by commas or semicolons; up to %(max)d at "
                       "once. Each person gets an email with a link to the registration form.",
                       max=MAX_PER_PASTE),
        render_kw={"rows": 6, "spellcheck": "false", "autocomplete": "off"},
    )


class ReminderForm(FlaskForm):
    preset = SelectField(
        _l("When"),
        choices=[
            ("", _l("Choose…")),
            (str(7 * DAY), _l("7 days before")),
            (str(3 * DAY), _l("3 days before")),
            (str(1 * DAY), _l("1 day before")),
            (str(3 * HOUR), _l("3 hours before")),
            (str(1 * HOUR), _l("1 hour before")),
            (str(15 * MINUTE), _l("15 minutes before")),
            (CUSTOM, _l("Another time…")),
        ],
        validators=[DataRequired(_l("Choose when the reminder goes out."))],
    )
    amount = BoundedIntegerField(
        _l("How long before"), validators=[Optional()], minimum=1, maximum=100_000,
        render_kw={"min": 1, "inputmode": "numeric"},
    )
    unit = SelectField(_l("Unit"), choices=[(key, label) for key, _, label in UNITS],
                       default="hours")

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if valid and self.preset.data == CUSTOM and not self.amount.data:
            self.amount.errors = [*self.amount.errors, _l("Enter how long before the start.")]
            valid = False
        return valid

    def offset_minutes(self) -> int:
        """The chosen time before the start, in minutes. Call after validate()."""
        if self.preset.data != CUSTOM:
            return int(self.preset.data)
        factor = next(minutes for key, minutes, _ in UNITS if key == self.unit.data)
        return self.amount.data * factor

"""Account forms. Field checks that are business rules live in the services, not here."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.validators import ValidationError as WTFormsValidationError

from app.accounts.passwords import MAX_LENGTH
from app.core.fields import BoundedDateField
from app.core.timezones import TimezoneField


class SignUpForm(FlaskForm):
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(), Length(max=MAX_LENGTH)],
        description=_l("At least 10 characters. A few unusual words make a strong password."),
    )
    timezone = TimezoneField(_l("Timezone"), default="UTC", suggest_browser=True)


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    remember = BooleanField(_l("Keep me logged in on this device"))


class EmailForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(max=MAX_LENGTH)],
        description=_l("At least 10 characters. A few unusual words make a strong password."),
    )


class ProfileForm(FlaskForm):
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    professional_title = StringField(
        _l("Professional title"), validators=[Length(max=200)],
        description=_l("For example: Consultant cardiologist"),
    )
    credentials = StringField(
        _l("Credentials"), validators=[Length(max=200)],
        description=_l("Post-nominal letters, for example: MD, FRCP"),
    )
    bio = TextAreaField(_l("Bio"), validators=[Length(max=5000)])
    timezone = TimezoneField(_l("Timezone"))


class DeleteAccountForm(FlaskForm):
    password = PasswordField(
        _l("Your current password"), validators=[DataRequired(), Length(max=1024)]
    )


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for buttons that POST."""


class CertificationForm(FlaskForm):
    """A certification on the profile; sessions may require one valid on their day."""

    cert_type = StringField(
        _l("Certification"), validators=[DataRequired(), Length(max=100)],
        description=_l("Its usual name, as sessions ask for it. For example: ACLS"),
    )
    issuer = StringField(_l("Issued by"), validators=[Optional(), Length(max=200)])
    issued_on = BoundedDateField(_l("Issued on"), validators=[Optional()])
    expires_on = BoundedDateField(
        _l("Expires on"), validators=[Optional()],
        description=_l("Leave empty if it does not expire."),
    )

    def validate_expires_on(self, field) -> None:
        if field.data and self.issued_on.data and field.data < self.issued_on.data:
            raise WTFormsValidationError(_l("It cannot expire before it was issued."))

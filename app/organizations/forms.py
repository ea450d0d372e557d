"""Organization forms. The rules (roles one may give, slugs taken, logos) live in the
service; these only read what was typed."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, EmailField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from app.organizations.permissions import OrgRole

COLOUR_HINT = _l("A hex colour such as #1a5fb4, used on your event pages and certificates.")
LOGO_HINT = _l("PNG, JPEG, GIF or WebP, at most 2 MB and 4000 × 4000 pixels.")


def role_choices(roles) -> list[SelectChoice]:
    from app.organizations.services import ROLE_LABELS

    return [SelectChoice(role.value, ROLE_LABELS[role]) for role in roles]


def read_upload(field) -> bytes | None:
    """The uploaded file's bytes, or None when no file was chosen."""
    upload = field.data
    if upload is None or not getattr(upload, "filename", ""):
        return None
    return upload.read()


class OrganizationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    slug = StringField(
        _l("Web address"), validators=[Optional(), Length(max=180)],
        description=_l("Lower-case letters, digits and hyphens; leave empty to derive it "
                       "from the name."),
    )
    primary_colour = StringField(_l("Brand colour"), validators=[Optional(), Length(max=7)],
                                 description=COLOUR_HINT)
    logo = FileField(_l("Logo"), description=LOGO_HINT)


class SettingsForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    primary_colour = StringField(_l("Brand colour"), validators=[Optional(), Length(max=7)],
                                 description=COLOUR_HINT)
    logo = FileField(_l("New logo"), description=LOGO_HINT)
    remove_logo = BooleanField(_l("Remove the current logo"))


class InviteForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[DataRequired(), Length(max=254)])
    role = SelectField(_l("Role"), default=OrgRole.MEMBER.value)

    def __init__(self, roles, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = role_choices(roles)


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"))

    def __init__(self, roles, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = role_choices(roles)


class TransferForm(FlaskForm):
    new_owner = SelectField(_l("New owner"), validators=[DataRequired()],
                            description=_l("You will become an admin."))
    confirm_name = StringField(
        _l("Type the organization's name to confirm"), validators=[DataRequired()],
    )

    def __init__(self, members, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.new_owner.choices = [SelectChoice("", _l("— Choose a member —"))] + [
            SelectChoice(str(m.user.uuid), f"{m.user.display_name} ({m.user.email})")
            for m in members
        ]

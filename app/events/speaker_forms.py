"""Forms of the organizer's speakers page. The rules themselves live in SpeakerService."""

from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from app.core.templating import datetime_range
from app.events.models import EventSession, SpeakerRole

ROLE_LABELS = {
    SpeakerRole.SPEAKER: _l("Speaker"),
    SpeakerRole.MODERATOR: _l("Moderator"),
    SpeakerRole.PANELIST: _l("Panelist"),
}


def role_choices() -> list[SelectChoice]:
    return [SelectChoice(role.value, label) for role, label in ROLE_LABELS.items()]


def session_when(session: EventSession, zone: ZoneInfo | None = None) -> str:
    """"Tue 12 May 2026, 09:00–10:00" in `zone` (the event's own timezone by default), in
    the site's one range format."""
    return datetime_range(session.start_at, session.end_at, zone or session.event.tzinfo,
                          plain=True)


def session_label(session: EventSession) -> str:
    """"Keynote · Tue, 12 May 2026, 09:00–10:00", for a select."""
    return f"{session.title} · {session_when(session)}"


class _SessionChoiceMixin:
    """A session select whose choices are the event's sessions that still take speakers."""

    def set_sessions(self, sessions: list[EventSession], blank: str | None) -> None:
        choices = [SelectChoice("", blank)] if blank is not None else []
        choices += [
            SelectChoice(str(s.uuid), session_label(s)) for s in sessions if not s.is_cancelled
        ]
        self.session.choices = choices
        self._sessions = {str(s.uuid): s for s in sessions}

    @property
    def chosen_session(self) -> EventSession | None:
        return self._sessions.get(self.session.data or "")

    @property
    def chosen_role(self) -> SpeakerRole:
        return SpeakerRole(self.role.data)


class AddSpeakerForm(_SessionChoiceMixin, FlaskForm):
    """"Add as speaker" on a search result: to the event, or straight to a session."""

    user = HiddenField(validators=[DataRequired()])
    session = SelectField(_l("Session"), validators=[Optional()], default="")
    role = SelectField(_l("Role"), choices=role_choices(), default=SpeakerRole.SPEAKER.value)

    def __init__(self, sessions: list[EventSession], *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_sessions(sessions, blank=_l("No session yet"))

    @property
    def user_uuid(self) -> uuid.UUID | None:
        try:
            return uuid.UUID(self.user.data or "")
        except ValueError:
            return None


class AssignSpeakerForm(FlaskForm):
    """"Add to this session" on a session card: one of the event's people, and a role."""

    user = SelectField(_l("Person"), validators=[DataRequired()])
    role = SelectField(_l("Role"), choices=role_choices(), default=SpeakerRole.SPEAKER.value)

    def __init__(self, people: list, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user.choices = [SelectChoice(str(u.uuid), u.display_name) for u in people]

    @property
    def chosen_role(self) -> SpeakerRole:
        return SpeakerRole(self.role.data)


class InviteSpeakerForm(_SessionChoiceMixin, FlaskForm):
    email = EmailField(
        _l("Email"), validators=[DataRequired(), Length(max=254)],
        description=_l("People without an account get an email to set a password."),
    )
    full_name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    session = SelectField(_l("Session"), validators=[Optional()], default="")
    role = SelectField(_l("Role"), choices=role_choices(), default=SpeakerRole.SPEAKER.value)

    def __init__(self, sessions: list[EventSession], *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_sessions(sessions, blank=_l("No session yet"))

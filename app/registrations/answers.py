"""Answers to an event's registration questions (EventCustomField): read from a submitted form,
checked on the server (type, required, allowed options, length), and stored as
CustomFieldResponse rows with the registration, in its transaction.

Every problem is collected, so that the form shows them all at once next to their questions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _

from app.core.errors import ValidationError
from app.events.models import CustomFieldType, EventCustomField
from app.extensions import db
from app.registrations.models import CustomFieldResponse, Registration

SHORT_TEXT_MAX = 500
LONG_TEXT_MAX = 5_000
NUMBER_MAX_CHARS = 40
CHECKED = "yes"
UNCHECKED = "no"


def input_name(field: EventCustomField) -> str:
    """The name of the question's control in the registration form."""
    return f"answer-{field.uuid}"


class AnswerErrors(ValidationError):
    """Several answers are wrong; `errors` maps each question's input name to its message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(_("Please correct the highlighted answers."))
        self.errors = errors


@dataclass(frozen=True)
class Answer:
    field: EventCustomField
    values: tuple[str, ...]  # one for most types; one per chosen option for multiple choice


def _values(form: Mapping, name: str) -> list[str]:
    getlist = getattr(form, "getlist", None)
    raw = getlist(name) if getlist is not None else form.get(name, [])
    if isinstance(raw, str):
        raw = [raw]
    return [str(value).strip() for value in raw if value is not None and str(value).strip()]


def _check_text(value: str, limit: int) -> str | None:
    if len(value) > limit:
        return _("Use at most %(count)s characters (this answer has %(length)s).",
                 count=f"{limit:,}", length=f"{len(value):,}")
    if "\x00" in value:
        return _("This answer contains a character that is not allowed.")
    return None


def _check_one(field: EventCustomField, values: list[str]) -> tuple[str | None, tuple[str, ...]]:
    """(error message or None, normalised values) for one question."""
    kind = field.field_type
    if kind == CustomFieldType.CHECKBOX:
        checked = bool(values)
        if field.required and not checked:
            return _("Tick this box to register."), ()
        return None, (CHECKED if checked else UNCHECKED,)
    if not values:
        if field.required:
            if kind.has_options:
                return _("Choose an answer."), ()
            return _("Answer this question."), ()
        return None, ()
    if kind == CustomFieldType.MULTIPLE_CHOICE:
        options = field.options or []
        unique = list(dict.fromkeys(values))
        if any(value not in options for value in unique):
            return _("Choose from the options given."), ()
        return None, tuple(option for option in options if option in unique)  # option order
    if len(values) > 1:
        return _("Give one answer."), ()
    value = values[0]
    if kind == CustomFieldType.SINGLE_CHOICE:
        if value not in (field.options or []):
            return _("Choose one of the options given."), ()
        return None, (value,)
    if kind == CustomFieldType.SHORT_TEXT:
        return _check_text(value, SHORT_TEXT_MAX), (value,)
    if kind == CustomFieldType.LONG_TEXT:
        return _check_text(value, LONG_TEXT_MAX), (value,)
    if kind == CustomFieldType.NUMBER:
        try:
            if len(value) > NUMBER_MAX_CHARS:
                raise InvalidOperation
            number = Decimal(value.replace(",", ""))
            if not number.is_finite() or abs(number.adjusted()) > 20:
                raise InvalidOperation
        except InvalidOperation:
            return _("Enter a number, like 42 or 3.5."), ()
        return None, (format(number.normalize(), "f") if number else "0",)
    if kind == CustomFieldType.DATE:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return _("Enter a date as YYYY-MM-DD."), ()
        return None, (day.isoformat(),)
    return _("This question cannot be answered."), ()  # a type added without a rule here


def check_answers(fields: Iterable[EventCustomField], form: Mapping) -> list[Answer]:
    """The answers to `fields` in `form` (input names from input_name()), normalised; raises
    AnswerErrors naming every wrong answer. Nothing is written."""
    answers, errors = [], {}
    for field in fields:
        name = input_name(field)
        error, values = _check_one(field, _values(form, name))
        if error:
            errors[name] = error
        elif values:
            answers.append(Answer(field, values))
    if errors:
        raise AnswerErrors(errors)
    return answers


def store_answers(registration: Registration, answers: Iterable[Answer]) -> None:
    """One CustomFieldResponse row per answer (per chosen option for multiple choice), added
    to the session: they are written with the registration, in its transaction."""
    db.session.add_all(
        CustomFieldResponse(registration=registration, field_id=answer.field.id, value=value)
        for answer in answers
        for value in answer.values
    )


def answers_by_field(registration: Registration) -> list[tuple[EventCustomField, list[str]]]:
    """The registration's answers grouped by question, in the form's order."""
    grouped: dict[int, list[str]] = {}
    for response in registration.answers:
        grouped.setdefault(response.field_id, []).append(response.value)
    return [
        (field, grouped[field.id])
        for field in registration.event.custom_fields
        if field.id in grouped
    ]

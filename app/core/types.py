"""Column types that enforce our storage decisions in one place.

- UTCDateTime: every datetime is timezone-aware UTC in Python, whatever the database returns.
- Email: stripped, lower-cased and syntax-validated when assigned (see install_validators).
- ValidatedJSON: a JSON document checked against a jsonschema when assigned and when stored.
- enum_column: an Enum stored as its string value with a CHECK constraint.
"""

from __future__ import annotations

import enum
import json
import re
from datetime import UTC, datetime

import jsonschema
import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import event
from sqlalchemy.orm import Mapper
from sqlalchemy.types import TypeDecorator

UTC = UTC


def utcnow() -> datetime:
    """The current time, aware, in UTC: the only clock models use."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as UTC; refuses naive ones so that no local time slips in."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware datetime (UTC)")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class InvalidEmail(ValueError):
    """An address that is not a syntactically valid email; the message is user-facing."""


class SystemEmail(str):
    """An address to store as is, not validated again: one the system writes itself (an
    anonymised one), or one already canonicalised (every assignment to an Email column
    leaves one, so the flush does not validate it a second time)."""


def canonical_email(raw: str) -> str:
    """Strip, lower-case and validate an email address typed by a person.

    Syntax only: there is no DNS here or in CI (DESIGN.md, "Decisions").
    """
    value = (raw or "").strip().lower()
    if not value:
        raise InvalidEmail("Enter an email address.")
    if len(value) > 254:
        raise InvalidEmail("That email address is too long.")
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(f"That is not a valid email address: {exc}") from exc
    return result.normalized.lower()


class Email(TypeDecorator):
    """An email column. Assignments are canonicalised; lookups are lower-cased and stripped."""

    impl = sa.String(254)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        """Values are compared in the form they are stored in: a lookup by an address as
        typed finds its account. Values that are not addresses are only stripped and
        lower-cased (they match nothing, or a system address)."""
        if value is None or isinstance(value, SystemEmail):
            return value
        try:
            return canonical_email(value)
        except InvalidEmail:
            return value.strip().lower()


class ValidatedJSON(TypeDecorator):
    """A JSON column whose documents must match `schema` (a jsonschema dict)."""

    impl = sa.JSON
    cache_ok = True  # the cache key is the schema's canonical JSON (see _static_cache_key)

    def __init__(self, schema: dict, *args, **kwargs):
        super().__init__(*args, **kwargs)
        jsonschema.Draft202012Validator.check_schema(schema)
        self.schema = schema
        self._validator = jsonschema.Draft202012Validator(schema)
        self._schema_key = json.dumps(schema, sort_keys=True)

    @property
    def _static_cache_key(self):
        # A dict cannot be part of SQLAlchemy's statement cache key; its JSON text can. Without
        # this, every statement that touches such a column is compiled again on each run.
        return (type(self), self._schema_key)

    def validate(self, value) -> None:
        """Raise jsonschema.ValidationError with a readable message when `value` does not fit."""
        if value is None:
            return
        self._validator.validate(value)

    def process_bind_param(self, value, dialect):
        self.validate(value)
        return value


def enum_column(enum_class: type[enum.Enum], name: str | None = None) -> sa.Enum:
    """The column type for an Enum: strings with a CHECK constraint, never a native enum.

    The constraint is named after the enum; give `name` when a table has two columns of the
    same enum (PostgreSQL wants constraint names unique in a table).
    """
    return sa.Enum(
        enum_class,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_class),
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
        name=name or _snake(enum_class.__name__),
    )


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def install_validators(base: type) -> None:
    """Validate Email and ValidatedJSON columns at assignment, so errors surface where made."""

    @event.listens_for(base, "mapper_configured", propagate=True)
    def _attach(mapper: Mapper, class_) -> None:
        for prop in mapper.column_attrs:
            for column in prop.columns:
                if isinstance(column.type, Email):
                    event.listen(prop.class_attribute, "set", _set_email, retval=True)
                elif isinstance(column.type, ValidatedJSON):
                    event.listen(
                        prop.class_attribute, "set", _json_setter(column.type), retval=True
                    )


def _set_email(target, value, oldvalue, initiator):
    if value is None or isinstance(value, SystemEmail):
        return value
    return SystemEmail(canonical_email(value))


def _json_setter(column_type: ValidatedJSON):
    def _set(target, value, oldvalue, initiator):
        column_type.validate(value)
        return value

    return _set

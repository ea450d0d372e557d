"""The model base and the mixins every area builds on (seed 003 "Design Principles",
seed 002 "Base Classes", seed 000 TimeRangeMixin)."""

from __future__ import annotations

import uuid as uuid_module
from datetime import datetime

import sqlalchemy as sa
from slugify import slugify
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import (
    DeclarativeBase,
    LoaderCriteriaOption,
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    object_session,
    with_loader_criteria,
)

from app.core.types import UTCDateTime, install_validators, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Model(DeclarativeBase):
    """Every table: an integer `id` for joins, a unique `uuid` for URLs, and timestamps."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid_module.UUID] = mapped_column(
        sa.Uuid, unique=True, index=True, default=uuid_module.uuid4
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id}>"


install_validators(Model)


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection, connection_record) -> None:
    """Per SQLite connection: enforce foreign keys (and so CASCADE and RESTRICT), which SQLite
    ignores unless asked; and use the write-ahead log, so that readers never wait for a writer
    and a commit appends to the log instead of syncing the whole journal (NORMAL is durable
    across application crashes; the last commits may be lost only on power loss)."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


class SoftDeleteMixin:
    """Rows are marked deleted instead of removed; default queries skip them.

    Pass `execution_options(include_deleted=True)` to see them. Relationship loads from a
    live row still reach a deleted one (a certificate still shows its deleted event).
    `session.get()` returns an object the session already holds without asking the
    database, deleted or not; a fresh session (every request has one) asks it.
    """

    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def soft_delete(self) -> None:
        self.deleted_at = utcnow()


def _live_rows(cls):
    return cls.deleted_at.is_(None)


@event.listens_for(Session, "do_orm_execute")
def _skip_soft_deleted(state: ORMExecuteState) -> None:
    """Add "not deleted" to the SELECTs a query runs, and never to a relationship load.

    The criteria do not propagate to loaders (lazy and joined loads of a row reached from a
    live one find it even when deleted); a selectin load copies its parent statement's
    options, so the copy is removed here. A collection that must hide deleted children
    filters them in its own query or relationship condition.
    """
    if not state.is_select or state.is_column_load:
        return
    if state.is_relationship_load:
        _drop_soft_delete_criteria(state)
        return
    if state.execution_options.get("include_deleted", False):
        return
    state.statement = state.statement.options(
        with_loader_criteria(
            SoftDeleteMixin, _live_rows, include_aliases=True, propagate_to_loaders=False
        )
    )


def _is_soft_delete_criteria(option) -> bool:
    return isinstance(option, LoaderCriteriaOption) and option.root_entity is SoftDeleteMixin


def _drop_soft_delete_criteria(state: ORMExecuteState) -> None:
    statement = state.statement
    options = statement._with_options
    if any(_is_soft_delete_criteria(option) for option in options):
        statement = statement._generate()
        statement._with_options = tuple(o for o in options if not _is_soft_delete_criteria(o))
        state.statement = statement


class SlugMixin:
    """A unique URL-friendly identifier (seed 002), derived from `__slug_source__` when the
    row is inserted without one."""

    __slug_source__ = "name"

    slug: Mapped[str] = mapped_column(sa.String(200), unique=True, index=True)

    @staticmethod
    def slugify(text: str) -> str:
        return slugify(text, max_length=180) or "item"


class NameSlugMixin(SlugMixin):
    """A name whose slug is derived from it when none is given (seed 002)."""

    name: Mapped[str] = mapped_column(sa.String(200))


@event.listens_for(SlugMixin, "before_insert", propagate=True)
def _default_slug(mapper, connection, target: SlugMixin) -> None:
    """Derive a slug from the source field, unique in its table: "annual-meeting", "-2"…"""
    if target.slug:
        return
    base = target.slugify(getattr(target, target.__slug_source__))
    column = mapper.columns["slug"]
    # Soft-deleted rows keep their slugs, so this reads the table directly, not through the ORM.
    taken = set(
        connection.scalars(
            sa.select(column).where(sa.or_(column == base, column.like(f"{base}-%")))
        )
    )
    # Rows of the same flush are inserted after every before_insert has run.
    session = object_session(target)
    if session is not None:
        taken.update(
            other.slug
            for other in session.new
            if other is not target and sa.inspect(other).mapper.columns.get("slug") is column
        )
    slug, number = base, 2
    while slug in taken:
        slug, number = f"{base}-{number}", number + 1
    target.slug = slug


class ContentManageableMixin:
    """Who created a row and who last changed it (seed 002)."""

    @declared_attr
    def creator_id(cls) -> Mapped[int | None]:
        return mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    @declared_attr
    def last_modified_by_id(cls) -> Mapped[int | None]:
        return mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))


class TimeRangeMixin:
    """Shared behaviour of anything with a start and an end (seed 000)."""

    start_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def overlaps_with(self, start_at: datetime, end_at: datetime) -> bool:
        """Half-open ranges: one ending when another starts does not overlap it."""
        return self.start_at < end_at and self.end_at > start_at

    def contains_time(self, moment: datetime) -> bool:
        return self.start_at <= moment <= self.end_at

    @property
    def duration_minutes(self) -> float:
        return (self.end_at - self.start_at).total_seconds() / 60

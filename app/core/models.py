"""The model base and the mixins every area builds on (seed 003 "Design Principles",
seed 002 "Base Classes", seed 000 TimeRangeMixin)."""

from __future__ import annotations

import uuid as uuid_module
from datetime import datetime

import sqlalchemy as sa
from slugify import slugify
from sqlalchemy import event
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
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


class SoftDeleteMixin:
    """Rows are marked deleted instead of removed; default queries skip them.

    Pass `execution_options(include_deleted=True)` to see them. Relationship loads from a
    live row still reach a deleted one (a certificate still shows its deleted event).
    """

    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def soft_delete(self) -> None:
        self.deleted_at = utcnow()


@event.listens_for(Session, "do_orm_execute")
def _skip_soft_deleted(state: ORMExecuteState) -> None:
    if (
        state.is_select
        and not state.is_column_load
        and not state.is_relationship_load
        and not state.execution_options.get("include_deleted", False)
    ):
        state.statement = state.statement.options(
            with_loader_criteria(
                SoftDeleteMixin,
                lambda cls: cls.deleted_at.is_(None),
                include_aliases=True,
            )
        )


class SlugMixin:
    """A unique URL-friendly identifier (seed 002)."""

    slug: Mapped[str] = mapped_column(sa.String(200), unique=True, index=True)

    @staticmethod
    def slugify(text: str) -> str:
        return slugify(text, max_length=180) or "item"


class NameSlugMixin(SlugMixin):
    """A name whose slug is derived from it when none is given (seed 002)."""

    name: Mapped[str] = mapped_column(sa.String(200))


@event.listens_for(NameSlugMixin, "before_insert", propagate=True)
def _default_slug(mapper, connection, target: NameSlugMixin) -> None:
    if not target.slug:
        target.slug = target.slugify(target.name)


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

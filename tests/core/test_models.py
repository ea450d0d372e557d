"""The model base and its mixins: identity and timestamps, soft delete, slugs, time ranges."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, joinedload, mapped_column, selectinload

from app.accounts.models import User, UserSession
from app.core.models import NameSlugMixin, TimeRangeMixin
from app.core.types import utcnow
from app.extensions import db
from tests.factories import UserFactory

# --- Identity and timestamps


def test_insert_sets_a_uuid_and_both_timestamps(ctx):
    before = utcnow()
    user = UserFactory()
    db.session.commit()

    assert isinstance(user.uuid, uuid.UUID)
    assert before <= user.created_at <= utcnow()
    assert before <= user.updated_at <= utcnow()


def test_every_row_gets_its_own_uuid(ctx):
    first, second = UserFactory(), UserFactory()

    assert first.uuid != second.uuid


def test_update_moves_updated_at_and_keeps_created_at(ctx):
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    user = UserFactory(created_at=long_ago, updated_at=long_ago)
    db.session.commit()

    user.full_name = "Someone Else"
    db.session.commit()

    assert user.created_at == long_ago
    assert user.updated_at > long_ago
    assert utcnow() - user.updated_at < timedelta(minutes=1)


def test_a_row_is_found_by_its_uuid(ctx):
    user = UserFactory()
    db.session.commit()

    found = db.session.scalar(sa.select(User).where(User.uuid == user.uuid))

    assert found is user


# --- Soft delete


@pytest.fixture
def deleted_user(ctx):
    """A soft-deleted user with a login session, committed and forgotten by the session."""
    user = UserFactory(email="gone@example.com")
    UserSession.start(user, user_agent="", ip_address="")
    user.soft_delete()
    db.session.commit()
    ids = user.id
    db.session.expunge_all()
    return ids


def test_soft_delete_marks_the_row_and_keeps_it(ctx):
    user = UserFactory()
    assert not user.is_deleted

    user.soft_delete()
    db.session.commit()

    assert user.is_deleted
    count = db.session.scalar(sa.text("SELECT count(*) FROM users WHERE id = :id"), {"id": user.id})
    assert count == 1


def test_default_queries_skip_a_soft_deleted_row(deleted_user):
    live = UserFactory()
    db.session.commit()

    assert db.session.scalars(sa.select(User)).all() == [live]
    assert db.session.scalars(sa.select(User.id)).all() == [live.id]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1
    assert db.session.scalar(sa.select(User).where(User.email == "gone@example.com")) is None


def test_get_by_primary_key_skips_a_soft_deleted_row(deleted_user):
    assert db.session.get(User, deleted_user) is None


def test_aliased_queries_skip_a_soft_deleted_row(deleted_user):
    other = sa.orm.aliased(User)

    assert db.session.scalars(sa.select(other)).all() == []


def test_include_deleted_shows_a_soft_deleted_row(deleted_user):
    query = sa.select(User).execution_options(include_deleted=True)
    found = db.session.scalars(query).one()

    assert found.id == deleted_user and found.is_deleted
    db.session.expunge_all()
    options = {"include_deleted": True}
    assert db.session.get(User, deleted_user, execution_options=options) is not None


def test_include_deleted_applies_to_one_statement_only(deleted_user):
    db.session.scalars(sa.select(User).execution_options(include_deleted=True)).all()
    db.session.expunge_all()

    assert db.session.scalars(sa.select(User)).all() == []


@pytest.mark.parametrize(
    "load",
    [
        pytest.param(lambda: sa.select(UserSession), id="lazy-after-select"),
        pytest.param(
            lambda: sa.select(UserSession).options(joinedload(UserSession.user)), id="joined"
        ),
        pytest.param(
            lambda: sa.select(UserSession).options(selectinload(UserSession.user)), id="selectin"
        ),
    ],
)
def test_a_relationship_from_a_live_row_reaches_a_soft_deleted_row(deleted_user, load):
    login = db.session.scalars(load()).one()

    assert login.user is not None
    assert login.user.id == deleted_user and login.user.is_deleted


def test_a_relationship_reaches_a_soft_deleted_row_after_a_reload(deleted_user):
    login = db.session.scalars(sa.select(UserSession)).one()
    db.session.expire(login)
    db.session.refresh(login)

    assert login.user.id == deleted_user

    db.session.expunge_all()
    login = db.session.get(UserSession, login.id)
    assert login.user.email == "gone@example.com"


def test_a_collection_from_a_soft_deleted_row_loaded_with_include_deleted(deleted_user):
    user = db.session.scalars(
        sa.select(User).execution_options(include_deleted=True)
    ).one()

    assert [s.user_id for s in user.sessions] == [deleted_user]


# --- TimeRangeMixin


class Slot(TimeRangeMixin):
    """A plain object with the mixin's behaviour (the columns need a table; the methods do not)."""

    def __init__(self, start_at: datetime, end_at: datetime):
        self.start_at = start_at
        self.end_at = end_at


NINE = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return NINE + timedelta(hours=hours)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (at(-1), at(0), False),  # ends when the slot starts
        (at(2), at(3), False),  # starts when the slot ends
        (at(-1), at(0.5), True),  # overlaps the start
        (at(1.5), at(3), True),  # overlaps the end
        (at(0.5), at(1), True),  # inside
        (at(-1), at(3), True),  # around
        (at(0), at(2), True),  # the same range
        (at(3), at(4), False),  # after
    ],
)
def test_overlaps_with_uses_half_open_ranges(start, end, expected):
    slot = Slot(at(0), at(2))

    assert slot.overlaps_with(start, end) is expected


def test_overlaps_with_compares_instants_across_timezones():
    from zoneinfo import ZoneInfo

    slot = Slot(at(0), at(2))  # 09:00-11:00 UTC
    berlin = ZoneInfo("Europe/Berlin")  # UTC+2 in May

    assert slot.overlaps_with(datetime(2026, 5, 4, 12, 30, tzinfo=berlin), at(5))
    assert not slot.overlaps_with(datetime(2026, 5, 4, 13, 0, tzinfo=berlin), at(5))


@pytest.mark.parametrize(
    ("moment", "expected"),
    [(at(0), True), (at(1), True), (at(2), True), (at(-0.01), False), (at(2.01), False)],
)
def test_contains_time_includes_both_ends(moment, expected):
    assert Slot(at(0), at(2)).contains_time(moment) is expected


def test_duration_minutes():
    assert Slot(at(0), at(1.5)).duration_minutes == 90
    assert Slot(at(0), at(0) + timedelta(seconds=90)).duration_minutes == 1.5
    assert Slot(at(0), at(0)).duration_minutes == 0


# --- NameSlugMixin (a test-only model on its own metadata, so that the app's schema and
# migrations do not see it)


class _TestBase(DeclarativeBase):
    pass


class Gadget(NameSlugMixin, _TestBase):
    __tablename__ = "gadgets"

    id: Mapped[int] = mapped_column(primary_key=True)


@pytest.fixture
def gadgets():
    engine = sa.create_engine("sqlite://")
    _TestBase.metadata.create_all(engine)
    with Session(engine) as session:
        yield session
    engine.dispose()


def test_a_slug_is_derived_from_the_name(gadgets):
    gadget = Gadget(name="  Café & Co: Annual Meeting 2026! ")
    gadgets.add(gadget)
    gadgets.flush()

    assert gadget.slug == "cafe-co-annual-meeting-2026"


def test_a_given_slug_is_kept(gadgets):
    gadget = Gadget(name="Annual Meeting", slug="agm")
    gadgets.add(gadget)
    gadgets.flush()

    assert gadget.slug == "agm"


def test_a_name_without_letters_still_gets_a_slug(gadgets):
    gadget = Gadget(name="!!!")
    gadgets.add(gadget)
    gadgets.flush()

    assert gadget.slug == "item"


def test_a_long_name_gives_a_slug_that_fits_the_column(gadgets):
    gadget = Gadget(name="word " * 100)
    gadgets.add(gadget)
    gadgets.flush()

    assert len(gadget.slug) <= 180


def test_the_same_name_twice_gets_distinct_slugs(gadgets):
    first = Gadget(name="Annual Meeting")
    gadgets.add(first)
    gadgets.commit()
    second, third = Gadget(name="Annual meeting"), Gadget(name="ANNUAL MEETING")
    gadgets.add_all([second, third])  # two in one flush
    gadgets.commit()
    fourth = Gadget(name="Annual Meeting")
    gadgets.add(fourth)
    gadgets.commit()

    slugs = [g.slug for g in (first, second, third, fourth)]
    assert slugs == ["annual-meeting", "annual-meeting-2", "annual-meeting-3", "annual-meeting-4"]


def test_a_similar_slug_does_not_block_the_plain_one(gadgets):
    gadgets.add(Gadget(name="Annual Meeting Extra"))
    gadgets.commit()
    gadget = Gadget(name="Annual Meeting")
    gadgets.add(gadget)
    gadgets.commit()

    assert gadget.slug == "annual-meeting"

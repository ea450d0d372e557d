"""The column types that enforce the storage decisions: UTC times, canonical emails, enums
checked by the database, JSON checked against its schema."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import jsonschema
import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.core import types
from app.core.types import InvalidEmail, SystemEmail, canonical_email
from app.extensions import db
from app.mailing.models import EmailTemplate
from app.states import UserStatus
from tests.factories import UserFactory

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def reload(model, id_):
    """The row as the database has it, not the object held in the session."""
    db.session.commit()
    db.session.expunge_all()
    return db.session.get(model, id_)


# --- UTCDateTime


def test_aware_time_in_another_zone_comes_back_as_the_same_instant_in_utc(ctx):
    stored = datetime(2026, 3, 29, 10, 30, 15, 123456, tzinfo=BERLIN)  # the day DST starts
    user = UserFactory(last_login_at=stored)

    loaded = reload(User, user.id).last_login_at

    assert loaded == stored
    assert loaded.tzinfo is UTC
    assert loaded.utcoffset() == timedelta(0)
    assert (loaded.hour, loaded.minute, loaded.microsecond) == (8, 30, 123456)


def test_default_timestamps_are_aware_utc_after_a_round_trip(ctx):
    user = UserFactory()

    loaded = reload(User, user.id)

    assert loaded.created_at.tzinfo is UTC
    assert abs(datetime.now(UTC) - loaded.created_at) < timedelta(minutes=1)


def test_times_written_in_different_zones_compare_as_instants(ctx):
    early = UserFactory(last_login_at=datetime(2026, 1, 1, 12, 0, tzinfo=BERLIN))  # 11:00 UTC
    late = UserFactory(last_login_at=datetime(2026, 1, 1, 7, 0, tzinfo=NEW_YORK))  # 12:00 UTC
    db.session.commit()
    cutoff = datetime(2026, 1, 1, 11, 30, tzinfo=UTC)

    after = db.session.scalars(sa.select(User.id).where(User.last_login_at > cutoff)).all()
    ordered = db.session.scalars(
        sa.select(User.id).where(User.id.in_([early.id, late.id])).order_by(User.last_login_at)
    ).all()

    assert after == [late.id]
    assert ordered == [early.id, late.id]


def test_a_naive_datetime_is_refused_when_stored(ctx):
    user = UserFactory()
    user.last_login_at = datetime(2026, 1, 1, 12, 0)

    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        db.session.flush()


def test_a_naive_datetime_is_refused_in_a_query(ctx):
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        db.session.scalars(sa.select(User).where(User.created_at < datetime(2026, 1, 1)))


def test_null_datetimes_stay_null(ctx):
    user = UserFactory(last_login_at=None)

    assert reload(User, user.id).last_login_at is None


# --- Email


def test_an_assigned_email_is_stripped_and_lower_cased(ctx):
    user = User(email="  Ada.Lovelace@Example.COM \n")

    assert user.email == "ada.lovelace@example.com"


def test_an_invalid_email_is_refused_at_assignment_with_a_readable_message(ctx):
    with pytest.raises(InvalidEmail, match="not a valid email address"):
        User(email="ada at example.com")


@pytest.mark.parametrize("raw", ["", "   ", None])
def test_an_empty_email_is_refused_by_the_validator(raw):
    with pytest.raises(InvalidEmail, match="Enter an email address"):
        canonical_email(raw)


def test_an_overlong_email_is_refused():
    with pytest.raises(InvalidEmail, match="too long"):
        canonical_email("a" * 64 + "@" + "b" * 190 + ".com")


def test_a_system_address_is_stored_without_validation(ctx):
    # ".local" is a special-use domain that the input validator refuses.
    address = "deleted-0b7c6c8e-6a2d-4c8e-9f1a-3d2b1e0f9a8b@anonymized.local"
    with pytest.raises(InvalidEmail):
        canonical_email(address)
    user = UserFactory()
    user.email = SystemEmail(address)

    assert reload(User, user.id).email == address


def test_a_lookup_by_an_address_as_typed_finds_the_canonical_row(ctx):
    user = UserFactory(email="mixed@example.com")
    db.session.commit()

    found = db.session.scalar(sa.select(User).where(User.email == " MiXed@Example.com "))

    assert found is not None and found.id == user.id


def test_a_lookup_uses_the_same_canonical_form_as_storage(ctx):
    # Full-width letters in the domain are mapped to ASCII by IDNA normalisation.
    user = UserFactory(email="user@example.ｃｏｍ")
    db.session.commit()

    assert user.email == "user@example.com"
    found = db.session.scalar(sa.select(User).where(User.email == "USER@example.ｃｏｍ"))
    assert found is not None and found.id == user.id


def test_one_account_per_canonical_email(ctx):
    UserFactory(email="same@example.com")
    db.session.commit()

    with pytest.raises(sa.exc.IntegrityError):
        UserFactory(email="  SAME@example.com")
    db.session.rollback()


# --- enum_column


def test_an_enum_round_trips_as_its_member(ctx):
    user_id = UserFactory(status=UserStatus.DEACTIVATED).id

    assert reload(User, user_id).status is UserStatus.DEACTIVATED
    raw = db.session.scalar(sa.text("SELECT status FROM users WHERE id = :id"), {"id": user_id})
    assert raw == "deactivated"


def test_the_database_refuses_a_status_outside_the_enum(ctx):
    user = UserFactory()
    db.session.commit()

    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(
            sa.text("UPDATE users SET status = 'bogus' WHERE id = :id"), {"id": user.id}
        )
        db.session.flush()
    db.session.rollback()

    assert db.session.get(User, user.id).status is UserStatus.ACTIVE


def test_the_database_refuses_an_insert_with_a_status_outside_the_enum(ctx):
    statement = sa.text(
        "INSERT INTO users (email, full_name, professional_title, credentials, bio, timezone,"
        " status, is_admin, security_stamp, uuid, created_at, updated_at) VALUES"
        " ('raw@example.com', '', '', '', '', 'UTC', :status, :no, 'x', :uuid, :now, :now)"
    )
    now = datetime(2026, 1, 1, tzinfo=UTC)
    params = {"no": False, "now": now, "uuid": "0b7c6c8e6a2d4c8e9f1a3d2b1e0f9a8b"}

    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(statement, {**params, "status": "superuser"})
    db.session.rollback()

    # The same statement with a valid status is accepted: the refusal is the CHECK constraint.
    db.session.execute(statement, {**params, "status": "active"})
    assert db.session.scalar(sa.select(User.status).where(User.email == "raw@example.com")) is (
        UserStatus.ACTIVE
    )


def test_the_orm_refuses_a_string_outside_the_enum(ctx):
    with pytest.raises(sa.exc.StatementError):
        db.session.scalars(sa.select(User).where(User.status == "bogus")).all()


# --- ValidatedJSON


def make_template(**fields) -> EmailTemplate:
    values = {
        "internal_name": "welcome",
        "display_name": "Welcome",
        "subject": "Hello {{ name }}",
        "content_text": "Hello {{ name }}",
        **fields,
    }
    return EmailTemplate(**values)


def test_a_document_that_fits_its_schema_is_stored(ctx):
    template = make_template(variables=["name", "event_title"])
    db.session.add(template)
    db.session.flush()

    assert reload(EmailTemplate, template.id).variables == ["name", "event_title"]


@pytest.mark.parametrize(
    "document",
    [["Not An Identifier"], ["name", "name"], "name", [1], {"name": True}],
    ids=["pattern", "duplicates", "not-a-list", "not-strings", "object"],
)
def test_a_document_that_breaks_its_schema_is_refused_at_assignment(ctx, document):
    template = make_template(variables=["name"])

    with pytest.raises(jsonschema.ValidationError):
        template.variables = document
    assert template.variables == ["name"]


def test_a_document_that_breaks_its_schema_is_refused_in_the_constructor(ctx):
    with pytest.raises(jsonschema.ValidationError, match="does not match"):
        make_template(variables=["Bad-Name"])


def test_a_document_that_bypasses_the_setter_is_refused_when_stored(ctx):
    # A Core INSERT never goes through the attribute; the column type still checks it.
    values = {
        "internal_name": "core",
        "display_name": "Core",
        "description": "",
        "template_type": "system",
        "subject": "s",
        "content_text": "t",
        "variables": ["Nope!"],
        "is_active": True,
    }

    with pytest.raises(sa.exc.StatementError) as excinfo:
        db.session.execute(sa.insert(EmailTemplate).values(**values))
    assert isinstance(excinfo.value.orig, jsonschema.ValidationError)


def test_statements_over_schema_validated_json_are_cacheable():
    """A ValidatedJSON column once made every statement that read it uncacheable (compiled
    again on every request): its type now has a cache key built from the schema's JSON."""
    from app.events.models import RecurringRule
    from app.mailing.models import EmailTemplate

    for column in (RecurringRule.weekdays, EmailTemplate.variables):
        assert sa.select(column)._generate_cache_key() is not None
    assert (
        sa.select(RecurringRule.weekdays)._generate_cache_key()
        != sa.select(EmailTemplate.variables)._generate_cache_key()
    )


def test_the_database_enforces_foreign_keys(app, backend):
    """SQLite ignores foreign keys unless each connection asks; the app asks."""
    from app.events.models import Event
    from tests.factories import EventFactory

    with app.test_request_context():
        event = EventFactory()
        db.session.commit()
        with pytest.raises(sa.exc.IntegrityError):
            db.session.execute(
                sa.update(Event).where(Event.id == event.id).values(created_by_id=999_999)
            )
            db.session.flush()
        db.session.rollback()


def test_sqlite_files_use_the_write_ahead_log(tmp_path):
    """Readers never wait for a writer, and a commit appends to the log (the registration and
    webhook benches doubled their rate with it on SQLite)."""
    from app import create_app
    from tests.conftest import base_config

    app = create_app(base_config(f"sqlite:///{tmp_path / 'wal.db'}", tmp_path))
    with app.app_context():
        assert db.session.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(sa.text("PRAGMA synchronous")).scalar() == 1  # NORMAL
        db.session.remove()
        db.engine.dispose()


def test_an_assigned_address_is_validated_once_not_again_at_the_flush(ctx, monkeypatch):
    user = UserFactory()
    db.session.flush()
    calls = []
    real = types.canonical_email
    monkeypatch.setattr(types, "canonical_email", lambda raw: calls.append(raw) or real(raw))

    user.email = " New.Address@Example.com "
    db.session.flush()

    assert calls == [" New.Address@Example.com "]
    assert reload(User, user.id).email == "new.address@example.com"

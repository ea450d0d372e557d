"""The migrations build exactly the schema the models describe, and can be undone."""

from __future__ import annotations

import ast
import logging
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade

from app import create_app
from app.extensions import db
from tests.conftest import base_config

# Column types for rows written with plain SQL at an old revision (the rest are strings).
_COLUMN_TYPES = {
    "id": sa.Integer(), "uuid": sa.Uuid(), "created_at": sa.DateTime(timezone=True),
    "updated_at": sa.DateTime(timezone=True), "sent_at": sa.DateTime(timezone=True),
    "expires_at": sa.DateTime(timezone=True), "start_at": sa.DateTime(timezone=True),
    "end_at": sa.DateTime(timezone=True), "is_admin": sa.Boolean(),
    "waitlist_enabled": sa.Boolean(), "allow_parallel_sessions": sa.Boolean(),
    "cpd_credits": sa.Numeric(), "organization_id": sa.Integer(), "event_id": sa.Integer(),
    "created_by_id": sa.Integer(),
}
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
REVISIONS = sorted((MIGRATIONS / "versions").glob("*.py"))


def schema_differences(connection) -> list:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, db.metadata)


def head_revisions() -> set[str]:
    from alembic.config import Config

    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    return set(ScriptDirectory.from_config(config).get_heads())


def test_the_test_database_is_at_the_head_revision(app):
    with app.app_context(), db.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()

    assert set(current) == head_revisions()


def test_the_models_and_the_migrations_agree(app):
    with app.app_context(), db.engine.connect() as connection:
        differences = schema_differences(connection)

    assert differences == []


def test_the_comparison_sees_a_column_type_that_differs(app):
    """The check above can fail: a model whose column type drifted is reported."""
    users = db.metadata.tables["users"]
    drifted = sa.MetaData()
    copy = users.to_metadata(drifted)
    copy.c.email.type = sa.String(100)

    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, drifted)

    changed = [d for d in differences if isinstance(d, list) and d[0][0] == "modify_type"]
    assert [(d[0][2], d[0][3]) for d in changed] == [("users", "email")]


@pytest.fixture
def scratch_database_url(database_url, tmp_path):
    """An empty database of the same backend, dropped afterwards."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'scratch.db'}"
        return
    admin = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
    name = f"convene_scratch_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_downgrade_to_base_then_upgrade_again(scratch_database_url, tmp_path):
    scratch = create_app(base_config(scratch_database_url, tmp_path))
    with scratch.app_context():
        try:
            upgrade()
            assert "users" in sa.inspect(db.engine).get_table_names()

            downgrade(revision="base")
            left = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
            assert left == set()

            upgrade()
            with db.engine.connect() as connection:
                assert schema_differences(connection) == []
                heads = MigrationContext.configure(connection).get_current_heads()
            assert set(heads) == head_revisions()
        finally:
            db.engine.dispose()


def test_running_a_migration_keeps_the_app_loggers(scratch_database_url, tmp_path):
    """env.py must not replace the logging of a process that runs migrations in-process."""
    logger = logging.getLogger("app.core.test_migrations_probe")
    scratch = create_app(base_config(scratch_database_url, tmp_path))
    with scratch.app_context():
        try:
            upgrade()
        finally:
            db.engine.dispose()

    assert not logger.disabled


@pytest.mark.parametrize("revision", REVISIONS, ids=lambda path: path.stem)
def test_a_revision_never_imports_application_code(revision):
    tree = ast.parse(revision.read_text(), filename=str(revision))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")

    assert "alembic" in imported
    assert not {name for name in imported if name == "app" or name.startswith("app.")}


def test_there_is_one_head():
    assert len(head_revisions()) == 1


def test_tokens_stored_in_plaintext_become_hashes_and_their_links_keep_working(
        scratch_database_url, tmp_path):
    """0017 hashes the invitation and feed tokens already stored: a link emailed (or a feed
    subscribed) before the upgrade still opens, and no token is left in the database."""
    from app.core.bearer import hash_token

    scratch = create_app(base_config(scratch_database_url, tmp_path))
    now = datetime.now(UTC)
    tokens = {"org": "org-" + "a" * 39, "event": "event-" + "b" * 26, "feed": "f" * 43}

    def row(table, **values):
        values = {"uuid": uuid.uuid4(), "created_at": now, "updated_at": now, **values}
        columns = [sa.column(name, _COLUMN_TYPES.get(name, sa.String())) for name in values]
        return sa.table(table, *columns).insert().values(**values)

    with scratch.app_context():
        try:
            upgrade(revision="0016_organizations")
            with db.engine.begin() as connection:
                for user_id, email, feed in ((1, "owner@example.com", tokens["feed"]),
                                             (2, "other@example.com", None)):
                    connection.execute(row(
                        "users", id=user_id, email=email, full_name="Owner",
                        professional_title="", credentials="", bio="", timezone="UTC",
                        status="active", is_admin=False, security_stamp="s" * 32,
                        feed_token=feed))
                connection.execute(row("organizations", id=1, name="Medics",
                                       primary_colour="", slug="medics"))
                connection.execute(row(
                    "organization_invitations", organization_id=1, email="new@example.com",
                    role="member", token=tokens["org"], sent_at=now,
                    expires_at=now + timedelta(days=7)))
                connection.execute(row(
                    "events", id=1, title="Private gala", summary="", description="",
                    description_html="", timezone="UTC", format="in_person",
                    waitlist_enabled=False, allow_parallel_sessions=False, cpd_credits=0,
                    visibility="private", status="published", created_by_id=1,
                    cancel_reason="", slug="private-gala", start_at=now + timedelta(days=30),
                    end_at=now + timedelta(days=30, hours=2)))
                connection.execute(row("event_invitations", event_id=1,
                                       email="guest@example.com", token=tokens["event"]))

            upgrade()

            with db.engine.connect() as connection:
                stored = {
                    "org": connection.execute(sa.text(
                        "SELECT * FROM organization_invitations")).mappings().one(),
                    "event": connection.execute(sa.text(
                        "SELECT * FROM event_invitations")).mappings().one(),
                    "feed": connection.execute(sa.text(
                        "SELECT * FROM users WHERE id = 1")).mappings().one(),
                }
                other = connection.execute(sa.text(
                    "SELECT feed_token_hash FROM users WHERE id = 2")).scalar()
            assert stored["org"]["token_hash"] == hash_token(tokens["org"])
            assert stored["event"]["token_hash"] == hash_token(tokens["event"])
            assert stored["feed"]["feed_token_hash"] == hash_token(tokens["feed"])
            assert other is None
            for name, token in tokens.items():
                assert token not in str(dict(stored[name]))

            client = scratch.test_client()
            assert client.get(f"/join/{tokens['org']}").status_code == 200
            assert client.get(f"/join/{tokens['event']}").status_code == 404
            register = "/events/private-gala/register"
            assert client.get(f"{register}?invite={tokens['event']}").status_code == 200
            assert client.get(f"{register}?invite={tokens['org']}").status_code == 404
            feed = client.get(f"/feeds/{tokens['feed']}.ics")
            assert feed.status_code == 200 and feed.data.startswith(b"BEGIN:VCALENDAR")
            assert client.get(f"/feeds/{hash_token(tokens['feed'])}.ics").status_code == 404
        finally:
            db.session.remove()
            db.engine.dispose()


def _insert(connection, table_name: str, **values) -> int:
    """A row of `table_name` as the schema stands: required columns not given get a plain
    value of their type."""
    from datetime import UTC, datetime

    table = sa.Table(table_name, sa.MetaData(), autoload_with=connection)
    row = {"uuid": uuid.uuid4().hex, "created_at": datetime.now(UTC),
           "updated_at": datetime.now(UTC)}
    for column in table.columns:
        if column.nullable or column.server_default is not None or column.primary_key:
            continue
        if isinstance(column.type, sa.Boolean):
            row.setdefault(column.name, False)
        elif isinstance(column.type, (sa.Numeric, sa.Integer)):
            row.setdefault(column.name, 0)
        elif isinstance(column.type, (sa.String, sa.Text)):
            row.setdefault(column.name, "")
    row.update(values)
    return connection.execute(sa.insert(table).values(**row)).inserted_primary_key[0]


def test_existing_venues_are_given_to_whoever_their_events_belong_to(scratch_database_url,
                                                                       tmp_path):
    """0018: one organization's events → its venue; one creator's → theirs; else (several
    organizers, or unused) site-wide."""
    from datetime import UTC, datetime, timedelta

    scratch = create_app(base_config(scratch_database_url, tmp_path))
    with scratch.app_context():
        try:
            upgrade(revision="0016_organizations")
            with db.engine.begin() as connection:
                ann, bob = (_insert(connection, "users", email=f"{name}@example.com",
                                    status="active", timezone="UTC", security_stamp=name)
                            for name in ("ann", "bob"))
                medics = _insert(connection, "organizations", name="Medics", slug="medics")
                venues = {name: _insert(connection, "event_locations", name=name)
                          for name in ("ann's", "medics'", "shared", "mixed", "unused")}
                start = datetime(2031, 1, 1, 9, tzinfo=UTC)
                uses = [("ann's", ann, None), ("ann's", ann, None), ("medics'", ann, medics),
                        ("medics'", bob, medics), ("shared", ann, None), ("shared", bob, None),
                        ("mixed", ann, medics), ("mixed", ann, None)]
                for number, (venue, creator, organization) in enumerate(uses):
                    _insert(connection, "events", title="E", slug=f"e-{number}",
                            timezone="UTC", format="in_person", visibility="public",
                            status="draft", venue_id=venues[venue], created_by_id=creator,
                            organization_id=organization, start_at=start,
                            end_at=start + timedelta(hours=1))
            upgrade()
            with db.engine.connect() as connection:
                owners = {name: (owner, organization, bool(site_wide))
                          for name, owner, organization, site_wide in connection.execute(
                              sa.text("SELECT name, owner_id, organization_id, is_site_wide "
                                      "FROM event_locations"))}
        finally:
            db.engine.dispose()

    assert owners == {
        "ann's": (ann, None, False),
        "medics'": (None, medics, False),
        "shared": (None, None, True),
        "mixed": (ann, None, False),  # her own event and an organization's: hers
        "unused": (None, None, True),
    }

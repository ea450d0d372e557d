"""Test fixtures: one app per database backend, clean tables per test, CSRF-aware helpers.

The suite runs on SQLite, and also on PostgreSQL when TEST_DATABASE_URL is set. Redis tests
use TEST_REDIS_URL (or REDIS_URL). Under CI=true nothing may be skipped: see
pytest_sessionfinish below.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import shutil
from email.message import EmailMessage
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from app import create_app
from app.config import normalise_database_url
from app.extensions import cache, db, limiter

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL")
IN_CI = os.environ.get("CI") == "true"
from tests.factories import PASSWORD  # noqa: E402,F401

BACKENDS = ["sqlite"] + (["postgresql"] if TEST_DATABASE_URL else [])


def require(condition: bool, reason: str) -> None:
    """Skip a test whose component is missing; under CI=true that is a failure instead."""
    if not condition:
        if IN_CI:
            pytest.fail(f"required in CI: {reason}")
        pytest.skip(reason)


def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if IN_CI and skipped:
        reporter.write_line(f"CI=true: {len(skipped)} test(s) were skipped; failing the run.")
        session.exitstatus = 1


def base_config(database_url: str, root: Path) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": database_url,
        "REDIS_URL": None,
        "CACHE_TYPE": "SimpleCache",
        "RATELIMIT_STORAGE_URI": "memory://",
        "MAIL_BACKEND": "file",
        "MAIL_DIR": str(root / "mail"),
        "STORAGE_DIR": str(root / "files"),
        "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",  # cheap in tests, still scrypt
        "SITE_URL": "http://localhost",
        "SERVER_NAME": None,
        "LOG_LEVEL": "WARNING",
    }


def reset_schema(app) -> None:
    """Drop everything and build the schema with the migrations, as production does."""
    from flask_migrate import upgrade

    with app.app_context():
        with db.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("DROP SCHEMA public CASCADE"))
                connection.execute(sa.text("CREATE SCHEMA public"))
        upgrade()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'convene-test.db'}"
    return normalise_database_url(TEST_DATABASE_URL)


@pytest.fixture(scope="session")
def files_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("instance")


@pytest.fixture(scope="session")
def _session_app(database_url, files_root):
    app = create_app(base_config(database_url, files_root))
    reset_schema(app)
    return app


def _clean_tables(app) -> None:
    with app.app_context():
        tables = list(reversed(db.metadata.sorted_tables))
        with db.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in tables)
                connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    connection.execute(table.delete())
        db.session.remove()


@pytest.fixture
def app(_session_app, files_root):
    """The app, with empty tables, an empty mailbox, and fresh rate limits and cache."""
    yield _session_app
    _clean_tables(_session_app)
    shutil.rmtree(files_root / "mail", ignore_errors=True)
    shutil.rmtree(files_root / "files", ignore_errors=True)
    with _session_app.app_context():
        limiter.reset()
        cache.clear()


@pytest.fixture
def make_app(app, database_url, files_root):
    """Build another app on the same database with some settings changed. After the test
    its connections are closed and the tables are cleaned, as for `app`."""
    built = []

    def build(**overrides):
        new_app = create_app({**base_config(database_url, files_root), **overrides})
        built.append(new_app)
        return new_app

    yield build
    for new_app in built:
        with new_app.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


@pytest.fixture
def ctx(app):
    """An app and request context for model and service tests (no HTTP client inside)."""
    with app.test_request_context():
        yield
        db.session.rollback()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def backend(database_url) -> str:
    return "sqlite" if database_url.startswith("sqlite") else "postgresql"


# --- Helpers


_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client, path: str) -> str:
    page = client.get(path)
    match = _CSRF.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path} ({page.status_code})"
    return match.group(1)


def post_form(client, path: str, data: dict | None = None, page: str | None = None, **kwargs):
    """POST a form the way a browser does: with the CSRF token from the page it is on."""
    token = csrf_token(client, page or path)
    return client.post(path, data={**(data or {}), "csrf_token": token}, **kwargs)


def create_user(app, **fields) -> SimpleNamespace:
    """An active user with PASSWORD; returns plain values (no ORM object outlives its session)."""
    from tests.factories import UserFactory

    with app.test_request_context():
        user = UserFactory(**fields)
        db.session.commit()
        return SimpleNamespace(id=user.id, uuid=user.uuid, email=user.email, password=PASSWORD)


def log_in(client, email: str, password: str = PASSWORD, remember: bool = False):
    data = {"email": email, "password": password}
    if remember:
        data["remember"] = "y"
    response = post_form(client, "/login", data)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return response


def read_mail(app) -> list[EmailMessage]:
    """Every message the file backend wrote, oldest first."""
    directory = Path(app.config["MAIL_DIR"])
    if not directory.exists():
        return []
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in sorted(directory.glob("*.eml"))
    ]


def mail_text(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def link_in(message: EmailMessage, path_prefix: str) -> str:
    """The path of the first link in `message` that starts with `path_prefix`."""
    pattern = r"https?://[^/\s]+(" + re.escape(path_prefix) + r"[^\s\"<]*)"
    match = re.search(pattern, mail_text(message))
    assert match, f"no {path_prefix} link in: {mail_text(message)}"
    return match.group(1)


def query_counter(engine):
    """A context manager counting the SQL statements `engine` executes."""
    from contextlib import contextmanager

    @contextmanager
    def counting():
        statements: list[str] = []

        def before(conn, cursor, statement, parameters, context, executemany):
            statements.append(statement)

        sa.event.listen(engine, "before_cursor_execute", before)
        try:
            yield statements
        finally:
            sa.event.remove(engine, "before_cursor_execute", before)

    return counting()

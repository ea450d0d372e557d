"""Configuration: layers (defaults, instance/config.py, environment, overrides) and the
settings that keep a deployment safe."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from app import create_app
from app.config import ENV_SETTINGS, ConfigError, load_config, local_secret_key
from app.config import normalise_database_url as normalise
from app.extensions import db
from tests.conftest import base_config


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No setting leaks in from the environment the tests run in."""
    for name in ENV_SETTINGS:
        monkeypatch.delenv(name, raising=False)


def configured(instance_path, overrides: dict | None = None, files: dict | None = None) -> Flask:
    """A bare Flask app whose config went through load_config, with its own instance folder."""
    for name, text in (files or {}).items():
        (instance_path / name).write_text(text)
    app = Flask(__name__, instance_path=str(instance_path), instance_relative_config=True)
    load_config(app, overrides)
    return app


# --- Production safety

KEY = "x" * 43 + "="  # a well-formed Fernet key
PRODUCTION = {
    "CONVENE_ENV": "production", "ENCRYPTION_KEYS": KEY, "SITE_URL": "https://events.example.org",
}


@pytest.mark.parametrize("secret", [None, "", "   "])
def test_production_refuses_to_start_without_a_secret_key(tmp_path, secret):
    overrides = {**base_config(f"sqlite:///{tmp_path / 'db'}", tmp_path)}
    overrides.update(CONVENE_ENV="production", SECRET_KEY=secret)

    with pytest.raises(ConfigError, match="SECRET_KEY must be set"):
        create_app(overrides)


def test_production_does_not_fall_back_to_a_generated_key(tmp_path):
    with pytest.raises(ConfigError):
        configured(tmp_path, {"CONVENE_ENV": "production"})

    assert not (tmp_path / "secret_key").exists()


def test_production_secret_key_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVENE_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("ENCRYPTION_KEYS", KEY)
    monkeypatch.setenv("SITE_URL", "https://events.example.org")

    app = configured(tmp_path)

    assert app.config["SECRET_KEY"] == "from-the-environment"


def test_production_cookies_are_secure(tmp_path):
    app = configured(tmp_path, {**PRODUCTION, "SECRET_KEY": "s3cret"})

    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True


def test_production_cookies_stay_secure_even_when_asked_otherwise(tmp_path):
    overrides = {**PRODUCTION, "SECRET_KEY": "s", "SESSION_COOKIE_SECURE": False}

    assert configured(tmp_path, overrides).config["SESSION_COOKIE_SECURE"] is True


def test_local_cookies_work_over_plain_http(tmp_path):
    app = configured(tmp_path, {"SECRET_KEY": "s"})

    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert app.config["REMEMBER_COOKIE_SECURE"] is False


# --- The local secret key


def test_a_local_run_generates_a_private_secret_key_once(tmp_path):
    key = local_secret_key(str(tmp_path))

    path = tmp_path / "secret_key"
    assert len(key) >= 32
    assert path.read_text().strip() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert local_secret_key(str(tmp_path)) == key
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_the_secret_key_file_is_never_readable_by_others_even_briefly(tmp_path, monkeypatch):
    """The key is written to a private file before it gets its name (no chmod afterwards)."""
    import app.config as config_module

    modes = []
    real_link = config_module.os.link

    def spy(source, target):
        modes.append(stat.S_IMODE(config_module.os.stat(source).st_mode))
        return real_link(source, target)

    monkeypatch.setattr(config_module.os, "link", spy)
    local_secret_key(str(tmp_path / "nested" / "instance"))

    assert modes == [0o600]


def test_an_existing_secret_key_is_reused(tmp_path):
    (tmp_path / "secret_key").write_text("kept-key\n")

    assert local_secret_key(str(tmp_path)) == "kept-key"


def test_an_empty_secret_key_file_is_an_error_not_an_empty_key(tmp_path):
    (tmp_path / "secret_key").write_text("")

    with pytest.raises(ConfigError, match="empty"):
        local_secret_key(str(tmp_path))


def test_load_config_uses_the_instance_secret_key_outside_production(tmp_path):
    first = configured(tmp_path)
    second = configured(tmp_path, {"SECRET_KEY": None})

    assert first.config["SECRET_KEY"] == (tmp_path / "secret_key").read_text().strip()
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]


# --- Database URLs


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u:p@db:5432/convene", "postgresql+psycopg://u:p@db:5432/convene"),
        ("postgresql://u:p@db/convene", "postgresql+psycopg://u:p@db/convene"),
        ("postgresql+psycopg://u@db/convene", "postgresql+psycopg://u@db/convene"),
        ("sqlite:////srv/convene.db", "sqlite:////srv/convene.db"),
    ],
)
def test_postgres_urls_use_psycopg_3(url, expected):
    assert normalise(url) == expected
    assert sa.make_url(normalise(url)).drivername in ("postgresql+psycopg", "sqlite")


def test_database_url_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db/convene")

    app = configured(tmp_path, {"SECRET_KEY": "s"})

    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db/convene"


def test_database_url_from_instance_config(tmp_path):
    app = configured(
        tmp_path, {"SECRET_KEY": "s"}, files={"config.py": 'DATABASE_URL = "postgres://i@db/c"\n'}
    )

    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://i@db/c"


def test_the_default_database_is_sqlite_in_the_instance_folder(tmp_path):
    app = configured(tmp_path, {"SECRET_KEY": "s"})

    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'convene.db'}"


# --- Layers


def test_environment_overrides_instance_config(tmp_path, monkeypatch):
    monkeypatch.setenv("MAIL_BACKEND", "smtp")
    monkeypatch.setenv("MAIL_PORT", "587")
    monkeypatch.setenv("MAIL_USE_TLS", "true")
    files = {"config.py": 'MAIL_BACKEND = "file"\nMAIL_PORT = 2525\nMAIL_SERVER = "mx.local"\n'}

    app = configured(tmp_path, {"SECRET_KEY": "s"}, files=files)

    assert app.config["MAIL_BACKEND"] == "smtp"
    assert app.config["MAIL_PORT"] == 587
    assert app.config["MAIL_USE_TLS"] is True
    assert app.config["MAIL_SERVER"] == "mx.local"  # the instance file still counts


def test_an_empty_environment_variable_is_ignored(tmp_path, monkeypatch):
    monkeypatch.setenv("MAIL_BACKEND", "")

    assert configured(tmp_path, {"SECRET_KEY": "s"}).config["MAIL_BACKEND"] == "file"


def test_overrides_win_over_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MAIL_BACKEND", "smtp")

    app = configured(tmp_path, {"SECRET_KEY": "s", "MAIL_BACKEND": "file"})

    assert app.config["MAIL_BACKEND"] == "file"


def test_site_url_has_a_default_and_comes_from_the_environment(tmp_path, monkeypatch):
    assert configured(tmp_path, {"SECRET_KEY": "s"}).config["SITE_URL"] == "http://127.0.0.1:5000"

    monkeypatch.setenv("SITE_URL", "https://events.example.org/")

    assert configured(tmp_path, {"SECRET_KEY": "s"}).config["SITE_URL"] == (
        "https://events.example.org"
    )


def test_locally_links_follow_the_port_served(tmp_path, monkeypatch):
    """`make run PORT=5201` exports PORT: emails, PDFs and QR codes then link to :5201."""
    from app.core.urls import external_url

    monkeypatch.setenv("PORT", "5201")
    app = create_app({**base_config(f"sqlite:///{tmp_path / 'db'}", tmp_path), "SITE_URL": None})

    assert app.config["SITE_URL"] == "http://127.0.0.1:5201"
    with app.app_context():
        assert external_url("accounts.login") == "http://127.0.0.1:5201/login"


def test_an_explicit_site_url_wins_over_the_port(tmp_path, monkeypatch):
    monkeypatch.setenv("PORT", "5201")
    monkeypatch.setenv("SITE_URL", "https://events.example.org")

    assert configured(tmp_path, {"SECRET_KEY": "s"}).config["SITE_URL"] == (
        "https://events.example.org"
    )


@pytest.mark.parametrize("site_url", [None, "", "  "])
def test_production_refuses_to_start_without_a_site_url(tmp_path, monkeypatch, site_url):
    """No guessed address in production: every emailed link would lead somewhere wrong."""
    monkeypatch.setenv("PORT", "8000")

    with pytest.raises(ConfigError, match="SITE_URL must be set in production"):
        configured(tmp_path, {**PRODUCTION, "SECRET_KEY": "s", "SITE_URL": site_url})


def test_redis_url_switches_the_shared_stores(tmp_path, monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/0")

    config = configured(tmp_path, {"SECRET_KEY": "s"}).config

    assert config["CACHE_TYPE"] == "RedisCache"
    assert config["CACHE_REDIS_URL"] == "redis://cache:6379/0"
    assert config["RATELIMIT_STORAGE_URI"] == "redis://cache:6379/0"


def test_without_redis_the_stores_are_local(tmp_path):
    """The page cache is in files under instance/, shared by the processes of one machine
    (a CLI command invalidates what the dev server shows); rate limits stay in memory."""
    app = configured(tmp_path, {"SECRET_KEY": "s"})
    config = app.config

    assert config["CACHE_TYPE"] == "FileSystemCache"
    assert config["CACHE_DIR"] == str(Path(app.instance_path) / "cache")
    assert config["RATELIMIT_STORAGE_URI"] == "memory://"


def test_the_default_timezone_drives_babel(tmp_path, monkeypatch):
    monkeypatch.setenv("DEFAULT_TIMEZONE", "Europe/Paris")

    assert configured(tmp_path, {"SECRET_KEY": "s"}).config["BABEL_DEFAULT_TIMEZONE"] == (
        "Europe/Paris"
    )


# --- SQLite


def test_sqlite_waits_for_a_busy_database(tmp_path):
    app = create_app(base_config(f"sqlite:///{tmp_path / 'busy.db'}", tmp_path))

    with app.app_context():
        try:
            with db.engine.connect() as connection:
                timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
        finally:
            db.engine.dispose()

    assert timeout == 30_000


def test_engine_options_given_by_the_caller_are_kept_and_not_mutated(tmp_path):
    options = {"pool_pre_ping": True, "connect_args": {"check_same_thread": False}}

    config = configured(tmp_path, {"SECRET_KEY": "s", "SQLALCHEMY_ENGINE_OPTIONS": options}).config

    assert config["SQLALCHEMY_ENGINE_OPTIONS"] == {
        "pool_pre_ping": True,
        "connect_args": {"timeout": 30, "check_same_thread": False},
    }
    assert options == {"pool_pre_ping": True, "connect_args": {"check_same_thread": False}}

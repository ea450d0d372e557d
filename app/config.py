"""Configuration: defaults, then instance/config.py, then environment variables, then overrides.

Every setting a deployment may change is read from an environment variable of the same
name; README.md lists them. The embedded defaults (SQLite, inline jobs, file mail) need none.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path

from flask import Flask

ENV_SETTINGS = {
    # name: parser
    "CONVENE_ENV": str,
    "SECRET_KEY": str,
    "DATABASE_URL": str,
    "REDIS_URL": str,
    "SITE_URL": str,
    "PORT": int,
    "SERVER_NAME": str,
    "PREFERRED_URL_SCHEME": str,
    "MAIL_BACKEND": str,
    "MAIL_DEFAULT_SENDER": str,
    "MAIL_DIR": str,
    "MAIL_SERVER": str,
    "MAIL_PORT": int,
    "MAIL_USERNAME": str,
    "MAIL_PASSWORD": str,
    "MAIL_USE_TLS": lambda v: v.lower() in ("1", "true", "yes"),
    "MAIL_USE_SSL": lambda v: v.lower() in ("1", "true", "yes"),
    "STORAGE_DIR": str,
    "MAX_CONTENT_LENGTH": int,
    "CERTIFICATE_STORAGE_PREFIX": str,
    "CERTIFICATE_RENDER_SECONDS": float,
    "TEMPLATE_RENDER_SECONDS": float,
    "PASSWORD_HASH_METHOD": str,
    "LOGIN_LIMIT_PER_ACCOUNT": str,
    "LOGIN_LIMIT_PER_IP": str,
    "DEFAULT_TIMEZONE": str,
    "LOG_LEVEL": str,
    "PAGE_CACHE": lambda v: v.lower() in ("1", "true", "yes"),
    "ZOOM_WEBHOOK_SECRET_TOKEN": str,
    "ENCRYPTION_KEYS": str,
    "ZOOM_FAKE": lambda v: v.lower() in ("1", "true", "yes"),
    "ZOOM_CLIENT_ID": str,
    "ZOOM_CLIENT_SECRET": str,
    "ZOOM_API_BASE": str,
    "ZOOM_OAUTH_BASE": str,
    "FORCE_HTTPS": lambda v: v.lower() in ("1", "true", "yes"),
    "HSTS_MAX_AGE": int,
}


# Known to anyone who reads this file: never used when CONVENE_ENV=production.
DEVELOPMENT_ZOOM_SECRET = "convene-development-zoom-secret"


class ConfigError(RuntimeError):
    """The configuration cannot run: the message says which setting to fix."""


def defaults(instance_path: str) -> dict:
    """The embedded defaults: everything local, nothing to install but Python."""
    return {
        "CONVENE_ENV": "development",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(instance_path) / 'convene.db'}",
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        "REDIS_URL": None,
        # Unset: http://127.0.0.1:PORT, the address `make run` serves (required in production).
        "SITE_URL": None,
        "PORT": 5000,
        "MAIL_BACKEND": "file",
        "MAIL_DEFAULT_SENDER": "Convene <no-reply@convene.local>",
        "MAIL_DIR": str(Path(instance_path) / "mail"),
        "MAIL_SERVER": "localhost",
        "MAIL_PORT": 25,
        "MAIL_USERNAME": None,
        "MAIL_PASSWORD": None,
        "MAIL_USE_TLS": False,
        "MAIL_USE_SSL": False,
        "STORAGE_DIR": str(Path(instance_path) / "files"),
        # The largest upload any form accepts (a certificate background); forms check less.
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        # Certificate PDFs are stored under this storage directory ("certificates/<uuid>.pdf");
        # making one PDF from its HTML may take this many seconds before it is stopped.
        "CERTIFICATE_STORAGE_PREFIX": "certificates",
        "CERTIFICATE_RENDER_SECONDS": 20.0,
        # CPU seconds the templates people write (emails, messages, certificates) may take
        # for one preview or one message before they are stopped (app/core/sandbox.py).
        "TEMPLATE_RENDER_SECONDS": 3.0,
        "PASSWORD_HASH_METHOD": "scrypt",
        "LOGIN_LIMIT_PER_ACCOUNT": "5 per 15 minutes",
        "LOGIN_LIMIT_PER_IP": "30 per 15 minutes",
        "VERIFY_EMAIL_MAX_AGE": int(timedelta(days=3).total_seconds()),
        "RESET_PASSWORD_MAX_AGE": int(timedelta(hours=1).total_seconds()),
        "DEFAULT_TIMEZONE": "UTC",
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_DURATION": timedelta(days=30),
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "USER_SESSION_TOUCH_INTERVAL": 60,  # seconds between last-seen writes
        "LOG_LEVEL": "INFO",
        "PAGE_CACHE": True,  # cache rendered pages for anonymous visitors
        # The Secret Token of the Zoom app (its "Feature" page): signs every webhook.
        # Unset, POST /webhooks/zoom accepts nothing.
        "ZOOM_WEBHOOK_SECRET_TOKEN": "",
        # Fernet keys for secrets at rest, newest first, comma-separated (app/core/encryption).
        # Unset outside production: derived from SECRET_KEY.
        "ENCRYPTION_KEYS": "",
        # Zoom OAuth app (user-managed, "General app"): meetings are created with the
        # organizer's own account. ZOOM_FAKE (default: on unless production) simulates Zoom.
        "ZOOM_FAKE": None,
        "ZOOM_CLIENT_ID": "",
        "ZOOM_CLIENT_SECRET": "",
        "ZOOM_API_BASE": "https://api.zoom.us/v2",
        "ZOOM_OAUTH_BASE": "https://zoom.us",
        # Security headers on every response (Flask-Talisman, app/core/security.py). Scripts
        # and styles come only from this site's files: no inline script, style or handler
        # (the admin panel also allows inline script). Images may also be data: URLs (the
        # certificate preview); no page may be framed.
        "CONTENT_SECURITY_POLICY": {
            "default-src": "'self'",
            "script-src": "'self'",
            "style-src": "'self'",
            "img-src": "'self' data:",
            "object-src": "'none'",
            "base-uri": "'self'",
            "frame-ancestors": "'none'",
        },
        "REFERRER_POLICY": "strict-origin-when-cross-origin",
        # Strict-Transport-Security is sent on https requests only (a TLS-terminating proxy
        # says so with X-Forwarded-Proto). FORCE_HTTPS also redirects http to https: off by
        # default, since the proxy usually does that and local runs and tests are plain http.
        "HSTS_MAX_AGE": int(timedelta(days=365).total_seconds()),
        "FORCE_HTTPS": False,
    }


def load_config(app: Flask, overrides: dict | None = None) -> None:
    """Fill app.config in order: defaults, instance/config.py, environment, overrides."""
    overrides = overrides or {}
    app.config.update(defaults(app.instance_path))
    app.config.from_pyfile("config.py", silent=True)
    for name, parse in ENV_SETTINGS.items():
        if name in os.environ and os.environ[name] != "":
            app.config[name] = parse(os.environ[name])
    app.config.update(overrides)
    # DATABASE_URL, from whichever layer set it last, names the database; an explicit
    # SQLALCHEMY_DATABASE_URI override wins over it.
    if app.config.get("DATABASE_URL") and "SQLALCHEMY_DATABASE_URI" not in overrides:
        app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(
        app.config["SQLALCHEMY_DATABASE_URI"]
    )
    finish_config(app)


def normalise_database_url(url: str) -> str:
    """Point postgres URLs at psycopg 3, the driver we ship."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def is_production(app: Flask) -> bool:
    return app.config["CONVENE_ENV"] == "production"


def finish_config(app: Flask) -> None:
    """Derive the settings that depend on others, and refuse configurations that cannot run."""
    config = app.config
    production = is_production(app)
    if not str(config.get("SECRET_KEY") or "").strip():
        if production:
            raise ConfigError("SECRET_KEY must be set in production (CONVENE_ENV=production).")
        config["SECRET_KEY"] = local_secret_key(app.instance_path)
    check_encryption_keys(app)
    config["SITE_URL"] = site_url(app)
    if not production and not config.get("ZOOM_WEBHOOK_SECRET_TOKEN"):
        # Development only, so that `flask zoom simulate` can sign for a local server. There is
        # no default in production: unset, POST /webhooks/zoom accepts nothing.
        config["ZOOM_WEBHOOK_SECRET_TOKEN"] = DEVELOPMENT_ZOOM_SECRET
    if config.get("ZOOM_FAKE") is None:
        config["ZOOM_FAKE"] = not production
    config["SESSION_COOKIE_SECURE"] = config.get("SESSION_COOKIE_SECURE", production) or production
    config["REMEMBER_COOKIE_SECURE"] = config["SESSION_COOKIE_SECURE"]
    redis_url = config.get("REDIS_URL")
    config.setdefault("RATELIMIT_STORAGE_URI", redis_url or "memory://")
    config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    if redis_url:
        config.setdefault("CACHE_TYPE", "RedisCache")
        config.setdefault("CACHE_REDIS_URL", redis_url)
    else:
        # Files under instance/ are shared by every process on this machine (a `flask demo
        # load` or a second worker invalidates what `flask run` serves); Redis in production.
        config.setdefault("CACHE_TYPE", "FileSystemCache")
        config.setdefault("CACHE_DIR", str(Path(app.instance_path) / "cache"))
        config.setdefault("CACHE_THRESHOLD", 5000)
    config.setdefault("CACHE_DEFAULT_TIMEOUT", 300)
    uri = config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite"):
        # Wait for a writer instead of failing at once with "database is locked".
        options = dict(config["SQLALCHEMY_ENGINE_OPTIONS"])
        options["connect_args"] = {"timeout": 30, **options.get("connect_args", {})}
        config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    config["BABEL_DEFAULT_TIMEZONE"] = config["DEFAULT_TIMEZONE"]


def site_url(app: Flask) -> str:
    """The public address every absolute link is built on (emails, PDFs, QR codes, feeds).

    In production it must be given: a guess would put a wrong address in every email. Locally
    it follows the port served (`make run PORT=5201` sets PORT), so links lead back to it.
    """
    url = str(app.config.get("SITE_URL") or "").strip()
    if not url:
        if is_production(app):
            raise ConfigError(
                "SITE_URL must be set in production (CONVENE_ENV=production): the public "
                "address of the site, for example https://events.example.org, used in the "
                "links of emails, certificates and calendar files."
            )
        url = f"http://127.0.0.1:{app.config['PORT']}"
    return url.rstrip("/")


def check_encryption_keys(app: Flask) -> None:
    """ENCRYPTION_KEYS must be set in production and every key must be a Fernet key."""
    from cryptography.fernet import Fernet

    from app.core.encryption import development_key, parse_keys

    keys = parse_keys(app.config.get("ENCRYPTION_KEYS"))
    if not keys:
        if is_production(app):
            raise ConfigError(
                "ENCRYPTION_KEYS must be set in production: generate one with "
                "`python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`."
            )
        keys = [development_key(app.config["SECRET_KEY"])]
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except ValueError:
            raise ConfigError(
                f"ENCRYPTION_KEYS: key {position} is not a Fernet key "
                "(32 url-safe base64-encoded bytes)."
            ) from None
    app.config["ENCRYPTION_KEYS"] = ",".join(keys)


def local_secret_key(instance_path: str) -> str:
    """A key generated once into instance/ so that local sessions survive restarts.

    The file is written whole and readable by its owner only (0600) before it appears under
    its name; when two processes start at once, the second one uses the first one's key.
    """
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret_key-")  # mode 0600
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
            os.link(tmp, path)  # fails if another process got there first: keep theirs
        except FileExistsError:
            pass
        finally:
            Path(tmp).unlink(missing_ok=True)
    key = path.read_text().strip()
    if not key:
        raise ConfigError(f"{path} is empty: delete it to generate a new key, or set SECRET_KEY.")
    return key

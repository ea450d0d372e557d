"""The application factory: configuration, extensions, areas, admin, errors, commands."""

from __future__ import annotations

import importlib
import importlib.util
import logging

from flask import Flask, current_app, has_request_context, request
from flask_login import current_user

from app.config import load_config
from app.extensions import babel, cache, csrf, db, limiter, migrate

# Areas whose blueprints, jobs and privacy handlers make up the site.
AREAS = (
    "main", "accounts", "mailing", "events", "registrations", "zoom", "certificates",
    "organizations",
)


def create_app(config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    load_config(app, config)
    configure_logging(app)
    register_extensions(app)
    register_areas(app)
    register_signals(app)
    register_admin(app)
    register_security_headers(app)
    register_errorhandlers(app)
    register_input_guard(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def configure_logging(app: Flask) -> None:
    logging.basicConfig(
        level=app.config["LOG_LEVEL"],
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def register_extensions(app: Flask) -> None:
    from app.accounts.auth import init_auth

    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    cache.init_app(app)
    limiter.init_app(app)
    init_auth(app)


def select_locale() -> str:
    """The best of the locales with translations (English is built in): adding a locale is
    adding its catalogue under app/translations/, no code change."""
    if not has_request_context():
        return "en"  # commands and jobs
    return request.accept_languages.best_match(available_locales()) or "en"


def available_locales() -> list[str]:
    """English plus every catalogue under app/translations, read once per app (listing the
    directory on each request costs more than the rest of locale selection)."""
    extensions = current_app.extensions
    if "convene.locales" not in extensions:
        found = {"en", *(str(locale) for locale in babel.list_translations())}
        extensions["convene.locales"] = sorted(found)
    return extensions["convene.locales"]


def select_timezone() -> str | None:
    if has_request_context() and current_user.is_authenticated:
        return current_user.timezone
    return None


def register_areas(app: Flask) -> None:
    """Import each area's modules: views give blueprints, jobs register periodic work,
    services register privacy handlers."""
    for area in AREAS:
        for part in ("services", "jobs", "views"):
            name = f"app.{area}.{part}"
            if importlib.util.find_spec(name) is None:
                continue
            module = importlib.import_module(name)
            if part == "views":
                app.register_blueprint(module.bp)


def register_signals(app: Flask) -> None:
    """Connect each area's receivers to the signals of the areas it follows: the one place
    the areas' wiring is made (see ARCHITECTURE.md). An area's `signals.py` declares what it
    emits and, when it follows others, a `connect_signals()`. Connections are process-wide
    and connecting a function twice is a no-op, so every app shares one wiring."""
    for area in AREAS:
        name = f"app.{area}.signals"
        if importlib.util.find_spec(name) is None:
            continue
        connect = getattr(importlib.import_module(name), "connect_signals", None)
        if connect is not None:
            connect()


def register_admin(app: Flask) -> None:
    from app.admin import register_admin as build_admin

    build_admin(app)


def register_security_headers(app: Flask) -> None:
    """After the admin panel: its pages get a policy of their own."""
    from app.core.security import init_security_headers

    init_security_headers(app)


def register_errorhandlers(app: Flask) -> None:
    from app.errors import register as register_error_pages

    register_error_pages(app)


def register_input_guard(app: Flask) -> None:
    from app.core.fields import register as refuse_nul_characters

    refuse_nul_characters(app)


def register_template_helpers(app: Flask) -> None:
    from app.core.templating import register as register_helpers

    register_helpers(app)


def register_commands(app: Flask) -> None:
    from app.cli import register_commands as add_commands

    add_commands(app)

"""Error pages: a full page for browsers, a fragment for HTMX requests, JSON for the API."""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.core.errors import DomainError
from app.core.htmx import is_htmx
from app.extensions import db

log = logging.getLogger(__name__)

MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Go back and try again.")),
    403: (_l("Not allowed"), _l("You do not have permission to see this page.")),
    404: (_l("Page not found"), _l("There is nothing at this address. Check the link.")),
    405: (_l("Not allowed"), _l("This page cannot be used that way.")),
    409: (_l("Conflict"), _l("That change is not possible in the current state.")),
    413: (
        _l("Too large"),
        _l("What you sent is larger than this site accepts. Choose a smaller file."),
    ),
    429: (_l("Too many attempts"), _l("Please wait a few minutes before you try again.")),
    500: (_l("Something went wrong"), _l("An error on our side stopped this page. It has "
                                         "been logged; please try again in a moment.")),
}


def render_error(status: int, detail: str | None = None):
    title, message = MESSAGES.get(status, (_l("Error"), _l("Something went wrong.")))
    template = "errors/_error.html" if is_htmx() else "errors/error.html"
    response = render_template(
        template, status=status, title=title, message=detail or message
    )
    return response, status


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render_error(
            400,
            str(_l("This form has expired or was not sent from this site. Reload the page and "
                   "try again.")),
        )

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        db.session.rollback()
        return render_error(error.status_code, error.message)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code and error.code < 400:
            return error
        detail = None
        if error.code == 429:
            detail = str(_l("Too many attempts. Please wait a few minutes, then try again."))
        return render_error(error.code or 500, detail)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        if isinstance(error, HTTPException):
            return http_error(error)
        db.session.rollback()
        log.exception("unhandled error on %s %s", request.method, request.path)
        return render_error(InternalServerError.code)

"""The local outbox: the messages the file backend wrote, readable in the browser.

Running locally, confirming an account or resetting a password means opening a link from an
email; this page saves a trip to instance/mail/. It exists only where
`local_outbox_enabled()` says so (404 everywhere else, production above all).
"""

from __future__ import annotations

import re

import nh3
from flask import Blueprint, abort, current_app, render_template, url_for
from markupsafe import Markup, escape

from app.mailing.backends import FileBackend, local_outbox_enabled

bp = Blueprint("mailing", __name__, url_prefix="/dev/outbox")

_URL = re.compile(r"https?://[^\s<>\"']+")


@bp.before_request
def only_on_a_local_development_site():
    if not local_outbox_enabled():
        abort(404)


@bp.app_context_processor
def _outbox_link() -> dict:
    """`local_outbox_url()` for the pages that say "we sent you a link": None unless the
    outbox exists."""
    return {"local_outbox_url": lambda: url_for("mailing.outbox") if local_outbox_enabled()
            else None}


def _backend() -> FileBackend:
    return FileBackend(current_app.config["MAIL_DIR"])


def linkify(text: str) -> Markup:
    """Plain text, escaped, with its http(s) addresses as links (nothing else becomes one)."""
    parts, position = [], 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(".,;:!?)")
        parts.append(escape(text[position:match.start()]))
        parts.append(Markup('<a href="{0}">{0}</a>').format(url))
        position = match.start() + len(url)
    parts.append(escape(text[position:]))
    return Markup("").join(parts)


def _framed(html: str) -> str:
    """The HTML part for a sandboxed frame's srcdoc: cleaned of scripts, handlers and inline
    styles (the frame inherits the page's Content-Security-Policy, which refuses them), with
    its links opening in a new tab."""
    return '<base target="_blank">' + nh3.clean(html)


@bp.get("/")
def outbox():
    return render_template("mailing/outbox.html", messages=_backend().list_messages())


@bp.get("/<name>")
def outbox_message(name: str):
    message = _backend().read_message(name)
    if message is None:
        abort(404)
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return render_template(
        "mailing/outbox_message.html",
        message=message,
        sent_at=FileBackend.sent_at(name),
        text=linkify(text.get_content()) if text is not None else None,
        html=_framed(html.get_content()) if html is not None else None,
        attachments=[part.get_filename() or "" for part in message.iter_attachments()],
    )

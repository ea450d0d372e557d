"""Where messages go: files under instance/mail/ by default, SMTP in production."""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path

from flask import current_app

from app.core.types import utcnow

log = logging.getLogger(__name__)


class FileBackend:
    """Writes each message as an .eml file, so local use and tests can read what was sent."""

    def __init__(self, directory: str):
        self.directory = Path(directory)

    def send(self, message: EmailMessage, message_id: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{utcnow():%Y%m%dT%H%M%S%f}-{message_id}.eml"
        (self.directory / name).write_bytes(bytes(message))
        log.info("mail to %s written to %s", message["To"], self.directory / name)


class SMTPBackend:
    def __init__(self, config):
        self.host = config["MAIL_SERVER"]
        self.port = config["MAIL_PORT"]
        self.username = config["MAIL_USERNAME"]
        self.password = config["MAIL_PASSWORD"]
        self.use_tls = config["MAIL_USE_TLS"]
        self.use_ssl = config["MAIL_USE_SSL"]

    def send(self, message: EmailMessage, message_id: str) -> None:
        # smtplib's own default context checks no certificate: pass one that does, or a
        # man in the middle reads the login and every reset link.
        context = ssl.create_default_context()
        if self.use_ssl:
            connection = smtplib.SMTP_SSL(self.host, self.port, timeout=30, context=context)
        else:
            connection = smtplib.SMTP(self.host, self.port, timeout=30)
        with connection as smtp:
            if self.use_tls and not self.use_ssl:
                smtp.starttls(context=context)
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)


def get_backend():
    name = current_app.config["MAIL_BACKEND"]
    if name == "file":
        return FileBackend(current_app.config["MAIL_DIR"])
    if name == "smtp":
        return SMTPBackend(current_app.config)
    raise RuntimeError(f"MAIL_BACKEND must be 'file' or 'smtp', not {name!r}")

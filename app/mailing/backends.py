"""Where messages go: files under instance/mail/ by default, SMTP in production."""

from __future__ import annotations

import email
import email.policy
import logging
import re
import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app

from app.core.types import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredMessage:
    """One message in the file backend's directory, as the local outbox lists it."""

    name: str
    to: str
    subject: str
    sent_at: datetime


class FileBackend:
    """Writes each message as an .eml file, so local use and tests can read what was sent."""

    TIME_FORMAT = "%Y%m%dT%H%M%S%f"
    # The names send() writes; nothing else in the directory is ever read back.
    FILE_NAME = re.compile(r"\d{8}T\d{12}-[A-Za-z0-9-]{1,64}\.eml")

    def __init__(self, directory: str):
        self.directory = Path(directory)

    def send(self, message: EmailMessage, message_id: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{utcnow():{self.TIME_FORMAT}}-{message_id}.eml"
        (self.directory / name).write_bytes(bytes(message))
        log.info("mail to %s written to %s", message["To"], self.directory / name)

    def list_messages(self, limit: int = 200) -> list[StoredMessage]:
        """The newest `limit` messages, newest first (the names sort by the time written)."""
        if not self.directory.is_dir():
            return []
        names = sorted(
            (path.name for path in self.directory.iterdir() if self.FILE_NAME.fullmatch(path.name)),
            reverse=True,
        )[:limit]
        parser = BytesHeaderParser(policy=email.policy.default)
        messages = []
        for name in names:
            with (self.directory / name).open("rb") as handle:
                headers = parser.parse(handle)
            messages.append(StoredMessage(
                name, str(headers["To"] or ""), str(headers["Subject"] or ""), self.sent_at(name)
            ))
        return messages

    @classmethod
    def sent_at(cls, name: str) -> datetime:
        """When the message of file `name` was written (its name starts with that UTC time)."""
        return datetime.strptime(name[:21], cls.TIME_FORMAT).replace(tzinfo=UTC)

    def read_message(self, name: str) -> EmailMessage | None:
        """The message written under `name`, or None: only names send() writes are read, so a
        name can never lead outside the directory."""
        path = self.directory / name
        if not self.FILE_NAME.fullmatch(name) or not path.is_file():
            return None
        return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


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


def local_outbox_enabled() -> bool:
    """Whether /dev/outbox shows the messages the file backend wrote.

    Only for a development site served on this machine: the outbox shows every message,
    reset links included, to whoever opens it, so never in production, never with SMTP (there
    is nothing to show), and not on a development server given a public address.
    """
    config = current_app.config
    host = urlsplit(config.get("SITE_URL") or "").hostname or ""
    return (
        config["CONVENE_ENV"] == "development"
        and config["MAIL_BACKEND"] == "file"
        and (host == "localhost" or host == "::1" or host.startswith("127."))
    )


def get_backend():
    name = current_app.config["MAIL_BACKEND"]
    if name == "file":
        return FileBackend(current_app.config["MAIL_DIR"])
    if name == "smtp":
        return SMTPBackend(current_app.config)
    raise RuntimeError(f"MAIL_BACKEND must be 'file' or 'smtp', not {name!r}")

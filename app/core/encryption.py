"""Secrets at rest (OAuth tokens, signing keys): Fernet, with key rotation through MultiFernet.

`ENCRYPTION_KEYS` lists Fernet keys, newest first, separated by commas: the first encrypts,
every one decrypts. To rotate, put a new key first, deploy, run `flask keys rotate` (which
re-encrypts every EncryptedText column with the newest key), then drop the old key.
Outside production the key is derived from SECRET_KEY so that nothing needs configuring.
"""

from __future__ import annotations

import base64
import hashlib

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import Flask, current_app
from sqlalchemy.types import TypeDecorator

__all__ = ["EncryptedText", "InvalidToken", "decrypt", "encrypt", "rotate_all"]


def development_key(secret_key: str) -> str:
    """A Fernet key derived from SECRET_KEY: stable across restarts of a local install."""
    digest = hashlib.sha256(b"convene-encryption:" + secret_key.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


def parse_keys(value: str | list | tuple | None) -> list[str]:
    if not value:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return [item.strip() for item in items if item and item.strip()]


def _fernet(app: Flask | None = None) -> MultiFernet:
    app = app or current_app._get_current_object()
    cached = app.extensions.get("convene.fernet")
    if cached is None:
        keys = parse_keys(app.config.get("ENCRYPTION_KEYS"))
        cached = MultiFernet([Fernet(key.encode()) for key in keys])
        app.extensions["convene.fernet"] = cached
    return cached


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """The plaintext; raises InvalidToken when no configured key opens it."""
    return _fernet().decrypt(token.encode()).decode()


class EncryptedText(TypeDecorator):
    """A text column stored as a Fernet token: the database never sees the plaintext."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else encrypt(value)

    def process_result_value(self, value, dialect):
        return None if value is None else decrypt(value)


def encrypted_columns() -> list[tuple[sa.Table, sa.Column]]:
    from app.extensions import db

    return [
        (table, column)
        for table in db.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, EncryptedText)
    ]


def rotate_all() -> int:
    """Re-encrypt every EncryptedText value with the newest key; returns how many there were.

    Reads and writes the raw tokens (not through the type), in the caller's transaction.
    """
    from app.extensions import db

    fernet = _fernet()
    changed = 0
    for table, column in encrypted_columns():
        primary_key = list(table.primary_key.columns)[0]
        raw = sa.table(table.name, sa.column(primary_key.name), sa.column(column.name, sa.Text))
        rows = db.session.execute(
            sa.select(raw.c[primary_key.name], raw.c[column.name]).where(
                raw.c[column.name].is_not(None)
            )
        ).all()
        for row_id, token in rows:
            rotated = fernet.rotate(token.encode()).decode()
            db.session.execute(
                raw.update().where(raw.c[primary_key.name] == row_id).values({column.name: rotated})
            )
            changed += 1
    return changed

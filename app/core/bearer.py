"""Bearer tokens: the secret in a link (an invitation, a calendar feed, a login session's
cookie) that lets its holder in. Only the token's SHA-256 is stored, so a copy of the
database opens nothing; the token itself exists only in the link sent or shown once, and a
lookup hashes the token presented. A token is 256 random bits: a fast unsalted hash leaves
nothing to guess."""

from __future__ import annotations

import hashlib
import secrets

# Every token made here is 43 characters; older invitation tokens were 32.
MAX_TOKEN_LENGTH = 64


def new_token() -> tuple[str, str]:
    """A fresh token and the hash to store for it."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def lookup_hash(token: str | None) -> str | None:
    """The hash to look a presented token up by; None for what no link of ours carries."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return hash_token(token)

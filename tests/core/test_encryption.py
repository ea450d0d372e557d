"""Secrets at rest: Fernet tokens, several keys to decrypt, the first one to encrypt."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from app.config import ConfigError
from app.core.encryption import InvalidToken, decrypt, encrypt

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()


def test_a_secret_is_stored_as_a_token_that_opens_again(make_app):
    with make_app(ENCRYPTION_KEYS=OLD).app_context():
        token = encrypt("access-token-123")
        assert "access-token-123" not in token
        assert decrypt(token) == "access-token-123"


def test_a_new_first_key_still_opens_tokens_of_the_old_one(make_app):
    with make_app(ENCRYPTION_KEYS=OLD).app_context():
        old_token = encrypt("refresh")
    with make_app(ENCRYPTION_KEYS=f"{NEW},{OLD}").app_context():
        assert decrypt(old_token) == "refresh"
        new_token = encrypt("refresh")
    with make_app(ENCRYPTION_KEYS=NEW).app_context():
        assert decrypt(new_token) == "refresh"
        with pytest.raises(InvalidToken):
            decrypt(old_token)


def test_without_keys_outside_production_the_key_comes_from_the_secret_key(make_app):
    with make_app(ENCRYPTION_KEYS="", SECRET_KEY="one").app_context():
        token = encrypt("x")
    with make_app(ENCRYPTION_KEYS="", SECRET_KEY="one").app_context():
        assert decrypt(token) == "x"
    with make_app(ENCRYPTION_KEYS="", SECRET_KEY="two").app_context(), pytest.raises(InvalidToken):
        decrypt(token)


def test_a_malformed_key_is_refused_at_start(make_app):
    with pytest.raises(ConfigError, match="key 2 is not a Fernet key"):
        make_app(ENCRYPTION_KEYS=f"{NEW},not-a-key")


def test_production_needs_its_own_keys(make_app):
    with pytest.raises(ConfigError, match="ENCRYPTION_KEYS must be set in production"):
        make_app(CONVENE_ENV="production", SECRET_KEY="s", ENCRYPTION_KEYS="")

"""The site's Ed25519 keys that sign verifiable credentials, and the JWKS that publishes them.

One key signs at a time (`is_signing`: True on it, NULL on every other key, under a UNIQUE
constraint, so two processes creating "the first key" at once cannot both succeed). Rotating
retires the signing key and makes a new one; retired keys stay in the JWKS forever, so a
credential signed years ago still verifies against the published keys (its `kid` names the
key). Private keys are stored encrypted (app/core/encryption), public keys as JWKs.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from joserfc.jwk import KeySet, OKPKey
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from app.core.encryption import EncryptedText
from app.core.models import Model
from app.core.types import UTCDateTime, utcnow
from app.extensions import db

ALGORITHM = "EdDSA"
CURVE = "Ed25519"


class SigningKey(Model):
    """One Ed25519 key pair. `kid` is the RFC 7638 thumbprint of the public key."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    algorithm: Mapped[str] = mapped_column(sa.String(20), default=ALGORITHM)
    private_pem: Mapped[str] = mapped_column(EncryptedText)
    public_jwk: Mapped[dict] = mapped_column(sa.JSON)
    is_signing: Mapped[bool | None] = mapped_column(unique=True)  # True or NULL, see above
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __str__(self) -> str:
        return self.kid

    @classmethod
    def generate(cls) -> SigningKey:
        key = OKPKey.generate_key(CURVE)
        return cls(
            kid=key.thumbprint(),
            algorithm=ALGORITHM,
            private_pem=key.as_pem(private=True).decode(),
            public_jwk=key.as_dict(private=False),
            is_signing=True,
        )

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None

    def private_key(self) -> OKPKey:
        return OKPKey.import_key(self.private_pem, {"kid": self.kid})

    def published_jwk(self) -> dict:
        """The public JWK as the JWKS lists it."""
        return {**self.public_jwk, "kid": self.kid, "alg": self.algorithm, "use": "sig"}

    def retire(self) -> None:
        self.is_signing = None
        self.retired_at = utcnow()


def signing_key() -> SigningKey:
    """The key that signs new credentials, created on first need (the caller commits).

    Two requests that both find no key both try to insert one; the UNIQUE `is_signing` lets
    one win, and the other rolls back its savepoint and reads the winner's key.
    """
    current = _current_key()
    if current is not None:
        return current
    try:
        with db.session.begin_nested():
            db.session.add(SigningKey.generate())
    except IntegrityError:
        pass
    current = _current_key()
    assert current is not None  # one insert above won
    return current


def rotate_signing_key() -> SigningKey:
    """Retire the signing key (it stays published) and make a new one; the caller commits."""
    current = _current_key()
    if current is not None:
        current.retire()
        db.session.flush()  # frees the UNIQUE is_signing before the new key takes it
    key = SigningKey.generate()
    db.session.add(key)
    db.session.flush()
    return key


def key_by_kid(kid: str) -> SigningKey | None:
    return db.session.scalar(sa.select(SigningKey).where(SigningKey.kid == kid))


def published_keys() -> list[SigningKey]:
    return list(db.session.scalars(sa.select(SigningKey).order_by(SigningKey.id)))


def jwks() -> dict:
    """Every public key, signing and retired: {"keys": [...]} (RFC 7517 §5)."""
    return {"keys": [key.published_jwk() for key in published_keys()]}


def key_set() -> KeySet:
    """The published keys as a joserfc KeySet, to verify with."""
    return KeySet.import_key_set(jwks())


def _current_key() -> SigningKey | None:
    return db.session.scalar(sa.select(SigningKey).where(SigningKey.is_signing.is_(True)))

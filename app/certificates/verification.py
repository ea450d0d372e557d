"""Answering "is this certificate genuine?" for a verification code: the database status
(active or revoked, with date and reason) and the signature of its Open Badges credential,
checked against the published keys exactly as a third party would."""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass

import sqlalchemy as sa

from app.certificates.credentials import SignatureCheck, credential_for, verify_token
from app.certificates.models import CODE_ALPHABET, CODE_LENGTH, Certificate
from app.core.types import UTC
from app.extensions import db

_CODE = re.compile(f"[{CODE_ALPHABET}]{{{CODE_LENGTH}}}")


def certificate_by_code(code: str) -> Certificate | None:
    """The certificate with this verification code, or None.

    A code that cannot exist (wrong length or letters) is refused without a query. A
    well-formed one costs one probe of the unique index whether or not it exists; the
    found code is compared again in constant time. Codes are ~99 random bits, so what a
    probe's timing could reveal would not help anyone guess one.
    """
    code = (code or "").strip().upper()
    if not _CODE.fullmatch(code):
        return None
    found = db.session.scalar(sa.select(Certificate).where(Certificate.verification_code == code))
    if found is None or not hmac.compare_digest(found.verification_code, code):
        return None
    return found


@dataclass(frozen=True)
class Verification:
    """What the verification page and its JSON twin show."""

    certificate: Certificate
    token: str
    credential: dict
    signature: SignatureCheck

    @property
    def is_valid(self) -> bool:
        return self.certificate.is_active and self.signature.verified

    def as_json(self) -> dict:
        certificate = self.certificate
        revoked_at = certificate.revoked_at
        return {
            "valid": self.is_valid,
            "status": certificate.status.value,
            "revoked_at": revoked_at.astimezone(UTC).isoformat() if revoked_at else None,
            "reason": certificate.revocation_reason or None,
            "credential": self.credential,
            "signature": self.signature.as_json(),
        }


def verify_certificate(certificate: Certificate) -> Verification:
    """Its status and its credential's signature (the credential is signed on first need:
    the caller commits). A signature counts only if it is over THIS certificate's
    credential."""
    stored = credential_for(certificate)
    check = verify_token(stored.token)
    if check.verified and check.claims.get("jti") != f"urn:uuid:{certificate.uuid}":
        check = SignatureCheck(False, check.kid, check.claims)
    return Verification(certificate, stored.token, stored.credential(), check)

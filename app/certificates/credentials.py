"""Every certificate as an Open Badges 3.0 credential, secured as a VC-JWT.

The credential is built from the certificate's FROZEN data only (attendee, event title,
dates, credits, organizer as they were at issue), signed once with the site's signing key,
and stored (CertificateCredential): a credential never changes after it is signed, and key
rotation does not touch it (its `kid` names the retired key, which stays in the JWKS).

Format (OB 3.0 §8.2 "JSON Web Token Proof Format", which follows W3C VC-JOSE-COSE):
- JOSE header: {"alg": "EdDSA", "kid": <RFC 7638 thumbprint>, "typ": "vc+jwt", "cty": "vc"}.
  "EdDSA" rather than RFC 9864's newer "Ed25519": every OB 3.0 verifier and JOSE library
  in use understands it (joserfc warns that it is deprecated; the warning is silenced here).
- Payload: the credential object itself (no "vc" wrapper, which VC-JOSE-COSE forbids), plus
  the registered claims OB 3.0 requires to mirror it: iss = issuer.id, jti = id,
  sub = credentialSubject.id, nbf = validFrom; and iat = when it was signed. No exp: a
  certificate does not expire; revocation is what ends it (credentialStatus).
- credentialSubject: a pseudonymous id (a UUID derived from the certificate, revealing
  nothing) and the attendee's email as a salted SHA-256 `identifier` (OB 3.0
  IdentityObject), so a holder can prove it is theirs without the credential publishing
  their address. The name is included as shown on the certificate (the PDF shows it too).
- credentialStatus: a W3C Bitstring Status List entry (app/certificates/status_list.py):
  the certificate's position in a published revocation list, which any verifier can read
  without telling us which credential it checks. The VC 2.0 context defines its terms, so
  @context stays the VC 2.0 one plus the OB 3.0 one. (/verify/<code>.json still answers
  for one certificate, for the verification page and for people.)
- The texts inside (description, criteria) are English and fixed: a signed credential
  cannot follow a viewer's locale.

Public by link: anyone with the verification code sees the same facts on /verify/<code>, so
the downloads are public too (a revoked certificate's credential is no longer handed out).

The status lists are credentials too (BitstringStatusListCredential, VC 2.0 context only),
in the same VC-JWT form with the same key, as the spec asks of a list that credentials
secured this way point to. Unlike a certificate's, a list's credential is never stored: it
is built and signed whenever it is served, so it always says what the database says.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import uuid
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.certificates.keys import ALGORITHM, SigningKey, key_set, signing_key
from app.certificates.models import Certificate, StatusList
from app.certificates.status_list import encoded_list
from app.core import privacy
from app.core.models import Model
from app.core.types import utcnow
from app.core.urls import external_url
from app.extensions import db

CONTEXT = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]
# The VC 2.0 context alone defines the Bitstring Status List terms.
STATUS_LIST_CONTEXT = ["https://www.w3.org/ns/credentials/v2"]
MEDIA_TYPE = "application/vc+jwt"
# Seconds a verifier may keep a copy of a status list: its `ttl` and its HTTP max-age.
STATUS_LIST_TTL = 60
JWT_CLAIMS = ("iss", "sub", "jti", "nbf", "iat")
# Fixed: the subject ids derived from it must stay the same forever.
SUBJECT_NAMESPACE = uuid.UUID("7c3e9a52-1f0b-4d6e-9a51-6b2f0d8c4e17")


class CertificateCredential(Model):
    """The signed VC-JWT of one certificate, as it was signed (one per certificate)."""

    __tablename__ = "certificate_credentials"

    certificate_id: Mapped[int] = mapped_column(
        sa.ForeignKey("certificates.id", ondelete="CASCADE"), unique=True
    )
    signing_key_id: Mapped[int] = mapped_column(
        sa.ForeignKey("signing_keys.id", ondelete="RESTRICT"), index=True
    )
    token: Mapped[str] = mapped_column(sa.Text)

    certificate: Mapped[Certificate] = relationship()
    signing_key: Mapped[SigningKey] = relationship()

    def payload(self) -> dict:
        """The signed payload, read back from the token we stored (verify_token checks it)."""
        return token_payload(self.token)

    def credential(self) -> dict:
        """The credential object alone (the payload without the JWT claims)."""
        return credential_in(self.token)


def token_payload(token: str) -> dict:
    """A VC-JWT's payload, as signed (read, not verified)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def credential_in(token: str) -> dict:
    """The credential object of a VC-JWT (its payload without the JWT claims)."""
    return {k: v for k, v in token_payload(token).items() if k not in JWT_CLAIMS}


# --- Building


def iso_z(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, to the second (the dateTimeStamp form OB 3.0 uses)."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def subject_id(certificate: Certificate) -> str:
    """A stable pseudonym for the attendee of this certificate (it reveals nothing)."""
    return f"urn:uuid:{uuid.uuid5(SUBJECT_NAMESPACE, str(certificate.uuid))}"


def hashed_email(email: str, salt: str) -> str:
    """OB 3.0 IdentityObject hash: "sha256$" + hex(sha256(address + salt))."""
    return "sha256$" + hashlib.sha256((email.strip().lower() + salt).encode()).hexdigest()


def build_credential(certificate: Certificate, salt: str | None = None) -> dict:
    """The OpenBadgeCredential for `certificate`, from its frozen data."""
    salt = salt if salt is not None else secrets.token_hex(8)
    credits = float(certificate.cpd_credits or 0)
    starts, ends = iso_z(certificate.event_starts_at), iso_z(certificate.event_ends_at)
    achievement = {
        "id": f"urn:uuid:{certificate.event.uuid}",
        "type": ["Achievement"],
        "achievementType": "Certificate",
        "name": certificate.event_title,
        "description": f"Certificate of attendance for {certificate.event_title}, "
                       f"organised by {certificate.organizer_name}.",
        "criteria": {
            "narrative": f"Attended {certificate.event_title} ({starts} to {ends}, "
                         f"{certificate.event_timezone}) and met the organizer's "
                         f"attendance requirement."
        },
        "creditsAvailable": credits,
    }
    subject = {
        "id": subject_id(certificate),
        "type": ["AchievementSubject"],
        "identifier": [{
            "type": "IdentityObject",
            "identityType": "emailAddress",
            "hashed": True,
            "identityHash": hashed_email(certificate.attendee_email, salt),
            "salt": salt,
        }],
        "name": certificate.attendee_name,
        "achievement": achievement,
        "creditsEarned": credits,
        "activityStartDate": starts,
        "activityEndDate": ends,
    }
    return {
        "@context": CONTEXT,
        "id": f"urn:uuid:{certificate.uuid}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {
            "id": external_url("main.home"),
            "type": ["Profile"],
            "name": certificate.organizer_name,
        },
        "validFrom": iso_z(certificate.issued_at),
        "name": f"{certificate.event_title}: certificate of attendance",
        "credentialSubject": subject,
        "credentialStatus": status_entry(certificate),
    }


def status_entry(certificate: Certificate) -> dict:
    """Its BitstringStatusListEntry: where its revocation bit is published."""
    if certificate.status_list is None or certificate.status_list_index is None:
        raise ValueError(f"certificate {certificate.id} has no status list position")
    url = certificate.status_list.credential_url()
    position = str(certificate.status_list_index)
    return {
        "id": f"{url}#{position}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": position,
        "statusListCredential": url,
    }


def sign_credential(credential: dict, key: SigningKey, signed_at: datetime) -> str:
    """The compact JWS (VC-JWT) of `credential`, with the registered claims that mirror it."""
    issuer = credential["issuer"]
    claims = {
        **credential,
        "iss": issuer["id"] if isinstance(issuer, dict) else issuer,
        "jti": credential["id"],
        "sub": credential["credentialSubject"]["id"],
        "nbf": int(datetime.fromisoformat(credential["validFrom"]).timestamp()),
        "iat": int(signed_at.timestamp()),
    }
    header = {"alg": ALGORITHM, "kid": key.kid, "typ": "vc+jwt", "cty": "vc"}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="EdDSA is deprecated")
        return jwt.encode(header, claims, key.private_key(), algorithms=[ALGORITHM])


def build_status_list_credential(status_list: StatusList) -> dict:
    """The BitstringStatusListCredential of a status list, as of now: its bits are the
    list's revoked certificates (app/certificates/status_list.py)."""
    url = status_list.credential_url()
    return {
        "@context": STATUS_LIST_CONTEXT,
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": external_url("main.home"),  # the certificates' credentials' issuer.id
        "validFrom": iso_z(utcnow()),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encoded_list(status_list.revoked_positions()),
            "ttl": STATUS_LIST_TTL * 1000,  # milliseconds
        },
    }


def signed_status_list(status_list: StatusList) -> str:
    """The status list credential as a VC-JWT signed now with the signing key (created on
    first need: the caller commits)."""
    return sign_credential(build_status_list_credential(status_list), signing_key(), utcnow())


def credential_for(certificate: Certificate) -> CertificateCredential:
    """The certificate's stored credential, signed now with the signing key if it has none.

    Race-safe (UNIQUE certificate_id): a concurrent signer's row wins and is returned. The
    caller commits.
    """
    stored = _stored(certificate)
    if stored is not None:
        return stored
    key = signing_key()
    token = sign_credential(build_credential(certificate), key, utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(
                CertificateCredential(certificate=certificate, signing_key=key, token=token)
            )
    except IntegrityError:
        pass
    stored = _stored(certificate)
    assert stored is not None
    return stored


def _stored(certificate: Certificate) -> CertificateCredential | None:
    return db.session.scalar(
        sa.select(CertificateCredential).where(
            CertificateCredential.certificate_id == certificate.id
        )
    )


# --- Verifying


@dataclass(frozen=True)
class SignatureCheck:
    verified: bool
    kid: str | None
    claims: dict

    def as_json(self) -> dict:
        return {"verified": self.verified, "kid": self.kid}


def verify_token(token: str) -> SignatureCheck:
    """Check a VC-JWT against the published keys (what a third party does with the JWKS)."""
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="EdDSA is deprecated")
            decoded = jwt.decode(token, key_set(), algorithms=[ALGORITHM])
    except (JoseError, ValueError):
        return SignatureCheck(False, None, {})
    kid = decoded.header.get("kid")
    typ_ok = decoded.header.get("typ") == "vc+jwt" and decoded.header.get("alg") == ALGORITHM
    return SignatureCheck(typ_ok, kid, decoded.claims)



# --- Privacy: a stored credential is a signed copy of the attendee's name


def export_credentials(user) -> list[dict]:
    stored = db.session.scalars(
        sa.select(CertificateCredential).join(Certificate)
        .where(Certificate.user_id == user.id).order_by(CertificateCredential.id)
    )
    return [{"certificate": str(c.certificate.uuid), "credential": c.credential(),
             "vc_jwt": c.token} for c in stored]


def anonymise_credentials(user) -> None:
    """Forget the signed copies; a certificate that is verified again is signed anew from
    its (by then anonymised) frozen data."""
    owned = sa.select(Certificate.id).where(Certificate.user_id == user.id)
    db.session.execute(
        sa.delete(CertificateCredential).where(CertificateCredential.certificate_id.in_(owned))
    )


# Before the other areas: an anonymiser there may detach the certificate from the user.
privacy.register("credentials", export=export_credentials, anonymise=anonymise_credentials,
                 order=50)

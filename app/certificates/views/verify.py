"""Public verification: the page a QR code opens, its JSON twin, the site's JWKS, the
credential downloads (.jwt to put in a wallet, .json to read), and the revocation status
lists that credentials point to (a signed VC-JWT for verifiers, .json to read).

Everything here is public by link (see app/certificates/credentials.py): it shows what the
certificate shows. Pages are served from the page cache to anonymous visitors; revoking a
certificate is a commit that changes a watched model, so it invalidates them.
"""

from __future__ import annotations

import json
from functools import wraps
from uuid import UUID

import sqlalchemy as sa
from flask import Response, abort, jsonify, make_response, render_template
from flask_babel import gettext as _

from app.certificates.credentials import (
    MEDIA_TYPE,
    STATUS_LIST_TTL,
    build_status_list_credential,
    credential_for,
    signed_status_list,
)
from app.certificates.keys import jwks as published_jwks
from app.certificates.models import Certificate, StatusList
from app.certificates.verification import certificate_by_code, verify_certificate
from app.certificates.views import bp
from app.core.cache import cache_page, watch
from app.errors import render_error
from app.extensions import db

STATUS_MAX_AGE = 60  # seconds a browser or relying party may reuse a status answer
JWKS_MAX_AGE = 300

watch(Certificate)  # a revocation changes what the verification pages say


def public_json(max_age: int):
    """Let any site read the answer (CORS) and cache it briefly. Applied outside the page
    cache, which keeps only a response's content headers."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            response = make_response(view(*args, **kwargs))
            response.headers["Access-Control-Allow-Origin"] = "*"
            if response.status_code == 200:
                response.cache_control.public = True
                response.cache_control.max_age = max_age
            return response

        return wrapper

    return decorate


@bp.get("/verify/<code>")
@cache_page()
def verify(code: str):
    certificate = certificate_by_code(code)
    if certificate is None:
        abort(404)
    verification = verify_certificate(certificate)
    db.session.commit()  # the credential, when this was its first use
    return render_template("certificates/verify.html", verification=verification,
                           certificate=certificate)


@bp.get("/verify/<code>.json")
@public_json(STATUS_MAX_AGE)
@cache_page()
def verify_json(code: str):
    certificate = certificate_by_code(code)
    if certificate is None:
        return jsonify({"valid": False, "error": "not found"}), 404
    verification = verify_certificate(certificate)
    db.session.commit()
    return jsonify(verification.as_json())


@bp.get("/.well-known/jwks.json")
@public_json(JWKS_MAX_AGE)
def jwks():
    """Every public key the site has signed with, including retired ones."""
    return jsonify(published_jwks())


@bp.get("/credentials/status/<uuid:list_uuid>")
@public_json(STATUS_LIST_TTL)
@cache_page()
def status_list_credential(list_uuid: UUID):
    """The status list credential, signed: what a verifier follows statusListCredential to.
    Built from the certificates each time the page cache misses, so a revocation (a commit
    that changes a certificate) shows at once."""
    token = signed_status_list(_status_list(list_uuid))
    db.session.commit()  # the signing key, when this was its first use
    return Response(token, mimetype=MEDIA_TYPE)


@bp.get("/credentials/status/<uuid:list_uuid>.json")
@public_json(STATUS_LIST_TTL)
@cache_page()
def status_list_json(list_uuid: UUID):
    """The same credential without its signature, to read."""
    return jsonify(build_status_list_credential(_status_list(list_uuid)))


def _status_list(list_uuid: UUID) -> StatusList:
    status_list = db.session.scalar(sa.select(StatusList).where(StatusList.uuid == list_uuid))
    if status_list is None:
        abort(404)
    return status_list


@bp.get("/certificates/<uuid:certificate_uuid>/credential.jwt")
def credential_jwt(certificate_uuid: UUID):
    certificate = _downloadable(certificate_uuid)
    stored = credential_for(certificate)
    db.session.commit()
    return _attachment(stored.token, MEDIA_TYPE, certificate, "jwt")


@bp.get("/certificates/<uuid:certificate_uuid>/credential.json")
def credential_json(certificate_uuid: UUID):
    certificate = _downloadable(certificate_uuid)
    stored = credential_for(certificate)
    db.session.commit()
    body = json.dumps(stored.credential(), indent=2, ensure_ascii=False)
    return _attachment(body, "application/json", certificate, "json")


def _downloadable(certificate_uuid: UUID) -> Certificate:
    certificate = db.session.scalar(
        sa.select(Certificate).where(Certificate.uuid == certificate_uuid)
    )
    if certificate is None:
        abort(404)
    if not certificate.is_active:
        message = _("This certificate was revoked: its credential is no longer handed out. "
                    "Its verification page says why.")
        abort(make_response(*render_error(410, message)))
    return certificate


def _attachment(body: str, mimetype: str, certificate: Certificate, extension: str):
    filename = f"certificate-{certificate.verification_code}.{extension}"
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})

"""Open Badges 3.0 credentials: their content, their VC-JWT signature, and key rotation.

A second JOSE library (PyJWT) checks every signature from the JWKS it fetched over HTTP
from /.well-known/jwks.json: what a third party does, with nothing of ours but the URL.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading

import jwt as pyjwt
import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from app.certificates.credentials import CertificateCredential, credential_for, verify_token
from app.certificates.keys import SigningKey, signing_key
from app.certificates.models import Certificate
from app.extensions import db
from tests.certificates.credential_helpers import issue_certificate


@pytest.fixture
def live_server(app):
    """The app on a real loopback port, for clients that speak HTTP themselves."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


def download_jwt(client, issued) -> str:
    response = client.get(f"/certificates/{issued.uuid}/credential.jwt")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def verify_with_pyjwt(token: str, jwks_url: str) -> dict:
    """PyJWT alone: the key comes from the published JWKS, chosen by the token's kid."""
    key = pyjwt.PyJWKClient(jwks_url, cache_keys=False).get_signing_key_from_jwt(token)
    return pyjwt.decode(token, key.key, algorithms=["EdDSA"],
                        options={"require": ["iss", "sub", "jti", "nbf", "iat"]})


def segments(token: str) -> list[dict]:
    def part(text: str) -> dict:
        return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))

    header, payload, _signature = token.split(".")
    return [part(header), part(payload)]


def test_the_credential_carries_every_required_open_badges_field(app, client):
    issued = issue_certificate(app, name="Ada Lovelace", title="Cardiology update",
                               credits="6.5", organizer_name="Heart Society")

    header, payload = segments(download_jwt(client, issued))

    assert header["alg"] == "EdDSA" and header["typ"] == "vc+jwt" and header["cty"] == "vc"
    assert payload["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert payload["id"] == f"urn:uuid:{issued.uuid}"
    assert payload["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert payload["issuer"] == {"id": "http://localhost/", "type": ["Profile"],
                                 "name": "Heart Society"}
    assert payload["validFrom"].endswith("Z")
    subject = payload["credentialSubject"]
    assert subject["type"] == ["AchievementSubject"]
    assert subject["name"] == "Ada Lovelace"
    assert subject["creditsEarned"] == 6.5
    achievement = subject["achievement"]
    assert achievement["id"] == f"urn:uuid:{issued.event_uuid}"
    assert achievement["type"] == ["Achievement"]
    assert achievement["name"] == "Cardiology update"
    assert "Cardiology update" in achievement["description"]
    assert achievement["criteria"]["narrative"]
    assert achievement["creditsAvailable"] == 6.5
    status = payload["credentialStatus"]
    assert status["type"] == "BitstringStatusListEntry"  # W3C, not a private type
    assert status["statusListCredential"].startswith("http://localhost/credentials/status/")
    # The registered claims mirror the credential (OB 3.0 §8.2).
    assert payload["iss"] == payload["issuer"]["id"]
    assert payload["jti"] == payload["id"]
    assert payload["sub"] == subject["id"]
    assert "vc" not in payload and "exp" not in payload


def test_the_email_is_published_only_as_a_salted_hash(app, client):
    issued = issue_certificate(app, email="ada@example.com")

    token = download_jwt(client, issued)
    _header, payload = segments(token)

    assert "ada@example.com" not in json.dumps(payload)
    identity = payload["credentialSubject"]["identifier"][0]
    expected = hashlib.sha256(("ada@example.com" + identity["salt"]).encode()).hexdigest()
    assert identity["identityHash"] == f"sha256${expected}"
    assert identity["hashed"] is True and identity["identityType"] == "emailAddress"


def test_a_second_library_verifies_it_from_the_published_jwks_alone(app, client, live_server):
    issued = issue_certificate(app)
    token = download_jwt(client, issued)

    claims = verify_with_pyjwt(token, f"{live_server}/.well-known/jwks.json")

    assert claims["jti"] == f"urn:uuid:{issued.uuid}"
    assert claims["credentialSubject"]["achievement"]["name"] == "Clinical update"


def test_a_tampered_credential_fails_both_libraries(app, client, live_server):
    issued = issue_certificate(app, credits="2")
    header, payload, signature = download_jwt(client, issued).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["credentialSubject"]["creditsEarned"] = 200
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    forged = f"{header}.{forged_payload.decode()}.{signature}"

    with pytest.raises(pyjwt.InvalidSignatureError):
        verify_with_pyjwt(forged, f"{live_server}/.well-known/jwks.json")
    with app.test_request_context():
        assert verify_token(forged).verified is False
        assert verify_token("not.a.jwt").verified is False


def test_the_credential_is_signed_once_and_keeps_its_frozen_data(app, client):
    issued = issue_certificate(app, title="Original title")
    first = download_jwt(client, issued)
    with app.test_request_context():
        certificate = db.session.get(Certificate, issued.id)
        certificate.event.title = "Renamed later"
        db.session.commit()

    assert download_jwt(client, issued) == first
    assert segments(first)[1]["credentialSubject"]["achievement"]["name"] == "Original title"
    with app.test_request_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(
            CertificateCredential)) == 1


def test_rotation_keeps_old_credentials_valid_and_signs_new_ones_with_the_new_key(
    app, client, live_server
):
    before = issue_certificate(app, name="Before Rotation")
    old_token = download_jwt(client, before)
    old_kid = segments(old_token)[0]["kid"]

    result = app.test_cli_runner().invoke(args=["keys", "new-signing-key"])
    assert result.exit_code == 0, result.output

    after = issue_certificate(app, name="After Rotation")
    new_token = download_jwt(client, after)
    new_kid = segments(new_token)[0]["kid"]
    assert new_kid != old_kid and new_kid in result.output
    published = client.get("/.well-known/jwks.json").get_json()
    assert {key["kid"] for key in published["keys"]} == {old_kid, new_kid}
    jwks_url = f"{live_server}/.well-known/jwks.json"
    assert verify_with_pyjwt(old_token, jwks_url)["credentialSubject"]["name"] == \
        "Before Rotation"
    assert verify_with_pyjwt(new_token, jwks_url)["credentialSubject"]["name"] == \
        "After Rotation"
    with app.test_request_context():
        keys = {key.kid: key for key in db.session.scalars(sa.select(SigningKey))}
        assert keys[old_kid].is_retired and keys[old_kid].is_signing is None
        assert not keys[new_kid].is_retired and keys[new_kid].is_signing is True


def test_the_jwks_lists_public_keys_only(app, client):
    issue = issue_certificate(app)
    download_jwt(client, issue)

    response = client.get("/.well-known/jwks.json")

    (key,) = response.get_json()["keys"]
    assert set(key) == {"kty", "crv", "x", "kid", "alg", "use"}
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "max-age" in response.headers["Cache-Control"]


def test_the_private_key_is_encrypted_at_rest(app):
    with app.test_request_context():
        key = signing_key()
        db.session.commit()
        raw = db.session.execute(
            sa.text("SELECT private_pem FROM signing_keys WHERE id = :id"), {"id": key.id}
        ).scalar_one()
        assert "PRIVATE KEY" in key.private_pem
        assert "PRIVATE KEY" not in raw


def test_one_signing_key_is_made_on_first_need_even_when_two_ask(app):
    """The UNIQUE is_signing refuses a second current key: the loser reads the winner's."""
    with app.test_request_context():
        first = signing_key()
        db.session.commit()
        assert signing_key().id == first.id
        db.session.add(SigningKey.generate())
        with pytest.raises(sa.exc.IntegrityError):
            db.session.flush()
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SigningKey)) == 1


def test_a_concurrent_signer_loses_to_the_stored_credential(app):
    issued = issue_certificate(app)
    with app.test_request_context():
        certificate = db.session.get(Certificate, issued.id)
        stored = credential_for(certificate)
        db.session.commit()
        duplicate = CertificateCredential(certificate_id=certificate.id,
                                          signing_key_id=stored.signing_key_id, token="x")
        db.session.add(duplicate)
        with pytest.raises(sa.exc.IntegrityError):
            db.session.flush()
        db.session.rollback()
        assert credential_for(db.session.get(Certificate, issued.id)).token == stored.token


def test_download_my_data_has_the_credentials_and_deletion_forgets_them(app, client):
    from app.accounts.models import User
    from app.core.privacy import anonymise_user, export_user_data

    issued = issue_certificate(app, name="Ada Lovelace")
    token = download_jwt(client, issued)
    with app.test_request_context():
        user = db.session.scalar(sa.select(User).where(User.email == issued.email))
        exported = export_user_data(user)["credentials"]
        assert [item["vc_jwt"] for item in exported] == [token]
        assert exported[0]["credential"]["credentialSubject"]["name"] == "Ada Lovelace"

        anonymise_user(user)
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(
            CertificateCredential)) == 0


def test_admins_see_the_keys_but_never_a_private_key(app):
    from tests.conftest import create_user, log_in

    with app.test_request_context():
        key = signing_key()
        db.session.commit()
        kid, key_id = key.kid, key.id
    create_user(app, email="admin@example.com", is_admin=True)
    client = app.test_client()
    log_in(client, "admin@example.com")

    listing = client.get("/admin/signingkey/").get_data(as_text=True)
    details = client.get(f"/admin/signingkey/details/?id={key_id}").get_data(as_text=True)

    assert kid in listing and kid in details
    for page in (listing, details):
        assert "PRIVATE KEY" not in page and "private_pem" not in page

"""Revocation that any verifier can check: every credential points to its position in a W3C
Bitstring Status List, which the site publishes as a signed credential.

Checked as a third party would: PyJWT (not the library that signs) verifies the credential
and then the status list against the published JWKS, and the bit is read by hand from the
decoded list (multibase base64url, GZIP, bit 0 = leftmost bit of the first byte).
"""

from __future__ import annotations

import base64
import gzip
import re
from types import SimpleNamespace

import jwt as pyjwt
import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.certificates import runs
from app.certificates.models import STATUS_LIST_ENTRIES, Certificate, StatusList
from app.certificates.runs import IssueRunService
from app.certificates.services import CertificateService, save_certificates
from app.events.models import Event
from app.extensions import db
from app.registrations.models import Registration
from app.states import CertificateStatus
from tests.certificates.credential_helpers import issue_certificate, revoke
from tests.certificates.issuing_helpers import event_with_attendees
from tests.conftest import create_user, csrf_token, log_in
from tests.core.test_migrations import scratch_database_url  # noqa: F401
from tests.registrations.racing import race

SITE = "http://localhost"


# --- What a verifier does, with nothing of ours but the URLs


def verified(client, token: str) -> dict:
    """The payload of a VC-JWT whose signature PyJWT checked with the key its kid names in
    /.well-known/jwks.json."""
    header = pyjwt.get_unverified_header(token)
    assert (header["alg"], header["typ"]) == ("EdDSA", "vc+jwt")
    keys = pyjwt.PyJWKSet.from_dict(client.get("/.well-known/jwks.json").get_json())
    return pyjwt.decode(token, keys[header["kid"]].key, algorithms=["EdDSA"],
                        options={"require": ["iss", "sub", "jti", "nbf", "iat"]})


def credential_of(client, certificate_uuid) -> dict:
    response = client.get(f"/certificates/{certificate_uuid}/credential.jwt")
    assert response.status_code == 200
    return verified(client, response.get_data(as_text=True))


def fetch_list(client, url: str):
    assert url.startswith(SITE + "/")
    return client.get(url.removeprefix(SITE))


def status_list_of(client, credential: dict) -> dict:
    """Follow statusListCredential and verify what comes back."""
    response = fetch_list(client, credential["credentialStatus"]["statusListCredential"])
    assert response.status_code == 200
    assert response.mimetype == "application/vc+jwt"
    return verified(client, response.get_data(as_text=True))


def bitstring(status_list: dict) -> bytes:
    encoded = status_list["credentialSubject"]["encodedList"]
    assert encoded.startswith("u") and "=" not in encoded  # multibase base64url, no padding
    body = encoded[1:]
    return gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def revocation_bit(client, credential: dict) -> int:
    entry = credential["credentialStatus"]
    listed = status_list_of(client, credential)
    assert listed["id"] == entry["statusListCredential"]
    assert listed["credentialSubject"]["statusPurpose"] == entry["statusPurpose"]
    index = int(entry["statusListIndex"])
    return (bitstring(listed)[index // 8] >> (7 - index % 8)) & 1


# --- Helpers


@pytest.fixture
def organizer(app, client):
    person = create_user(app, email="olga@example.com", full_name="Olga Organizer")
    log_in(client, person.email)
    return person


def completed_event_of(app, organizer, count: int) -> SimpleNamespace:
    with app.test_request_context():
        built = event_with_attendees(count, db.session.get(User, organizer.id))
        db.session.commit()
        return SimpleNamespace(event_uuid=built.event.uuid, event_id=built.event.id,
                               registrations=[r.uuid for r in built.registrations])


def certificate_of(app, registration_uuid, status=CertificateStatus.ACTIVE) -> SimpleNamespace:
    with app.app_context():
        certificate = db.session.scalar(
            sa.select(Certificate)
            .join(Registration, Registration.id == Certificate.registration_id)
            .where(Registration.uuid == registration_uuid, Certificate.status == status)
        )
        return SimpleNamespace(id=certificate.id, uuid=certificate.uuid,
                               list_id=certificate.status_list_id,
                               position=certificate.status_list_index)


def positions(event_id: int) -> list[tuple[int, int]]:
    return [tuple(row) for row in db.session.execute(
        sa.select(Certificate.status_list_id, Certificate.status_list_index)
        .where(Certificate.event_id == event_id).order_by(Certificate.id)
    )]


# --- The journey


def test_a_verifier_sees_a_revocation_through_the_status_list(app, client, organizer):
    data = completed_event_of(app, organizer, 1)
    page = f"/events/{data.event_uuid}/certificates"
    row = f"{page}/{data.registrations[0]}"
    token = csrf_token(client, page)
    assert client.post(row + "/issue", data={"csrf_token": token}).status_code == 303
    certificate = certificate_of(app, data.registrations[0])
    verifier = app.test_client()  # anonymous, served from the page cache when it can be

    credential = credential_of(verifier, certificate.uuid)
    entry = credential["credentialStatus"]
    url = entry["statusListCredential"]
    assert re.fullmatch(SITE + r"/credentials/status/[0-9a-f-]{36}", url)
    assert entry == {
        "id": f"{url}#{certificate.position}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": str(certificate.position),
        "statusListCredential": url,
    }
    assert revocation_bit(verifier, credential) == 0
    assert revocation_bit(verifier, credential) == 0  # the cached copy

    revoked = client.post(row + "/revoke", data={"csrf_token": token, "reason": "Wrong person"})
    assert revoked.status_code == 303

    assert revocation_bit(verifier, credential) == 1  # at once: the cache was invalidated
    status = verifier.get(f"/verify/{certificate_of_code(app, certificate.id)}.json").get_json()
    assert status["valid"] is False and status["status"] == "revoked"  # still answers


def certificate_of_code(app, certificate_id: int) -> str:
    with app.app_context():
        return db.session.get(Certificate, certificate_id).verification_code


def test_the_status_list_is_a_signed_bitstring_status_list_credential(app, client):
    issued = issue_certificate(app)
    credential = credential_of(client, issued.uuid)
    url = credential["credentialStatus"]["statusListCredential"]

    response = fetch_list(client, url)
    listed = verified(client, response.get_data(as_text=True))

    assert listed["@context"] == ["https://www.w3.org/ns/credentials/v2"]
    assert listed["id"] == url
    assert listed["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert listed["issuer"] == credential["issuer"]["id"] == listed["iss"]
    assert listed["validFrom"].endswith("Z")
    subject = listed["credentialSubject"]
    assert subject["type"] == "BitstringStatusList"
    assert subject["statusPurpose"] == "revocation"
    assert (listed["jti"], listed["sub"]) == (url, subject["id"])
    assert len(bitstring(listed)) == STATUS_LIST_ENTRIES // 8 >= 16 * 1024  # 16 KB at least
    assert not any(bitstring(listed))
    # Any site may read it; the copy a verifier keeps lives as long as the list says.
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert f"max-age={subject['ttl'] // 1000}" in response.headers["Cache-Control"]
    # The JSON form, to read, says the same without the signature.
    readable = client.get(url.removeprefix(SITE) + ".json")
    assert readable.mimetype == "application/json"
    claims = {"iss", "sub", "jti", "nbf", "iat", "validFrom"}
    assert ({k: v for k, v in readable.get_json().items() if k not in claims}
            == {k: v for k, v in listed.items() if k not in claims})


def test_each_bit_is_its_own_certificate(app, client):
    first, second, third = (issue_certificate(app, name=f"Person {n}") for n in range(3))
    credentials = [credential_of(client, issued.uuid) for issued in (first, second, third)]

    revoke(app, second.id)

    assert [revocation_bit(client, c) for c in credentials] == [0, 1, 0]


def test_an_unknown_list_is_not_found(client):
    assert client.get("/credentials/status/6f1c1a8e-0000-4000-8000-000000000000").status_code \
        == 404


# --- Positions


def test_positions_are_unique_random_and_given_once(app, ctx, monkeypatch):
    """A bulk run (two batches) and single issues: every certificate gets its own position,
    drawn at random (not in issue order), in the one list that fills."""
    monkeypatch.setattr(runs, "BATCH_SIZE", 25)
    from tests.factories import UserFactory

    organizer = UserFactory()
    built = event_with_attendees(60, organizer)
    db.session.commit()
    for registration in built.registrations[:10]:
        CertificateService.issue(registration, organizer)
    db.session.commit()
    IssueRunService.start(built.event, organizer)
    db.session.commit()  # the run's job runs inline, after the commit

    taken = positions(built.event.id)
    assert len(taken) == 60
    assert len(set(taken)) == 60
    (status_list,) = db.session.scalars(sa.select(StatusList)).all()
    assert {list_id for list_id, _ in taken} == {status_list.id}
    assert status_list.allocated == 60 and status_list.is_filling
    indexes = [index for _, index in taken]
    assert all(0 <= index < STATUS_LIST_ENTRIES for index in indexes)
    assert indexes != sorted(indexes) and max(indexes) > 1000  # not handed out in order


def test_a_full_list_is_closed_and_the_next_one_opened(app, client):
    first = issue_certificate(app)
    with app.app_context():
        db.session.execute(sa.update(StatusList).values(allocated=STATUS_LIST_ENTRIES - 1))
        db.session.commit()

    last, overflow = issue_certificate(app), issue_certificate(app)

    with app.app_context():
        lists = db.session.scalars(sa.select(StatusList).order_by(StatusList.id)).all()
        assert [(s.allocated, s.is_filling) for s in lists] == [(STATUS_LIST_ENTRIES, None),
                                                                 (1, True)]
        placed = {c.id: (c.status_list_id, c.status_list_index)
                  for c in db.session.scalars(sa.select(Certificate))}
    assert placed[first.id][0] == placed[last.id][0] == lists[0].id
    assert placed[first.id][1] != placed[last.id][1]
    assert placed[overflow.id][0] == lists[1].id
    revoke(app, overflow.id)
    assert revocation_bit(client, credential_of(client, last.uuid)) == 0
    assert revocation_bit(client, credential_of(client, first.uuid)) == 0
    with app.app_context():
        url = db.session.get(StatusList, lists[1].id).credential_url()
    listed = verified(client, fetch_list(client, url).get_data(as_text=True))
    index = placed[overflow.id][1]
    assert (bitstring(listed)[index // 8] >> (7 - index % 8)) & 1 == 1


def test_a_certificate_issued_again_after_a_revocation_gets_a_new_position(
        app, client, organizer):
    data = completed_event_of(app, organizer, 1)
    page = f"/events/{data.event_uuid}/certificates"
    row = f"{page}/{data.registrations[0]}"
    token = csrf_token(client, page)
    client.post(row + "/issue", data={"csrf_token": token})
    old = certificate_of(app, data.registrations[0])
    old_credential = credential_of(client, old.uuid)
    client.post(row + "/revoke", data={"csrf_token": token, "reason": "Wrong name"})

    client.post(row + "/issue", data={"csrf_token": token})

    new = certificate_of(app, data.registrations[0])
    assert new.id != old.id
    assert (new.list_id, new.position) != (old.list_id, old.position)
    assert revocation_bit(client, old_credential) == 1
    assert revocation_bit(client, credential_of(client, new.uuid)) == 0


def test_the_certificate_of_a_soft_deleted_event_keeps_a_working_status(app, client):
    issued = issue_certificate(app)
    with app.app_context():
        db.session.get(Event, issued.event_id).soft_delete()
        db.session.commit()

    credential = credential_of(client, issued.uuid)
    assert revocation_bit(client, credential) == 0
    revoke(app, issued.id)
    assert revocation_bit(client, credential) == 1


def test_a_refused_batch_leaves_no_certificate_and_no_reused_position(app, ctx):
    """Positions drawn for certificates that were then refused are simply not used."""
    from tests.factories import UserFactory

    organizer = UserFactory()
    built = event_with_attendees(2, organizer)
    db.session.commit()
    winner = CertificateService.issue(built.registrations[0], organizer)
    db.session.commit()
    late = CertificateService.prepare(built.registrations[1], organizer)
    duplicate = CertificateService.prepare(built.registrations[1], organizer)

    refused = save_certificates([late, duplicate])

    assert [certificate for certificate, _ in refused] == [duplicate]
    db.session.commit()
    taken = positions(built.event.id)
    assert len(taken) == len(set(taken)) == 2
    assert (winner.status_list_id, winner.status_list_index) in taken


def test_concurrent_issuers_never_draw_the_same_position(make_app):
    """Twelve certificates issued at the same moment, before any list exists: one list is
    opened, and the positions are all different (the list's lock, not luck)."""
    attempts = 12
    app = make_app(
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": attempts, "max_overflow": attempts + 10}
    )
    with app.app_context():
        from tests.factories import UserFactory

        organizer = UserFactory()
        built = event_with_attendees(attempts, organizer)
        db.session.commit()
        organizer_id, event_id = organizer.id, built.event.id
        registration_ids = [r.id for r in built.registrations]
        db.session.remove()

    def prepare(registration_id: int):
        registration = db.session.get(Registration, registration_id)
        organizer = db.session.get(User, organizer_id)
        return lambda: CertificateService.issue(registration, organizer)

    assert race(app, registration_ids, prepare) == []
    with app.app_context():
        taken = positions(event_id)
        lists = db.session.scalars(sa.select(StatusList)).all()
    assert len(taken) == len(set(taken)) == attempts
    assert [(s.allocated, s.is_filling) for s in lists] == [(attempts, True)]


# --- The migration


def test_the_migration_gives_every_existing_certificate_a_position(
        scratch_database_url, tmp_path):  # noqa: F811
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from flask_migrate import downgrade, upgrade

    from app import create_app
    from tests.conftest import base_config
    from tests.core.test_migrations import MIGRATIONS

    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    before = ScriptDirectory.from_config(config).get_revision(
        "0019_statuslist_positions").down_revision
    scratch = create_app(base_config(scratch_database_url, tmp_path))
    with scratch.app_context():
        try:
            upgrade()
            issued = [issue_certificate(scratch, name=f"Person {n}") for n in range(3)]
            with scratch.test_client() as client:
                credential_of(client, issued[0].uuid)  # a stored credential, signed
            db.session.remove()
            downgrade(revision=before)  # certificates without positions, as before

            upgrade()

            with db.engine.connect() as connection:
                rows = connection.execute(sa.text(
                    "SELECT status_list_id, status_list_index FROM certificates"
                )).all()
                lists = connection.execute(sa.text(
                    "SELECT id, allocated, is_filling FROM status_lists"
                )).all()
                stored = connection.execute(sa.text(
                    "SELECT count(*) FROM certificate_credentials"
                )).scalar()
            assert len(rows) == 3 and len(set(rows)) == 3
            assert [(allocated, bool(filling)) for _, allocated, filling in lists] == [(3, True)]
            assert {list_id for list_id, _ in rows} == {lists[0][0]}
            assert all(0 <= index < STATUS_LIST_ENTRIES for _, index in rows)
            assert stored == 0  # signed again, with the entry, on next use
            with scratch.test_client() as client:
                again = credential_of(client, issued[0].uuid)
                assert again["credentialStatus"]["type"] == "BitstringStatusListEntry"
                assert revocation_bit(client, again) == 0
        finally:
            db.session.remove()
            db.engine.dispose()

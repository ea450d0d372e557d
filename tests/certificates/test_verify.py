"""The public verification page, its JSON twin and the credential downloads."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from app.core.types import utcnow
from app.extensions import db
from tests.certificates.credential_helpers import issue_certificate, revoke
from tests.conftest import create_user, log_in


def test_a_valid_certificate_says_so_with_its_facts_and_the_signing_key(app, client):
    issued = issue_certificate(app, name="Ada Lovelace", title="Cardiology update",
                               credits="6.5", organizer_name="Heart Society")

    response = client.get(f"/verify/{issued.code}")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Valid" in html and "Revoked" not in html
    assert "Ada Lovelace" in html and "Cardiology update" in html
    assert "Heart Society" in html and "6.5" in html and issued.code in html
    kid = client.get("/.well-known/jwks.json").get_json()["keys"][0]["kid"]
    assert f"signature verified with key {kid}" in html
    assert f"/certificates/{issued.uuid}/credential.jwt" in html
    assert 'name="csrf_token"' not in html  # safe for the page cache


def test_the_json_status_of_a_valid_certificate(app, client):
    issued = issue_certificate(app)

    response = client.get(f"/verify/{issued.code}.json")

    body = response.get_json()
    assert response.status_code == 200
    assert body["valid"] is True and body["status"] == "active"
    assert body["revoked_at"] is None and body["reason"] is None
    assert body["signature"]["verified"] is True and body["signature"]["kid"]
    assert body["credential"]["id"] == f"urn:uuid:{issued.uuid}"
    again = client.get(f"/verify/{issued.code}.json")  # from the page cache this time
    for answer in (response, again):
        assert answer.headers["Access-Control-Allow-Origin"] == "*"
        assert "max-age=60" in answer.headers["Cache-Control"]
        assert answer.mimetype == "application/json"
    assert again.get_json() == body


def test_a_revoked_certificate_says_revoked_with_date_and_reason(app, client):
    issued = issue_certificate(app)
    assert "Valid" in client.get(f"/verify/{issued.code}").get_data(as_text=True)  # cached

    revoke(app, issued.id, "Attendance was recorded for the wrong person")

    html = client.get(f"/verify/{issued.code}").get_data(as_text=True)
    assert "Revoked" in html and "Valid</strong>" not in html
    assert "Attendance was recorded for the wrong person" in html
    body = client.get(f"/verify/{issued.code}.json").get_json()
    assert body["valid"] is False and body["status"] == "revoked"
    assert body["reason"] == "Attendance was recorded for the wrong person"
    assert datetime.fromisoformat(body["revoked_at"]) > utcnow() - timedelta(minutes=5)
    assert body["signature"]["verified"] is True  # genuine, but no longer valid


def test_a_revoked_certificate_credential_is_no_longer_handed_out(app, client):
    issued = issue_certificate(app)
    revoke(app, issued.id)

    for extension in ("jwt", "json"):
        response = client.get(f"/certificates/{issued.uuid}/credential.{extension}")
        assert response.status_code == 410
        assert "revoked" in response.get_data(as_text=True)


def test_the_page_cache_serves_anonymous_visitors_until_a_revocation(app, client):
    issued = issue_certificate(app, name="Ada Lovelace")
    client.get(f"/verify/{issued.code}")
    with app.app_context():  # a change the page cache cannot see: it keeps serving the page
        db.session.execute(sa.text("UPDATE certificates SET attendee_name = 'Changed'"))
        db.session.commit()

    assert "Ada Lovelace" in client.get(f"/verify/{issued.code}").get_data(as_text=True)
    revoke(app, issued.id)
    html = client.get(f"/verify/{issued.code}").get_data(as_text=True)
    assert "Revoked" in html and "Changed" in html


@pytest.mark.parametrize("code", [
    "ABCDEFGHJKMNPQRSTVWX",  # well formed, issued to nobody
    "A",
    "ABCDEFGHJKMNPQRSTVWXY",  # one too many
    "O0O0O0O0O0O0O0O0O0O0",  # letters the codes never use
    "' OR 1=1 --",
    "%ff%fe",
    "%E2%9C%93" * 10,
    "x" * 5000,
    "..",
])
def test_unknown_and_malformed_codes_are_the_normal_404(client, code):
    for path in (f"/verify/{code}", f"/verify/{code}.json"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Traceback" not in response.get_data(as_text=True)
    assert "Page not found" in client.get(f"/verify/{code}").get_data(as_text=True)


def test_a_code_with_a_nul_character_is_refused_as_a_bad_request(client):
    """NUL is refused for every request before any view reads it (app/core/fields.register)."""
    for path in ("/verify/%00%ff", "/verify/%00%ff.json"):
        response = client.get(path)
        assert response.status_code == 400, path
        assert "Traceback" not in response.get_data(as_text=True)


def test_a_code_typed_in_lower_case_still_verifies(app, client):
    issued = issue_certificate(app)

    assert client.get(f"/verify/{issued.code.lower()}").status_code == 200


def test_the_downloads_are_attachments_that_match_the_status_answer(app, client):
    issued = issue_certificate(app)

    jwt_response = client.get(f"/certificates/{issued.uuid}/credential.jwt")
    json_response = client.get(f"/certificates/{issued.uuid}/credential.json")

    assert jwt_response.mimetype == "application/vc+jwt"
    assert jwt_response.headers["Content-Disposition"] == \
        f'attachment; filename="certificate-{issued.code}.jwt"'
    assert json_response.headers["Content-Disposition"] == \
        f'attachment; filename="certificate-{issued.code}.json"'
    credential = json.loads(json_response.get_data(as_text=True))
    assert credential == client.get(f"/verify/{issued.code}.json").get_json()["credential"]
    assert jwt_response.get_data(as_text=True).count(".") == 2


def test_a_logged_in_attendee_sees_the_same_answer(app):
    issued = issue_certificate(app)
    create_user(app, email="someone@example.com")
    client = app.test_client()
    log_in(client, "someone@example.com")

    html = client.get(f"/verify/{issued.code}").get_data(as_text=True)

    assert "Valid" in html and issued.code in html

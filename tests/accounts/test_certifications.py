"""Certifications on the profile: list, add (with its checks), remove, and "download my data"."""

import json
from datetime import date, timedelta

import sqlalchemy as sa
from babel.dates import format_date

from app.accounts.models import UserCertification
from app.core.types import utcnow
from app.extensions import db
from tests.conftest import create_user, csrf_token, log_in, post_form

PAGE = "/account/certifications"


def certifications(app, user_id):
    with app.app_context():
        return db.session.scalars(
            sa.select(UserCertification).where(UserCertification.user_id == user_id)
        ).all()


def test_the_page_needs_a_login_and_is_in_the_account_navigation(app, client):
    assert client.get(PAGE).headers["Location"].startswith("/login?next=")
    create_user(app, email="ada@example.com")
    log_in(client, "ada@example.com")
    page = client.get(PAGE).get_data(as_text=True)
    assert "No certifications yet." in page
    assert f'href="{PAGE}" aria-current="page"' in page
    assert f'href="{PAGE}"' in client.get("/account/profile").get_data(as_text=True)


def test_add_list_and_remove_a_certification(app, client):
    user = create_user(app, email="ada@example.com")
    log_in(client, "ada@example.com")
    next_year = (utcnow().date() + timedelta(days=365)).isoformat()
    added = post_form(client, PAGE, {"cert_type": " ACLS ", "issuer": "Resus Council",
                                     "issued_on": "2024-03-01", "expires_on": next_year},
                      follow_redirects=True)
    assert "“ACLS” is added to your certifications." in added.get_data(as_text=True)
    post_form(client, PAGE, {"cert_type": "BLS", "expires_on": "2020-01-31"})
    post_form(client, PAGE, {"cert_type": "Radiation safety"})

    page = client.get(PAGE).get_data(as_text=True)
    issued = format_date(date(2024, 3, 1), "EEE d MMM y", locale="en")  # "Fri 1 Mar 2024"
    assert "Resus Council" in page and issued in page
    assert page.count("badge-expired") == 1  # BLS
    assert "Does not expire" in page
    [acls, bls, radiation] = certifications(app, user.id)
    assert (acls.cert_type, acls.issued_on) == ("ACLS", date(2024, 3, 1))
    assert bls.expires_on == date(2020, 1, 31) and radiation.expires_on is None

    removed = post_form(client, f"{PAGE}/{bls.uuid}/delete", page=PAGE, follow_redirects=True)
    assert "“BLS” is removed." in removed.get_data(as_text=True)
    assert [c.cert_type for c in certifications(app, user.id)] == ["ACLS", "Radiation safety"]


def test_bad_input_is_refused_with_a_message_and_nothing_saved(app, client):
    user = create_user(app, email="ada@example.com")
    log_in(client, "ada@example.com")
    backwards = post_form(client, PAGE, {"cert_type": "ACLS", "issued_on": "2024-05-01",
                                         "expires_on": "2024-04-30"})
    assert backwards.status_code == 422
    assert "It cannot expire before it was issued." in backwards.get_data(as_text=True)
    assert 'value="ACLS"' in backwards.get_data(as_text=True)  # nothing typed is lost
    assert post_form(client, PAGE, {"cert_type": " "}).status_code == 422
    assert post_form(client, PAGE, {"cert_type": "X" * 101}).status_code == 422
    assert post_form(client, PAGE, {"cert_type": "ACLS", "issued_on": "31/31/2024"}
                     ).status_code == 422
    assert certifications(app, user.id) == []


def test_nobody_removes_someone_elses_certification(app, client):
    owner = create_user(app, email="owner@example.com")
    create_user(app, email="other@example.com")
    with app.app_context():
        cert = UserCertification(user_id=owner.id, cert_type="ACLS")
        db.session.add(cert)
        db.session.commit()
        cert_uuid = cert.uuid
    log_in(client, "other@example.com")
    token = csrf_token(client, PAGE)
    response = client.post(f"{PAGE}/{cert_uuid}/delete", data={"csrf_token": token})
    assert response.status_code == 404
    assert len(certifications(app, owner.id)) == 1
    assert client.post(f"{PAGE}/{cert_uuid}/delete").status_code == 400  # no CSRF token


def test_certifications_are_in_download_my_data(app, client):
    create_user(app, email="ada@example.com")
    log_in(client, "ada@example.com")
    post_form(client, PAGE, {"cert_type": "ACLS", "issuer": "Resus Council",
                             "issued_on": "2024-03-01", "expires_on": "2026-03-01"})
    data = json.loads(client.get("/account/data.json").data)["data"]
    assert data["account"]["certifications"] == [{
        "cert_type": "ACLS", "issuer": "Resus Council",
        "issued_on": "2024-03-01", "expires_on": "2026-03-01",
    }]

"""Editing the profile, downloading "my data", and deleting the account (seed 003 GDPR)."""

import json
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel.dates import format_datetime

from app.accounts.models import User, UserSession
from app.extensions import db
from app.mailing.models import EmailLog
from app.states import UserStatus
from tests.conftest import PASSWORD, create_user, log_in, post_form, read_mail

PROFILE = {
    "full_name": "Dr Ada Lovelace",
    "professional_title": "Consultant analyst",
    "credentials": "PhD, FRS",
    "bio": "Writes notes on the Analytical Engine.",
    "timezone": "Europe/Paris",
}


def sessions(app):
    with app.app_context():
        return db.session.scalars(sa.select(UserSession)).all()


def load_user(app, user_id):
    with app.app_context():
        query = sa.select(User).where(User.id == user_id).execution_options(include_deleted=True)
        return db.session.scalar(query)


def test_edit_profile(app, client):
    user = create_user(app, email="ada@example.com")
    log_in(client, "ada@example.com")
    response = post_form(client, "/account/profile", PROFILE)
    assert response.status_code == 303
    saved = load_user(app, user.id)
    for name, value in PROFILE.items():
        assert getattr(saved, name) == value
    page = client.get("/account/profile").get_data(as_text=True)
    assert "Consultant analyst" in page


def test_profile_errors_change_nothing(app, client):
    user = create_user(app, email="ada@example.com", full_name="Ada")
    log_in(client, "ada@example.com")
    too_long = post_form(client, "/account/profile", {**PROFILE, "credentials": "X" * 201})
    assert too_long.status_code == 422
    bad_zone = post_form(client, "/account/profile", {**PROFILE, "timezone": "Nowhere/City"})
    assert bad_zone.status_code == 422
    no_name = post_form(client, "/account/profile", {**PROFILE, "full_name": ""})
    assert no_name.status_code == 422
    assert load_user(app, user.id).full_name == "Ada"


def test_times_are_shown_in_the_viewers_timezone(app, client):
    create_user(app, email="ada@example.com", timezone="Asia/Tokyo")
    log_in(client, "ada@example.com")
    page = client.get("/account/sessions").get_data(as_text=True)
    [session] = sessions(app)
    seen = session.last_seen_at
    tokyo = format_datetime(seen, "EEE d MMM y, HH:mm", tzinfo=ZoneInfo("Asia/Tokyo"), locale="en")
    utc = format_datetime(seen, "EEE d MMM y, HH:mm", tzinfo=ZoneInfo("UTC"), locale="en")
    assert f'title="{tokyo}"' in page
    assert tokyo != utc  # Tokyo is UTC+9 all year


def test_download_my_data(app, client):
    create_user(app, email="ada@example.com", full_name="Ada Lovelace")
    log_in(client, "ada@example.com")
    post_form(client, "/forgot-password", {"email": "ada@example.com"})  # one email on record
    response = client.get("/account/data.json")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.data)["data"]
    assert data["account"]["email"] == "ada@example.com"
    assert data["account"]["full_name"] == "Ada Lovelace"
    assert len(data["account"]["login_sessions"]) == 1
    assert [e["template"] for e in data["emails"]] == ["reset_password"]


def test_delete_account_anonymises_everything(app, client):
    user = create_user(app, email="ada@example.com", full_name="Ada Lovelace", bio="Notes")
    other_device = app.test_client()
    log_in(other_device, "ada@example.com")
    log_in(client, "ada@example.com")
    post_form(client, "/forgot-password", {"email": "ada@example.com"})
    reset_mail = read_mail(app)[0]

    response = post_form(client, "/account/delete", {"password": PASSWORD}, page="/account/privacy")
    assert response.status_code == 200
    assert "Your account is deleted" in response.get_data(as_text=True)

    gone = load_user(app, user.id)
    assert gone.deleted_at is not None
    assert gone.status == UserStatus.DELETED
    assert gone.email == f"deleted-{gone.uuid}@anonymized.local"
    assert gone.full_name == "Deleted User"
    assert (gone.professional_title, gone.credentials, gone.bio) == ("", "", "")
    assert gone.password_hash is None
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(UserSession)) == 0
        [log] = db.session.scalars(sa.select(EmailLog)).all()
        assert log.recipient == gone.email
        assert log.context is None

    # Logged out everywhere, cannot log in, and the old reset link is dead.
    assert client.get("/account/profile").status_code == 302
    assert other_device.get("/account/profile").status_code == 302
    refused = post_form(client, "/login", {"email": "ada@example.com", "password": PASSWORD})
    assert refused.status_code == 422
    reset_path = reset_mail.get_body(("plain",)).get_content().split("http://localhost")[1].split()[0]
    assert client.get(reset_path).status_code == 400

    # The address is free again: a new sign-up makes a new account.
    again = post_form(client, "/signup", {"full_name": "Ada", "email": "ada@example.com",
                                          "password": PASSWORD, "timezone": "UTC"})
    assert again.status_code == 303


def test_delete_needs_the_current_password(app, client):
    user = create_user(app, email="ada@example.com")
    log_in(client, "ada@example.com")
    response = post_form(client, "/account/delete", {"password": "wrong"}, page="/account/privacy")
    assert response.status_code == 422
    assert "not your current password" in response.get_data(as_text=True)
    assert load_user(app, user.id).deleted_at is None
    assert client.get("/account/profile").status_code == 200


def test_certifications_are_in_my_data_and_deleted_with_the_account(app, client):
    from datetime import date

    from app.accounts.models import UserCertification

    user = create_user(app, email="ada@example.com", full_name="Ada Lovelace")
    with app.app_context():
        db.session.add(UserCertification(user_id=user.id, cert_type="ACLS", issuer="Resus Council",
                                         issued_on=date(2024, 1, 1), expires_on=date(2030, 1, 1)))
        db.session.commit()
    log_in(client, "ada@example.com")
    data = json.loads(client.get("/account/data.json").data)["data"]
    assert data["account"]["certifications"] == [{
        "cert_type": "ACLS", "issuer": "Resus Council", "issued_on": "2024-01-01",
        "expires_on": "2030-01-01",
    }]

    response = post_form(client, "/account/delete", {"password": PASSWORD}, page="/account/privacy")
    assert response.status_code == 200
    with app.app_context():
        count = sa.select(sa.func.count()).select_from(UserCertification)
        assert db.session.scalar(count) == 0

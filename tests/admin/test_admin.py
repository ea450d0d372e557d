"""The admin panel: users (search, filter, deactivate), email templates, email log, jobs."""

import sqlalchemy as sa

from app.accounts.models import User
from app.extensions import db
from app.jobs import JobFailure, JobFailureStatus
from app.mailing.models import EmailLog, EmailStatus, EmailTemplate
from app.mailing.services import seed_default_templates
from app.states import UserStatus
from tests.conftest import create_user, csrf_token, log_in


def admin_client(app):
    create_user(app, email="admin@example.com", is_admin=True)
    client = app.test_client()
    log_in(client, "admin@example.com")
    return client


def test_dashboard_counts(app):
    client = admin_client(app)
    create_user(app, email="new@example.com", status=UserStatus.UNVERIFIED)
    page = client.get("/admin/").get_data(as_text=True)
    assert ">Active</a>: <strong>1</strong>" in page
    assert ">Unverified</a>: <strong>1</strong>" in page


def test_users_can_be_searched_and_filtered(app):
    client = admin_client(app)
    create_user(app, email="grace@example.com", full_name="Grace Hopper")
    create_user(
        app, email="alan@example.com", full_name="Alan Turing", status=UserStatus.DEACTIVATED
    )

    found = client.get("/admin/user/?search=hopper").get_data(as_text=True)
    assert "grace@example.com" in found and "alan@example.com" not in found

    # The first filter is "status equals"; Flask-Admin numbers filters by position.
    deactivated = client.get("/admin/user/?flt0_0=deactivated")
    assert deactivated.status_code == 200
    page = deactivated.get_data(as_text=True)
    assert "alan@example.com" in page and "grace@example.com" not in page


def test_every_status_filter_works(app):
    client = admin_client(app)
    for path in ("/admin/user/", "/admin/emaillog/", "/admin/jobfailure/", "/admin/emailtemplate/"):
        assert client.get(f"{path}?flt0_0=x").status_code == 200, path


def test_deactivating_a_user_logs_them_out(app):
    client = admin_client(app)
    target = create_user(app, email="grace@example.com")
    grace = app.test_client()
    log_in(grace, "grace@example.com")

    token = csrf_token(client, "/admin/user/")
    response = client.post(
        "/admin/user/action/",
        data={"csrf_token": token, "action": "deactivate", "rowid": [str(target.id)]},
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(User, target.id).status == UserStatus.DEACTIVATED
    assert grace.get("/account/profile").status_code == 302

    # Deactivating again is refused with a message, not an error page.
    again = client.post(
        "/admin/user/action/",
        data={"csrf_token": token, "action": "deactivate", "rowid": [str(target.id)]},
        follow_redirects=True,
    )
    assert again.status_code == 200
    assert "Cannot deactivate: the account is deactivated." in again.get_data(as_text=True)


def test_admin_actions_need_the_csrf_token(app):
    client = admin_client(app)
    target = create_user(app, email="grace@example.com")
    data = {"action": "deactivate", "rowid": [target.id]}
    response = client.post("/admin/user/action/", data=data)
    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(User, target.id).status == UserStatus.ACTIVE


def edit_template(client, template_id, **fields):
    data = {
        "internal_name": "verify_email",
        "display_name": "Confirm your email address",
        "description": "",
        "template_type": "transactional",
        "variables": '["user_name", "verify_url", "site_url"]',
        "subject": "Confirm your address",
        "content_text": "Hello {{ user_name }}: {{ verify_url }}",
        "content_html": "",
        "is_active": "y",
        **fields,
    }
    token = csrf_token(client, f"/admin/emailtemplate/edit/?id={template_id}")
    return client.post(
        f"/admin/emailtemplate/edit/?id={template_id}", data={**data, "csrf_token": token}
    )


def seeded_template_id(app, name="verify_email"):
    with app.test_request_context():
        seed_default_templates()
        db.session.commit()
        query = sa.select(EmailTemplate.id).where(EmailTemplate.internal_name == name)
        return db.session.scalar(query)


def stored_subject(app, template_id):
    with app.app_context():
        return db.session.get(EmailTemplate, template_id).subject


def test_email_template_with_a_syntax_error_is_refused_with_the_line(app):
    client = admin_client(app)
    template_id = seeded_template_id(app)
    response = edit_template(client, template_id, content_text="Hello\n{{ user_name }\n")
    assert response.status_code == 200
    assert "Line 2:" in response.get_data(as_text=True)
    assert stored_subject(app, template_id) == "Confirm your email address for Convene"


def test_email_template_with_an_unknown_variable_is_refused(app):
    client = admin_client(app)
    template_id = seeded_template_id(app)
    response = edit_template(client, template_id, subject="Hi {{ password }}")
    assert "Unknown variable: password" in response.get_data(as_text=True)
    assert stored_subject(app, template_id) == "Confirm your email address for Convene"


def test_a_valid_template_edit_is_used_for_the_next_message(app):
    client = admin_client(app)
    template_id = seeded_template_id(app)
    response = edit_template(client, template_id, subject="Welcome aboard, {{ user_name }}")
    assert response.status_code == 302
    assert stored_subject(app, template_id) == "Welcome aboard, {{ user_name }}"
    with app.app_context():
        template = EmailTemplate.get_for("verify_email")
        rendered = template.render({"user_name": "Ada", "verify_url": "x", "site_url": "y"})
        assert rendered.subject == "Welcome aboard, Ada"


def test_email_log_hides_the_message_context(app):
    client = admin_client(app)
    with app.app_context():
        entry = EmailLog(
            template_name="reset_password", recipient="ada@example.com",
            status=EmailStatus.QUEUED, context={"reset_url": "http://secret-link"},
        )
        db.session.add(entry)
        db.session.commit()
        entry_id = entry.id
    listing = client.get("/admin/emaillog/").get_data(as_text=True)
    assert "ada@example.com" in listing
    details = client.get(f"/admin/emaillog/details/?id={entry_id}").get_data(as_text=True)
    assert "ada@example.com" in details
    assert "secret-link" not in details


def test_a_dead_job_can_be_retried(app):
    client = admin_client(app)
    with app.app_context():
        failure = JobFailure(
            func="app.mailing.jobs:deliver_email", args=[1], attempts=4,
            status=JobFailureStatus.DEAD, error="Traceback: boom",
        )
        db.session.add(failure)
        db.session.commit()
        failure_id = failure.id
    token = csrf_token(client, "/admin/jobfailure/")
    client.post(
        "/admin/jobfailure/action/",
        data={"csrf_token": token, "action": "retry", "rowid": [str(failure_id)]},
    )
    with app.app_context():
        failure = db.session.get(JobFailure, failure_id)
        assert failure.status == JobFailureStatus.RETRYING
        assert failure.next_attempt_at is not None

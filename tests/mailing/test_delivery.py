"""Sending email: logged in the request's transaction, delivered by a job after the commit."""

import smtplib
import ssl
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import jobs
from app.accounts.models import User
from app.core import privacy
from app.core.types import utcnow
from app.extensions import db
from app.jobs import JobFailure, JobFailureStatus, execute, tick
from app.mailing.backends import FileBackend, SMTPBackend, get_backend
from app.mailing.defaults import DEFAULTS
from app.mailing.jobs import deliver_email
from app.mailing.models import EmailLog, EmailStatus, EmailTemplate
from app.mailing.services import MailService, anonymise_emails, export_emails
from tests.conftest import create_user, mail_text, read_mail

DELIVER = "app.mailing.jobs:deliver_email"


def logs() -> list[EmailLog]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(EmailLog).order_by(EmailLog.id)))


def failures() -> list[JobFailure]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(JobFailure).order_by(JobFailure.id)))


def queue_log(**fields) -> int:
    """A QUEUED log row committed without a delivery job (as if the job were lost)."""
    values = {
        "template_name": "verify_email",
        "recipient": "ada@example.com",
        "context": {"user_name": "Ada", "verify_url": "http://localhost/verify/abc"},
    }
    entry = EmailLog(**{**values, **fields})
    db.session.add(entry)
    db.session.commit()
    return entry.id


@pytest.fixture
def no_periodic(monkeypatch):
    """Ticks in these tests only retry: the periodic tasks are tested in tests/jobs."""
    monkeypatch.setattr(jobs, "_periodic", {})


# --- Sending after the commit


def test_a_message_is_delivered_once_the_request_commits(app, ctx):
    before = utcnow()
    entry = MailService.send(
        "verify_email",
        "Ada@Example.com",
        {"user_name": "Ada <Lovelace>", "verify_url": "http://localhost/verify/abc"},
    )
    assert entry.status == EmailStatus.QUEUED
    assert read_mail(app) == []  # nothing leaves before the commit
    db.session.commit()

    [message] = read_mail(app)
    assert message["To"] == "ada@example.com"
    assert message["From"] == app.config["MAIL_DEFAULT_SENDER"]
    assert message["Subject"] == "Confirm your email address for Convene"
    assert message["Message-ID"]
    text = mail_text(message)
    assert "Hello Ada <Lovelace>," in text
    assert "http://localhost/verify/abc" in text
    assert "http://localhost" in text.split("—")[-1]  # site_url in the footer
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "Hello Ada &lt;Lovelace&gt;," in html
    assert 'href="http://localhost/verify/abc"' in html

    [log] = logs()
    assert log.status == EmailStatus.SENT
    assert before <= log.sent_at <= utcnow()
    assert log.subject == "Confirm your email address for Convene"
    assert log.context is None  # the link does not outlive the message
    assert log.attempts == 1
    assert log.error == ""
    assert log.recipient == "ada@example.com"


def test_the_message_uses_an_admins_template(app, ctx):
    db.session.add(
        EmailTemplate(
            internal_name="verify_email",
            display_name="Verify",
            subject="Welcome, {{ user_name }}",
            content_text="Click {{ verify_url }}",
            content_html=None,
            variables=["user_name", "verify_url"],
        )
    )
    db.session.commit()
    MailService.send("verify_email", "ada@example.com", {"user_name": "Ada", "verify_url": "u"})
    db.session.commit()
    [message] = read_mail(app)
    assert message["Subject"] == "Welcome, Ada"
    assert not message.is_multipart()
    assert message.get_content().strip() == "Click u"
    assert logs()[0].subject == "Welcome, Ada"


def test_the_log_links_to_the_user(app, ctx):
    user = create_user(app, email="ada@example.com")
    MailService.send("password_changed", user.email, {"user_name": "Ada"}, user=user)
    db.session.commit()
    [log] = logs()
    assert log.user_id == user.id
    assert log.template_name == "password_changed"


def test_a_rolled_back_request_sends_nothing(app, ctx):
    MailService.send("verify_email", "ada@example.com", {"user_name": "Ada", "verify_url": "u"})
    db.session.rollback()
    db.session.commit()  # a later commit in the same session does not resurrect the job
    assert read_mail(app) == []
    assert logs() == []


def test_an_unknown_template_fails_at_send_time(app, ctx):
    with pytest.raises(LookupError):
        MailService.send("no_such_template", "ada@example.com", {})
    db.session.commit()
    assert logs() == []
    assert read_mail(app) == []


def test_delivering_twice_sends_once(app, ctx):
    log_id = queue_log()
    assert execute(DELIVER, [log_id]) is True
    assert execute(DELIVER, [log_id]) is True
    assert len(read_mail(app)) == 1
    [log] = logs()
    assert log.status == EmailStatus.SENT
    assert log.attempts == 1


def test_delivering_a_deleted_log_does_nothing(app, ctx):
    log_id = queue_log()
    db.session.execute(sa.delete(EmailLog))
    db.session.commit()
    assert execute(DELIVER, [log_id]) is True
    assert read_mail(app) == []
    assert failures() == []


# --- Failures and retries


def test_a_failing_backend_is_retried_by_the_tick(app, ctx, monkeypatch, no_periodic):
    def broken(self, message, message_id):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr(FileBackend, "send", broken)
    before = utcnow()
    MailService.send("verify_email", "ada@example.com", {"user_name": "Ada", "verify_url": "u"})
    db.session.commit()
    after = utcnow()

    [log] = logs()
    assert log.status == EmailStatus.FAILED
    assert log.error == "ConnectionRefusedError: mail server down"
    assert log.context is not None  # kept for the retry
    assert log.attempts == 1
    [failure] = failures()
    assert failure.func == DELIVER
    assert failure.args == [log.id]
    assert failure.queue == "emails"
    assert failure.status == JobFailureStatus.RETRYING
    assert failure.attempts == 1
    assert "mail server down" in failure.error
    assert before + timedelta(minutes=1) <= failure.next_attempt_at
    assert failure.next_attempt_at <= after + timedelta(minutes=1)
    assert read_mail(app) == []

    # Not yet due: the tick leaves it alone.
    assert tick(failure.next_attempt_at - timedelta(seconds=1)) == []
    assert failures()[0].status == JobFailureStatus.RETRYING

    monkeypatch.undo()
    monkeypatch.setattr(jobs, "_periodic", {})
    assert tick(failure.next_attempt_at + timedelta(seconds=1)) == [DELIVER]

    [message] = read_mail(app)
    assert message["To"] == "ada@example.com"
    [log] = logs()
    assert log.status == EmailStatus.SENT
    assert log.error == ""
    assert log.context is None
    assert log.attempts == 2
    [failure] = failures()
    assert failure.status == JobFailureStatus.RESOLVED
    assert failure.next_attempt_at is None


def test_a_template_without_a_default_that_cannot_render_fails_the_delivery(
        app, ctx, no_periodic):
    db.session.add(
        EmailTemplate(
            internal_name="greeting",
            display_name="Greeting",
            subject="Hi {{ user_name }}",
            content_text="{{ not_in_the_context }}",
            variables=["user_name"],
        )
    )
    db.session.commit()
    MailService.send("greeting", "ada@example.com", {"user_name": "Ada"})
    db.session.commit()
    [log] = logs()
    assert log.status == EmailStatus.FAILED
    assert log.error == "RenderFailed: 'not_in_the_context' is undefined"
    assert failures()[0].status == JobFailureStatus.RETRYING
    assert read_mail(app) == []


@pytest.mark.parametrize(
    "content_text",
    [
        "{{ not_in_the_context }}",  # a variable the code does not pass
        "{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}",
        "{% set a = user_name * 10000 %}" + "{% set a = a ~ a %}" * 10,
    ],
)
def test_an_edited_template_that_fails_at_send_time_falls_back_to_the_default(
        app, ctx, no_periodic, caplog, monkeypatch, content_text):
    """A stored template that cannot be rendered (saved before it was checked, or failing
    only with real values) must not leave the person without their link."""
    monkeypatch.setitem(app.config, "TEMPLATE_RENDER_SECONDS", 0.3)
    db.session.add(
        EmailTemplate(
            internal_name="verify_email",
            display_name="Verify",
            subject="Hi {{ user_name }}",
            content_text=content_text,
            variables=["user_name", "verify_url", "site_url"],
        )
    )
    db.session.commit()
    MailService.send("verify_email", "ada@example.com",
                     {"user_name": "Ada", "verify_url": "http://localhost/verify/abc"})
    db.session.commit()

    [message] = read_mail(app)
    assert message["Subject"] == DEFAULTS["verify_email"]["subject"]
    assert "http://localhost/verify/abc" in mail_text(message)
    assert logs()[0].status == EmailStatus.SENT
    [record] = [r for r in caplog.records if r.name == "app.mailing.services"]
    assert record.levelname == "ERROR"
    assert "'verify_email' cannot be rendered" in record.getMessage()
    assert "content_text" in record.getMessage()


# --- Backends


class FakeSMTP:
    """Stands in for smtplib.SMTP / SMTP_SSL and records what the backend asks of it."""

    sessions: list["FakeSMTP"] = []

    def __init__(self, host, port, timeout=None, **kwargs):
        self.host, self.port, self.timeout, self.kwargs = host, port, timeout, kwargs
        self.calls: list[tuple] = []
        FakeSMTP.sessions.append(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.calls.append(("quit",))

    def starttls(self, context=None, **kwargs):
        self.calls.append(("starttls", context))

    def login(self, user, password):
        self.calls.append(("login", user, password))

    def send_message(self, message):
        self.calls.append(("send_message", message))


@pytest.fixture
def fake_smtp(monkeypatch):
    FakeSMTP.sessions = []
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    monkeypatch.setattr(smtplib, "SMTP_SSL", type("FakeSMTPSSL", (FakeSMTP,), {}))
    return FakeSMTP.sessions


def assert_verifies_certificates(context):
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True


SMTP_SETTINGS = {
    "MAIL_BACKEND": "smtp",
    "MAIL_SERVER": "smtp.example.org",
    "MAIL_PORT": 587,
    "MAIL_USERNAME": "convene",
    "MAIL_PASSWORD": "s3cret",
    "MAIL_USE_TLS": True,
    "MAIL_DEFAULT_SENDER": "Convene <events@example.org>",
}


def test_smtp_with_starttls_and_login(make_app, fake_smtp):
    smtp_app = make_app(**SMTP_SETTINGS)
    with smtp_app.test_request_context():
        assert isinstance(get_backend(), SMTPBackend)
        MailService.send("verify_email", "ada@example.com", {"user_name": "Ada", "verify_url": "u"})
        db.session.commit()
        [log] = logs()
        assert log.status == EmailStatus.SENT

    [session] = fake_smtp
    assert type(session).__name__ == "FakeSMTP"
    assert (session.host, session.port, session.timeout) == ("smtp.example.org", 587, 30)
    names = [call[0] for call in session.calls]
    assert names == ["starttls", "login", "send_message", "quit"]
    assert_verifies_certificates(session.calls[0][1])
    assert session.calls[1] == ("login", "convene", "s3cret")
    message = session.calls[2][1]
    assert message["To"] == "ada@example.com"
    assert message["From"] == "Convene <events@example.org>"
    assert message["Subject"] == "Confirm your email address for Convene"
    assert read_mail(smtp_app) == []


def test_smtp_over_ssl_without_login(make_app, fake_smtp):
    settings = {**SMTP_SETTINGS, "MAIL_USE_TLS": False, "MAIL_USE_SSL": True, "MAIL_PORT": 465,
                "MAIL_USERNAME": None, "MAIL_PASSWORD": None}
    smtp_app = make_app(**settings)
    with smtp_app.test_request_context():
        MailService.send("password_changed", "ada@example.com", {"user_name": "Ada"})
        db.session.commit()
    [session] = fake_smtp
    assert type(session).__name__ == "FakeSMTPSSL"
    assert session.port == 465
    assert_verifies_certificates(session.kwargs.get("context"))
    assert [call[0] for call in session.calls] == ["send_message", "quit"]


def test_plain_smtp_neither_encrypts_nor_logs_in_when_not_configured(make_app, fake_smtp):
    settings = {**SMTP_SETTINGS, "MAIL_USE_TLS": False, "MAIL_USERNAME": None}
    smtp_app = make_app(**settings)
    with smtp_app.test_request_context():
        MailService.send("password_changed", "ada@example.com", {"user_name": "Ada"})
        db.session.commit()
    [session] = fake_smtp
    assert [call[0] for call in session.calls] == ["send_message", "quit"]


def test_an_unknown_mail_backend_is_refused(make_app):
    other = make_app(MAIL_BACKEND="carrier-pigeon")
    with other.app_context(), pytest.raises(RuntimeError, match="carrier-pigeon"):
        get_backend()


def test_the_file_backend_writes_one_file_per_message(app, ctx):
    for n in range(3):
        MailService.send("password_changed", f"user{n}@example.com", {"user_name": "U"})
    db.session.commit()
    assert sorted(m["To"] for m in read_mail(app)) == [
        "user0@example.com", "user1@example.com", "user2@example.com"
    ]


# --- Privacy


def test_export_lists_the_users_messages(app, ctx):
    ada = create_user(app, email="ada@example.com")
    bob = create_user(app, email="bob@example.com")
    MailService.send("password_changed", ada.email, {"user_name": "Ada"}, user=ada)
    MailService.send("password_changed", bob.email, {"user_name": "Bob"}, user=bob)
    MailService.send("verify_email", ada.email, {"user_name": "Ada", "verify_url": "u"}, user=ada)
    db.session.commit()

    exported = export_emails(ada)
    assert [row["template"] for row in exported] == ["password_changed", "verify_email"]
    assert {row["recipient"] for row in exported} == {"ada@example.com"}
    assert exported[0]["subject"] == "Your Convene password was changed"
    assert exported[0]["status"] == "sent"
    assert exported[0]["sent_at"] is not None
    # And the registry's "download my data" includes it.
    assert privacy.export_user_data(db.session.get(User, ada.id))["emails"] == exported


def test_anonymising_replaces_the_address_and_clears_the_context(app, ctx):
    ada = create_user(app, email="ada@example.com")
    bob = create_user(app, email="bob@example.com")
    db.session.add(
        EmailTemplate(
            internal_name="password_changed",
            display_name="Password changed",
            subject="{{ user_name }}, your password was changed",
            content_text="Hello {{ user_name }}",
            variables=["user_name"],
        )
    )
    queue_log(user_id=ada.id, recipient=ada.email)
    queue_log(user_id=ada.id, recipient=ada.email, status=EmailStatus.FAILED,
              error="SMTPRecipientsRefused: {'ada@example.com': (550, b'No such user')}")
    MailService.send("password_changed", ada.email, {"user_name": "Ada Lovelace"}, user=ada)
    bob_log = queue_log(user_id=bob.id, recipient=bob.email)
    db.session.commit()
    assert "Ada Lovelace" in export_emails(ada)[-1]["subject"]

    anonymise_emails(ada)
    db.session.commit()

    rows = logs()
    ada_rows = [row for row in rows if row.user_id == ada.id]
    assert len(ada_rows) == 3
    for row in ada_rows:
        assert row.recipient == f"deleted-{ada.uuid}@anonymized.local"
        assert row.context is None
        assert "Ada" not in row.subject and "ada@" not in row.error
    # What was sent, and when, is kept.
    assert [row.template_name for row in ada_rows] == ["verify_email"] * 2 + ["password_changed"]
    assert ada_rows[-1].status == EmailStatus.SENT and ada_rows[-1].sent_at is not None
    bob_row = db.session.get(EmailLog, bob_log)
    assert bob_row.recipient == "bob@example.com"
    assert bob_row.context is not None
    assert all(row["recipient"].startswith("deleted-") for row in export_emails(ada))


def test_deliver_email_is_a_plain_function_taking_an_id():
    # Jobs take primitives: the mail job is enqueued by path with the log's id.
    assert jobs.job_path(deliver_email) == DELIVER


def test_an_email_context_must_be_flat_json_with_identifier_keys(ctx):
    import jsonschema
    import pytest as _pytest

    from app.mailing.models import EmailLog

    with _pytest.raises(jsonschema.ValidationError):
        EmailLog(template_name="verify_email", recipient="a@example.com", context={"Bad Key": 1})
    with _pytest.raises(jsonschema.ValidationError):
        EmailLog(template_name="verify_email", recipient="a@example.com", context={"x": {"y": 1}})

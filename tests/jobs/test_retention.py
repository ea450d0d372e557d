"""Retention jobs (seed 003): old sessions, email logs and resolved failures are removed."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.accounts.models import UserSession
from app.core.bearer import hash_token
from app.core.types import utcnow
from app.extensions import db
from app.jobs import JobFailure, JobFailureStatus, execute, tick
from app.mailing.models import EmailLog, EmailStatus
from tests.conftest import create_user


def add_session(user_id: int, name: str, last_seen_at) -> None:
    db.session.add(
        UserSession(user_id=user_id, token_hash=hash_token(name), last_seen_at=last_seen_at)
    )


def session_names(*names: str) -> set[str]:
    by_hash = {hash_token(name): name for name in names}
    return {by_hash[h] for h in db.session.scalars(sa.select(UserSession.token_hash))}


def add_email_log(subject: str, created_at) -> None:
    db.session.add(
        EmailLog(
            template_name="verify_email",
            recipient="ada@example.com",
            subject=subject,
            status=EmailStatus.SENT,
            created_at=created_at,
        )
    )


def email_subjects() -> set[str]:
    return set(db.session.scalars(sa.select(EmailLog.subject)))


def add_failure(name: str, status: JobFailureStatus, updated_at) -> None:
    db.session.add(
        JobFailure(func=f"tests.jobs.sample_jobs:{name}", args=[], status=status,
                   updated_at=updated_at, created_at=updated_at)
    )


def failure_names() -> set[str]:
    return {f.split(":")[1] for f in db.session.scalars(sa.select(JobFailure.func))}


SESSIONS = ("idle 31 days", "idle 30 days and a minute", "idle 29 days", "active now")


@pytest.fixture
def old_and_new_rows(app, ctx):
    now = utcnow()
    user = create_user(app)
    add_session(user.id, "idle 31 days", now - timedelta(days=31))
    add_session(user.id, "idle 30 days and a minute", now - timedelta(days=30, minutes=1))
    add_session(user.id, "idle 29 days", now - timedelta(days=29))
    add_session(user.id, "active now", now)
    add_email_log("a year and a day old", now - timedelta(days=366))
    add_email_log("a year and a minute old", now - timedelta(days=365, minutes=1))
    add_email_log("364 days old", now - timedelta(days=364))
    add_email_log("new", now)
    add_failure("resolved_91_days_ago", JobFailureStatus.RESOLVED, now - timedelta(days=91))
    add_failure("resolved_89_days_ago", JobFailureStatus.RESOLVED, now - timedelta(days=89))
    add_failure("dead_for_a_year", JobFailureStatus.DEAD, now - timedelta(days=365))
    add_failure("retrying_since_long", JobFailureStatus.RETRYING, now - timedelta(days=365))
    db.session.commit()


def test_sessions_unused_for_30_days_are_deleted(old_and_new_rows):
    assert execute("app.accounts.jobs:purge_inactive_sessions", []) is True
    assert session_names(*SESSIONS) == {"idle 29 days", "active now"}
    # Nothing else was touched.
    assert len(email_subjects()) == 4
    assert len(failure_names()) == 4


def test_email_logs_older_than_a_year_are_deleted(old_and_new_rows):
    assert execute("app.mailing.jobs:purge_old_email_logs", []) is True
    assert email_subjects() == {"364 days old", "new"}
    assert len(session_names(*SESSIONS)) == 4


def test_resolved_failures_older_than_90_days_are_deleted(old_and_new_rows):
    assert execute("app.jobs:purge_resolved_job_failures", []) is True
    # Dead and retrying failures wait for an admin, however old.
    assert failure_names() == {"resolved_89_days_ago", "dead_for_a_year", "retrying_since_long"}


def test_one_tick_runs_every_retention_job(old_and_new_rows):
    started = tick()
    assert {
        "app.accounts.jobs:purge_inactive_sessions",
        "app.mailing.jobs:purge_old_email_logs",
        "app.jobs:purge_resolved_job_failures",
    } <= set(started)
    db.session.expire_all()
    assert session_names(*SESSIONS) == {"idle 29 days", "active now"}
    assert email_subjects() == {"364 days old", "new"}
    assert failure_names() == {"resolved_89_days_ago", "dead_for_a_year", "retrying_since_long"}

"""With REDIS_URL set, jobs go to RQ queues after the commit and a worker runs them.

Parametrised over fakeredis and a real Redis (TEST_REDIS_URL; required under CI=true).
Only the app's own queues are emptied, never the whole database.
"""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from rq import Queue, SimpleWorker
from rq.job import Job

import app as app_package
from app import jobs
from app.extensions import db
from app.jobs import (
    QUEUES,
    JobFailure,
    JobFailureStatus,
    enqueue,
    execute,
    job_path,
    redis_connection,
    tick,
)
from app.mailing.models import EmailLog, EmailStatus
from app.mailing.services import MailService
from tests.conftest import TEST_REDIS_URL, read_mail, require
from tests.jobs import sample_jobs

FAKE_REDIS_URL = "redis://fakeredis.invalid:6379/0"


def queues() -> dict[str, Queue]:
    return {name: Queue(name, connection=redis_connection()) for name in QUEUES}


def empty_queues() -> None:
    """Real Redis only (RQ empties a queue with a Lua script, which fakeredis lacks here)."""
    for queue in queues().values():
        for job in queue.jobs:
            job.delete()
        queue.empty()


@pytest.fixture(params=["fakeredis", "redis"])
def rq_app(request, make_app):
    real = request.param == "redis"
    if real:
        require(bool(TEST_REDIS_URL), "TEST_REDIS_URL is not set: no real Redis to test RQ on")
        rq_app = make_app(REDIS_URL=TEST_REDIS_URL)
    else:
        import fakeredis

        rq_app = make_app(REDIS_URL=FAKE_REDIS_URL)
        # A server of its own: every test starts with empty queues.
        client = fakeredis.FakeRedis(server=fakeredis.FakeServer())
        rq_app.extensions.setdefault("convene.redis", {})[FAKE_REDIS_URL] = client
    with rq_app.app_context():
        redis_connection().ping()
        if real:
            empty_queues()
    yield rq_app
    if real:
        with rq_app.app_context():
            empty_queues()


def queued() -> dict[str, list[tuple]]:
    """The jobs waiting on each queue, as (function, args)."""
    return {name: [(j.func_name, j.args) for j in q.jobs] for name, q in queues().items()}


def work() -> list[str]:
    """Run a burst worker in this process and app context; returns the ids of its jobs."""
    ids = [job_id for queue in queues().values() for job_id in queue.job_ids]
    SimpleWorker(list(queues().values()), connection=redis_connection()).work(burst=True)
    return ids


def finished(job_ids: list[str]) -> list:
    """Each job's return value (execute: did the job succeed?); the jobs are then deleted."""
    fetched = [Job.fetch(job_id, connection=redis_connection()) for job_id in job_ids]
    values = [(job.get_status(), job.return_value()) for job in fetched]
    for job in fetched:
        job.delete()
    return values


def test_a_job_goes_to_its_queue_after_the_commit_and_a_worker_runs_it(rq_app, calls):
    with rq_app.test_request_context():
        enqueue(sample_jobs.record, "via rq", {"n": 1})
        db.session.flush()
        assert queued() == {"emails": [], "default": []}
        db.session.commit()
        assert calls == []  # not run inline
        assert queued() == {
            "emails": [],
            "default": [
                ("app.jobs.execute", (job_path(sample_jobs.record), ["via rq", {"n": 1}],
                                      "default", None))
            ],
        }
        job_ids = work()
        assert calls == [("record", "via rq", {"n": 1})]
        assert queued() == {"emails": [], "default": []}
        assert [value for _, value in finished(job_ids)] == [True]


def test_a_rolled_back_transaction_queues_nothing(rq_app, calls):
    with rq_app.test_request_context():
        enqueue(sample_jobs.record, "lost", queue="emails")
        db.session.rollback()
        db.session.commit()
        assert queued() == {"emails": [], "default": []}


def test_mail_goes_to_the_emails_queue_and_is_sent_by_the_worker(rq_app):
    with rq_app.test_request_context():
        MailService.send("password_changed", "ada@example.com", {"user_name": "Ada"})
        db.session.commit()
        assert [func for func, _ in queued()["emails"]] == ["app.jobs.execute"]
        assert queued()["default"] == []
        assert read_mail(rq_app) == []
        assert db.session.scalar(sa.select(EmailLog.status)) == EmailStatus.QUEUED

        finished(work())
        [message] = read_mail(rq_app)
        assert message["To"] == "ada@example.com"
        db.session.expire_all()
        [log] = db.session.scalars(sa.select(EmailLog)).all()
        assert log.status == EmailStatus.SENT
        assert log.context is None


def test_a_job_failing_in_the_worker_is_retried_through_the_queue(rq_app, calls, no_periodic):
    sample_jobs.FAILURES_LEFT["w"] = 1
    with rq_app.test_request_context():
        enqueue(sample_jobs.flaky, "w", queue="emails")
        db.session.commit()
        # The runner records the failure itself: RQ sees a job that returned False.
        assert finished(work()) == [("finished", False)]
        [failure] = db.session.scalars(sa.select(JobFailure)).all()
        assert failure.status == JobFailureStatus.RETRYING
        assert failure.queue == "emails"

        assert tick(failure.next_attempt_at) == [job_path(sample_jobs.flaky)]
        assert calls == [("flaky", "w")]  # the retry is queued, not run by the tick
        assert queued()["emails"] == [
            ("app.jobs.execute", (job_path(sample_jobs.flaky), ["w"], "emails", failure.id))
        ]
        db.session.expire_all()
        assert db.session.get(JobFailure, failure.id).status == JobFailureStatus.RUNNING

        assert finished(work()) == [("finished", True)]
        assert calls == [("flaky", "w")] * 2
        db.session.expire_all()
        assert db.session.get(JobFailure, failure.id).status == JobFailureStatus.RESOLVED


def test_the_tick_queues_periodic_work_on_each_tasks_queue(rq_app, calls, sample_periodic):
    with rq_app.app_context():
        assert sorted(tick()) == sorted(sample_periodic)
        assert calls == []
        assert queued() == {
            "emails": [("app.jobs.execute", (job_path(sample_jobs.daily), [], "emails", None))],
            "default": [
                ("app.jobs.execute", (job_path(sample_jobs.hourly), [], "default", None))
            ],
        }
        assert tick() == []  # already claimed
        finished(work())
        assert sorted(calls) == [("daily",), ("hourly",)]


def test_a_worker_outside_flask_builds_the_app_once(app, calls, monkeypatch):
    built = []

    def create_app():
        built.append(1)
        return app

    monkeypatch.setattr(app_package, "create_app", create_app)
    monkeypatch.setattr(jobs, "_worker_app", None)
    # No app context here, as in an `rq worker` process started from the shell.
    assert execute(job_path(sample_jobs.write_row), ["from a worker"]) is True
    assert execute(job_path(sample_jobs.record), ["again"]) is True
    assert built == [1]
    assert calls == [("write_row", "from a worker"), ("record", "again")]
    with app.app_context():
        assert db.session.scalar(sa.select(jobs.PeriodicRun.name)) == "from a worker"


def test_a_mail_that_failed_in_the_worker_is_sent_by_the_retry(rq_app, monkeypatch, no_periodic):
    from app.mailing.backends import FileBackend

    def broken(self, message, message_id):
        raise OSError("disk full")

    with rq_app.test_request_context():
        MailService.send("password_changed", "ada@example.com", {"user_name": "Ada"})
        db.session.commit()
        monkeypatch.setattr(FileBackend, "send", broken)
        finished(work())
        monkeypatch.undo()
        monkeypatch.setattr(jobs, "_periodic", {})
        [failure] = db.session.scalars(sa.select(JobFailure)).all()
        assert failure.queue == "emails"
        assert read_mail(rq_app) == []
        tick(failure.next_attempt_at + timedelta(seconds=1))
        assert len(queued()["emails"]) == 1
        assert finished(work()) == [("finished", True)]
        [message] = read_mail(rq_app)
        assert message["To"] == "ada@example.com"
        db.session.expire_all()
        assert db.session.scalar(sa.select(EmailLog.status)) == EmailStatus.SENT

"""The job system without Redis: enqueue after commit, failures and retries, the periodic tick."""

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import jobs
from app.core.types import utcnow
from app.extensions import db
from app.jobs import (
    JobFailure,
    JobFailureStatus,
    PeriodicRun,
    enqueue,
    execute,
    job_path,
    periodic,
    periodic_tasks,
    tick,
)
from tests.jobs import sample_jobs

ALWAYS_FAILS = job_path(sample_jobs.always_fails)
FLAKY = job_path(sample_jobs.flaky)
HOURLY = job_path(sample_jobs.hourly)
DAILY = job_path(sample_jobs.daily)


def failures() -> list[JobFailure]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(JobFailure).order_by(JobFailure.id)))


def only_failure() -> JobFailure:
    [failure] = failures()
    return failure


def periodic_run_names() -> set[str]:
    return set(db.session.scalars(sa.select(PeriodicRun.name)))


# --- Enqueue after commit


def test_a_job_runs_only_after_the_commit(ctx, calls):
    enqueue(sample_jobs.record, 1, "one")
    enqueue(sample_jobs.record, {"ids": [2, 3]}, queue="emails")
    db.session.flush()
    assert calls == []
    db.session.commit()
    assert calls == [("record", 1, "one"), ("record", {"ids": [2, 3]})]
    db.session.commit()  # a later commit does not run them again
    assert len(calls) == 2


def test_a_rolled_back_transaction_runs_nothing(ctx, calls):
    enqueue(sample_jobs.record, "lost")
    db.session.rollback()
    assert calls == []
    enqueue(sample_jobs.record, "kept")
    db.session.commit()
    assert calls == [("record", "kept")]


def test_a_closed_session_forgets_its_jobs(ctx, calls):
    enqueue(sample_jobs.record, "lost")
    db.session.execute(sa.select(1))  # inside a transaction
    db.session.close()
    db.session.commit()
    assert calls == []


def test_a_released_savepoint_keeps_its_jobs_until_the_commit(ctx, calls):
    with db.session.begin_nested():
        enqueue(sample_jobs.record, "inner")
    assert calls == []
    db.session.commit()
    assert calls == [("record", "inner")]


def test_a_rolled_back_savepoint_drops_only_its_own_jobs(ctx, calls):
    enqueue(sample_jobs.record, "before")
    try:
        with db.session.begin_nested():
            enqueue(sample_jobs.record, "inside")
            with db.session.begin_nested():
                enqueue(sample_jobs.record, "deeper")
            raise RuntimeError("give up on this part")
    except RuntimeError:
        pass
    with db.session.begin_nested():
        enqueue(sample_jobs.record, "after")
    db.session.commit()
    assert calls == [("record", "before"), ("record", "after")]


def test_a_job_writes_through_its_own_committed_session(ctx, calls):
    enqueue(sample_jobs.write_row, "written by a job")
    db.session.commit()
    assert calls == [("write_row", "written by a job")]
    assert periodic_run_names() == {"written by a job"}


def test_a_job_enqueued_by_a_job_runs_after_it(ctx, calls):
    enqueue(sample_jobs.enqueue_follow_up, "a")
    db.session.commit()
    assert calls == [("enqueue_follow_up", "a"), ("record", "after a")]


def test_a_static_method_job_is_found_by_its_path(ctx, calls):
    enqueue(sample_jobs.Namespace.nested, 7)
    db.session.commit()
    assert calls == [("nested", 7)]


@pytest.mark.parametrize(
    "args",
    [(object(),), (utcnow(),), ({1, 2},), (b"bytes",), ("ok", {"when": utcnow()})],
    ids=["object", "datetime", "set", "bytes", "nested"],
)
def test_enqueue_refuses_arguments_that_are_not_json(ctx, calls, args):
    with pytest.raises((TypeError, ValueError)):
        enqueue(sample_jobs.record, *args)
    db.session.commit()
    assert calls == []


def test_enqueue_refuses_an_unknown_queue(ctx, calls):
    with pytest.raises(ValueError, match="unknown queue 'mail'"):
        enqueue(sample_jobs.record, 1, queue="mail")
    db.session.commit()
    assert calls == []


def test_enqueue_refuses_a_function_a_worker_cannot_import(ctx, calls):
    def local_job():
        pass

    with pytest.raises(ValueError, match="import"):
        enqueue(local_job)
    with pytest.raises(ValueError, match="import"):
        enqueue(lambda: None)
    db.session.commit()
    assert calls == []
    assert failures() == []


# --- Failures and retries


def test_a_failing_job_is_recorded_and_retried_with_backoff_until_dead(ctx, calls, no_periodic):
    enqueue(sample_jobs.always_fails, "x")
    before = utcnow()
    db.session.commit()  # runs inline and fails
    after = utcnow()
    failure = only_failure()
    assert (failure.func, failure.args, failure.queue) == (ALWAYS_FAILS, ["x"], "default")
    assert failure.status == JobFailureStatus.RETRYING
    assert failure.attempts == 1
    assert "RuntimeError: boom x" in failure.error
    assert before + timedelta(minutes=1) <= failure.next_attempt_at <= after + timedelta(minutes=1)

    # Not due yet: nothing happens.
    assert tick(failure.next_attempt_at - timedelta(seconds=1)) == []
    assert only_failure().status == JobFailureStatus.RETRYING
    assert len(calls) == 1

    for attempts, delay in ((2, timedelta(minutes=5)), (3, timedelta(minutes=25))):
        before = utcnow()
        assert tick(failure.next_attempt_at) == [ALWAYS_FAILS]
        after = utcnow()
        failure = only_failure()
        assert failure.attempts == attempts
        assert failure.status == JobFailureStatus.RETRYING
        assert before + delay <= failure.next_attempt_at <= after + delay
        assert tick(failure.next_attempt_at - timedelta(seconds=1)) == []

    assert tick(failure.next_attempt_at) == [ALWAYS_FAILS]
    failure = only_failure()
    assert failure.attempts == 4  # the first run and three retries
    assert failure.status == JobFailureStatus.DEAD
    assert failure.next_attempt_at is None
    assert len(calls) == 4

    # Dead: no tick picks it up again...
    assert tick(utcnow() + timedelta(days=30)) == []
    assert len(calls) == 4

    # ...until an admin asks for another attempt.
    failure.retry_now()
    db.session.commit()
    assert only_failure().status == JobFailureStatus.RETRYING
    assert tick() == [ALWAYS_FAILS]
    assert len(calls) == 5
    failure = only_failure()
    assert failure.attempts == 5
    assert failure.status == JobFailureStatus.DEAD


def test_a_retry_that_succeeds_resolves_the_failure(ctx, calls, no_periodic):
    sample_jobs.FAILURES_LEFT["y"] = 2
    enqueue(sample_jobs.flaky, "y")
    db.session.commit()
    failure = only_failure()
    assert tick(failure.next_attempt_at) == [FLAKY]
    failure = only_failure()
    assert (failure.attempts, failure.status) == (2, JobFailureStatus.RETRYING)
    assert tick(failure.next_attempt_at) == [FLAKY]
    failure = only_failure()
    assert failure.status == JobFailureStatus.RESOLVED
    assert failure.next_attempt_at is None
    assert failure.attempts == 2
    assert calls == [("flaky", "y")] * 3
    assert tick(utcnow() + timedelta(days=1)) == []


def test_a_failing_job_leaves_none_of_its_writes(ctx, calls):
    enqueue(sample_jobs.write_row_then_fail, "half-written")
    db.session.commit()
    assert periodic_run_names() == set()
    assert "failed after writing" in only_failure().error


def test_a_failing_job_enqueues_nothing(ctx, calls, no_periodic):
    # The follow-up would only run if the failed job's transaction were committed.
    assert execute("tests.jobs.sample_jobs:enqueue_then_fail", ["a"]) is False
    assert calls == [("enqueue_then_fail", "a")]
    assert only_failure().status == JobFailureStatus.RETRYING


def test_a_job_that_no_longer_exists_is_recorded_as_failed(ctx):
    assert execute("tests.jobs.sample_jobs:removed_in_a_deploy", [1]) is False
    failure = only_failure()
    assert failure.func == "tests.jobs.sample_jobs:removed_in_a_deploy"
    assert "AttributeError" in failure.error


def test_execute_reports_success(ctx, calls):
    assert execute(job_path(sample_jobs.record), ["direct"]) is True
    assert calls == [("record", "direct")]
    assert failures() == []


def test_a_failure_claimed_by_a_tick_is_not_retried_twice(ctx, calls, no_periodic):
    sample_jobs.FAILURES_LEFT["z"] = 1
    enqueue(sample_jobs.flaky, "z")
    db.session.commit()
    due = only_failure().next_attempt_at
    # Another tick claimed it (RUNNING) and has not finished yet.
    db.session.execute(sa.update(JobFailure).values(status=JobFailureStatus.RUNNING))
    db.session.commit()
    assert tick(due) == []
    assert len(calls) == 1



def test_a_retry_stuck_running_is_released_after_the_job_timeout(ctx, calls, no_periodic):
    sample_jobs.FAILURES_LEFT["z"] = 1
    enqueue(sample_jobs.flaky, "z")
    db.session.commit()
    claimed_at = only_failure().next_attempt_at
    # A tick claimed it, then its worker died: nothing will ever finish it.
    db.session.execute(
        sa.update(JobFailure).values(status=JobFailureStatus.RUNNING, updated_at=claimed_at)
    )
    db.session.commit()
    assert tick(claimed_at + timedelta(minutes=5)) == []  # it may still be running
    later = claimed_at + jobs.STALE_RUNNING_AFTER + timedelta(seconds=1)
    assert tick(later) == [job_path(sample_jobs.flaky)]
    assert only_failure().status == JobFailureStatus.RESOLVED


def test_a_job_redis_cannot_take_is_recorded_for_the_tick(make_app, calls):
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")  # nothing listens on port 1
    with app.test_request_context():
        enqueue(sample_jobs.record, "lost?")
        db.session.commit()
        [failure] = db.session.scalars(sa.select(JobFailure)).all()
        assert failure.func == job_path(sample_jobs.record)
        assert failure.args == ["lost?"]
        assert failure.status == JobFailureStatus.RETRYING
        assert "ConnectionError" in failure.error
    assert calls == []


# --- Periodic work


def test_the_areas_register_their_periodic_work():
    registered = {task.path: (task.every, task.queue) for task in periodic_tasks()}
    expected = {
        "app.accounts.jobs:purge_inactive_sessions": (timedelta(hours=1), "default"),
        "app.certificates.jobs:sweep_orphaned_certificate_files": (timedelta(days=1),
                                                                   "default"),
        "app.jobs:purge_resolved_job_failures": (timedelta(days=1), "default"),
        "app.mailing.jobs:purge_old_email_logs": (timedelta(days=1), "emails"),
    }
    assert {path: registered.get(path) for path in expected} == expected


def test_periodic_registers_and_returns_the_function(monkeypatch):
    monkeypatch.setattr(jobs, "_periodic", {})
    decorated = periodic(every=timedelta(minutes=5), queue="emails")(sample_jobs.hourly)
    assert decorated is sample_jobs.hourly
    [task] = periodic_tasks()
    assert (task.path, task.every, task.queue) == (HOURLY, timedelta(minutes=5), "emails")


def test_tick_runs_each_due_periodic_task_once_per_interval(ctx, calls, sample_periodic):
    now = utcnow()
    assert tick(now) == [DAILY, HOURLY]  # never run before: both are due
    assert sorted(calls) == [("daily",), ("hourly",)]
    runs = {run.name: run.last_run_at for run in db.session.scalars(sa.select(PeriodicRun))}
    assert runs == {DAILY: now, HOURLY: now}

    assert tick(now) == []
    assert tick(now + timedelta(minutes=59, seconds=59)) == []
    assert tick(now + timedelta(hours=1)) == [HOURLY]
    assert tick(now + timedelta(hours=1, minutes=1)) == []
    assert tick(now + timedelta(days=1)) == [DAILY, HOURLY]
    assert sorted(calls) == [("daily",)] * 2 + [("hourly",)] * 3


def test_tick_returns_periodic_work_then_retries(ctx, calls, sample_periodic):
    sample_jobs.FAILURES_LEFT["r"] = 1
    enqueue(sample_jobs.flaky, "r")
    db.session.commit()
    due = only_failure().next_attempt_at
    assert tick(due) == [DAILY, HOURLY, FLAKY]
    assert only_failure().status == JobFailureStatus.RESOLVED


def test_a_failing_periodic_task_is_retried_on_its_queue(ctx, calls, monkeypatch):
    task = jobs.PeriodicTask(sample_jobs.failing_periodic, timedelta(hours=1), "emails")
    monkeypatch.setattr(jobs, "_periodic", {task.path: task})
    now = utcnow()
    assert tick(now) == [task.path]
    failure = only_failure()
    assert (failure.func, failure.args, failure.queue) == (task.path, [], "emails")
    assert failure.status == JobFailureStatus.RETRYING
    # The retry and the schedule are separate: the next tick retries it, not the schedule.
    assert tick(failure.next_attempt_at) == [task.path]
    assert calls == [("failing_periodic",)] * 2
    assert only_failure().attempts == 2


# --- Two ticks at the same moment


def run_concurrently(app, count: int, target) -> list:
    """Run `target()` in `count` threads, each in its own app context; return the results."""
    results, errors = [], []

    def run():
        try:
            with app.app_context():
                results.append(target())
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a tick hung"
    assert errors == []
    return results


def meet_at_first_call(monkeypatch, name: str, parties: int = 2) -> None:
    """Make every thread wait for the others when it first calls app.jobs.<name>."""
    original = getattr(jobs, name)
    barrier = threading.Barrier(parties)
    seen = threading.local()

    def waiting(*args, **kwargs):
        if not getattr(seen, "met", False):
            seen.met = True
            barrier.wait(timeout=10)
        return original(*args, **kwargs)

    monkeypatch.setattr(jobs, name, waiting)


@pytest.mark.parametrize("history", ["never run", "due again"])
def test_two_ticks_at_once_run_each_periodic_task_once(
    app, calls, sample_periodic, monkeypatch, history
):
    now = utcnow()
    if history == "due again":
        with app.app_context():
            for path in sample_periodic:
                db.session.add(PeriodicRun(name=path, last_run_at=now - timedelta(days=2)))
            db.session.commit()
    meet_at_first_call(monkeypatch, "_claim_periodic")

    results = run_concurrently(app, 2, lambda: tick(now))

    assert sorted(path for result in results for path in result) == [DAILY, HOURLY]
    assert sorted(calls) == [("daily",), ("hourly",)]
    with app.app_context():
        runs = dict(db.session.execute(sa.select(PeriodicRun.name, PeriodicRun.last_run_at)).all())
    assert runs == {DAILY: now, HOURLY: now}


def test_two_ticks_at_once_retry_a_failure_once(app, calls, no_periodic, monkeypatch):
    sample_jobs.FAILURES_LEFT["c"] = 1
    with app.app_context():
        enqueue(sample_jobs.flaky, "c")
        db.session.commit()
        due = only_failure().next_attempt_at
    meet_at_first_call(monkeypatch, "_claim_due_retries")

    results = run_concurrently(app, 2, lambda: tick(due))

    assert sorted(path for result in results for path in result) == [FLAKY]
    assert calls == [("flaky", "c")] * 2  # the first run and one retry
    with app.app_context():
        assert only_failure().status == JobFailureStatus.RESOLVED


def test_without_the_conditional_update_two_ticks_would_both_run_a_task(
    app, calls, monkeypatch
):
    """The control for the test above: a read-then-write claim lets both ticks through.

    This proves the concurrency tests can fail: they pass only because `_claim_periodic`
    claims with one conditional UPDATE.
    """
    task = jobs.PeriodicTask(sample_jobs.hourly, timedelta(hours=1), "default")
    monkeypatch.setattr(jobs, "_periodic", {task.path: task})
    now = utcnow()
    with app.app_context():
        db.session.add(PeriodicRun(name=task.path, last_run_at=now - timedelta(days=1)))
        db.session.commit()
    barrier = threading.Barrier(2)

    def naive_claim(task, now):
        run = db.session.scalar(sa.select(PeriodicRun).where(PeriodicRun.name == task.path))
        barrier.wait(timeout=10)  # both ticks have read before either writes
        if run.last_run_at is None or run.last_run_at <= now - task.every:
            run.last_run_at = now
            db.session.flush()
            return True
        return False

    monkeypatch.setattr(jobs, "_claim_periodic", naive_claim)

    results = run_concurrently(app, 2, lambda: tick(now))

    assert results == [[HOURLY], [HOURLY]]
    assert calls == [("hourly",), ("hourly",)]


# --- The command line


def test_flask_jobs_tick_prints_what_it_enqueued(app, calls):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["jobs", "tick"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines == [f"enqueued {task.path}" for task in periodic_tasks()]
    assert "enqueued app.accounts.jobs:purge_inactive_sessions" in lines
    assert "enqueued app.mailing.jobs:purge_old_email_logs" in lines
    again = runner.invoke(args=["jobs", "tick"])
    assert again.exit_code == 0
    assert again.output == ""
    with app.app_context():
        assert periodic_run_names() == {task.path for task in periodic_tasks()}
        assert failures() == []  # every periodic job ran and succeeded


def test_flask_jobs_tick_prints_due_retries(app, calls, no_periodic):
    sample_jobs.FAILURES_LEFT["cli"] = 1
    with app.app_context():
        enqueue(sample_jobs.flaky, "cli")
        db.session.commit()
        failure = only_failure()
        failure.retry_now()
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["jobs", "tick"])
    assert result.output == f"enqueued {FLAKY}\n"
    assert calls == [("flaky", "cli")] * 2


def test_flask_jobs_worker_needs_redis(app):
    result = app.test_cli_runner().invoke(args=["jobs", "worker", "--burst"])
    assert result.exit_code != 0
    assert "REDIS_URL is not set" in result.output

"""Background jobs: the queue (RQ on Redis, or inline), failures and retries, and the tick.

- `enqueue(fn, *args)` runs `fn(*args)` as a job once the current transaction commits (a
  rolled-back request enqueues nothing). Jobs take primitives (ids), never ORM objects.
- With `REDIS_URL` set, jobs go to RQ (`flask jobs worker` runs a worker); without it they
  run inline, right after the commit, in a fresh app context and database session.
- A job that raises is recorded as a JobFailure and retried with backoff by `flask jobs tick`
  (1, 5, then 25 minutes); after that it is DEAD and waits for an admin in /admin.
- `flask jobs tick` is the single cron entry point: it enqueues the periodic work that areas
  register with `@periodic(every=...)` and the retries that are due.
"""

from __future__ import annotations

import enum
import importlib
import json
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column

from app.core.models import Model
from app.core.types import UTCDateTime, ValidatedJSON, enum_column, utcnow
from app.extensions import db

log = logging.getLogger(__name__)

QUEUES = ("emails", "default")
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=25))
JOB_TIMEOUT = 600  # seconds an RQ job may run
STALE_RUNNING_AFTER = timedelta(seconds=JOB_TIMEOUT) + timedelta(minutes=5)
_PENDING = "convene.pending_jobs"


# --- Models


class JobFailureStatus(enum.Enum):
    RETRYING = "retrying"  # waits for the tick to run it again
    RUNNING = "running"  # claimed by a tick, being retried
    DEAD = "dead"  # out of retries: an admin decides
    RESOLVED = "resolved"  # a retry succeeded


# Jobs take primitives (ids, strings, numbers): the arguments are a JSON list of them.
ARGS_SCHEMA = {
    "type": "array",
    "items": {"type": ["string", "number", "boolean", "null", "array", "object"]},
}


class JobFailure(Model):
    """A job that raised: what it was, why, and when it runs again."""

    __tablename__ = "job_failures"

    func: Mapped[str] = mapped_column(sa.String(200))
    args: Mapped[list] = mapped_column(ValidatedJSON(ARGS_SCHEMA), default=list)
    queue: Mapped[str] = mapped_column(sa.String(50), default="default")
    status: Mapped[JobFailureStatus] = mapped_column(
        enum_column(JobFailureStatus), default=JobFailureStatus.RETRYING, index=True
    )
    attempts: Mapped[int] = mapped_column(default=1)
    error: Mapped[str] = mapped_column(sa.Text, default="")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    def __str__(self) -> str:
        return f"{self.func}({', '.join(map(repr, self.args))})"

    def schedule_retry(self, now: datetime) -> None:
        """Retry after the next delay, or give up (DEAD) when the delays are used up."""
        if self.attempts <= len(RETRY_DELAYS):
            self.status = JobFailureStatus.RETRYING
            self.next_attempt_at = now + RETRY_DELAYS[self.attempts - 1]
        else:
            self.status = JobFailureStatus.DEAD
            self.next_attempt_at = None

    def retry_now(self) -> None:
        """An admin asks for another attempt at the next tick."""
        self.status = JobFailureStatus.RETRYING
        self.next_attempt_at = utcnow()


class PeriodicRun(Model):
    """When each periodic task last started; the tick claims a run by updating this row."""

    __tablename__ = "periodic_runs"

    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# --- Enqueueing


def job_path(func: Callable) -> str:
    return f"{func.__module__}:{func.__qualname__}"


@dataclass(frozen=True)
class _PendingJob:
    transaction: SessionTransaction  # the innermost transaction it was enqueued in
    path: str
    args: list
    queue: str

    def is_within(self, transaction: SessionTransaction) -> bool:
        current = self.transaction
        while current is not None:
            if current is transaction:
                return True
            current = current.parent
        return False


def enqueue(func: Callable, *args, queue: str = "default") -> None:
    """Run `func(*args)` as a job after the current transaction commits.

    Work enqueued inside a savepoint that is rolled back is dropped with it; a savepoint that
    is released keeps its work for the outer commit.
    """
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")
    path = job_path(func)
    if not _is_importable(path, func):
        raise ValueError(
            f"a worker cannot import {path}: a job must be a module-level function"
        )
    # Jobs take primitives: fail here, not in the worker. The first run sees exactly the
    # arguments a retry will see (JobFailure.args is JSON).
    args_list = json.loads(json.dumps(list(args), allow_nan=False))
    session = db.session()
    if not session.in_transaction():
        session.begin()  # so that a rollback, even one with no SQL before it, drops the job
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PENDING, []).append(_PendingJob(transaction, path, args_list, queue))


def _is_importable(path: str, func: Callable) -> bool:
    try:
        return resolve(path) == func
    except (ImportError, AttributeError):
        return False


@event.listens_for(Session, "after_commit")
def _dispatch_pending(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released: the work waits for the real commit
    for job in session.info.pop(_PENDING, []):
        dispatch(job.path, job.args, job.queue)


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    pending = session.info.get(_PENDING)
    if pending:
        pending[:] = [job for job in pending if not job.is_within(previous_transaction)]


@event.listens_for(Session, "after_transaction_end")
def _drop_pending(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING, None)  # rolled back or closed: the work never happened


def dispatch(path: str, args: list, queue: str, failure_id: int | None = None) -> None:
    """Hand a job to RQ, or run it now when there is no Redis.

    When Redis cannot take the job, it is recorded as a failure for the tick to retry: work
    that was committed never silently loses its job.
    """
    if not current_app.config.get("REDIS_URL"):
        execute(path, args, queue, failure_id)
        return
    try:
        pipeline = redis_connection().pipeline()  # one round trip to Redis, not two
        rq_queue(queue).enqueue(execute, path, args, queue, failure_id, job_timeout=JOB_TIMEOUT,
                                pipeline=pipeline)
        pipeline.execute()
    except Exception:
        log.exception("could not enqueue job %s%r", path, tuple(args))
        with _app().app_context():
            _record_failure(path, args, queue, traceback.format_exc(), failure_id)
            db.session.commit()
            db.session.remove()


def redis_connection():
    """The app's Redis client (one per app), or None when Redis is not configured."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    clients = current_app.extensions.setdefault("convene.redis", {})
    if url not in clients:
        from redis import Redis

        clients[url] = Redis.from_url(url)
    return clients[url]


def rq_queue(name: str):
    from rq import Queue

    return Queue(name, connection=redis_connection())


# --- Running

_worker_app: Flask | None = None


def _app() -> Flask:
    """The running app, or (in an RQ worker started outside Flask) one made once."""
    global _worker_app
    if has_app_context():
        return current_app._get_current_object()
    if _worker_app is None:
        from app import create_app

        _worker_app = create_app()
    return _worker_app


def resolve(path: str) -> Callable:
    module, _, name = path.partition(":")
    target = importlib.import_module(module)
    for part in name.split("."):
        target = getattr(target, part)
    return target


def execute(path: str, args: list, queue: str = "default", failure_id: int | None = None) -> bool:
    """Run one job in its own app context and session; record a failure instead of raising.

    Returns whether the job succeeded.
    """
    with _app().app_context():
        try:
            resolve(path)(*args)
            if failure_id is not None:
                _mark_resolved(failure_id)
            db.session.commit()
            return True
        except Exception:
            db.session.rollback()
            error = traceback.format_exc()
            log.exception("job %s%r failed", path, tuple(args))
            _record_failure(path, args, queue, error, failure_id)
            db.session.commit()
            return False
        finally:
            db.session.remove()


def _mark_resolved(failure_id: int) -> None:
    failure = db.session.get(JobFailure, failure_id)
    if failure is not None:
        failure.status = JobFailureStatus.RESOLVED
        failure.next_attempt_at = None


def _record_failure(path, args, queue, error, failure_id) -> None:
    now = utcnow()
    failure = db.session.get(JobFailure, failure_id) if failure_id else None
    if failure is None:
        failure = JobFailure(func=path, args=args, queue=queue, attempts=1, error=error)
        db.session.add(failure)
    else:
        failure.attempts += 1
        failure.error = error
    failure.schedule_retry(now)


# --- Periodic work and the tick


@dataclass(frozen=True)
class PeriodicTask:
    func: Callable
    every: timedelta
    queue: str

    @property
    def path(self) -> str:
        return job_path(self.func)


_periodic: dict[str, PeriodicTask] = {}


def periodic(every: timedelta, queue: str = "default"):
    """Register a job for `flask jobs tick` to enqueue every `every` (a job takes no args)."""

    def register(func: Callable) -> Callable:
        _periodic[job_path(func)] = PeriodicTask(func, every, queue)
        return func

    return register


_warmups: list[Callable[[], None]] = []


def warm_up(func: Callable[[], None]) -> Callable[[], None]:
    """Register work for the RQ worker to do once, before it takes jobs.

    RQ forks a work horse per job, and the child inherits what the parent has loaded: a
    renderer initialised once in the parent (fonts, parsers, locale data) is initialised
    for every job, instead of once in each job.
    """
    _warmups.append(func)
    return func


def warm_worker() -> None:
    for func in _warmups:
        try:
            func()
        except Exception:  # a cold start is slower, never broken
            log.exception("warming up the worker with %s failed", job_path(func))
        finally:
            db.session.remove()


def periodic_tasks() -> list[PeriodicTask]:
    return sorted(_periodic.values(), key=lambda t: t.path)


def tick(now: datetime | None = None) -> list[str]:
    """Enqueue every periodic task that is due and every retry that is due; returns them.

    Safe to run concurrently: each run is claimed by a conditional UPDATE, so two ticks at
    the same moment enqueue each task once.
    """
    now = now or utcnow()
    _release_stale_retries(now)
    started = [task for task in periodic_tasks() if _claim_periodic(task, now)]
    for task in started:
        enqueue(task.func, queue=task.queue)
    retried = _claim_due_retries(now)
    db.session.commit()
    for failure_id, path, args, queue in retried:
        dispatch(path, args, queue, failure_id)
    return [task.path for task in started] + [path for _, path, _, _ in retried]


def _claim_periodic(task: PeriodicTask, now: datetime) -> bool:
    exists = db.session.scalar(sa.select(PeriodicRun.id).where(PeriodicRun.name == task.path))
    if exists is None:
        try:
            with db.session.begin_nested():
                db.session.add(PeriodicRun(name=task.path, last_run_at=None))
        except sa.exc.IntegrityError:
            pass  # another tick inserted it first
    result = db.session.execute(
        sa.update(PeriodicRun)
        .where(
            PeriodicRun.name == task.path,
            sa.or_(PeriodicRun.last_run_at.is_(None), PeriodicRun.last_run_at <= now - task.every),
        )
        .values(last_run_at=now)
    )
    return result.rowcount == 1


def _release_stale_retries(now: datetime) -> None:
    """A retry claimed long ago that never finished (its worker died, or Redis was down when
    it was handed over) goes back to waiting, so that it is not stuck RUNNING for ever.

    Read first: an UPDATE would take SQLite's write lock on every tick, even with no match.
    """
    stale = (
        JobFailure.status == JobFailureStatus.RUNNING,
        JobFailure.updated_at < now - STALE_RUNNING_AFTER,
    )
    if db.session.scalar(sa.select(JobFailure.id).where(*stale).limit(1)) is None:
        return
    db.session.execute(
        sa.update(JobFailure)
        .where(*stale)
        .values(status=JobFailureStatus.RETRYING, next_attempt_at=now)
    )


def _claim_due_retries(now: datetime) -> list[tuple[int, str, list, str]]:
    due = db.session.execute(
        sa.select(JobFailure.id, JobFailure.func, JobFailure.args, JobFailure.queue).where(
            JobFailure.status == JobFailureStatus.RETRYING, JobFailure.next_attempt_at <= now
        )
    ).all()
    claimed = []
    for failure_id, path, args, queue in due:
        result = db.session.execute(
            sa.update(JobFailure)
            .where(JobFailure.id == failure_id, JobFailure.status == JobFailureStatus.RETRYING)
            .values(status=JobFailureStatus.RUNNING)
        )
        if result.rowcount == 1:
            claimed.append((failure_id, path, args, queue))
    return claimed


@periodic(every=timedelta(days=1))
def purge_resolved_job_failures() -> None:
    """Retention: resolved failures are kept 90 days for the record, then removed."""
    cutoff = utcnow() - timedelta(days=90)
    db.session.execute(
        sa.delete(JobFailure).where(
            JobFailure.status == JobFailureStatus.RESOLVED, JobFailure.updated_at < cutoff
        )
    )

"""Jobs for the tests: module-level functions (a job is enqueued by its import path)."""

from __future__ import annotations

import threading

from app.extensions import db
from app.jobs import PeriodicRun, enqueue

CALLS: list[tuple] = []
FAILURES_LEFT: dict[str, int] = {}
_lock = threading.Lock()


def reset() -> None:
    CALLS.clear()
    FAILURES_LEFT.clear()


def record(*args) -> None:
    """Remembers that it ran, with its arguments."""
    with _lock:
        CALLS.append(("record", *args))


def write_row(name: str) -> None:
    """Writes a row through the job's own session (the runner commits it)."""
    CALLS.append(("write_row", name))
    db.session.add(PeriodicRun(name=name))


def write_row_then_fail(name: str) -> None:
    db.session.add(PeriodicRun(name=name))
    db.session.flush()
    raise RuntimeError("failed after writing")


def flaky(label: str) -> None:
    """Fails while FAILURES_LEFT[label] > 0, then succeeds."""
    with _lock:
        CALLS.append(("flaky", label))
        if FAILURES_LEFT.get(label, 0) > 0:
            FAILURES_LEFT[label] -= 1
            raise RuntimeError(f"{label} is not ready")


def always_fails(label: str) -> None:
    with _lock:
        CALLS.append(("always_fails", label))
    raise RuntimeError(f"boom {label}")


def enqueue_follow_up(label: str) -> None:
    """A job that enqueues another job: it runs once this job's work commits."""
    CALLS.append(("enqueue_follow_up", label))
    enqueue(record, f"after {label}")


def hourly() -> None:
    with _lock:
        CALLS.append(("hourly",))


def daily() -> None:
    with _lock:
        CALLS.append(("daily",))


class Namespace:
    @staticmethod
    def nested(value) -> None:
        CALLS.append(("nested", value))


def enqueue_then_fail(label: str) -> None:
    """Enqueues a follow-up, then fails: the follow-up must not run."""
    CALLS.append(("enqueue_then_fail", label))
    enqueue(record, f"after {label}")
    raise RuntimeError("failed after enqueueing")


def failing_periodic() -> None:
    CALLS.append(("failing_periodic",))
    raise RuntimeError("periodic work failed")

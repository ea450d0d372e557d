"""Stopping pure-Python work (a template someone wrote) after a number of CPU seconds.

In a main thread (an RQ work horse, a gunicorn sync worker, a test) a CPU timer (SIGVTALRM,
ITIMER_VIRTUAL) interrupts the work: a few microseconds to arm, where a thread costs ~70 and
a bulk certificate run renders hundreds. Elsewhere (a threaded server) signals cannot be
used, so the work runs in a thread of its own that is stopped with an asynchronous
exception. Either way the interruption lands at the next bytecode: enough for a template,
which is pure Python and CPU-bound (so its CPU time is its wall-clock time), as long as no
single C call runs for long (app/core/sandbox.py bounds the values one step may build).
RQ's own job timeout uses SIGALRM, not this timer.
"""

from __future__ import annotations

import ctypes
import signal
import threading
from collections.abc import Callable
from typing import TypeVar

from flask import current_app, has_app_context

T = TypeVar("T")

THREAD_NAME = "template-render"


class TookTooLong(Exception):
    """The work ran past its `seconds` and was stopped."""

    def __init__(self, seconds: float):
        super().__init__(f"stopped after {seconds:g} seconds")
        self.seconds = seconds


class _Expired(BaseException):
    """Raised inside the work when its time is up (a BaseException: `except Exception` in
    the work cannot swallow it)."""


def run_with_deadline(func: Callable[[], T], seconds: float) -> T:
    """Run `func` and stop it after `seconds` of CPU time (TookTooLong)."""
    if threading.current_thread() is threading.main_thread():
        return _run_with_cpu_timer(func, seconds)
    return _run_in_thread(func, seconds)


def _run_with_cpu_timer(func: Callable[[], T], seconds: float) -> T:
    def expire(signum, frame):
        raise _Expired

    previous_handler = signal.signal(signal.SIGVTALRM, expire)
    previous_timer = signal.setitimer(signal.ITIMER_VIRTUAL, seconds)
    try:
        try:
            return func()
        finally:
            signal.setitimer(signal.ITIMER_VIRTUAL, 0)
    except _Expired:
        raise TookTooLong(seconds) from None
    finally:
        signal.signal(signal.SIGVTALRM, previous_handler)
        if previous_timer[0]:  # someone else's timer was running: start it again
            signal.setitimer(signal.ITIMER_VIRTUAL, *previous_timer)


def _run_in_thread(func: Callable[[], T], seconds: float) -> T:
    outcome: dict = {}
    app = current_app._get_current_object() if has_app_context() else None

    def target() -> None:
        try:
            if app is None:
                outcome["value"] = func()
            else:
                with app.app_context():
                    outcome["value"] = func()
        except BaseException as exc:  # handed to the caller below, whatever it is
            outcome["error"] = exc

    thread = threading.Thread(target=target, name=THREAD_NAME, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(thread.ident), ctypes.py_object(_Expired)
        )
        thread.join(1)
        raise TookTooLong(seconds)
    if "error" in outcome:
        error = outcome["error"]
        if isinstance(error, _Expired):  # stopped just as it finished
            raise TookTooLong(seconds)
        raise error
    return outcome["value"]

"""Many people at the same moment: each in its own thread, app context and database
connection, released together by a barrier (issue 4 "Concurrency")."""

from __future__ import annotations

import threading
from collections.abc import Callable

from app.extensions import db


def race(app, user_ids: list[int], prepare: Callable[[int], Callable[[], object]]
         ) -> list[BaseException]:
    """For each user, `prepare(user_id)` loads what a request would have loaded and returns
    the operation; all operations then start together and each commits. Returns the errors
    (a thread still running after two minutes is one)."""
    barrier = threading.Barrier(len(user_ids))
    errors: list[BaseException] = []

    def attempt(user_id: int) -> None:
        with app.app_context():  # its own session, so its own connection
            try:
                operation = prepare(user_id)
                db.session.rollback()  # start the race with no transaction open
                barrier.wait(timeout=60)
                operation()
                db.session.commit()
            except BaseException as exc:  # noqa: BLE001 - collected and asserted by the test
                errors.append(exc)
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(uid,)) for uid in user_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    errors.extend(TimeoutError("a registration never finished") for t in threads
                  if t.is_alive())
    return errors

"""Never oversell: 50 people race for 10 seats, each in its own thread, app context and
database connection (issue 4 "Concurrency"), on every backend the `app` fixture gives."""

from __future__ import annotations

import threading
from collections import Counter

import sqlalchemy as sa

from app.accounts.models import User
from app.events.models import Event
from app.extensions import db
from app.registrations.models import Registration
from app.registrations.services import RegistrationService
from app.states import RegistrationStatus
from tests.factories import EventFactory, UserFactory

ATTEMPTS = 50
SEATS = 10


def test_fifty_concurrent_registrations_for_ten_seats(make_app):
    # One connection per thread, plus one for the email job each runs inline after its commit
    # (production runs those in RQ workers): the pool must not be what serialises the race.
    app = make_app(
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": ATTEMPTS, "max_overflow": ATTEMPTS + 10}
    )
    with app.app_context():
        event = EventFactory(capacity=SEATS, waitlist_enabled=True)
        users = [UserFactory() for _ in range(ATTEMPTS)]
        db.session.commit()
        event_id, user_ids = event.id, [u.id for u in users]
        db.session.remove()

    barrier = threading.Barrier(ATTEMPTS)
    errors: list[BaseException] = []

    def attempt(user_id: int) -> None:
        with app.app_context():  # its own session, so its own connection
            try:
                event = db.session.get(Event, event_id)
                user = db.session.get(User, user_id)
                db.session.rollback()  # start the race with no transaction open
                barrier.wait(timeout=60)
                RegistrationService.register(event, user)
                db.session.commit()
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(uid,)) for uid in user_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not any(t.is_alive() for t in threads)
    assert errors == []
    with app.app_context():
        statuses = Counter(
            db.session.scalars(
                sa.select(Registration.status).where(Registration.event_id == event_id)
            )
        )
        waitlisted = list(
            db.session.scalars(
                sa.select(Registration)
                .where(Registration.status == RegistrationStatus.WAITLISTED)
                .order_by(Registration.waitlisted_at, Registration.id)
            )
        )
        positions = [RegistrationService.waitlist_position(r) for r in waitlisted]
    assert statuses == {
        RegistrationStatus.CONFIRMED: SEATS,
        RegistrationStatus.WAITLISTED: ATTEMPTS - SEATS,
    }
    assert positions == list(range(1, ATTEMPTS - SEATS + 1))

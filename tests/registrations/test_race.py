"""Never oversell: 50 people race for 10 seats, each in its own thread, app context and
database connection (issue 4 "Concurrency"), on every backend the `app` fixture gives."""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa

from app.accounts.models import User
from app.events.models import Event
from app.extensions import db
from app.registrations.models import Registration
from app.registrations.services import RegistrationService
from app.states import RegistrationStatus
from tests.factories import EventFactory, UserFactory
from tests.registrations.racing import race

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

    def prepare(user_id: int):
        event, user = db.session.get(Event, event_id), db.session.get(User, user_id)
        return lambda: RegistrationService.register(event, user)

    assert race(app, user_ids, prepare) == []
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

"""`seats_changed` is sent, with the event as sender, whenever registrations take, wait for,
get or give up a seat, so that other areas (Zoom's registrants) follow."""

from __future__ import annotations

from app.registrations import signals
from app.registrations.services import RegistrationService
from tests.factories import EventFactory, UserFactory


def test_seats_changed_names_the_registrations_whose_seat_changed(ctx):
    event = EventFactory(capacity=1)
    heard = []

    def listen(sender, **data):
        heard.append((sender, data))

    with signals.seats_changed.connected_to(listen):
        first = RegistrationService.register(event, UserFactory())
        second = RegistrationService.register(event, UserFactory())  # waitlisted
        RegistrationService.cancel(first)  # `second` is promoted
    assert heard == [
        (event, {"registrations": [first]}),
        (event, {"registrations": [second]}),
        (event, {"registrations": [first]}),
        (event, {"registrations": [second]}),
    ]

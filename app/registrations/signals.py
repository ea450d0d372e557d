"""What the registrations area tells the others, and how it follows the events area.

`seats_changed`: sender the event; keyword `registrations`, the registrations whose seat or
session places changed (confirmed, waitlisted, promoted, cancelled), never empty. Receivers
run inside the sender's transaction and only flush or `enqueue()`.
"""

from __future__ import annotations

from blinker import Namespace

namespace = Namespace()

seats_changed = namespace.signal("seats_changed")


def connect_signals() -> None:
    """Called once per app by `create_app`; connecting the same function again is a no-op
    (blinker keys receivers by identity), so several apps in one process share one wiring."""
    from app.events import signals as events
    from app.registrations.models import refuse_deleting_with_registrations
    from app.registrations.reminders import ReminderService
    from app.registrations.services import fill_freed_seats, refuse_capacity_below_seats

    events.event_created.connect(ReminderService.add_defaults, weak=False)
    events.event_start_moved.connect(ReminderService.move_pending, weak=False)
    events.event_deleting.connect(refuse_deleting_with_registrations, weak=False)
    events.capacity_changing.connect(refuse_capacity_below_seats, weak=False)
    events.capacity_changed.connect(fill_freed_seats, weak=False)

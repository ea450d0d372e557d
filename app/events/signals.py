"""What the events area tells the others. Each signal's sender is the event (or, for the
capacity signals, the event or session whose capacity changes); the keyword data is listed
with it.

Receivers run synchronously inside the sender's transaction: they only flush or `enqueue()`
(jobs run after the commit). A receiver of a signal whose name ends in "-ing" may refuse the
operation by raising `ValidationError`; the exception reaches the caller, as from any receiver.
The order in which receivers run is not defined, so none may depend on another.
Receivers are connected by each area's `connect_signals()`, called from `create_app`.
"""

from __future__ import annotations

from blinker import Namespace

namespace = Namespace()

# A new DRAFT event was created and flushed.
event_created = namespace.signal("event_created")
# The event's start moved (the event form or Reschedule).
event_start_moved = namespace.signal("event_start_moved")
# The event's details, times, format or sessions changed.
event_schedule_changed = namespace.signal("event_schedule_changed")
# The event was published; keyword `actor` (the user). A receiver may refuse with DomainError.
event_published = namespace.signal("event_published")
# The event was cancelled (its sessions too).
event_cancelled = namespace.signal("event_cancelled")
# The organizer changed the attendance threshold.
attendance_threshold_changed = namespace.signal("attendance_threshold_changed")
# About to close the event; a receiver may refuse with ValidationError.
event_closing = namespace.signal("event_closing")
# About to delete a draft; a receiver may refuse with ValidationError.
event_deleting = namespace.signal("event_deleting")
# About to set a capacity; keyword `capacity` (int or None: no limit). Sender: the event or
# the session. A receiver may refuse with ValidationError.
capacity_changing = namespace.signal("capacity_changing")
# A new capacity was applied. Sender: the event or the session.
capacity_changed = namespace.signal("capacity_changed")

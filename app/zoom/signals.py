"""How Zoom follows the events and registrations areas (it emits no signal of its own):
meetings are created on publishing, kept in step with the event's schedule, registrants with
the seats, and attendance with the threshold."""

from __future__ import annotations


def connect_signals() -> None:
    """Called once per app by `create_app`; connecting again is a no-op."""
    from app.events import signals as events
    from app.registrations import signals as registrations
    from app.zoom.attendance import recompute_for_new_threshold
    from app.zoom.meetings import meetings_changed, meetings_published, registrants_changed

    events.event_published.connect(meetings_published, weak=False)
    events.event_schedule_changed.connect(meetings_changed, weak=False)
    events.event_cancelled.connect(meetings_changed, weak=False)
    events.attendance_threshold_changed.connect(recompute_for_new_threshold, weak=False)
    registrations.seats_changed.connect(registrants_changed, weak=False)

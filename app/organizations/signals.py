"""How the organizations area follows the others (it emits no signal of its own)."""

from __future__ import annotations


def connect_signals() -> None:
    """Called once per app by `create_app`; connecting again is a no-op."""
    from app.events import signals as events
    from app.organizations.services import record_event_created

    events.event_created.connect(record_event_created, weak=False)

"""How the certificates area follows the others (it emits no signal of its own)."""

from __future__ import annotations


def connect_signals() -> None:
    """Called once per app by `create_app`; connecting again is a no-op."""
    from app.certificates.services import refuse_closing_with_pending_certificates
    from app.events import signals as events

    events.event_closing.connect(refuse_closing_with_pending_certificates, weak=False)

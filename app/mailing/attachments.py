"""Files attached to messages, built when the message is delivered.

An email log row holds a reference ({"kind": "event_ics", "id": 5}), never the bytes: the log
stays small, and the file shows the thing as it is when the message leaves. Each area
registers the builders of its kinds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # "text/calendar"
    content: bytes


# kind -> builder(id) -> Attachment, or None when the thing is gone (the message goes without).
_BUILDERS: dict[str, Callable[[int], Attachment | None]] = {}


def register(kind: str, builder: Callable[[int], Attachment | None]) -> None:
    _BUILDERS[kind] = builder


def check_attachment_kind(kind: str) -> None:
    """Unknown kinds fail when the message is queued, not later in the job."""
    if kind not in _BUILDERS:
        raise LookupError(f"No attachment builder is registered for {kind!r}.")


def build_attachment(kind: str, ident: int) -> Attachment | None:
    check_attachment_kind(kind)
    return _BUILDERS[kind](ident)

"""The privacy registry: every area registers how to export and how to erase a user's data.

"Download my data" and account deletion walk this registry, so an area added later is
covered by registering here (DESIGN.md, "Decisions").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.core.types import SystemEmail

if TYPE_CHECKING:
    from app.accounts.models import User

Exporter = Callable[["User"], Any]
Anonymiser = Callable[["User"], None]


@dataclass(frozen=True)
class PrivacyHandler:
    area: str
    export: Exporter
    anonymise: Anonymiser
    order: int


_handlers: dict[str, PrivacyHandler] = {}


def anonymised_email(user: User) -> SystemEmail:
    """The address that replaces a deleted user's in every area (seed 003 "GDPR")."""
    return SystemEmail(f"deleted-{user.uuid}@anonymized.local")


def register(area: str, *, export: Exporter, anonymise: Anonymiser, order: int = 100) -> None:
    """Register an area's handlers. Anonymisers run by ascending `order` (accounts last)."""
    _handlers[area] = PrivacyHandler(area, export, anonymise, order)


def handlers() -> list[PrivacyHandler]:
    return sorted(_handlers.values(), key=lambda h: (h.order, h.area))


def export_user_data(user: User) -> dict[str, Any]:
    """Everything every area holds about `user`, keyed by area."""
    return {handler.area: handler.export(user) for handler in handlers()}


def anonymise_user(user: User) -> None:
    """Erase `user`'s personal data in every area. Only flushes; the caller commits."""
    for handler in handlers():
        handler.anonymise(user)

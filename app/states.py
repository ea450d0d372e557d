"""Every state machine of Convene, in one module (DESIGN.md "State machines").

Models never assign their status directly: they call `MACHINE.fire(obj, "trigger")`. The
`transitions` library checks the move; an invalid one raises InvalidTransition with a message
a person can read. Entities with an audit trail define `record_transition(...)`, which is
called after every successful move so that they write their history row. Nothing here
commits: the view or job that called the model commits once.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from typing import Any

from transitions import Machine, MachineError

from app.core.errors import InvalidTransition

log = logging.getLogger(__name__)


class _Holder:
    """What `transitions` drives: it reads and writes `state`, which is the model's column.

    Keeping the machine on a holder means it never binds trigger methods onto our models.
    """

    def __init__(self, target: Any, attribute: str):
        self.target = target
        self.attribute = attribute

    @property
    def state(self):
        return getattr(self.target, self.attribute)

    @state.setter
    def state(self, value):
        setattr(self.target, self.attribute, value)


@dataclass
class StateMachine:
    """The definition of one machine; applied to an instance when a trigger is fired."""

    noun: str
    states: type[enum.Enum]
    transitions: list[dict]
    attribute: str = "status"
    _triggers: set[str] = field(init=False)

    def __post_init__(self) -> None:
        self._triggers = {t["trigger"] for t in self.transitions}
        self._compiled = [_compile(t) for t in self.transitions]

    def current(self, obj: Any) -> enum.Enum:
        """The object's state as a member of `states` (a stored string value is accepted)."""
        value = getattr(obj, self.attribute)
        if isinstance(value, self.states):
            return value
        if value is None:
            raise ValueError(
                f"the {self.noun} has no {self.attribute} yet: set it before changing it"
            )
        return self.states(value)  # ValueError for a value that is not a state

    def _machine(self, obj: Any, current: enum.Enum) -> tuple[Machine, _Holder]:
        holder = _Holder(obj, self.attribute)
        machine = Machine(
            model=holder,
            states=list(self.states),
            transitions=self._compiled,
            initial=current,
            model_attribute="state",
            auto_transitions=False,
            send_event=True,
        )
        return machine, holder

    def may(self, obj: Any, trigger: str) -> bool:
        """Whether `trigger` is allowed from the object's current state."""
        self._check_trigger(trigger)
        current = self.current(obj)
        return any(
            t["trigger"] == trigger and current in _as_list(t["source"]) for t in self.transitions
        )

    def fire(self, obj: Any, trigger: str, *, actor: Any = None, reason: str | None = None):
        """Move `obj` by `trigger`, or raise InvalidTransition; returns the new state."""
        self._check_trigger(trigger)
        before = self.current(obj)
        machine, holder = self._machine(obj, before)
        try:
            moved = machine.events[trigger].trigger(holder)
        except MachineError as exc:
            raise InvalidTransition(
                f"Cannot {trigger.replace('_', ' ')}: the {self.noun} is {_label(before)}."
            ) from exc
        if not moved:
            raise InvalidTransition(
                f"The {self.noun} cannot {trigger.replace('_', ' ')} yet: a condition is not met."
            )
        after = getattr(obj, self.attribute)
        record = getattr(obj, "record_transition", None)
        if record is not None:
            record(before, after, actor=actor, reason=reason)
        return after

    def fire_if_allowed(self, obj: Any, trigger: str, *, actor: Any = None) -> bool:
        """Fire when the current state allows it; otherwise do nothing and say so.

        For signals that may repeat or arrive late (the clock tick, Zoom's webhooks): a
        second "meeting started" is logged and ignored, never an error (DESIGN.md).
        """
        if not self.may(obj, trigger):
            log.info(
                "ignored %s on %s %s: it is %s",
                trigger, self.noun, getattr(obj, "id", "?"), _label(self.current(obj)),
            )
            return False
        self.fire(obj, trigger, actor=actor)
        return True

    def _check_trigger(self, trigger: str) -> None:
        if trigger not in self._triggers:
            raise ValueError(f"{self.noun} has no trigger {trigger!r}")


def _compile(transition: dict) -> dict:
    """A condition named by a string is a method of the model: it returns True or raises a
    ValidationError saying what is missing (clearer than "a condition is not met"). A
    callable is passed to `transitions` as it is (it receives the EventData)."""
    conditions = _as_list(transition.get("conditions", []))
    compiled = {key: value for key, value in transition.items() if key != "conditions"}
    if conditions:
        compiled["conditions"] = [_model_method(c) if isinstance(c, str) else c for c in conditions]
    return compiled


def _model_method(name: str):
    return lambda event: getattr(event.model.target, name)()


def _as_list(source) -> list:
    return source if isinstance(source, list) else [source]


def _label(state) -> str:
    return str(getattr(state, "value", state)).replace("_", " ").lower()


# --- User lifecycle (DESIGN.md "Decisions": invited → unverified → active → deactivated → deleted)


class UserStatus(enum.Enum):
    INVITED = "invited"  # created by an invitation or a guest registration; no password yet
    UNVERIFIED = "unverified"  # signed up; the email address is not confirmed
    ACTIVE = "active"
    DEACTIVATED = "deactivated"  # by an admin; cannot log in
    DELETED = "deleted"  # anonymised; terminal


USER_MACHINE = StateMachine(
    noun="account",
    states=UserStatus,
    transitions=[
        # A person signs up with an address an invitation already created an account for.
        {"trigger": "sign_up", "source": UserStatus.INVITED, "dest": UserStatus.UNVERIFIED},
        {"trigger": "verify_email", "source": UserStatus.UNVERIFIED, "dest": UserStatus.ACTIVE},
        # Setting a password from an emailed link proves the address as well.
        {"trigger": "claim", "source": UserStatus.INVITED, "dest": UserStatus.ACTIVE},
        {
            "trigger": "deactivate",
            "source": [UserStatus.INVITED, UserStatus.UNVERIFIED, UserStatus.ACTIVE],
            "dest": UserStatus.DEACTIVATED,
        },
        {"trigger": "reactivate", "source": UserStatus.DEACTIVATED, "dest": UserStatus.ACTIVE},
        {
            "trigger": "erase",
            "source": [
                UserStatus.INVITED,
                UserStatus.UNVERIFIED,
                UserStatus.ACTIVE,
                UserStatus.DEACTIVATED,
            ],
            "dest": UserStatus.DELETED,
        },
    ],
)


# --- Events (seed 003 "Event Status")


class EventStatus(enum.Enum):
    DRAFT = "draft"
    PUBLISHED = "published"
    LIVE = "live"
    COMPLETED = "completed"
    CLOSED = "closed"
    CANCELLED = "cancelled"  # terminal


EVENT_MACHINE = StateMachine(
    noun="event",
    states=EventStatus,
    transitions=[
        {
            "trigger": "publish",
            "source": EventStatus.DRAFT,
            "dest": EventStatus.PUBLISHED,
            "conditions": "check_ready_to_publish",
        },
        {"trigger": "start", "source": EventStatus.PUBLISHED, "dest": EventStatus.LIVE},
        {"trigger": "complete", "source": EventStatus.LIVE, "dest": EventStatus.COMPLETED},
        {
            "trigger": "cancel",
            "source": [EventStatus.PUBLISHED, EventStatus.LIVE],
            "dest": EventStatus.CANCELLED,
        },
        {
            "trigger": "close",
            "source": EventStatus.COMPLETED,
            "dest": EventStatus.CLOSED,
            "conditions": "check_ready_to_close",
        },
        {"trigger": "reopen", "source": EventStatus.CLOSED, "dest": EventStatus.COMPLETED},
    ],
)


# --- Sessions (seed 000 `Session.transition_to`)


class SessionStatus(enum.Enum):
    SCHEDULED = "scheduled"
    LIVE = "live"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


SESSION_MACHINE = StateMachine(
    noun="session",
    states=SessionStatus,
    transitions=[
        {"trigger": "start", "source": SessionStatus.SCHEDULED, "dest": SessionStatus.LIVE},
        {"trigger": "complete", "source": SessionStatus.LIVE, "dest": SessionStatus.COMPLETED},
        {"trigger": "cancel", "source": SessionStatus.SCHEDULED, "dest": SessionStatus.CANCELLED},
    ],
)


# --- Registrations (seed 003 "Registration Status"; DESIGN.md "State machines")


class RegistrationStatus(enum.Enum):
    CONFIRMED = "confirmed"  # holds a seat
    WAITLISTED = "waitlisted"  # in line for a seat, first come first served
    CANCELLED = "cancelled"  # terminal


REGISTRATION_MACHINE = StateMachine(
    noun="registration",
    states=RegistrationStatus,
    transitions=[
        {
            "trigger": "promote",
            "source": RegistrationStatus.WAITLISTED,
            "dest": RegistrationStatus.CONFIRMED,
        },
        {
            "trigger": "cancel",
            "source": [RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED],
            "dest": RegistrationStatus.CANCELLED,
        },
    ],
)


# --- Certificates (seed 003 "Certificate Status"; DESIGN.md: data immutable once issued)


class CertificateStatus(enum.Enum):
    ACTIVE = "active"
    REVOKED = "revoked"  # terminal: a new certificate is issued instead of reactivating


CERTIFICATE_MACHINE = StateMachine(
    noun="certificate",
    states=CertificateStatus,
    transitions=[
        {
            "trigger": "revoke",
            "source": CertificateStatus.ACTIVE,
            "dest": CertificateStatus.REVOKED,
        },
    ],
)


# --- Bulk certificate issuing runs (issue 6): one job issues to every eligible registration


class IssueRunStatus(enum.Enum):
    QUEUED = "queued"  # created; its job is on the queue
    RUNNING = "running"  # a worker issues batch after batch (and resumes after a crash)
    DONE = "done"  # every eligible registration was handled
    FAILED = "failed"  # stopped for a reason the organizer must fix (the message says which)


ISSUE_RUN_MACHINE = StateMachine(
    noun="issuing run",
    states=IssueRunStatus,
    transitions=[
        {"trigger": "start", "source": IssueRunStatus.QUEUED, "dest": IssueRunStatus.RUNNING},
        {"trigger": "finish", "source": IssueRunStatus.RUNNING, "dest": IssueRunStatus.DONE},
        {
            "trigger": "fail",
            "source": [IssueRunStatus.QUEUED, IssueRunStatus.RUNNING],
            "dest": IssueRunStatus.FAILED,
        },
    ],
)

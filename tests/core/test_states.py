"""The state machine wrapper and the user lifecycle."""

from __future__ import annotations

import enum
from types import SimpleNamespace

import pytest

from app.core.errors import InvalidTransition
from app.states import USER_MACHINE, StateMachine, UserStatus

S = UserStatus

VALID_MOVES = [
    (S.INVITED, "sign_up", S.UNVERIFIED),
    (S.INVITED, "claim", S.ACTIVE),
    (S.UNVERIFIED, "verify_email", S.ACTIVE),
    (S.INVITED, "deactivate", S.DEACTIVATED),
    (S.UNVERIFIED, "deactivate", S.DEACTIVATED),
    (S.ACTIVE, "deactivate", S.DEACTIVATED),
    (S.DEACTIVATED, "reactivate", S.ACTIVE),
    (S.INVITED, "erase", S.DELETED),
    (S.UNVERIFIED, "erase", S.DELETED),
    (S.ACTIVE, "erase", S.DELETED),
    (S.DEACTIVATED, "erase", S.DELETED),
]
TRIGGERS = sorted({trigger for _, trigger, _ in VALID_MOVES})


def account(status: UserStatus) -> SimpleNamespace:
    return SimpleNamespace(status=status)


@pytest.mark.parametrize(("before", "trigger", "after"), VALID_MOVES)
def test_valid_moves(before, trigger, after):
    user = account(before)

    assert USER_MACHINE.may(user, trigger)
    assert USER_MACHINE.fire(user, trigger) is after
    assert user.status is after


INVALID_MOVES = [
    (status, trigger)
    for status in UserStatus
    for trigger in TRIGGERS
    if (status, trigger) not in {(before, t) for before, t, _ in VALID_MOVES}
]


@pytest.mark.parametrize(("before", "trigger"), INVALID_MOVES)
def test_every_other_move_is_refused_and_changes_nothing(before, trigger):
    user = account(before)

    assert not USER_MACHINE.may(user, trigger)
    with pytest.raises(InvalidTransition):
        USER_MACHINE.fire(user, trigger)
    assert user.status is before


def test_deleted_is_terminal():
    assert not any(USER_MACHINE.may(account(S.DELETED), trigger) for trigger in TRIGGERS)


def test_an_invalid_move_has_a_message_a_person_can_read():
    with pytest.raises(InvalidTransition) as excinfo:
        USER_MACHINE.fire(account(S.ACTIVE), "verify_email")

    assert excinfo.value.message == "Cannot verify email: the account is active."
    assert excinfo.value.status_code == 409


def test_an_unknown_trigger_is_a_programming_error():
    with pytest.raises(ValueError, match="account has no trigger 'publish'"):
        USER_MACHINE.fire(account(S.ACTIVE), "publish")
    with pytest.raises(ValueError, match="no trigger"):
        USER_MACHINE.may(account(S.ACTIVE), "publish")


def test_the_machine_never_adds_methods_to_the_object():
    user = account(S.INVITED)
    USER_MACHINE.fire(user, "claim")

    assert set(vars(user)) == {"status"}


class Audited:
    def __init__(self, status):
        self.status = status
        self.history = []

    def record_transition(self, before, after, *, actor=None, reason=None):
        self.history.append((before, after, actor, reason))


def test_record_transition_is_called_after_a_move():
    user = Audited(S.ACTIVE)
    admin = object()

    USER_MACHINE.fire(user, "deactivate", actor=admin, reason="spam")
    USER_MACHINE.fire(user, "reactivate")

    assert user.history == [
        (S.ACTIVE, S.DEACTIVATED, admin, "spam"),
        (S.DEACTIVATED, S.ACTIVE, None, None),
    ]


def test_record_transition_is_not_called_for_a_refused_move():
    user = Audited(S.DELETED)

    with pytest.raises(InvalidTransition):
        USER_MACHINE.fire(user, "reactivate")

    assert user.history == []


def test_the_status_attribute_can_be_named():
    class Light(enum.Enum):
        OFF = "off"
        ON = "on"

    machine = StateMachine(
        noun="light",
        states=Light,
        attribute="state",
        transitions=[{"trigger": "switch_on", "source": Light.OFF, "dest": Light.ON}],
    )
    lamp = SimpleNamespace(state=Light.OFF)

    assert machine.fire(lamp, "switch_on") is Light.ON
    with pytest.raises(InvalidTransition, match="Cannot switch on: the light is on."):
        machine.fire(lamp, "switch_on")


def test_a_failed_condition_is_refused_with_its_own_message():
    class Door(enum.Enum):
        SHUT = "shut"
        OPEN = "open"

    allowed = {"value": False}
    machine = StateMachine(
        noun="door",
        states=Door,
        transitions=[
            {
                "trigger": "open",
                "source": Door.SHUT,
                "dest": Door.OPEN,
                "conditions": [lambda event: allowed["value"]],
            }
        ],
    )
    door = SimpleNamespace(status=Door.SHUT)

    with pytest.raises(InvalidTransition, match="cannot open yet"):
        machine.fire(door, "open")
    assert door.status is Door.SHUT

    allowed["value"] = True
    assert machine.fire(door, "open") is Door.OPEN


def test_user_lifecycle_methods_go_through_the_machine(ctx):
    from app.accounts.models import User

    user = User(email="new@example.com", status=S.UNVERIFIED)
    user.verify_email()
    assert user.status is S.ACTIVE and user.email_verified_at is not None

    with pytest.raises(InvalidTransition):
        user.verify_email()
    with pytest.raises(InvalidTransition):
        user.claim()


def test_a_stored_string_value_counts_as_its_state():
    """A status assigned as its string value (the database's form) moves like the member."""
    user = Audited("invited")

    assert USER_MACHINE.may(user, "claim")
    assert USER_MACHINE.fire(user, "claim") is S.ACTIVE
    assert user.status is S.ACTIVE
    assert user.history == [(S.INVITED, S.ACTIVE, None, None)]


@pytest.mark.parametrize(("status", "message"), [(None, "no status yet"), ("bogus", "bogus")])
def test_an_object_without_a_valid_state_is_a_programming_error(status, message):
    with pytest.raises(ValueError, match=message):
        USER_MACHINE.fire(account(status), "claim")
    with pytest.raises(ValueError, match=message):
        USER_MACHINE.may(account(status), "claim")

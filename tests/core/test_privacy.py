"""The privacy registry: every area's exporter and anonymiser, walked in a fixed order."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from app.core import privacy
from app.extensions import db
from tests.factories import UserFactory


@pytest.fixture
def registry(monkeypatch):
    """The real registry, restored after the test whatever it registered."""
    monkeypatch.setattr(privacy, "_handlers", dict(privacy._handlers))
    return privacy._handlers


@pytest.fixture
def empty_registry(monkeypatch):
    monkeypatch.setattr(privacy, "_handlers", {})
    return privacy._handlers


def test_a_registered_area_is_exported(empty_registry):
    person = SimpleNamespace(id=7)
    privacy.register("badges", export=lambda user: [f"badge of {user.id}"], anonymise=print)

    assert privacy.export_user_data(person) == {"badges": ["badge of 7"]}


def test_anonymisers_run_by_ascending_order_then_area(empty_registry):
    calls = []

    def anonymiser(name):
        return lambda user: calls.append((name, user))

    person = object()
    privacy.register("zeta", export=dict, anonymise=anonymiser("zeta"), order=50)
    privacy.register("last", export=dict, anonymise=anonymiser("last"), order=1000)
    privacy.register("alpha", export=dict, anonymise=anonymiser("alpha"), order=50)
    privacy.register("first", export=dict, anonymise=anonymiser("first"), order=1)

    privacy.anonymise_user(person)

    assert calls == [("first", person), ("alpha", person), ("zeta", person), ("last", person)]
    assert [h.area for h in privacy.handlers()] == ["first", "alpha", "zeta", "last"]


def test_registering_an_area_again_replaces_it(empty_registry):
    privacy.register("badges", export=lambda user: "old", anonymise=print)
    privacy.register("badges", export=lambda user: "new", anonymise=print)

    assert privacy.export_user_data(object()) == {"badges": "new"}


def test_the_default_order_runs_before_the_account_itself(registry, ctx):
    """A new area registered with the default order is erased before the account is."""
    calls = []
    user = UserFactory(email="someone@example.com", full_name="Some One")
    db.session.flush()

    def anonymise_badges(target):
        # The account is still intact when an area anonymises its own rows.
        calls.append(("badges", target.email, target.full_name))

    privacy.register("badges", export=lambda target: {"count": 2}, anonymise=anonymise_badges)
    account = registry["account"]
    privacy.register(
        "account",
        export=account.export,
        anonymise=lambda target: (calls.append(("account",)), account.anonymise(target)),
        order=account.order,
    )

    exported = privacy.export_user_data(user)
    privacy.anonymise_user(user)

    assert exported["badges"] == {"count": 2}
    assert exported["account"]["email"] == "someone@example.com"
    assert {"account", "emails", "badges"} <= set(exported)
    assert calls == [("badges", "someone@example.com", "Some One"), ("account",)]
    assert user.email == f"deleted-{user.uuid}@anonymized.local"


def test_the_registry_is_restored_after_a_test(app):
    assert "badges" not in privacy._handlers
    assert {"account", "emails"} <= set(privacy._handlers)

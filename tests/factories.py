"""factory_boy factories for the models; they add to db.session and flush."""

from __future__ import annotations

import factory
from factory.alchemy import SQLAlchemyModelFactory

from app.accounts.models import User
from app.core.types import utcnow
from app.extensions import db
from app.states import UserStatus

PASSWORD = "a-Sturdy-test-passphrase-42"


class BaseFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"


class UserFactory(BaseFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    status = UserStatus.ACTIVE
    timezone = "Europe/London"
    email_verified_at = factory.LazyFunction(utcnow)

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or PASSWORD)

import pytest

from app.extensions import db


@pytest.fixture
def build_app(app, make_app):
    """make_app() on the test database; the extra apps' connections are closed afterwards.

    Depends on `app`, so the tables are still emptied after the test.
    """
    built = []

    def build(**overrides):
        new_app = make_app(**overrides)
        built.append(new_app)
        return new_app

    yield build
    for new_app in built:
        with new_app.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()

"""The anonymous page cache: served without queries, invalidated by saves, never personal."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import flash

from app.core.cache import cache_page
from app.events.models import Event
from app.extensions import cache, db
from tests.conftest import create_user, log_in, query_counter
from tests.factories import EventFactory


@pytest.fixture
def cached_app(make_app):
    app = make_app()

    @app.get("/cached-count")
    @cache_page()
    def cached_count():
        count = db.session.scalar(sa.select(sa.func.count()).select_from(Event))
        return f"events: {count}"

    @app.get("/cached-flash")
    @cache_page()
    def cached_flash():
        flash("hello")
        return "flashed"

    with app.app_context():
        cache.clear()
    return app


def get(app, client, path):
    with app.app_context(), query_counter(db.engine) as statements:
        body = client.get(path).get_data(as_text=True)
    return body, len(statements)


def test_a_repeated_anonymous_request_is_served_without_queries(cached_app):
    client = cached_app.test_client()
    assert get(cached_app, client, "/cached-count") == ("events: 0", 1)
    assert get(cached_app, client, "/cached-count") == ("events: 0", 0)
    assert get(cached_app, client, "/cached-count?page=2")[1] == 1  # another URL


def test_a_commit_that_changes_an_event_invalidates_the_page(cached_app):
    client = cached_app.test_client()
    get(cached_app, client, "/cached-count")
    with cached_app.test_request_context():
        EventFactory()
        db.session.commit()
    assert get(cached_app, client, "/cached-count")[0] == "events: 1"

    with cached_app.test_request_context():
        event = db.session.scalar(sa.select(Event))
        event.end_at += timedelta(hours=1)
        db.session.commit()
    body, queries = get(cached_app, client, "/cached-count")
    assert queries == 1  # re-rendered after the change


def test_a_bulk_update_of_events_invalidates_too(cached_app):
    client = cached_app.test_client()
    with cached_app.test_request_context():
        EventFactory()
        db.session.commit()
    get(cached_app, client, "/cached-count")
    with cached_app.test_request_context():
        db.session.execute(sa.update(Event).values(summary="changed"))
        db.session.commit()
    assert get(cached_app, client, "/cached-count")[1] == 1


def test_a_rolled_back_change_keeps_the_cache(cached_app):
    client = cached_app.test_client()
    with cached_app.test_request_context():
        EventFactory()
        db.session.commit()
    get(cached_app, client, "/cached-count")
    with cached_app.test_request_context():
        db.session.scalar(sa.select(Event)).summary = "never saved"
        db.session.flush()
        db.session.rollback()
    assert get(cached_app, client, "/cached-count")[1] == 0


def test_logged_in_users_are_never_served_from_the_cache(cached_app):
    create_user(cached_app, email="ada@example.com")
    anonymous = cached_app.test_client()
    get(cached_app, anonymous, "/cached-count")
    member = cached_app.test_client()
    log_in(member, "ada@example.com")
    assert get(cached_app, member, "/cached-count")[1] >= 1


def test_a_response_that_flashes_is_not_stored(cached_app):
    client = cached_app.test_client()
    client.get("/cached-flash")
    other = cached_app.test_client()
    with cached_app.app_context():
        assert not [k for k in cache.cache._cache if "cached-flash" in k]
    assert other.get("/cached-flash").status_code == 200


def test_anonymous_pages_carry_no_csrf_token(app, client):
    page = client.get("/").get_data(as_text=True)
    assert "X-CSRFToken" not in page and "csrf_token" not in page
    assert "Set-Cookie" not in client.get("/").headers


def test_the_cache_can_be_turned_off(make_app):
    app = make_app(PAGE_CACHE=False)

    @app.get("/uncached")
    @cache_page()
    def uncached():
        return str(db.session.scalar(sa.select(sa.func.count()).select_from(Event)))

    client = app.test_client()
    assert get(app, client, "/uncached")[1] == 1
    assert get(app, client, "/uncached")[1] == 1

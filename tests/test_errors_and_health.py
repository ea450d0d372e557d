"""Error pages (full page or HTMX fragment), the request size limit, and /healthz."""

import json

import sqlalchemy as sa

from app.extensions import db
from tests.conftest import PASSWORD, TEST_REDIS_URL, query_counter, require


def test_not_found_is_a_page_or_a_fragment(client):
    page = client.get("/no-such-page")
    assert page.status_code == 404
    assert "<html" in page.get_data(as_text=True)
    assert "Page not found" in page.get_data(as_text=True)

    fragment = client.get("/no-such-page", headers={"HX-Request": "true"})
    assert fragment.status_code == 404
    assert "<html" not in fragment.get_data(as_text=True)
    assert "Page not found" in fragment.get_data(as_text=True)


def test_an_unexpected_error_is_a_500_page_without_a_stack_trace(make_app):
    app = make_app()

    def explode():
        raise RuntimeError("secret internals")

    app.add_url_rule("/explode", "explode", explode)
    response = app.test_client().get("/explode")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Something went wrong" in body
    assert "secret internals" not in body and "Traceback" not in body


def test_a_request_over_the_size_limit_gets_a_413_page(make_app):
    app = make_app(MAX_CONTENT_LENGTH=4096)
    response = app.test_client().post("/signup", data={"bio": "x" * 10_000})
    assert response.status_code == 413
    assert "larger than this site accepts" in response.get_data(as_text=True)


def test_healthz_does_exactly_one_select(app, client):
    with app.app_context(), query_counter(db.engine) as statements:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert json.loads(response.data) == {
        "status": "ok", "database": "ok", "redis": "not configured"
    }
    assert [s.strip() for s in statements] == ["SELECT 1"]
    assert "Set-Cookie" not in response.headers


def test_healthz_is_503_when_the_database_is_down(make_app, tmp_path):
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path}/missing-dir/none.db")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert json.loads(response.data)["database"].startswith("error")


def test_healthz_is_503_when_redis_is_down(make_app):
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert json.loads(response.data)["redis"].startswith("error")


def test_healthz_pings_a_real_redis(make_app):
    require(TEST_REDIS_URL is not None, "TEST_REDIS_URL is not set: no Redis to ping")
    app = make_app(REDIS_URL=TEST_REDIS_URL)
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert json.loads(response.data)["redis"] == "ok"


def test_demo_data_loads_once(app):
    from app.accounts.models import User

    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    assert "admin@example.com" in first.output and "convene-demo-2026" in first.output
    second = runner.invoke(args=["demo", "load"])
    assert second.exit_code == 0
    from app.events.models import Event

    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 8
        titles = set(db.session.scalars(sa.select(Event.title)))
        assert {"Northern Cardiology Update", "Thursday journal club"} <= titles
        conference = db.session.scalar(
            sa.select(Event).where(Event.title == "Northern Cardiology Update")
        )
        assert len(conference.sessions) == 9 and len(conference.get_speakers()) == 3


def test_create_admin_command(app, client):
    from tests.conftest import log_in

    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["users", "create-admin", "boss@example.com", "--name", "Boss", "--password", PASSWORD]
    )
    assert result.exit_code == 0, result.output
    log_in(client, "boss@example.com")
    assert client.get("/admin/").status_code == 200

    weak = runner.invoke(args=["users", "create-admin", "weak@example.com", "--password", "123"])
    assert weak.exit_code != 0
    assert "at least 10 characters" in weak.output

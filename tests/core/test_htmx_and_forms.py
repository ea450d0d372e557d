"""Page or fragment, redirects for HTMX, and the form helpers shared by every area."""

from __future__ import annotations

import pytest
from flask import get_flashed_messages
from flask_wtf import FlaskForm
from wtforms import StringField

from app.core.errors import ValidationError
from app.core.forms import safe_next_url, show_error
from app.core.htmx import is_htmx, redirect_to, render

HTMX = {"HX-Request": "true"}
HISTORY_RESTORE = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
ERROR = {"status": 404, "title": "Nothing here", "message": "That page has moved."}


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (HTMX, True),
        ({}, False),
        (HISTORY_RESTORE, False),
        ({"HX-Request": "false"}, False),
        ({"HX-Boosted": "true"}, False),
    ],
    ids=["htmx", "plain", "history-restore", "false", "boosted-only"],
)
def test_is_htmx(app, headers, expected):
    with app.test_request_context(headers=headers):
        assert is_htmx() is expected


def render_error(app, headers) -> str:
    with app.test_request_context(headers=headers):
        return render("errors/error.html", "errors/_error.html", **ERROR)


def test_render_gives_a_plain_request_the_whole_page(app):
    html = render_error(app, {})

    assert html.lstrip().lower().startswith("<!doctype html>")
    assert "<title>Nothing here · Convene</title>" in html
    assert "That page has moved." in html  # the page includes its fragment


def test_render_gives_htmx_the_fragment_only(app):
    html = render_error(app, HTMX)

    assert html.lstrip().startswith('<section class="card error-card"')
    assert "<html" not in html and "<title>" not in html
    assert "Nothing here" in html and "That page has moved." in html


def test_render_gives_a_history_restore_the_whole_page(app):
    assert "<!doctype html>" in render_error(app, HISTORY_RESTORE).lower()


@pytest.fixture
def demo_client(make_app):
    """An app with one view that renders through render()."""
    demo = make_app()

    @demo.get("/_test/render")
    def render_view():
        return render("errors/error.html", "errors/_error.html", **ERROR)

    return demo.test_client()


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["page", "fragment"])
def test_a_rendered_response_varies_with_hx_request(demo_client, headers):
    response = demo_client.get("/_test/render", headers=headers)

    assert response.status_code == 200
    assert "HX-Request" in response.vary


def test_redirect_to_is_a_303_for_a_plain_request(app):
    with app.test_request_context(method="POST"):
        response = redirect_to("/account/sessions")

    assert response.status_code == 303
    assert response.headers["Location"] == "/account/sessions"
    assert "HX-Redirect" not in response.headers


def test_redirect_to_asks_htmx_to_load_the_whole_page(app):
    with app.test_request_context(method="POST", headers=HTMX):
        response = redirect_to("/login")

    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/login"
    assert "Location" not in response.headers
    assert response.get_data() == b""


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "http://evil.example",
        "//evil.example/path",
        "///evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r\n/evil.example",
        " /account",
        "javascript:alert(1)",
        "data:text/html,hi",
        "mailto:someone@example.com",
        "evil.example",
        "account/sessions",
        "?next=/x",
        "",
        None,
    ],
)
def test_safe_next_url_refuses_anything_but_a_local_path(target):
    assert safe_next_url(target, "/home") == "/home"


@pytest.mark.parametrize(
    "target",
    ["/", "/account/sessions", "/events/abc?tab=speakers&page=2", "/search?q=a%2F%2Fb#results"],
)
def test_safe_next_url_accepts_a_local_path(target):
    assert safe_next_url(target, "/home") == target


class NameForm(FlaskForm):
    class Meta:
        csrf = False

    name = StringField()


def test_show_error_attaches_a_domain_error_to_its_field(app):
    with app.test_request_context():
        form = NameForm()
        show_error(form, ValidationError("That name is taken.", field="name"))

        assert form.name.errors == ["That name is taken."]
        assert get_flashed_messages() == []


@pytest.mark.parametrize("field", [None, "no_such_field"])
def test_show_error_flashes_an_error_without_a_field(app, field):
    with app.test_request_context():
        form = NameForm()
        show_error(form, ValidationError("Something went wrong.", field=field))

        assert not form.name.errors
        assert get_flashed_messages(with_categories=True) == [("error", "Something went wrong.")]


def test_a_domain_error_message_is_plain_text_even_from_a_lazy_string(app):
    """Jinja treats lazy strings as safe HTML: a name inside a refusal must be escaped."""
    from flask import render_template_string
    from flask_babel import lazy_gettext

    from app.core.errors import ValidationError

    with app.test_request_context():
        error = ValidationError(lazy_gettext("%(name)s is taken.", name="<b>Eve</b>"))
        assert type(error.message) is str
        html = render_template_string("{{ message }}", message=error.message)
    assert html == "&lt;b&gt;Eve&lt;/b&gt; is taken."


# --- attempt: one operation, one transaction


def _add_user(email: str, refuse: bool = False):
    from app.accounts.models import User
    from app.extensions import db

    db.session.add(User(email=email, full_name="Someone"))
    db.session.flush()
    if refuse:
        raise ValidationError("That address is taken.", field="name")
    return email


def _emails(app) -> list[str]:
    import sqlalchemy as sa

    from app.accounts.models import User
    from app.extensions import db

    with app.app_context():
        emails = list(db.session.scalars(sa.select(User.email)))
        db.session.remove()
        return emails


def test_attempt_commits_what_the_operation_did(app):
    from app.core.forms import attempt

    with app.test_request_context():
        outcome = attempt(lambda: _add_user("kept@example.com"))
        assert outcome and outcome.value == "kept@example.com" and outcome.error is None
    assert _emails(app) == ["kept@example.com"]


def test_attempt_rolls_back_a_refusal_and_shows_it_on_the_field(app):
    from app.core.forms import attempt

    with app.test_request_context(method="POST"):
        form = NameForm(meta={"csrf": False})
        outcome = attempt(lambda: _add_user("lost@example.com", refuse=True), form)
        assert not outcome and outcome.value is None
        assert form.name.errors == ["That address is taken."]
    assert _emails(app) == []


def test_attempt_flashes_a_refusal_without_a_form_or_leaves_it_to_the_caller(app):
    from app.core.forms import attempt

    with app.test_request_context():
        attempt(lambda: _add_user("a@example.com", refuse=True))
        assert get_flashed_messages(with_categories=True) == [("error", "That address is taken.")]
    with app.test_request_context():
        outcome = attempt(lambda: _add_user("b@example.com", refuse=True), show=False)
        assert outcome.error.message == "That address is taken."
        assert get_flashed_messages() == []
    assert _emails(app) == []

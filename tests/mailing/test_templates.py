"""Email templates: rendering in the sandbox, validation on save, and which template is used."""

import pytest
import sqlalchemy as sa

from app.core.sandbox import RenderFailed
from app.extensions import db
from app.mailing.defaults import DEFAULTS, default_template
from app.mailing.models import EmailTemplate
from app.mailing.services import seed_default_templates


def template(**fields) -> EmailTemplate:
    values = {
        "internal_name": "greeting",
        "display_name": "Greeting",
        "subject": "Hello {{ name }}",
        "content_text": "Dear {{ name }},\n{{ body }}",
        "content_html": "<p>Dear {{ name }},</p><p>{{ body }}</p>",
        "variables": ["name", "body"],
    }
    return EmailTemplate(**{**values, **fields})


# --- Rendering


def test_subject_text_and_html_render_with_the_context():
    t = template()
    context = {"name": "Ada", "body": "See you soon."}
    rendered = t.render(context)
    assert rendered.subject == "Hello Ada"
    assert rendered.text == "Dear Ada,\nSee you soon."
    assert rendered.html == "<p>Dear Ada,</p><p>See you soon.</p>"


def test_html_escapes_values_and_text_does_not():
    t = template()
    context = {"name": "<b>Ada</b> & co", "body": "<script>alert(1)</script>"}
    html = t.render(context).html
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;Ada&lt;/b&gt; &amp; co" in html
    text = t.render(context).text
    assert text == "Dear <b>Ada</b> & co,\n<script>alert(1)</script>"


def test_a_template_without_html_renders_none():
    assert template(content_html=None).render({"name": "x", "body": "y"}).html is None


@pytest.mark.parametrize(
    "name", ["Ada\r\nBcc: victim@example.com", "Ada\nX-Injected: 1", "Ada\r\rTo: x@example.com"]
)
def test_the_subject_is_one_line_so_no_header_can_be_injected(name):
    subject = template().render({"name": name, "body": ""}).subject
    assert "\n" not in subject and "\r" not in subject
    assert subject.startswith("Hello Ada ")


def test_newlines_in_the_subject_template_itself_are_collapsed():
    t = template(subject="Hello\n  {{ name }}\n\n")
    assert t.render({"name": "Ada", "body": ""}).subject == "Hello Ada"


# --- The sandbox


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ x.__class__ }}",
        "{{ x.__init__.__globals__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    ],
)
def test_the_sandbox_refuses_internals(source):
    for field in ("content_text", "content_html"):
        t = template(subject="Hi", **{field: source})
        with pytest.raises(RenderFailed, match="not allowed") as refused:
            t.render({"x": "value", "name": "Ada", "body": ""})
        assert refused.value.field == field


def test_the_sandbox_is_immutable():
    t = template(content_text="{{ items.append(4) }}{{ items }}")
    items = [1, 2, 3]
    with pytest.raises(RenderFailed, match="not allowed"):
        t.render({"items": items, "name": "Ada"})
    assert items == [1, 2, 3]


@pytest.mark.parametrize("source", ["{{ config }}", "{{ request }}", "{{ name.missing }}"])
def test_undefined_names_raise_instead_of_rendering_empty(source, app):
    t = template(content_text=source)
    with app.test_request_context(), pytest.raises(RenderFailed, match="undefined|attribute"):
        t.render({"name": "Ada", "body": ""})


# --- Validation


def test_a_clean_template_has_no_errors():
    assert template().validate_templates() == {}


def test_a_syntax_error_names_its_line():
    t = template(content_text="Line one\nLine two\n{% if name %}never closed")
    errors = t.validate_templates()
    assert list(errors) == ["content_text"]
    [message] = errors["content_text"]
    assert message.startswith("Line 3:")


def test_a_syntax_error_in_html_is_reported_on_that_field():
    errors = template(content_html="<p>\n{{ name }</p>").validate_templates()
    assert list(errors) == ["content_html"]
    assert errors["content_html"][0].startswith("Line 2:")


def test_an_unknown_variable_is_reported_with_the_allowed_ones():
    t = template(subject="Hi {{ nmae }} {{ token }}")
    errors = t.validate_templates()
    assert list(errors) == ["subject"]
    [message] = errors["subject"]
    assert "Unknown variables: nmae, token." in message
    assert "Available: body, name." in message


def test_with_no_variables_declared_any_variable_is_unknown():
    errors = template(variables=[], content_html=None).validate_templates()
    assert errors["subject"] == ["Unknown variable: name. Available: none."]
    assert "content_html" not in errors


def test_empty_subject_or_text_is_refused_but_html_is_optional():
    errors = template(subject="", content_text="", content_html="").validate_templates()
    assert errors == {
        "subject": ["This template cannot be empty."],
        "content_text": ["This template cannot be empty."],
    }


def test_locally_set_variables_are_not_unknown():
    t = template(content_text="{% set greeting = 'Hi' %}{{ greeting }} {% for c in name %}{{ c }}"
                 "{% endfor %}")
    assert t.validate_templates() == {}


def test_every_shipped_default_is_valid():
    for name in DEFAULTS:
        assert default_template(name).validate_templates() == {}, name


# --- Which template is used


def test_get_for_falls_back_to_the_shipped_default(ctx):
    found = EmailTemplate.get_for("verify_email")
    assert found.id is None  # not a database row
    assert found.subject == DEFAULTS["verify_email"]["subject"]


def test_a_database_row_overrides_the_default(ctx):
    db.session.add(template(internal_name="verify_email", subject="Custom {{ user_name }}",
                            variables=["user_name", "verify_url", "site_url"]))
    db.session.commit()
    found = EmailTemplate.get_for("verify_email")
    assert found.id is not None
    assert found.render({"user_name": "Ada", "name": "Ada", "body": ""}).subject == "Custom Ada"


def test_an_inactive_row_falls_back_to_the_default(ctx):
    db.session.add(template(internal_name="verify_email", subject="Custom", is_active=False))
    db.session.commit()
    found = EmailTemplate.get_for("verify_email")
    assert found.id is None
    assert found.subject == DEFAULTS["verify_email"]["subject"]


def test_a_row_without_a_shipped_default_is_found(ctx):
    db.session.add(template(internal_name="event_reminder"))
    db.session.commit()
    assert EmailTemplate.get_for("event_reminder").internal_name == "event_reminder"


def test_an_unknown_name_raises_lookup_error(ctx):
    with pytest.raises(LookupError, match="no_such_template"):
        EmailTemplate.get_for("no_such_template")


def test_changing_a_default_copy_does_not_change_the_shipped_default(ctx):
    found = EmailTemplate.get_for("verify_email")
    found.variables.append("extra")
    found.subject = "Changed"
    again = EmailTemplate.get_for("verify_email")
    assert "extra" not in again.variables
    assert "extra" not in DEFAULTS["verify_email"]["variables"]
    assert again.subject == DEFAULTS["verify_email"]["subject"]


# --- Seeding


def test_seeding_adds_each_default_once(ctx):
    assert seed_default_templates() == len(DEFAULTS)
    db.session.commit()
    assert seed_default_templates() == 0
    db.session.commit()
    names = db.session.scalars(sa.select(EmailTemplate.internal_name)).all()
    assert sorted(names) == sorted(DEFAULTS)


def test_seeding_keeps_an_admins_edit_and_adds_the_rest(ctx):
    seed_default_templates()
    db.session.commit()
    edited = db.session.scalar(
        sa.select(EmailTemplate).where(EmailTemplate.internal_name == "reset_password")
    )
    edited.subject = "Your reset link"
    removed = db.session.scalar(
        sa.select(EmailTemplate).where(EmailTemplate.internal_name == "verify_email")
    )
    db.session.delete(removed)
    db.session.commit()

    assert seed_default_templates() == 1
    db.session.commit()
    db.session.expire_all()
    assert EmailTemplate.get_for("reset_password").subject == "Your reset link"
    assert EmailTemplate.get_for("verify_email").id is not None


def test_seeding_keeps_an_inactive_row_inactive(ctx):
    db.session.add(template(internal_name="verify_email", subject="Off", is_active=False))
    db.session.commit()
    assert seed_default_templates() == len(DEFAULTS) - 1
    db.session.commit()
    row = db.session.scalar(
        sa.select(EmailTemplate).where(EmailTemplate.internal_name == "verify_email")
    )
    assert row.is_active is False and row.subject == "Off"


def test_flask_mail_seed_reports_how_many(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["mail", "seed"])
    assert first.exit_code == 0, first.output
    assert f"{len(DEFAULTS)} email template(s) added." in first.output
    second = runner.invoke(args=["mail", "seed"])
    assert "0 email template(s) added." in second.output


def test_a_template_cannot_build_a_huge_value_while_checked_or_rendered():
    """`{{ 9 ** 9 ** 9 }}` would run for minutes: Jinja folds constants when it parses, and
    the sandbox alone does not stop `**` or `*` (app/core/sandbox.py intercepts both). Such
    a template is refused when it is saved, by a trial render."""
    t = template(subject="Hi", content_text="{{ 9 ** (9 ** 9) }} {{ 'x' * 10 ** 9 }}")
    assert t.validate_templates() == {"content_text": [
        "This template builds a value that is too large (more than 1,000,000 characters): "
        "check its loops, joins and replacements."]}
    with pytest.raises(RenderFailed, match="too large"):
        t.render({})
    t = template(subject="Hi", content_text="{{ 'x' * 10000000 }}")
    with pytest.raises(RenderFailed, match="too large"):
        t.render({})


def test_a_subject_of_any_length_comes_back_as_sent():
    """At the default line length, a subject of 70-78 characters went whole to a folded line
    and came back with a leading space (a test saw it once its event counter passed 999)."""
    import email
    import email.policy
    from email.message import EmailMessage

    from app.mailing.services import MAIL_POLICY

    for length in range(60, 200):
        subject = ("Choose a password to manage your registration for Clinical update " * 4)
        subject = subject[:length].strip()
        message = EmailMessage(policy=MAIL_POLICY)
        message["Subject"] = subject
        message.set_content("Hello")
        parsed = email.message_from_bytes(bytes(message), policy=email.policy.default)
        assert parsed["Subject"] == subject

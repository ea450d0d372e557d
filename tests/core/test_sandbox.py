"""The one sandbox every template a person writes renders in (app/core/sandbox.py): each way
of building a huge value is refused before it is built, and a template that loops for long
is stopped by the deadline, with a message that says so, in every kind of template (an
'email attendees' message, an admin's email template, a certificate) and on every page
that previews or saves one. A normal template still renders."""

from __future__ import annotations

import signal

import pytest
import sqlalchemy as sa
from markupsafe import Markup

from app.certificates.models import CertificateTemplate, CertificateTemplateKind
from app.certificates.rendering import RenderError, render_template_html, sample_context
from app.core.errors import ValidationError
from app.core.sandbox import MAX_VALUE, RenderFailed, html_env, measure, render, text_env
from app.extensions import db
from app.mailing.models import EmailTemplate
from app.registrations.messages import render_for
from app.registrations.models import AttendeeMessage
from tests.admin.test_admin import admin_client, edit_template, seeded_template_id, stored_subject
from tests.certificates.template_helpers import html_form
from tests.conftest import create_user, csrf_token, log_in, post_form, read_mail
from tests.registrations.test_roster import HX, add_registration, make_event, organizer_client

TOO_LARGE = ("This template builds a value that is too large (more than 1,000,000 characters): "
             "check its loops, joins and replacements.")
TOO_LONG = "This template took too long to render (more than 0.3 seconds): check its loops."

# Each builds a huge value from `attendee_name` (every kind of template has it) and prints
# only its length, so that only the value, never the output, is too large.
ATTACKS = {
    "doubling with ~": "{% set a = attendee_name * 5000 %}" + "{% set a = a ~ a %}" * 10
                       + "{{ a|length }}",
    "doubling with +": "{% set a = attendee_name * 5000 %}" + "{% set a = a + a %}" * 10
                       + "{{ a|length }}",
    "+ on lists": "{% set a = [attendee_name * 5000] %}" + "{% set a = a + a %}" * 12
                  + "{{ a|length }}",
    "|replace": "{{ (attendee_name * 1000)|replace(attendee_name[0], 'x' * 90000)|length }}",
    ".replace": "{{ (attendee_name * 1000).replace(attendee_name[0], 'x' * 90000)|length }}",
    "|join over range": "{{ range(10000)|join(attendee_name * 5000)|length }}",
    ".join over range": "{{ (attendee_name * 5000).join(range(10000)|map('string'))|length }}",
    "* a string": "{{ (attendee_name * 10 ** 8)|length }}",
    "** numbers": "{{ (9 ** (9 ** 9))|string|length }}",
    "% width": "{{ ('%100000000s' % attendee_name)|length }}",
    "|format width": "{{ '%*s'|format(10 ** 8, attendee_name)|length }}",
    ".format width": "{{ '{:>100000000}'.format(attendee_name)|length }}",
    "|center": "{{ attendee_name|center(10 ** 8)|length }}",
    ".center": "{{ attendee_name.center(10 ** 8)|length }}",
    ".ljust": "{{ attendee_name.ljust(10 ** 8)|length }}",
    ".zfill": "{{ attendee_name.zfill(10 ** 8)|length }}",
    ".expandtabs": "{{ (attendee_name ~ '\\t' * 50000).expandtabs(50000)|length }}",
    "|indent": "{{ (attendee_name ~ '\\n' * 50000)|indent(50000)|length }}",
    "|wordwrap": "{{ (attendee_name ~ ' a' * 50000)|wordwrap(1, wrapstring=attendee_name * 5000)"
                 "|length }}",
    "|batch": "{{ [attendee_name]|batch(10 ** 8, '')|list|length }}",
    "|slice": "{{ [attendee_name]|slice(10 ** 8)|list|length }}",
    "a list printed": "{% set a = attendee_name * 30000 %}{{ [" + "a, " * 40
                      + "a]|string|length }}",
    "a macro that doubles": "{% macro twice(n) %}{% if n %}{{ twice(n - 1) }}{{ twice(n - 1) }}"
                            "{% else %}{{ attendee_name * 5000 }}{% endif %}{% endmacro %}"
                            "{{ twice(12)|length }}",
    "a namespace that grows": "{% set ns = namespace(items=[]) %}{% for i in range(1000) %}"
                              "{% set ns.items = ns.items + [attendee_name * 5000 ~ i] %}"
                              "{% endfor %}{{ ns.items|length }}",
}
NESTED_LOOPS = ("{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}"
                "{% endfor %}{{ attendee_name }}")
NORMAL = ("Dear {{ attendee_name|upper }},{% for i in range(3) %} {{ loop.index }}{% endfor %}"
          " {{ '%s!' % attendee_name }} {{ '{}/{}'.format(2 ** 10, 'x' * 3) }}"
          " {{ [attendee_name, 'and co']|join(' ') }} {{ ([1] + [2])|sum }}"
          " {{ attendee_name.replace(attendee_name, 'Ada').center(7) ~ '.' }}")
NORMAL_OUTPUT = "1 2 3 {name}! 1024/xxx {name} and co 3   Ada  ."

KINDS = ("message subject", "message body", "email subject", "email text", "email html",
         "certificate")


def refusal(kind: str, source: str) -> str:
    """What the person is told when `source` is rendered as `kind` ("" if it rendered)."""
    try:
        if kind.startswith("message"):
            context = {"attendee_name": "Ada Lovelace", "event_title": "Clinical update"}
            subject, body = (source, "Body") if kind == "message subject" else ("Hi", source)
            render_for(subject, body, context)
        elif kind.startswith("email"):
            field = {"email subject": "subject", "email text": "content_text",
                     "email html": "content_html"}[kind]
            fields = {"subject": "Hi", "content_text": "Hello", "content_html": None,
                      field: source}
            errors = EmailTemplate(internal_name="greeting", display_name="Greeting",
                                   variables=["attendee_name"], **fields).validate_templates()
            if errors:
                assert list(errors) == [field], errors
                return errors[field][0]
        else:
            template = CertificateTemplate(
                name="t", kind=CertificateTemplateKind.HTML, html=source, css="",
                page_size="A4", orientation="landscape", field_positions={})
            render_template_html(template, sample_context())
    except (ValidationError, RenderError) as error:
        return error.message
    return ""


@pytest.fixture
def short_deadline(app, monkeypatch):
    monkeypatch.setitem(app.config, "TEMPLATE_RENDER_SECONDS", 0.3)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("attack", ATTACKS)
def test_a_template_that_builds_a_huge_value_is_refused_before_building_it(
        ctx, short_deadline, kind, attack):
    """Refused by the size check, not the timer (whose message differs): before the value
    exists, so without the memory or the seconds it would take."""
    assert refusal(kind, ATTACKS[attack]) == TOO_LARGE


@pytest.mark.parametrize("kind", KINDS)
def test_a_huge_range_is_refused(ctx, kind):
    message = refusal(kind, "{% for i in range(10 ** 6) %}{% endfor %}")
    assert message == "range() may produce at most 10,000 items in a template."


@pytest.mark.parametrize("kind", KINDS)
def test_nested_loops_are_stopped_by_the_deadline(ctx, short_deadline, kind):
    assert refusal(kind, NESTED_LOOPS) == TOO_LONG
    assert signal.getitimer(signal.ITIMER_VIRTUAL) == (0.0, 0.0)


@pytest.mark.parametrize("kind", KINDS)
def test_a_normal_template_still_renders(ctx, kind):
    assert refusal(kind, NORMAL) == ""


def test_what_a_normal_template_renders(ctx):
    expected = NORMAL_OUTPUT.format(name="Ada")
    assert render(NORMAL, {"attendee_name": "Ada"}) == "Dear ADA, " + expected
    assert render(NORMAL, {"attendee_name": "<b>"}, html=True).startswith(
        "Dear &lt;B&gt;, 1 2 3 &lt;b&gt;!")


def test_values_up_to_the_budget_are_allowed():
    assert len(render("{{ 'x' * n }}", {"n": MAX_VALUE})) == MAX_VALUE
    with pytest.raises(RenderFailed, match="too large"):
        render("{{ 'x' * n }}", {"n": MAX_VALUE + 1})


def test_a_value_is_measured_as_printed():
    text = "x" * 1000
    assert measure(text) == 1000
    assert 1000 * 1000 < measure([text] * 1000) <= MAX_VALUE + 1010  # counting stops early
    assert measure({"a": [1, 2.5, None]}) < 50
    assert measure(Markup("<b>")) == 5
    assert measure(10 ** 300) > 100


def test_markup_keeps_escaping_in_the_checked_operations():
    template = html_env.from_string("{{ a ~ b }} {{ '%s' % b }} {{ '{}'.format(b) }}")
    assert template.render(a=Markup("<i>"), b="<b>") == (
        "<i>&lt;b&gt; &lt;b&gt; &lt;b&gt;")
    assert text_env.from_string("{{ a ~ b }}").render(a="<i>", b="<b>") == "<i><b>"


# --- The pages that preview or save a template: the message, never a 500 or a hang

PAGE_ATTACKS = {"doubling with ~": ATTACKS["doubling with ~"],
                "|join over range": ATTACKS["|join over range"],
                "nested loops": NESTED_LOOPS}


def expected_message(attack: str) -> str:
    return TOO_LONG if attack == "nested loops" else TOO_LARGE


def page_text(response) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'")


@pytest.fixture
def event(app):
    event = make_event(app)
    add_registration(app, event, "Ada Lovelace", email="ada@example.com")
    return event


def message_form(client, event, body: str) -> dict:
    token = csrf_token(client, f"/events/{event.uuid}/messages")
    return {"audience": "confirmed", "subject": "News", "body": body, "csrf_token": token}


@pytest.mark.parametrize("attack", PAGE_ATTACKS)
def test_the_message_preview_shows_why(app, event, short_deadline, attack):
    client = organizer_client(app, event)
    response = client.post(f"/events/{event.uuid}/messages/preview", headers=HX,
                           data=message_form(client, event, PAGE_ATTACKS[attack]))
    assert response.status_code == 200
    assert "cannot be previewed yet" in page_text(response)
    assert expected_message(attack) in page_text(response)


@pytest.mark.parametrize("attack", PAGE_ATTACKS)
def test_sending_such_a_message_is_refused(app, event, short_deadline, attack):
    client = organizer_client(app, event)
    response = client.post(f"/events/{event.uuid}/messages",
                           data=message_form(client, event, PAGE_ATTACKS[attack]))
    assert response.status_code == 422
    assert expected_message(attack) in page_text(response)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(AttendeeMessage.id))) == 0
    assert read_mail(app) == []


@pytest.fixture
def certificate_client(app, client):
    log_in(client, create_user(app, email="designer@example.com").email)
    return client


@pytest.mark.parametrize("attack", PAGE_ATTACKS)
def test_the_certificate_previews_show_why(certificate_client, short_deadline, attack):
    new = "/certificates/templates/new"
    data = {**html_form(html=PAGE_ATTACKS[attack]), "csrf_token": csrf_token(
        certificate_client, new)}
    response = certificate_client.post("/certificates/templates/preview", data=data,
                                       headers=HX)
    assert response.status_code == 200
    assert expected_message(attack) in page_text(response)
    response = certificate_client.post("/certificates/templates/preview.pdf", data=data)
    assert response.status_code == 422
    assert expected_message(attack) in page_text(response)


@pytest.mark.parametrize("attack", PAGE_ATTACKS)
def test_saving_such_a_certificate_template_is_refused(app, certificate_client,
                                                       short_deadline, attack):
    new = "/certificates/templates/new"
    response = post_form(certificate_client, new,
                         html_form(name="Bomb", html=PAGE_ATTACKS[attack]), page=new)
    assert response.status_code == 422
    assert expected_message(attack) in page_text(response)
    with app.app_context():
        assert db.session.scalar(sa.select(CertificateTemplate.id).where(
            CertificateTemplate.name == "Bomb")) is None


@pytest.mark.parametrize("attack", PAGE_ATTACKS)
def test_saving_such_an_admin_email_template_is_refused(app, short_deadline, attack):
    client = admin_client(app)
    template_id = seeded_template_id(app)
    source = PAGE_ATTACKS[attack].replace("attendee_name", "user_name")
    response = edit_template(client, template_id, content_text=source)
    assert response.status_code == 200
    assert expected_message(attack) in page_text(response)
    assert stored_subject(app, template_id) == "Confirm your email address for Convene"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ ''.__class__ }}", "This template is not allowed to do that: access to attribute "
                               "'__class__' of 'str' object is unsafe."),
        ("{{ range(100000000)|list }}", "range() may produce at most 10,000 items in a "
                                        "template."),
        ("{{ user_name.missing }}", "'str object' has no attribute 'missing'"),
    ],
)
def test_an_admin_email_template_that_can_never_render_is_refused(app, source, message):
    client = admin_client(app)
    template_id = seeded_template_id(app)
    response = edit_template(client, template_id, subject="Hi {{ user_name }}",
                             content_html=source)
    assert response.status_code == 200
    assert message in page_text(response)
    assert stored_subject(app, template_id) == "Confirm your email address for Convene"

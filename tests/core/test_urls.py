"""Web addresses people type: one check (http(s) with a host), one form field, one filter
that templates put in front of every stored address they link."""

from __future__ import annotations

import pytest
from flask import render_template_string
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict

from app.core.errors import ValidationError
from app.core.urls import WebURLField, check_web_url, is_web_url

LINKABLE = [
    "https://example.org",
    "http://example.org/path?q=1#part",
    "HTTPS://Example.org/Upper",
    "https://user@example.org:8443/",
    "http://[2001:db8::1]/",
]
NOT_LINKABLE = [
    "javascript:alert(document.cookie)",
    "JavaScript:alert(1)",
    "java\tscript:alert(1)",
    "javascript\n:alert(1)",
    " javascript:alert(1)",
    "\x01javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "mailto:someone@example.org",
    "//evil.example/path",
    "/relative/path",
    "example.org",
    "https://",
    "https:evil.example",
    "https:/\\evil.example",
    "http://[::1",
    "https://exa mple.org",
    "",
    None,
]


@pytest.mark.parametrize("url", LINKABLE)
def test_http_addresses_with_a_host_are_linkable(url):
    assert is_web_url(url)
    assert check_web_url(f"  {url}  ", "website") == url


@pytest.mark.parametrize("url", NOT_LINKABLE)
def test_anything_else_is_not(url):
    assert not is_web_url(url)


@pytest.mark.parametrize("url", [u for u in NOT_LINKABLE if u and u.strip()])
def test_typing_it_is_refused_with_a_message_naming_the_field(url):
    with pytest.raises(ValidationError, match="starting with https:// or http://") as refused:
        check_web_url(url, "website")
    assert refused.value.field == "website"


def test_nothing_typed_is_no_address_and_a_long_one_is_refused():
    assert check_web_url(None) == check_web_url("   ") == ""
    with pytest.raises(ValidationError, match="under 500 characters"):
        check_web_url("https://example.org/" + "a" * 500)


class LinkForm(FlaskForm):
    class Meta:
        csrf = False

    website = WebURLField("Website")


@pytest.mark.parametrize(
    ("typed", "valid", "data"),
    [
        ("  https://example.org/a  ", True, "https://example.org/a"),
        ("", True, ""),
        ("javascript:alert(1)", False, "javascript:alert(1)"),
    ],
)
def test_the_form_field_trims_and_refuses(ctx, typed, valid, data):
    form = LinkForm(formdata=MultiDict({"website": typed}))

    assert form.validate() is valid
    assert form.website.data == data
    if not valid:
        assert "starting with https:// or http://" in form.website.errors[0]
    assert 'type="url"' in form.website()


@pytest.mark.parametrize("url", ["javascript:alert(1)", "/relative", "", None])
def test_the_filter_gives_nothing_to_link_for_an_unsafe_stored_address(ctx, url):
    html = render_template_string(
        '{% set href = url|safe_href %}{% if href %}<a href="{{ href }}">x</a>{% endif %}', url=url
    )
    assert html == ""


def test_the_filter_passes_a_web_address_through(ctx):
    html = render_template_string('<a href="{{ url|safe_href }}">x</a>',
                                  url="https://example.org/?a=1&b=2")
    assert html == '<a href="https://example.org/?a=1&amp;b=2">x</a>'

"""URLs: absolute links the app builds, and web addresses people type.

Links the app builds (emails, calendar files, jobs) come from `external_url`. Addresses a
person types (a venue's website, CPD evidence) go through `check_web_url` — in forms as
`WebURLField`, in models on assignment — and templates render stored addresses into `href`
only through the `safe_href` filter, so that rows saved before the check (or by any other
path) never become a `javascript:` link.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l
from wtforms import URLField
from wtforms.validators import ValidationError as FieldError

from app.core.errors import ValidationError

WEB_SCHEMES = frozenset({"http", "https"})
MAX_WEB_URL_LENGTH = 500  # the columns that hold typed addresses


def external_url(endpoint: str, **values) -> str:
    """The absolute URL of `endpoint` under SITE_URL, built the same way in a request, a job
    or a thread (url_for(_external=True) needs a request or SERVER_NAME)."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return urljoin((current_app.config.get("SITE_URL") or "") + "/", path.lstrip("/"))


def is_web_url(value: object) -> bool:
    """Whether `value` is an http(s) address with a host, exactly as it would be linked.

    Spaces and control characters anywhere are refused: browsers drop tabs and newlines
    from a URL ("java\\tscript:" is "javascript:" to them) and trim the ends."""
    if not isinstance(value, str) or not value:
        return False
    if any(ord(char) <= 32 or ord(char) == 127 for char in value) or "\\" in value:
        return False
    try:
        parts = urlsplit(value)
        return parts.scheme.lower() in WEB_SCHEMES and bool(parts.hostname)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False


def check_web_url(raw: str | None, field: str | None = None,
                  max_length: int = MAX_WEB_URL_LENGTH) -> str:
    """The typed address without surrounding spaces, or "" when none was typed; anything
    but an http(s) address with a host is refused (it is shown as a link to others)."""
    url = (raw or "").strip()
    if not url:
        return ""
    if len(url) > max_length:
        raise ValidationError(
            _l("Keep the address under %(n)s characters.", n=max_length), field
        )
    if not is_web_url(url):
        raise ValidationError(
            _l("Enter a web address starting with https:// or http://, for example "
               "https://example.org."),
            field,
        )
    return url


def safe_href(value: object) -> str:
    """The `safe_href` filter: a stored address when it may be linked (http(s) with a host),
    else "" — templates link only when the result is not empty."""
    return value if is_web_url(value) else ""


class WebURLField(URLField):
    """The one form field for a web address a person types: optional unless the form says
    otherwise, trimmed, and refused with a clear message unless it is http(s) with a host."""

    def __init__(self, label=None, validators=None, max_length: int = MAX_WEB_URL_LENGTH,
                 **kwargs):
        kwargs.setdefault("render_kw", {"inputmode": "url", "autocomplete": "url"})
        super().__init__(label, validators, **kwargs)
        self.max_length = max_length

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        self.data = (self.data or "").strip()

    def pre_validate(self, form):
        try:
            self.data = check_web_url(self.data, self.name, self.max_length)
        except ValidationError as error:
            raise FieldError(error.message) from None

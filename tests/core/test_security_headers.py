"""Security headers on every response (app/core/security.py), and pages that keep working
under them: no inline script, event handler or style attribute in any page of the site."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from app.demo import DEMO_PASSWORD, load_demo
from tests.conftest import create_user, log_in


def policy(response) -> dict[str, str]:
    header = response.headers["Content-Security-Policy"]
    return dict(part.strip().partition(" ")[::2] for part in header.split(";"))


@pytest.mark.parametrize("path, status", [
    ("/", 200),                       # a page
    ("/healthz", 200),                # JSON
    ("/no-such-page", 404),           # an error page
    ("/static/css/app.css", 200),     # a static file
    ("/favicon.ico", 200),
])
def test_every_response_carries_the_security_headers(client, path, status):
    response = client.get(path)
    assert response.status_code == status
    csp = policy(response)
    assert csp["default-src"] == "'self'"
    assert csp["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval'
    assert csp["style-src"] == "'self'"
    assert csp["object-src"] == "'none'"
    assert csp["frame-ancestors"] == "'none'"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_hsts_only_over_https_and_plain_http_is_not_redirected(client):
    plain = client.get("/")
    assert plain.status_code == 200  # no redirect to https in development and tests
    assert "Strict-Transport-Security" not in plain.headers

    secure = client.get("/", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    # Behind a proxy that ends TLS and says so.
    proxied = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert proxied.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_force_https_redirects_plain_http_for_that_app_only(app, make_app):
    forced = make_app(FORCE_HTTPS=True).test_client()
    response = forced.get("/events?q=x")
    assert response.status_code == 302
    assert response.headers["Location"] == "https://localhost/events?q=x"
    assert forced.get("/events", base_url="https://localhost").status_code == 200
    assert forced.get("/healthz").status_code == 200  # the load balancer's plain-http check
    assert app.test_client().get("/events").status_code == 200  # each app its own settings


def test_the_admin_panel_alone_also_allows_inline_script(app):
    create_user(app, email="root@example.com", is_admin=True)
    client = app.test_client()
    log_in(client, "root@example.com")
    admin_page = client.get("/admin/user/")
    assert admin_page.status_code == 200
    assert policy(admin_page)["script-src"] == "'self' 'unsafe-inline'"
    assert policy(admin_page)["frame-ancestors"] == "'none'"
    assert policy(client.get("/account/profile"))["script-src"] == "'self'"


def test_favicon_is_an_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype in ("image/vnd.microsoft.icon", "image/x-icon")
    assert response.data[:4] == b"\x00\x00\x01\x00"  # the ICO signature
    assert 'rel="icon" href="/favicon.ico"' in client.get("/").get_data(as_text=True)


# --- Every page of the site, as the demo's people see it, holds no inline script


class InlineScriptFinder(HTMLParser):
    """Collects what the policy refuses: <script> without src, <style>, on*= handlers,
    style="..." attributes, htmx's evaluated hx-on, and javascript: URLs."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self.links: list[tuple[str, bool]] = []  # (path, is an htmx fragment)

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script" and not names.get("src"):
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("<style> element")
        for name, value in attrs:
            name = re.sub(r"^[^a-z]+", "", name)  # a template's "{% if x %}onclick=..."
            value = value or ""
            if name.startswith("on") or name == "style" or name.startswith(("hx-on", "data-hx-on")):
                self.found.append(f'<{tag} {name}="{value[:60]}">')
            if value.strip().lower().startswith("javascript:"):
                self.found.append(f'<{tag} {name}="{value[:60]}">')
        for name, fragment in (("href", False), ("hx-get", True)):
            if names.get(name, "").startswith("/"):
                self.links.append((names[name], fragment))


TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
# Rendered into a PDF by xhtml2pdf, never served to a browser.
NOT_PAGES = {"certificates/cpd/report.html"}


@pytest.mark.parametrize("name", sorted(
    str(path.relative_to(TEMPLATES)) for path in TEMPLATES.rglob("*.html")
    if str(path.relative_to(TEMPLATES)) not in NOT_PAGES
))
def test_no_template_holds_inline_script_or_style(name):
    """Each template's own markup, fragments answering a POST included (the crawl below
    only sees what GET requests render)."""
    finder = InlineScriptFinder()
    finder.feed(re.sub(r"{#.*?#}", "", (TEMPLATES / name).read_text(), flags=re.S))
    assert finder.found == []


SKIPPED = ("/admin", "/static/", "/logout")


def crawl(client, seeds: list[str], limit: int = 250) -> tuple[int, list[str]]:
    """Follow the site's own links and hx-get URLs from `seeds`, each path (and set of query
    parameter names) once; returns the number of HTML responses read and what they held."""
    queue = [(seed, False) for seed in seeds]
    seen: set[tuple] = set()
    pages, problems = 0, []
    while queue and pages < limit:
        url, fragment = queue.pop(0)
        parts = urlsplit(url)
        key = (parts.path, tuple(sorted({k for k, _ in parse_qsl(parts.query)})), fragment)
        if key in seen or parts.path.startswith(SKIPPED):
            continue
        seen.add(key)
        response = client.get(url, headers={"HX-Request": "true"} if fragment else {})
        if response.mimetype != "text/html":
            continue
        pages += 1
        finder = InlineScriptFinder()
        finder.feed(response.get_data(as_text=True))
        problems.extend(f"{url}: {found}" for found in finder.found)
        queue.extend(finder.links)
    return pages, problems


def test_no_page_of_the_site_holds_inline_script_or_style(app):
    """A crawl of the demo site as a visitor, an attendee, the organizer and the admin,
    following every link and hx-get: what the Content-Security-Policy refuses must not come
    back in any template or in HTML that Python builds."""
    with app.test_request_context():
        load_demo()
    seeds = sorted({rule.rule for rule in app.url_map.iter_rules()
                    if "GET" in rule.methods and "<" not in rule.rule})
    seeds += ["/no-such-page", "/dashboard", "/events", "/certificates/templates"]
    total, problems = 0, []
    for email in (None, "attendee1@example.com", "organizer@example.com", "admin@example.com"):
        client = app.test_client()
        if email:
            log_in(client, email, DEMO_PASSWORD)
        pages, found = crawl(client, seeds)
        total += pages
        problems += found
    assert total > 150  # the crawl reached the site's pages, not just the login form
    assert problems == []

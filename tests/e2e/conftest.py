"""Browser tests: the app served on a free loopback port, driven by Debian's chromium."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from werkzeug.serving import make_server

from tests.conftest import require

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": CHROMIUM_ARGS,
        "headless": True,
    }


# How Chromium reports a Content-Security-Policy violation, in the console or as an error
# thrown by eval(): "Refused to execute inline script because it violates the following
# Content Security Policy directive: ...".
CSP_VIOLATION = ("Content Security Policy", "Refused to")


def is_csp_violation(text: str) -> bool:
    return any(marker in text for marker in CSP_VIOLATION)


@pytest.fixture(autouse=True)
def no_csp_violations(monkeypatch):
    """Every page a browser test opens, in any context, works under the site's
    Content-Security-Policy: a violation (an inline script or handler, an inline style, an
    eval) fails the test, listed with the page it happened on."""
    violations: list[str] = []

    def watch(context):
        def on_console(message):
            if message.type == "error" and is_csp_violation(message.text):
                violations.append(f"{message.location.get('url')}: {message.text}")

        def on_page_error(error):
            if is_csp_violation(str(error.error)):
                violations.append(f"{error.page.url if error.page else '?'}: {error.error}")

        context.on("console", on_console)
        context.on("weberror", on_page_error)
        return context

    new_context = Browser.new_context
    monkeypatch.setattr(Browser, "new_context",
                        lambda self, *args, **kwargs: watch(new_context(self, *args, **kwargs)))
    yield violations
    assert violations == [], "Content-Security-Policy violations:\n" + "\n".join(violations)


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def browser_page(request, live_server):
    """A Playwright page, or a skip (a failure under CI=true) when chromium is missing."""
    require(
        Path(CHROMIUM).exists() and shutil.which("chromium") is not None,
        "chromium is not installed (apt-get install -y chromium): browser test skipped",
    )
    page = request.getfixturevalue("page")
    page.set_default_timeout(10_000)
    return page


@pytest.fixture
def snapshot(browser_page):
    """Save a full-page screenshot when SCREENSHOTS_DIR is set (for looking at the pages)."""
    directory = os.environ.get("SCREENSHOTS_DIR")

    def take(name: str) -> None:
        if directory:
            Path(directory).mkdir(parents=True, exist_ok=True)
            browser_page.screenshot(path=f"{directory}/{name}.png", full_page=True)

    return take

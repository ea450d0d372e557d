"""Absolute links for emails, calendar files and jobs: they must work without a request."""

from __future__ import annotations

from urllib.parse import urljoin

from flask import current_app


def external_url(endpoint: str, **values) -> str:
    """The absolute URL of `endpoint` under SITE_URL, built the same way in a request, a job
    or a thread (url_for(_external=True) needs a request or SERVER_NAME)."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return urljoin((current_app.config.get("SITE_URL") or "") + "/", path.lstrip("/"))

"""Security headers on every response, through Flask-Talisman.

Pages, fragments, JSON, files and error pages all get the same headers: a
Content-Security-Policy (app.config["CONTENT_SECURITY_POLICY"]) under which only this site's
own script and style files run, no framing (frame-ancestors 'none' and X-Frame-Options DENY),
nosniff, a Referrer-Policy, and HSTS when the request came over https. The site's pages carry
no inline script, style attribute or event handler (static/js/app.js does that work), so an
injected one does not run.

The admin panel is the exception: Flask-Admin's templates use inline event handlers
(onclick="return modelActions.execute(...)") and javascript: links, which no nonce can allow,
so the pages under its URL also accept inline script. Only admins reach them.
"""

from __future__ import annotations

from functools import wraps

from flask import Flask
from flask_talisman import DENY, Talisman


def init_security_headers(app: Flask) -> None:
    """Set the headers on every response; call after the admin panel is registered.

    One Talisman per app, unlike the extensions in app/extensions.py: Talisman keeps its
    options and its app on the instance, so a shared one would give every app the policy of
    the app configured last."""
    config = app.config
    talisman = Talisman(
        app,
        content_security_policy=config["CONTENT_SECURITY_POLICY"],
        frame_options=DENY,
        referrer_policy=config["REFERRER_POLICY"],
        force_https=config["FORCE_HTTPS"],
        strict_transport_security=True,  # sent on https requests only
        strict_transport_security_max_age=config["HSTS_MAX_AGE"],
        strict_transport_security_include_subdomains=False,  # other hosts are not ours to pin
        # The cookie settings stay those of app/config.py (Secure in production), which
        # Talisman would otherwise overwrite.
        session_cookie_secure=False,
        session_cookie_http_only=config["SESSION_COOKIE_HTTPONLY"],
        session_cookie_samesite=config["SESSION_COOKIE_SAMESITE"],
    )
    app.extensions["talisman"] = talisman
    admin_policy = {**config["CONTENT_SECURITY_POLICY"], "script-src": "'self' 'unsafe-inline'"}
    for endpoint in admin_endpoints(app):
        set_view_options(app, talisman, endpoint, content_security_policy=admin_policy)
    # A load balancer checks health over plain http, from inside: never redirect it.
    set_view_options(app, talisman, "main.healthz", force_https=False)


def set_view_options(app: Flask, talisman: Talisman, endpoint: str, **options) -> None:
    """Talisman's options for one view. Talisman reads them from an attribute of the view
    function; Flask-Admin registers bound methods, which take none, hence the wrapper."""
    view = app.view_functions[endpoint]
    app.view_functions[endpoint] = talisman(**options)(
        wraps(view)(lambda *args, _view=view, **kwargs: _view(*args, **kwargs))
    )


def admin_endpoints(app: Flask) -> set[str]:
    """The endpoints of the pages under the admin panel's URL (/admin)."""
    prefixes = [admin.url for admin in app.extensions.get("admin", [])]
    return {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if any(rule.rule == prefix or rule.rule.startswith(prefix + "/") for prefix in prefixes)
    }

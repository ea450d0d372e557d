"""Who may use which route: every route of app.url_map against a written-out matrix.

A route added without an expectation here fails `test_every_route_has_an_expectation`.
Statuses are (anonymous, user, admin). 302 for anonymous means "sent to the login page";
403 means a logged-in user without the right; admin pages redirect (302) where a view does
not offer an operation (read-only logs) or needs an id.
"""

import re
import uuid

from tests.certificates import routes_cpd, routes_issuing, routes_templates, routes_verify
from tests.conftest import create_user, csrf_token, log_in
from tests.organizations import routes_orgs
from tests.registrations import routes_attend, routes_outreach, routes_roster
from tests.zoom import routes_attendance, routes_connection, routes_meetings, routes_recordings

ROUTE_TABLES = (routes_attend, routes_roster, routes_outreach, routes_attendance, routes_verify,
                routes_connection, routes_cpd, routes_issuing, routes_orgs, routes_templates,
                routes_recordings, routes_meetings)

SAMPLES = {
    "token": "not-a-real-token",
    "session_uuid": str(uuid.uuid4()),
    "export_type": "csv",
    "slug": "no-such-slug",
    "event_uuid": str(uuid.uuid4()),
    "field_uuid": str(uuid.uuid4()),
    "user_uuid": str(uuid.uuid4()),
    "cert_uuid": str(uuid.uuid4()),
    "name": "20261207T000000000000-no-such-message.eml",
}
for _table in ROUTE_TABLES:
    SAMPLES.update(_table.SAMPLES)
STATIC_FILES = {"/static/": "css/app.css", "/admin/static/": "admin/js/helpers.js"}
ROLES = ("anonymous", "user", "admin")

EXPECTED = {
    ("GET", "/"): (200, 200, 200),
    ("GET", "/favicon.ico"): (200, 200, 200),
    ("GET", "/account/data.json"): (302, 200, 200),
    ("POST", "/account/delete"): (302, 422, 422),
    ("GET", "/account/privacy"): (302, 200, 200),
    ("GET", "/account/profile"): (302, 200, 200),
    ("POST", "/account/profile"): (302, 303, 303),
    ("GET", "/account/sessions"): (302, 200, 200),
    ("POST", "/account/sessions/<uuid:session_uuid>/revoke"): (302, 404, 404),
    ("GET", "/admin/"): (302, 403, 200),
    ("GET", "/admin/emaillog/"): (302, 403, 200),
    ("POST", "/admin/emaillog/action/"): (302, 403, 302),
    ("GET", "/admin/emaillog/ajax/lookup/"): (302, 403, 404),
    ("POST", "/admin/emaillog/ajax/update/"): (302, 403, 404),
    ("POST", "/admin/emaillog/delete/"): (302, 403, 302),
    ("GET", "/admin/emaillog/details/"): (302, 403, 302),
    ("GET", "/admin/emaillog/edit/"): (302, 403, 302),
    ("POST", "/admin/emaillog/edit/"): (302, 403, 302),
    ("GET", "/admin/emaillog/export/<export_type>/"): (302, 403, 302),
    ("GET", "/admin/emaillog/new/"): (302, 403, 302),
    ("POST", "/admin/emaillog/new/"): (302, 403, 302),
    ("GET", "/admin/emailtemplate/"): (302, 403, 200),
    ("POST", "/admin/emailtemplate/action/"): (302, 403, 302),
    ("GET", "/admin/emailtemplate/ajax/lookup/"): (302, 403, 404),
    ("POST", "/admin/emailtemplate/ajax/update/"): (302, 403, 404),
    ("POST", "/admin/emailtemplate/delete/"): (302, 403, 302),
    ("GET", "/admin/emailtemplate/details/"): (302, 403, 302),
    ("GET", "/admin/emailtemplate/edit/"): (302, 403, 302),
    ("POST", "/admin/emailtemplate/edit/"): (302, 403, 302),
    ("GET", "/admin/emailtemplate/export/<export_type>/"): (302, 403, 302),
    ("GET", "/admin/emailtemplate/new/"): (302, 403, 200),
    ("POST", "/admin/emailtemplate/new/"): (302, 403, 200),
    ("GET", "/admin/jobfailure/"): (302, 403, 200),
    ("POST", "/admin/jobfailure/action/"): (302, 403, 302),
    ("GET", "/admin/jobfailure/ajax/lookup/"): (302, 403, 404),
    ("POST", "/admin/jobfailure/ajax/update/"): (302, 403, 404),
    ("POST", "/admin/jobfailure/delete/"): (302, 403, 302),
    ("GET", "/admin/jobfailure/details/"): (302, 403, 302),
    ("GET", "/admin/jobfailure/edit/"): (302, 403, 302),
    ("POST", "/admin/jobfailure/edit/"): (302, 403, 302),
    ("GET", "/admin/jobfailure/export/<export_type>/"): (302, 403, 302),
    ("GET", "/admin/jobfailure/new/"): (302, 403, 302),
    ("POST", "/admin/jobfailure/new/"): (302, 403, 302),
    ("GET", "/admin/static/<path:filename>"): (200, 200, 200),
    ("GET", "/admin/user/"): (302, 403, 200),
    ("POST", "/admin/user/action/"): (302, 403, 302),
    ("GET", "/admin/user/ajax/lookup/"): (302, 403, 404),
    ("POST", "/admin/user/ajax/update/"): (302, 403, 404),
    ("POST", "/admin/user/delete/"): (302, 403, 302),
    ("GET", "/admin/user/details/"): (302, 403, 302),
    ("GET", "/admin/user/edit/"): (302, 403, 302),
    ("POST", "/admin/user/edit/"): (302, 403, 302),
    ("GET", "/admin/user/export/<export_type>/"): (302, 403, 302),
    ("GET", "/admin/user/new/"): (302, 403, 302),
    ("POST", "/admin/user/new/"): (302, 403, 302),
    ("GET", "/forgot-password"): (200, 200, 200),
    ("POST", "/forgot-password"): (422, 422, 422),
    ("GET", "/healthz"): (200, 200, 200),
    ("GET", "/events"): (200, 200, 200),
    ("GET", "/dashboard"): (302, 200, 200),
    ("GET", "/login"): (200, 302, 302),
    ("POST", "/login"): (422, 302, 302),
    ("GET", "/reset-password/<token>"): (400, 400, 400),
    ("POST", "/reset-password/<token>"): (400, 400, 400),
    ("GET", "/signup"): (200, 302, 302),
    ("POST", "/signup"): (422, 302, 302),
    ("GET", "/signup/check-email"): (200, 200, 200),
    ("GET", "/static/<path:filename>"): (200, 200, 200),
    ("GET", "/verify-email/<token>"): (400, 400, 400),
    ("POST", "/verify-email/resend"): (303, 303, 303),
    ("POST", "/logout"): (302, 303, 303),
    # The local outbox (app/mailing/views.py): a development site on this machine only.
    ("GET", "/dev/outbox/"): (200, 200, 200),
    ("GET", "/dev/outbox/<name>"): (404, 404, 404),
    # Public event pages, calendars and feeds (app/events/views/public.py, calendars.py)
    ("GET", "/events/<slug>"): (404, 404, 404),
    ("GET", "/events/<slug>.ics"): (404, 404, 404),
    ("GET", "/feeds/<token>.ics"): (404, 404, 404),
    ("POST", "/account/feed/reset"): (302, 200, 200),  # the new link, shown once
    ("GET", "/calendars"): (200, 200, 200),
    ("GET", "/calendars/<slug>"): (404, 404, 404),
    ("GET", "/calendars/<slug>.ics"): (404, 404, 404),
    ("GET", "/events/<uuid:event_uuid>/recurrence"): (302, 404, 404),
    ("POST", "/events/<uuid:event_uuid>/recurrence"): (302, 404, 404),
    ("POST", "/events/<uuid:event_uuid>/recurrence/delete"): (302, 404, 404),
    # Organizer pages (app/events/views/manage.py): a made-up event is 404 to everyone.
    ("GET", "/events/new"): (302, 200, 200),
    ("POST", "/events/new"): (302, 422, 422),
    ("POST", "/events/validate"): (302, 200, 200),
    ("GET", "/venues/new"): (302, 200, 200),
    ("POST", "/venues/new"): (302, 422, 422),
    ("GET", "/events/<uuid:event_uuid>/manage"): (302, 404, 404),
    ("GET", "/events/<uuid:event_uuid>/edit"): (302, 404, 404),
    ("POST", "/events/<uuid:event_uuid>/edit"): (302, 404, 404),
    ("POST", "/events/<uuid:event_uuid>/validate"): (302, 404, 404),
    ("POST", "/events/<uuid:event_uuid>/publish"): (302, 404, 404),
    ("POST", "/events/<uuid:event_uuid>/start"): (302, 404, 404),
    ("POST", "/events/<uuid:event_uuid>/complete"): (302, 404, 404),
    ("POST", "/events/<uuid:event_uuid>/close"): (302, 404, 404),
    ("POST", "/events/<uuid:event_uuid>/reopen"): (302, 404, 404),
    ("POST", "/events/<uuid:event_uuid>/cancel"): (302, 404, 404),
    ("GET", "/events/<uuid:event_uuid>/reschedule"): (302, 404, 404),
    ("POST", "/events/<uuid:event_uuid>/reschedule"): (302, 404, 404),
    ("POST", "/events/<uuid:event_uuid>/delete"): (302, 404, 404),
    ("GET", "/events/<uuid:event_uuid>/sessions"): (302, 404, 404),
    ("POST", "/events/<uuid:event_uuid>/sessions"): (302, 404, 404),
    ("POST", "/events/<uuid:event_uuid>/sessions/check"): (302, 404, 404),
    ("GET", "/events/<uuid:event_uuid>/sessions/<uuid:session_uuid>/edit"): (302, 404, 404),
    ("POST", "/events/<uuid:event_uuid>/sessions/<uuid:session_uuid>/edit"): (302, 404, 404),
    ("POST", "/events/<uuid:event_uuid>/sessions/<uuid:session_uuid>/cancel"): (302, 404, 404),
    ("POST", "/events/<uuid:event_uuid>/sessions/<uuid:session_uuid>/move-up"): (302, 404, 404),
    ("POST", "/events/<uuid:event_uuid>/sessions/<uuid:session_uuid>/move-down"): (302, 404, 404),
    ("GET", "/events/<uuid:event_uuid>/fields"): (302, 404, 404),
    ("POST", "/events/<uuid:event_uuid>/fields"): (302, 404, 404),
    ("POST", "/events/<uuid:event_uuid>/fields/<uuid:field_uuid>/delete"): (302, 404, 404),
    ("POST", "/events/<uuid:event_uuid>/fields/<uuid:field_uuid>/move-up"): (302, 404, 404),
    ("POST", "/events/<uuid:event_uuid>/fields/<uuid:field_uuid>/move-down"): (302, 404, 404),
    # Admin: events (no create), venues, calendars, categories (app/admin.py)
    ("GET", "/admin/event/"): (302, 403, 200),
    ("POST", "/admin/event/action/"): (302, 403, 302),
    ("GET", "/admin/event/ajax/lookup/"): (302, 403, 404),
    ("POST", "/admin/event/ajax/update/"): (302, 403, 404),
    ("POST", "/admin/event/delete/"): (302, 403, 302),
    ("GET", "/admin/event/details/"): (302, 403, 302),
    ("GET", "/admin/event/edit/"): (302, 403, 302),
    ("POST", "/admin/event/edit/"): (302, 403, 302),
    ("GET", "/admin/event/export/<export_type>/"): (302, 403, 302),
    ("GET", "/admin/event/new/"): (302, 403, 302),
    ("POST", "/admin/event/new/"): (302, 403, 302),
    ("GET", "/admin/eventlocation/"): (302, 403, 200),
    ("POST", "/admin/eventlocation/action/"): (302, 403, 302),
    ("GET", "/admin/eventlocation/ajax/lookup/"): (302, 403, 404),
    ("POST", "/admin/eventlocation/ajax/update/"): (302, 403, 404),
    ("POST", "/admin/eventlocation/delete/"): (302, 403, 302),
    ("GET", "/admin/eventlocation/details/"): (302, 403, 302),
    ("GET", "/admin/eventlocation/edit/"): (302, 403, 302),
    ("POST", "/admin/eventlocation/edit/"): (302, 403, 302),
    ("GET", "/admin/eventlocation/export/<export_type>/"): (302, 403, 302),
    ("GET", "/admin/eventlocation/new/"): (302, 403, 200),
    ("POST", "/admin/eventlocation/new/"): (302, 403, 200),
    ("GET", "/admin/calendar/"): (302, 403, 200),
    ("POST", "/admin/calendar/action/"): (302, 403, 302),
    ("GET", "/admin/calendar/ajax/lookup/"): (302, 403, 404),
    ("POST", "/admin/calendar/ajax/update/"): (302, 403, 404),
    ("POST", "/admin/calendar/delete/"): (302, 403, 302),
    ("GET", "/admin/calendar/details/"): (302, 403, 302),
    ("GET", "/admin/calendar/edit/"): (302, 403, 302),
    ("POST", "/admin/calendar/edit/"): (302, 403, 302),
    ("GET", "/admin/calendar/export/<export_type>/"): (302, 403, 302),
    ("GET", "/admin/calendar/new/"): (302, 403, 200),
    ("POST", "/admin/calendar/new/"): (302, 403, 200),
    ("GET", "/admin/eventcategory/"): (302, 403, 200),
    ("POST", "/admin/eventcategory/action/"): (302, 403, 302),
    ("GET", "/admin/eventcategory/ajax/lookup/"): (302, 403, 404),
    ("POST", "/admin/eventcategory/ajax/update/"): (302, 403, 404),
    ("POST", "/admin/eventcategory/delete/"): (302, 403, 302),
    ("GET", "/admin/eventcategory/details/"): (302, 403, 302),
    ("GET", "/admin/eventcategory/edit/"): (302, 403, 302),
    ("POST", "/admin/eventcategory/edit/"): (302, 403, 302),
    ("GET", "/admin/eventcategory/export/<export_type>/"): (302, 403, 302),
    ("GET", "/admin/eventcategory/new/"): (302, 403, 200),
    ("POST", "/admin/eventcategory/new/"): (302, 403, 200),
    # Speakers (app/events/views/speakers.py): a made-up event is 404 to everyone.
    ("GET", "/events/<uuid:event_uuid>/speakers"): (302, 404, 404),
    ("POST", "/events/<uuid:event_uuid>/speakers"): (302, 404, 404),
    ("GET", "/events/<uuid:event_uuid>/speakers/search"): (302, 404, 404),
    ("POST", "/events/<uuid:event_uuid>/speakers/invite"): (302, 404, 404),
    ("POST", "/events/<uuid:event_uuid>/speakers/<uuid:user_uuid>/remove"): (302, 404, 404),
    ("POST", "/events/<uuid:event_uuid>/sessions/<uuid:session_uuid>/speakers"): (302, 404, 404),
    ("POST", "/events/<uuid:event_uuid>/sessions/<uuid:session_uuid>/speakers/<uuid:user_uuid>"
             "/remove"): (302, 404, 404),
    ("GET", "/events/<uuid:event_uuid>/my-sessions"): (302, 404, 404),
    # Zoom (app/zoom/views.py, app/admin.py): an unsigned POST to the webhook is 401 for
    # everyone (no CSRF, no login: Zoom signs it); the webhook log is read-only in the admin.
    ("POST", "/webhooks/zoom"): (401, 401, 401),
    ("GET", "/admin/zoomwebhooklog/"): (302, 403, 200),
    ("POST", "/admin/zoomwebhooklog/action/"): (302, 403, 302),
    ("GET", "/admin/zoomwebhooklog/ajax/lookup/"): (302, 403, 404),
    ("POST", "/admin/zoomwebhooklog/ajax/update/"): (302, 403, 404),
    ("POST", "/admin/zoomwebhooklog/delete/"): (302, 403, 302),
    ("GET", "/admin/zoomwebhooklog/details/"): (302, 403, 302),
    ("GET", "/admin/zoomwebhooklog/edit/"): (302, 403, 302),
    ("POST", "/admin/zoomwebhooklog/edit/"): (302, 403, 302),
    ("GET", "/admin/zoomwebhooklog/export/<export_type>/"): (302, 403, 302),
    ("GET", "/admin/zoomwebhooklog/new/"): (302, 403, 302),
    ("POST", "/admin/zoomwebhooklog/new/"): (302, 403, 302),
    # Certifications on the profile (app/accounts/views.py)
    ("GET", "/account/certifications"): (302, 200, 200),
    ("POST", "/account/certifications"): (302, 422, 422),
    ("POST", "/account/certifications/<uuid:cert_uuid>/delete"): (302, 404, 404),
}


for _table in ROUTE_TABLES:  # the registrations area keeps its rows next to its tests
    EXPECTED.update(_table.SITE)


def routes(app):
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def concrete_path(rule: str) -> str:
    for prefix, filename in STATIC_FILES.items():
        if rule == f"{prefix}<path:filename>":
            return prefix + filename
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: SAMPLES[m.group(1)], rule)


def test_every_route_has_an_expectation(app):
    assert routes(app) - set(EXPECTED) == set(), "add the new routes to EXPECTED"
    assert set(EXPECTED) - routes(app) == set(), "remove routes that no longer exist"


def test_each_role_gets_the_expected_status(app):
    create_user(app, email="user@example.com")
    create_user(app, email="admin@example.com", is_admin=True)
    clients = {role: app.test_client() for role in ROLES}
    log_in(clients["user"], "user@example.com")
    log_in(clients["admin"], "admin@example.com")
    tokens = {
        role: csrf_token(client, "/login" if role == "anonymous" else "/account/profile")
        for role, client in clients.items()
    }

    mismatches = []
    # Logging out ends the session the other routes need: it goes last.
    for method, rule in sorted(EXPECTED, key=lambda key: (key[1] == "/logout", key)):
        path = concrete_path(rule)
        for role, expected in zip(ROLES, EXPECTED[(method, rule)], strict=True):
            client = clients[role]
            if method == "GET":
                response = client.get(path)
            else:
                response = client.open(path, method=method, data={"csrf_token": tokens[role]})
            got = response.status_code
            if got != expected:
                mismatches.append(f"{method} {rule} as {role}: {got}, expected {expected}")
    assert mismatches == []


def test_anonymous_visitors_of_protected_pages_go_to_login(app, client):
    for method, rule in EXPECTED:
        if method == "GET" and EXPECTED[(method, rule)][0] == 302:
            response = client.get(concrete_path(rule))
            assert response.headers["Location"].startswith("/login?next="), rule

"""Expected statuses of the Zoom connection routes (app/zoom/oauth.py) and the read-only
Zoom connections admin view, merged into tests/test_permissions.py (SITE: anonymous, user,
admin; SAMPLES: values for new URL parameters there). Nothing here is under an event.

Tests run without ZOOM_CLIENT_ID, so /zoom/connect sends everyone back to the Zoom page
(303, with a message); the callback without the state it expects is a 400 error page;
disconnecting without a connection is a 303; the fake meeting page (ZOOM_FAKE is on outside
production) is public.
"""

SAMPLES: dict[str, str] = {"meeting_id": "85746065432"}

_ADMIN = "/admin/zoomconnection"

SITE: dict[tuple[str, str], tuple[int, ...]] = {
    ("GET", "/zoom/account"): (302, 200, 200),
    ("GET", "/zoom/connect"): (302, 303, 303),
    ("GET", "/zoom/oauth/callback"): (302, 400, 400),
    ("POST", "/zoom/disconnect"): (302, 303, 303),
    ("GET", "/zoom/fake/<meeting_id>"): (200, 200, 200),
    ("GET", _ADMIN + "/"): (302, 403, 200),
    ("POST", _ADMIN + "/action/"): (302, 403, 302),
    ("GET", _ADMIN + "/ajax/lookup/"): (302, 403, 404),
    ("POST", _ADMIN + "/ajax/update/"): (302, 403, 404),
    ("POST", _ADMIN + "/delete/"): (302, 403, 302),
    ("GET", _ADMIN + "/details/"): (302, 403, 302),
    ("GET", _ADMIN + "/edit/"): (302, 403, 302),
    ("POST", _ADMIN + "/edit/"): (302, 403, 302),
    ("GET", _ADMIN + "/export/<export_type>/"): (302, 403, 302),
    ("GET", _ADMIN + "/new/"): (302, 403, 302),
    ("POST", _ADMIN + "/new/"): (302, 403, 302),
}

EVENT_PUBLIC: dict[tuple[str, str], tuple[int, ...]] = {}
EVENT_PRIVATE: dict[tuple[str, str], tuple[int, ...]] = {}

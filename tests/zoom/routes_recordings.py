"""Expected statuses of the recording routes (app/zoom/recordings.py) and the read-only
recording admin views, merged into tests/test_permissions.py (SITE: anonymous, user, admin;
SAMPLES: values for new URL parameters there) and into tests/events/test_role_matrix.py
(EVENT_PUBLIC / EVENT_PRIVATE: anonymous, attendee, speaker, other organizer, organizer).

The attendee (a confirmed registration) and the organizer see the recordings, watch (303 to
Zoom's player) and download (200, streamed; ZOOM_FAKE is on in tests); to everyone else the
recordings do not exist (404), even on a public event. The view counts are the organizer's.
"""

import uuid

SAMPLES: dict[str, str] = {"file_uuid": str(uuid.uuid4())}

E = "/events/<uuid:event_uuid>"
R = E + "/recordings"
F = R + "/<uuid:file_uuid>"

# Routes a registered attendee may use too (the role matrix's review allows them).
ATTENDEE_ROUTES = {("GET", R), ("GET", F + "/watch"), ("GET", F + "/download")}

_SHARED = {("GET", R): 200, ("GET", F + "/watch"): 303, ("GET", F + "/download"): 200}

EVENT_PUBLIC: dict[tuple[str, str], tuple[int, ...]] = {
    **{key: (302, status, 404, 404, status) for key, status in _SHARED.items()},
    ("GET", E + "/manage/recordings"): (302, 403, 403, 403, 200),
}
EVENT_PRIVATE: dict[tuple[str, str], tuple[int, ...]] = {
    **{key: (302, status, 404, 404, status) for key, status in _SHARED.items()},
    ("GET", E + "/manage/recordings"): (302, 403, 403, 404, 200),
}


def _read_only_admin(prefix: str) -> dict[tuple[str, str], tuple[int, ...]]:
    return {
        ("GET", prefix + "/"): (302, 403, 200),
        ("POST", prefix + "/action/"): (302, 403, 302),
        ("GET", prefix + "/ajax/lookup/"): (302, 403, 404),
        ("POST", prefix + "/ajax/update/"): (302, 403, 404),
        ("POST", prefix + "/delete/"): (302, 403, 302),
        ("GET", prefix + "/details/"): (302, 403, 302),
        ("GET", prefix + "/edit/"): (302, 403, 302),
        ("POST", prefix + "/edit/"): (302, 403, 302),
        ("GET", prefix + "/export/<export_type>/"): (302, 403, 302),
        ("GET", prefix + "/new/"): (302, 403, 302),
        ("POST", prefix + "/new/"): (302, 403, 302),
    }


# Over a made-up event: nobody may see it.
SITE: dict[tuple[str, str], tuple[int, ...]] = {
    **{key: (302, 404, 404) for key in EVENT_PUBLIC},
    **_read_only_admin("/admin/zoomrecording"),
    **_read_only_admin("/admin/recordingview"),
}

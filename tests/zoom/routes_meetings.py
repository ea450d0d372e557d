"""Expected statuses of the Zoom meeting routes (app/zoom/meetings_views.py), merged into
tests/test_permissions.py (SITE: anonymous, user, admin; SAMPLES: values for new URL
parameters there) and into tests/events/test_role_matrix.py (EVENT_PUBLIC / EVENT_PRIVATE:
anonymous, attendee, speaker, other organizer, organizer).

Only the event's organizers see its meetings. The sample meeting is up to date, so "retry"
is refused with a message (303); "register the failed attendees again" is accepted (303).
"""

import uuid

SAMPLES: dict[str, str] = {"meeting_uuid": str(uuid.uuid4())}

E = "/events/<uuid:event_uuid>"

_ORGANIZER = {
    ("GET", E + "/zoom"): 200,
    ("POST", E + "/zoom/<uuid:meeting_uuid>/retry"): 303,
    ("POST", E + "/zoom/registrants/retry"): 303,
}

EVENT_PUBLIC: dict[tuple[str, str], tuple[int, ...]] = {
    key: (302, 403, 403, 403, status) for key, status in _ORGANIZER.items()
}
EVENT_PRIVATE: dict[tuple[str, str], tuple[int, ...]] = {
    key: (302, 403, 403, 404, status) for key, status in _ORGANIZER.items()
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


# Over a made-up event: nobody may see it. The admin views are read-only.
SITE: dict[tuple[str, str], tuple[int, ...]] = {
    **{key: (302, 404, 404) for key in _ORGANIZER},
    **_read_only_admin("/admin/zoommeeting"),
    **_read_only_admin("/admin/zoomregistrant"),
}

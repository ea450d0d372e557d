"""Expected statuses of the attendance routes (app/zoom/manage.py), merged into
tests/test_permissions.py (SITE: anonymous, user, admin; SAMPLES: values for new URL
parameters there) and into tests/events/test_role_matrix.py (EVENT_PUBLIC / EVENT_PRIVATE:
anonymous, attendee, speaker, other organizer, organizer)."""

import uuid

SAMPLES: dict[str, str] = {"record_uuid": str(uuid.uuid4())}

E = "/events/<uuid:event_uuid>"
P = E + "/attendance/<uuid:record_uuid>"

# Organizer statuses with an empty form: the page and the CSV 200; matching without a
# registration (refused with a message) and ignoring the participant 303.
_ORGANIZER = {
    ("GET", E + "/attendance"): 200,
    ("GET", E + "/attendance.csv"): 200,
    ("POST", P + "/match"): 303,
    ("POST", P + "/ignore"): 303,
}

EVENT_PUBLIC: dict[tuple[str, str], tuple[int, ...]] = {
    key: (302, 403, 403, 403, status) for key, status in _ORGANIZER.items()
}
EVENT_PRIVATE: dict[tuple[str, str], tuple[int, ...]] = {
    key: (302, 403, 403, 404, status) for key, status in _ORGANIZER.items()
}

# Over a made-up event: nobody may see it.
SITE: dict[tuple[str, str], tuple[int, ...]] = {key: (302, 404, 404) for key in _ORGANIZER}

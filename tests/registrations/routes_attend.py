"""Expected statuses of this module's routes, merged into tests/test_permissions.py (SITE:
anonymous, user, admin; SAMPLES: values for new URL parameters there) and into
tests/events/test_role_matrix.py (EVENT_PUBLIC / EVENT_PRIVATE: anonymous, attendee, speaker,
other organizer, organizer).

The attendee's routes name an event by slug or a registration by uuid, never an event uuid:
they are not organizer routes, so they have no rows in the role matrix. With a made-up slug
or registration, everyone gets 404 (a guest may register, so nobody is sent to log in; a
registration is shown only to its owner, and to nobody else even as "log in first")."""

import uuid

SAMPLES: dict[str, str] = {"registration_uuid": str(uuid.uuid4())}
SITE: dict[tuple[str, str], tuple[int, ...]] = {
    ("GET", "/events/<slug>/register"): (404, 404, 404),
    ("POST", "/events/<slug>/register"): (404, 404, 404),
    ("GET", "/events/<slug>/registration"): (404, 404, 404),
    ("POST", "/registrations/<uuid:registration_uuid>/cancel"): (404, 404, 404),
    ("POST", "/registrations/<uuid:registration_uuid>/sessions"): (404, 404, 404),
    ("POST", "/registrations/<uuid:registration_uuid>/sessions/<uuid:session_uuid>/drop"): (
        404, 404, 404,
    ),
}
EVENT_PUBLIC: dict[tuple[str, str], tuple[int, ...]] = {}
EVENT_PRIVATE: dict[tuple[str, str], tuple[int, ...]] = {}

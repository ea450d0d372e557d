"""Expected statuses of this module's routes, merged into tests/test_permissions.py (SITE:
anonymous, user, admin; SAMPLES: values for new URL parameters there) and into
tests/events/test_role_matrix.py (EVENT_PUBLIC / EVENT_PRIVATE: anonymous, attendee, speaker,
other organizer, organizer)."""

import uuid

E = "/events/<uuid:event_uuid>"
I = E + "/invitations/<uuid:invitation_uuid>"  # noqa: E741
R = E + "/reminders/<uuid:reminder_uuid>"

SAMPLES: dict[str, str] = {
    "invitation_uuid": str(uuid.uuid4()),
    "reminder_uuid": str(uuid.uuid4()),
}

# A made-up event is 404 to everyone who is logged in.
SITE: dict[tuple[str, str], tuple[int, ...]] = {
    ("GET", E + "/invitations"): (302, 404, 404),
    ("POST", E + "/invitations"): (302, 404, 404),
    ("POST", I + "/resend"): (302, 404, 404),
    ("POST", I + "/delete"): (302, 404, 404),
    ("GET", E + "/reminders"): (302, 404, 404),
    ("POST", E + "/reminders"): (302, 404, 404),
    ("POST", R + "/delete"): (302, 404, 404),
}

# Organizer only. With an empty form: pasting nothing and adding no time re-render the form
# (422); resending the pending invitation and deleting it or the pending reminder redirect.
EVENT_PUBLIC: dict[tuple[str, str], tuple[int, ...]] = {
    ("GET", E + "/invitations"): (302, 403, 403, 403, 200),
    ("POST", E + "/invitations"): (302, 403, 403, 403, 422),
    ("POST", I + "/resend"): (302, 403, 403, 403, 303),
    ("POST", I + "/delete"): (302, 403, 403, 403, 303),
    ("GET", E + "/reminders"): (302, 403, 403, 403, 200),
    ("POST", E + "/reminders"): (302, 403, 403, 403, 422),
    ("POST", R + "/delete"): (302, 403, 403, 403, 303),
}

# A private event is invisible (404) to the organizer of another event.
EVENT_PRIVATE: dict[tuple[str, str], tuple[int, ...]] = {
    key: (anonymous, attendee, speaker, 404, organizer)
    for key, (anonymous, attendee, speaker, _other, organizer) in EVENT_PUBLIC.items()
}

"""Expected statuses of this module's routes, merged into tests/test_permissions.py (SITE:
anonymous, user, admin; SAMPLES: values for new URL parameters there) and into
tests/events/test_role_matrix.py (EVENT_PUBLIC / EVENT_PRIVATE: anonymous, attendee, speaker,
other organizer, organizer)."""

import uuid

SAMPLES: dict[str, str] = {"registration_uuid": str(uuid.uuid4())}

E = "/events/<uuid:event_uuid>"
R = E + "/attendees/<uuid:registration_uuid>"

# The organizer's attendee page and "email attendees" (app/registrations/views/roster.py).
# Organizer statuses with an empty form: the pages and the CSV 200; check-in (a virtual
# event: refused with a message), cancel, promote (a confirmed registration: refused) 303;
# adding someone and sending a message without the fields 422; the preview 200 (its errors
# are the fragment).
_ORGANIZER = {
    ("GET", E + "/attendees"): 200,
    ("GET", E + "/attendees.csv"): 200,
    ("POST", E + "/attendees/add"): 422,
    ("POST", R + "/check-in"): 303,
    ("POST", R + "/cancel"): 303,
    ("POST", R + "/promote"): 303,
    ("GET", E + "/messages"): 200,
    ("POST", E + "/messages"): 422,
    ("POST", E + "/messages/preview"): 200,
}

EVENT_PUBLIC: dict[tuple[str, str], tuple[int, ...]] = {
    key: (302, 403, 403, 403, status) for key, status in _ORGANIZER.items()
}
EVENT_PRIVATE: dict[tuple[str, str], tuple[int, ...]] = {
    key: (302, 403, 403, 404, status) for key, status in _ORGANIZER.items()
}

# Over a made-up event: nobody may see it.
SITE: dict[tuple[str, str], tuple[int, ...]] = {
    key: (302, 404, 404) for key in _ORGANIZER
}

# The admin's views of registrations and attendee messages (app/admin.py): inspection only.
for _name in ("registration", "attendeemessage"):
    _A = f"/admin/{_name}/"
    SITE.update({
        ("GET", _A): (302, 403, 200),
        ("POST", _A + "action/"): (302, 403, 302),
        ("GET", _A + "ajax/lookup/"): (302, 403, 404),
        ("POST", _A + "ajax/update/"): (302, 403, 404),
        ("POST", _A + "delete/"): (302, 403, 302),
        ("GET", _A + "details/"): (302, 403, 302),
        ("GET", _A + "edit/"): (302, 403, 302),
        ("POST", _A + "edit/"): (302, 403, 302),
        ("GET", _A + "export/<export_type>/"): (302, 403, 302),
        ("GET", _A + "new/"): (302, 403, 302),
        ("POST", _A + "new/"): (302, 403, 302),
    })

"""Expected statuses of the issuing routes (app/certificates/views/issuing.py), merged into
tests/test_permissions.py (SITE: anonymous, user, admin; SAMPLES: values for new URL
parameters there) and into tests/events/test_role_matrix.py (EVENT_PUBLIC / EVENT_PRIVATE:
anonymous, attendee, speaker, other organizer, organizer)."""

import uuid

SAMPLES: dict[str, str] = {"run_uuid": str(uuid.uuid4())}

E = "/events/<uuid:event_uuid>/certificates"
R = E + "/<uuid:registration_uuid>"

# Organizer statuses with an empty form over the matrix's published event (not completed):
# the page and the run's progress 200; every action is refused with a message (the event
# has not completed, no reason, nothing to revoke or undo) and redirects back, 303.
_ORGANIZER = {
    ("GET", E): 200,
    ("GET", E + "/runs/<uuid:run_uuid>"): 200,
    ("POST", E + "/issue-all"): 303,
    ("POST", R + "/issue"): 303,
    ("POST", R + "/decline"): 303,
    ("POST", R + "/undo-decline"): 303,
    ("POST", R + "/revoke"): 303,
}

EVENT_PUBLIC: dict[tuple[str, str], tuple[int, ...]] = {
    key: (302, 403, 403, 403, status) for key, status in _ORGANIZER.items()
}
EVENT_PRIVATE: dict[tuple[str, str], tuple[int, ...]] = {
    key: (302, 403, 403, 404, status) for key, status in _ORGANIZER.items()
}

# Over a made-up event: nobody may see it. "My certificates" is every logged-in person's;
# a made-up certificate's PDF is found for nobody.
SITE: dict[tuple[str, str], tuple[int, ...]] = {
    **{key: (302, 404, 404) for key in _ORGANIZER},
    ("GET", "/certificates/mine"): (302, 200, 200),
    ("GET", "/certificates/<uuid:certificate_uuid>/certificate.pdf"): (302, 404, 404),
    # The issuing runs in the admin (app/admin.py): read-only.
    ("GET", "/admin/certificateissuerun/"): (302, 403, 200),
    ("POST", "/admin/certificateissuerun/action/"): (302, 403, 302),
    ("GET", "/admin/certificateissuerun/ajax/lookup/"): (302, 403, 404),
    ("POST", "/admin/certificateissuerun/ajax/update/"): (302, 403, 404),
    ("POST", "/admin/certificateissuerun/delete/"): (302, 403, 302),
    ("GET", "/admin/certificateissuerun/details/"): (302, 403, 302),
    ("GET", "/admin/certificateissuerun/edit/"): (302, 403, 302),
    ("POST", "/admin/certificateissuerun/edit/"): (302, 403, 302),
    ("GET", "/admin/certificateissuerun/export/<export_type>/"): (302, 403, 302),
    ("GET", "/admin/certificateissuerun/new/"): (302, 403, 302),
    ("POST", "/admin/certificateissuerun/new/"): (302, 403, 302),
}

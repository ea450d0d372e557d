"""Expected statuses of the CPD tracker's routes (app/certificates/views/cpd.py), merged into
tests/test_permissions.py (SITE: anonymous, user, admin). None is under an event, so the
event role matrix has nothing to add. Requirements and activities are the owner's alone: a
made-up (or someone else's) uuid is 404 to everyone logged in, admins included."""

import uuid

SAMPLES: dict[str, str] = {
    "requirement_uuid": str(uuid.uuid4()),
    "activity_uuid": str(uuid.uuid4()),
}

EVENT_PUBLIC: dict[tuple[str, str], tuple[int, ...]] = {}
EVENT_PRIVATE: dict[tuple[str, str], tuple[int, ...]] = {}

R = "/cpd/requirements/<uuid:requirement_uuid>"
A = "/cpd/activities/<uuid:activity_uuid>"

# With an empty form, adding re-renders the tracker with the errors (422).
SITE: dict[tuple[str, str], tuple[int, ...]] = {
    ("GET", "/cpd"): (302, 200, 200),
    ("POST", "/cpd/requirements"): (302, 422, 422),
    ("GET", R + "/edit"): (302, 404, 404),
    ("POST", R + "/edit"): (302, 404, 404),
    ("POST", R + "/delete"): (302, 404, 404),
    ("GET", R + "/report.csv"): (302, 404, 404),
    ("GET", R + "/report.pdf"): (302, 404, 404),
    ("POST", "/cpd/activities"): (302, 422, 422),
    ("GET", A + "/edit"): (302, 404, 404),
    ("POST", A + "/edit"): (302, 404, 404),
    ("POST", A + "/delete"): (302, 404, 404),
}

# The admin's views of requirements and activities (app/admin.py): inspection only.
for _name in ("cpdrequirement", "cpdactivity"):
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

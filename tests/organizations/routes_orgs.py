"""Expected statuses of the organization routes (app/organizations/views), merged into
tests/test_permissions.py (SITE: anonymous, user, admin, over a made-up organization: it does
not exist for anyone; SAMPLES: values for the new URL parameters). No route of this area is
under an event, so EVENT_PUBLIC and EVENT_PRIVATE are empty; who may do what inside a real
organization is tests/organizations/test_permission_matrix.py."""

import uuid

SAMPLES: dict[str, str] = {
    "membership_uuid": str(uuid.uuid4()),
    "invitation_uuid": str(uuid.uuid4()),
}

ORG = "/orgs/<slug>"

SITE: dict[tuple[str, str], tuple[int, ...]] = {
    ("GET", "/organizations"): (302, 200, 200),
    ("GET", "/organizations/new"): (302, 200, 200),
    ("POST", "/organizations/new"): (302, 422, 422),
    # The emailed link needs no login; a made-up token is simply not found.
    ("GET", "/join/<token>"): (404, 404, 404),
    ("POST", "/join/<token>"): (404, 404, 404),
    # Public: it brands public event pages and emails.
    ("GET", ORG + "/logo"): (404, 404, 404),
    **{key: (302, 404, 404) for key in (
        ("GET", ORG),
        ("GET", ORG + "/members"),
        ("POST", ORG + "/members/invite"),
        ("POST", ORG + "/members/<uuid:membership_uuid>/role"),
        ("POST", ORG + "/members/<uuid:membership_uuid>/remove"),
        ("POST", ORG + "/leave"),
        ("POST", ORG + "/invitations/<uuid:invitation_uuid>/resend"),
        ("POST", ORG + "/invitations/<uuid:invitation_uuid>/cancel"),
        ("GET", ORG + "/settings"),
        ("POST", ORG + "/settings"),
        ("GET", ORG + "/transfer"),
        ("POST", ORG + "/transfer"),
        ("GET", ORG + "/activity"),
        ("POST", ORG + "/templates/share"),
    )},
}

# The admin views (app/organizations/admin_views.py): the lists for admins; the rest needs an
# id, or is not offered (create, delete, export), and redirects.
_ADMIN_PAGES = {
    ("GET", "/"): 200,
    ("POST", "/action/"): 302,
    ("GET", "/ajax/lookup/"): 404,
    ("POST", "/ajax/update/"): 404,
    ("POST", "/delete/"): 302,
    ("GET", "/details/"): 302,
    ("GET", "/edit/"): 302,
    ("POST", "/edit/"): 302,
    ("GET", "/export/<export_type>/"): 302,
    ("GET", "/new/"): 302,
    ("POST", "/new/"): 302,
}
for _view in ("organization", "organizationmembership", "activitylog"):
    for (_method, _suffix), _status in _ADMIN_PAGES.items():
        SITE[(_method, f"/admin/{_view}{_suffix}")] = (302, 403, _status)

EVENT_PUBLIC: dict[tuple[str, str], tuple[int, ...]] = {}
EVENT_PRIVATE: dict[tuple[str, str], tuple[int, ...]] = {}

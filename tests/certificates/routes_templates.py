"""Expected statuses of the certificate template routes (app/certificates/views/templates.py)
and of the certificate admin views (app/admin.py), merged into tests/test_permissions.py
(SITE: anonymous, user, admin; SAMPLES: values for new URL parameters there)."""

import uuid

SAMPLES: dict[str, str] = {"template_uuid": str(uuid.uuid4())}

T = "/certificates/templates"

SITE: dict[tuple[str, str], tuple[int, ...]] = {
    ("GET", T): (302, 200, 200),
    ("GET", T + "/new"): (302, 200, 200),
    # An empty form is refused with its errors.
    ("POST", T + "/new"): (302, 422, 422),
    # The preview of an empty form says what is missing (HTMX fragment, 200); as a PDF, 422.
    ("POST", T + "/preview"): (302, 200, 200),
    ("POST", T + "/preview.pdf"): (302, 422, 422),
    # A made-up template is 404 to everyone.
    ("GET", T + "/<uuid:template_uuid>/edit"): (302, 404, 404),
    ("POST", T + "/<uuid:template_uuid>/edit"): (302, 404, 404),
    ("POST", T + "/<uuid:template_uuid>/copy"): (302, 404, 404),
    ("POST", T + "/<uuid:template_uuid>/delete"): (302, 404, 404),
}

# Flask-Admin: templates are edited there; certificates and their history are read-only.
_ADMIN_ROUTES = {
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
for _view in ("certificatetemplate", "certificate", "certificatestatushistory"):
    for (_method, _path), _status in _ADMIN_ROUTES.items():
        SITE[(_method, f"/admin/{_view}{_path}")] = (302, 403, _status)

"""Expected statuses of the public verification routes (app/certificates/views/verify.py)
and of the read-only signing keys admin view, merged into tests/test_permissions.py (SITE:
anonymous, user, admin). None is under an event, so the event role matrix has nothing to
add. The samples name no certificate nor status list: a made-up code or uuid is 404 to
everyone; the JWKS is public."""

import uuid

SAMPLES: dict[str, str] = {
    "code": "ABCDEFGHJKMNPQRSTVWX",  # well formed, issued to nobody
    "certificate_uuid": str(uuid.uuid4()),
    "list_uuid": str(uuid.uuid4()),
}

EVENT_PUBLIC: dict[tuple[str, str], tuple[int, ...]] = {}
EVENT_PRIVATE: dict[tuple[str, str], tuple[int, ...]] = {}

SITE: dict[tuple[str, str], tuple[int, ...]] = {
    ("GET", "/verify/<code>"): (404, 404, 404),
    ("GET", "/verify/<code>.json"): (404, 404, 404),
    ("GET", "/.well-known/jwks.json"): (200, 200, 200),
    ("GET", "/certificates/<uuid:certificate_uuid>/credential.jwt"): (404, 404, 404),
    ("GET", "/certificates/<uuid:certificate_uuid>/credential.json"): (404, 404, 404),
    ("GET", "/credentials/status/<uuid:list_uuid>"): (404, 404, 404),
    ("GET", "/credentials/status/<uuid:list_uuid>.json"): (404, 404, 404),
}

_ADMIN = "/admin/signingkey"  # read-only
SITE.update({
    ("GET", _ADMIN + "/"): (302, 403, 200),
    ("POST", _ADMIN + "/action/"): (302, 403, 302),
    ("GET", _ADMIN + "/ajax/lookup/"): (302, 403, 404),
    ("POST", _ADMIN + "/ajax/update/"): (302, 403, 404),
    ("POST", _ADMIN + "/delete/"): (302, 403, 302),
    ("GET", _ADMIN + "/details/"): (302, 403, 302),
    ("GET", _ADMIN + "/edit/"): (302, 403, 302),
    ("POST", _ADMIN + "/edit/"): (302, 403, 302),
    ("GET", _ADMIN + "/export/<export_type>/"): (302, 403, 302),
    ("GET", _ADMIN + "/new/"): (302, 403, 302),
    ("POST", _ADMIN + "/new/"): (302, 403, 302),
})

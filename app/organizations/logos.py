"""Organization logos: checked by app/core/images (an image of at most 2 MB and 16 megapixels)
and kept in app/core/storage."""

from __future__ import annotations

import secrets

from flask_babel import lazy_gettext as _l

from app.core.images import ImageRules, check_image
from app.core.storage import get_storage

# Pillow format → file extension and the Content-Type the logo is served with.
FORMATS = {
    "PNG": ("png", "image/png"),
    "JPEG": ("jpg", "image/jpeg"),
    "GIF": ("gif", "image/gif"),
    "WEBP": ("webp", "image/webp"),
}
CONTENT_TYPES = {extension: content_type for extension, content_type in FORMATS.values()}
# A logo is shown a few hundred pixels wide: 4000 × 4000 is ample, and decodes to 64 MB at most.
LOGO_RULES = ImageRules(
    field="logo",
    formats={name: extension for name, (extension, _type) in FORMATS.items()},
    max_bytes=2 * 1024 * 1024,
    max_width=4000,
    max_height=4000,
    max_pixels=16_000_000,
    hint=_l("Scale it down: a logo a few hundred pixels wide is plenty."),
)


def check_logo(data: bytes) -> str:
    """The file extension of a valid logo; a ValidationError naming the `logo` field else."""
    return check_image(data, LOGO_RULES).extension


def store_logo(organization_uuid, data: bytes) -> str:
    """Check and store a logo; returns its new storage key (a new key per upload, so a
    cached page never shows an old logo under a new name)."""
    extension = check_logo(data)
    key = f"organizations/{organization_uuid}/logo-{secrets.token_hex(8)}.{extension}"
    get_storage().save(key, data)
    return key


def content_type(key: str) -> str:
    return CONTENT_TYPES.get(key.rsplit(".", 1)[-1], "application/octet-stream")

"""Organization logos: checked with Pillow (an image, at most 2 MB) and kept in app/core/storage."""

from __future__ import annotations

import io
import secrets

from flask_babel import lazy_gettext as _l
from PIL import Image, UnidentifiedImageError

from app.core.errors import ValidationError
from app.core.storage import get_storage

MAX_LOGO_BYTES = 2 * 1024 * 1024
# Pillow format → file extension and the Content-Type the logo is served with.
FORMATS = {
    "PNG": ("png", "image/png"),
    "JPEG": ("jpg", "image/jpeg"),
    "GIF": ("gif", "image/gif"),
    "WEBP": ("webp", "image/webp"),
}
CONTENT_TYPES = {extension: content_type for extension, content_type in FORMATS.values()}


def check_logo(data: bytes) -> str:
    """The file extension of a valid logo; a ValidationError naming the `logo` field else."""
    if len(data) > MAX_LOGO_BYTES:
        raise ValidationError(_l("The logo must be at most 2 MB."), field="logo")
    if not data:
        raise ValidationError(_l("The logo file is empty."), field="logo")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image_format = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        image_format = None
    if image_format not in FORMATS:
        raise ValidationError(
            _l("The logo must be a PNG, JPEG, GIF or WebP image."), field="logo"
        )
    return FORMATS[image_format][0]


def store_logo(organization_uuid, data: bytes) -> str:
    """Check and store a logo; returns its new storage key (a new key per upload, so a
    cached page never shows an old logo under a new name)."""
    extension = check_logo(data)
    key = f"organizations/{organization_uuid}/logo-{secrets.token_hex(8)}.{extension}"
    get_storage().save(key, data)
    return key


def content_type(key: str) -> str:
    return CONTENT_TYPES.get(key.rsplit(".", 1)[-1], "application/octet-stream")

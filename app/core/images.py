"""Checking uploaded images: every image upload goes through `check_image`.

A small file can declare an enormous picture (a 150 KB PNG of 30000 × 30000 pixels needs
gigabytes once decoded), so the header is read first and the picture's size is refused before
a single pixel is decoded. Only then is the image decoded, in full, so that a damaged or
truncated file is refused now rather than when a page or a PDF shows it. The format is the one
the file's content has, whatever its name says, and only the formats a use allows are even
tried.

The limits are checked here, per call: Pillow's own guard (`Image.MAX_IMAGE_PIXELS`) is one
global setting for the whole process, left as it is. Every use's limits are far below it, so
anything Pillow would warn about is refused here before decoding; its error, and its warning
when a deployment turns warnings into errors, are refused the same way.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass

from babel.lists import format_list
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from PIL import Image

from app.core.errors import ValidationError


@dataclass(frozen=True)
class ImageRules:
    """What one kind of upload accepts. `formats` maps Pillow's format names to the file
    extension the image is stored under; `hint` ends a refusal for being too large (say what
    size fits)."""

    field: str
    formats: Mapping[str, str]
    max_bytes: int
    max_width: int
    max_height: int
    max_pixels: int
    hint: str = ""  # may be a lazy string

    def __post_init__(self):
        if self.max_pixels > Image.MAX_IMAGE_PIXELS:
            raise ValueError("image limits above Pillow's own would decode before refusing")


@dataclass(frozen=True)
class CheckedImage:
    format: str
    extension: str
    width: int
    height: int


def check_image(data: bytes, rules: ImageRules) -> CheckedImage:
    """The accepted image's format and size; a ValidationError naming `rules.field` else."""
    if not data:
        raise ValidationError(_("The file is empty."), field=rules.field)
    if len(data) > rules.max_bytes:
        raise ValidationError(
            _("The file is %(size)s MB; it may be at most %(max)s MB.",
              size=format_decimal(len(data) / 1024 / 1024, format="#,##0.0"),
              max=format_decimal(rules.max_bytes / 1024 / 1024)),
            field=rules.field,
        )
    try:
        with Image.open(io.BytesIO(data), formats=list(rules.formats)) as image:
            checked = CheckedImage(image.format, rules.formats.get(image.format, ""),
                                   *image.size)
            _check_size(checked, rules)
            _decode(image, rules)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError(_too_large(rules), field=rules.field) from None
    except ValidationError:
        raise
    except Exception:  # Pillow's plugins raise many kinds of error on files not theirs
        raise ValidationError(
            _("This file is not an image in a format accepted here: %(formats)s.",
              formats=format_names(rules)),
            field=rules.field,
        ) from None
    return checked


def _check_size(checked: CheckedImage, rules: ImageRules) -> None:
    width, height = checked.width, checked.height
    if width > rules.max_width or height > rules.max_height or width * height > rules.max_pixels:
        raise ValidationError(
            _("The image is %(width)s × %(height)s pixels.",
              width=format_decimal(width), height=format_decimal(height))
            + " " + _too_large(rules),
            field=rules.field,
        )


def _decode(image: Image.Image, rules: ImageRules) -> None:
    """Decode every pixel (of the first frame): a truncated or damaged file fails here."""
    try:
        image.load()
    except Exception:  # whatever the decoder raises, the file is damaged
        raise ValidationError(
            _("The image is damaged or incomplete; export it again and upload the new file."),
            field=rules.field,
        ) from None


def _too_large(rules: ImageRules) -> str:
    text = _("It may be at most %(width)s × %(height)s pixels and %(megapixels)s megapixels "
             "in all.",
             width=format_decimal(rules.max_width), height=format_decimal(rules.max_height),
             megapixels=format_decimal(round(rules.max_pixels / 1_000_000, 1)))
    return f"{text} {rules.hint}".strip()


def format_names(rules: ImageRules) -> str:
    """The accepted formats for a person: "PNG, JPEG, GIF, or WebP"."""
    names = [{"WEBP": "WebP"}.get(name, name) for name in rules.formats]
    return format_list(names, style="or", locale=get_locale())

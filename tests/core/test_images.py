"""The one check every image upload goes through: sizes refused from the header, before any
decoding; damaged files, formats not accepted and Pillow's own bomb guard all give a message on
the form field, never an exception."""

from __future__ import annotations

import pytest
from PIL import Image

from app.core.errors import ValidationError
from app.core.images import ImageRules, check_image
from tests.core.image_files import REFUSED_IMAGES, huge_png, png

RULES = ImageRules(field="picture", formats={"PNG": "png", "JPEG": "jpg"},
                   max_bytes=2 * 1024 * 1024, max_width=4000, max_height=3000,
                   max_pixels=10_000_000, hint="Make it smaller.")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("name", list(REFUSED_IMAGES))
def test_a_bad_image_is_refused_with_a_message_on_its_field(app, name):
    data, message = REFUSED_IMAGES[name]
    with app.test_request_context(), pytest.raises(ValidationError) as refused:
        check_image(data(), RULES)
    assert refused.value.field == "picture"
    assert message in refused.value.message


def test_the_size_is_refused_from_the_header_before_anything_is_decoded(app, monkeypatch):
    decoded = []
    monkeypatch.setattr(Image.Image, "load", lambda self: decoded.append(self.size))
    with app.test_request_context(), pytest.raises(ValidationError) as refused:
        check_image(huge_png(5000, 2000), RULES)  # 10 MP, but wider than 4000
    assert decoded == []
    assert refused.value.message == ("The image is 5,000 × 2,000 pixels. It may be at most "
                                     "4,000 × 3,000 pixels and 10 megapixels in all. Make it "
                                     "smaller.")


def test_each_limit_counts_on_its_own(app):
    with app.test_request_context():
        for size in ((4001, 10), (10, 3001), (3500, 2900)):  # too wide, too tall, 10.15 MP
            with pytest.raises(ValidationError):
                check_image(huge_png(*size), RULES)
        assert check_image(huge_png(4000, 2500), RULES).width == 4000  # exactly 10 MP


@pytest.mark.filterwarnings("error::PIL.Image.DecompressionBombWarning")
def test_pillows_bomb_warning_turned_into_an_error_is_a_refusal_too(app):
    """A deployment may run with warnings as errors: Pillow's warning is then raised inside
    Image.open, before the size is checked here, and is still a message."""
    lenient = ImageRules(field="picture", formats={"PNG": "png"}, max_bytes=2 * 1024 * 1024,
                         max_width=20000, max_height=20000, max_pixels=Image.MAX_IMAGE_PIXELS)
    with app.test_request_context(), pytest.raises(ValidationError) as refused:
        check_image(huge_png(12000, 12000), lenient)
    assert refused.value.message.startswith("It may be at most 20,000 × 20,000 pixels")


def test_a_good_image_gives_its_format_extension_and_size(app):
    with app.test_request_context():
        checked = check_image(png((300, 210)), RULES)
    assert (checked.format, checked.extension, checked.width, checked.height) == (
        "PNG", "png", 300, 210)


def test_an_empty_or_heavy_file_is_refused_before_pillow_sees_it(app):
    with app.test_request_context():
        with pytest.raises(ValidationError, match="The file is empty"):
            check_image(b"", RULES)
        with pytest.raises(ValidationError, match="it may be at most 2 MB"):
            check_image(png() + b"\0" * (2 * 1024 * 1024), RULES)


def test_limits_above_pillows_own_guard_are_a_programming_error():
    with pytest.raises(ValueError):
        ImageRules(field="x", formats={"PNG": "png"}, max_bytes=1, max_width=1, max_height=1,
                   max_pixels=Image.MAX_IMAGE_PIXELS + 1)

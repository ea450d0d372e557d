"""Image files for upload tests, made in memory: bombs (a huge picture in a small file), a
damaged file, and a file that is not an image at all."""

from __future__ import annotations

import functools
import io
import struct
import zlib

from PIL import Image


def _chunk(kind: bytes, body: bytes) -> bytes:
    return (struct.pack(">I", len(body)) + kind + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))


@functools.cache
def huge_png(width: int, height: int) -> bytes:
    """A valid black-and-white PNG of width × height, all black: every row is zeros, so it
    compresses about a thousandfold (30000 × 30000 is 107 KB; decoded, 900 megapixels)."""
    row = b"\0" * (1 + (width + 7) // 8)  # filter byte + 1 bit a pixel
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data)
            + _chunk(b"IEND", b""))


def png(size: tuple[int, int] = (300, 210), colour=(240, 230, 210)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def truncated_png() -> bytes:
    """A real PNG cut off halfway through its pixels: the header reads, decoding fails."""
    buffer = io.BytesIO()
    Image.effect_noise((200, 200), 64).convert("RGB").save(buffer, format="PNG")
    data = buffer.getvalue()
    return data[: len(data) // 2]


def tiff() -> bytes:
    """A real image in a format no upload accepts."""
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), (10, 20, 30)).save(buffer, format="TIFF")
    return buffer.getvalue()


NOT_AN_IMAGE = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n"

# (file bytes, what the form error says) for every upload that must be refused.
REFUSED_IMAGES = {
    "a 30000 × 30000 bomb": (lambda: huge_png(30000, 30000), "may be at most"),
    "144 megapixels": (lambda: huge_png(12000, 12000), "12,000 × 12,000 pixels"),
    "damaged": (truncated_png, "damaged or incomplete"),
    "not an image, named .png": (lambda: NOT_AN_IMAGE, "not an image in a format accepted"),
    "a TIFF named .png": (tiff, "not an image in a format accepted"),
}

"""HTML to PDF (xhtml2pdf), PDF to PNG thumbnail (pypdfium2) and QR codes, for certificates
and the CPD report.

The HTML may come from an organizer, so the renderer may read only what we allow
(DESIGN.md "Decisions"): `link_callback` resolves "storage:<key>" through the storage
interface and "/static/..." under static/, and nothing else — no URL, no other path. The
resource policy enforces the same two directories inside xhtml2pdf (its fonts and
backgrounds do not all go through the callback) and bounds the render's time and size.
"""

from __future__ import annotations

import base64
import functools
import io
import logging
from pathlib import Path

import pypdfium2
import zxingcpp
from flask import current_app
from flask_babel import gettext as _
from PIL import Image
from xhtml2pdf import pisa
from xhtml2pdf.config.resources import RenderLimitError, ResourceAccessPolicy

from app.core.errors import DomainError
from app.core.storage import InvalidKey, get_storage

log = logging.getLogger(__name__)

STORAGE_PREFIX = "storage:"
STATIC_PREFIX = "/static/"
DATA_PREFIX = "data:image/"
# Returned for anything refused: a data URI of nothing, so xhtml2pdf loads no file (a falsy
# return would make it fall back to the original URI).
REFUSED = "data:text/plain;base64,"
QR_MODULE_PIXELS = 4  # pixels per module in the PNG; xhtml2pdf scales it to the size the CSS sets


class PdfError(DomainError):
    """The document could not be turned into a PDF; the message says why."""


def link_callback(uri: str, rel: str | None = None) -> str:
    """The local file xhtml2pdf may read for `uri`, or REFUSED."""
    uri = (uri or "").strip()
    if uri.startswith(DATA_PREFIX):
        return uri  # inline images (the QR code): nothing is fetched
    if uri.startswith(STORAGE_PREFIX):
        return _storage_file(uri[len(STORAGE_PREFIX):]) or REFUSED
    if uri.startswith(STATIC_PREFIX):
        return _static_file(uri[len(STATIC_PREFIX):]) or REFUSED
    log.info("refused a resource in a PDF: %.120r", uri)
    return REFUSED


def _storage_file(key: str) -> str | None:
    try:
        path = get_storage().path(key)
    except InvalidKey:
        return None
    return str(path) if path.is_file() else None


def _static_file(relative: str) -> str | None:
    root = _static_root()
    path = (root / relative).resolve()
    if root not in path.parents or not path.is_file():
        return None
    return str(path)


def _static_root() -> Path:
    return Path(current_app.static_folder).resolve()


def render_seconds() -> float:
    """How long xhtml2pdf may take to make one certificate's PDF (its template is rendered
    first, within TEMPLATE_RENDER_SECONDS: app/core/sandbox.py)."""
    return float(current_app.config.get("CERTIFICATE_RENDER_SECONDS", 20))


def _policy() -> ResourceAccessPolicy:
    """xhtml2pdf's own gate: no network, local reads only from storage and static/."""
    return _policy_for(current_app.config["STORAGE_DIR"], current_app.static_folder,
                       render_seconds())


@functools.lru_cache(maxsize=8)
def _policy_for(storage_dir: str, static_folder: str, seconds: float) -> ResourceAccessPolicy:
    """Built once per configuration (the policy is immutable): a bulk run renders hundreds."""
    return ResourceAccessPolicy.server(
        base_dir=None,
        extra_roots=(Path(storage_dir).resolve(), Path(static_folder).resolve()),
        allow_remote=False,
        max_render_seconds=seconds,
    )


def html_to_pdf(html: str) -> bytes:
    """Render an HTML document to PDF bytes, or raise PdfError with a readable reason."""
    output = io.BytesIO()
    try:
        result = pisa.CreatePDF(
            html, dest=output, link_callback=link_callback, resource_policy=_policy(),
            encoding="utf-8",
        )
    except RenderLimitError as exc:
        raise PdfError(_("The PDF took too long or grew too large to render: %(reason)s.",
                         reason=exc)) from exc
    except Exception as exc:  # xhtml2pdf raises whatever its parsers raise
        log.warning("xhtml2pdf failed: %s", exc)
        raise PdfError(_("The PDF could not be rendered: %(reason)s.", reason=exc)) from exc
    if result.err:
        raise PdfError(_("The PDF could not be rendered (%(count)d errors).", count=result.err))
    return output.getvalue()


def pdf_thumbnail_png(pdf: bytes, width: int = 400) -> bytes:
    """A PNG of the first page, `width` pixels wide (the live preview)."""
    try:
        document = pypdfium2.PdfDocument(pdf)
    except pypdfium2.PdfiumError as exc:
        raise PdfError(_("That is not a readable PDF.")) from exc
    try:
        page = document[0]
        scale = width / page.get_width()
        image = page.render(scale=scale).to_pil()
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", optimize=True)
        return buffer.getvalue()
    finally:
        document.close()


def qr_code_data_uri(text: str) -> str:
    """A PNG QR code of `text` (error correction M, a one-module margin) as a data URI, for
    an <img src> that needs no file.

    zxing-cpp encodes it in C++: a pure-Python encoder took a third of a millisecond per
    hundred characters, most of a bulk run's time outside xhtml2pdf.
    """
    symbol = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    modules = symbol.to_image(scale=1, add_quiet_zones=False)  # one pixel a module
    height, width = modules.shape
    code = Image.frombuffer("L", (width, height), modules, "raw", "L", 0, 1).convert("1")
    image = Image.new("1", (width + 2, height + 2), 1)
    image.paste(code, (1, 1))
    image = image.resize(((width + 2) * QR_MODULE_PIXELS, (height + 2) * QR_MODULE_PIXELS),
                         Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")

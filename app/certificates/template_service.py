"""Creating, checking, copying and deleting certificate templates (organizers' designs).

A template is saved only when it renders: its Jinja has no syntax error and no unknown
placeholder, its field positions fit the schema, its background is a real image of at most
5 MB and 10 megapixels, and a trial render with sample data gives a PDF. Every refusal says
where.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field

import jsonschema
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.certificates.models import (
    FIELD_POSITIONS_SCHEMA,
    ORIENTATIONS,
    PAGE_SIZES,
    CertificateTemplate,
    CertificateTemplateKind,
)
from app.certificates.pdf import PdfError
from app.certificates.rendering import (
    RenderError,
    render_pdf,
    sample_context,
    template_source_problems,
)
from app.core.errors import PermissionDenied, ValidationError
from app.core.images import ImageRules, check_image
from app.core.storage import get_storage
from app.extensions import db

MAX_BACKGROUND_BYTES = 5 * 1024 * 1024
# A background covers the page: A4 at 300 dpi (3508 × 2480) or Letter (3300 × 2550) fits either
# way round, and every certificate's render decodes it again, so nothing much larger is taken.
BACKGROUND_RULES = ImageRules(
    field="background",
    formats={"PNG": "png", "JPEG": "jpg"},
    max_bytes=MAX_BACKGROUND_BYTES,
    max_width=4000,
    max_height=4000,
    max_pixels=10_000_000,
    hint=_l("A4 at 300 dpi is 3,508 × 2,480 pixels, sharp in print."),
)
BACKGROUND_PREFIX = "certificate-backgrounds"
_FIELD_POSITIONS_VALIDATOR = jsonschema.Draft202012Validator(FIELD_POSITIONS_SCHEMA)


@dataclass
class TemplateDetails:
    """What the template form holds, parsed."""

    name: str
    kind: CertificateTemplateKind = CertificateTemplateKind.HTML
    html: str = ""
    css: str = ""
    page_size: str = "A4"
    orientation: str = "landscape"
    field_positions: dict = field(default_factory=dict)
    background: bytes | None = None  # a new upload, already checked by check_background
    remove_background: bool = False


def check_background(data: bytes) -> str:
    """The file extension of an acceptable background image, else ValidationError."""
    return check_image(data, BACKGROUND_RULES).extension


def parse_field_positions(text: str) -> dict:
    """The field positions typed as JSON, checked against the schema; errors say where."""
    if not (text or "").strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            _("Line %(line)d, column %(column)d: %(reason)s.",
              line=exc.lineno, column=exc.colno, reason=exc.msg),
            field="field_positions",
        ) from exc
    errors = sorted(_FIELD_POSITIONS_VALIDATOR.iter_errors(value), key=lambda e: list(e.path))
    if errors:
        raise ValidationError(
            " ".join(f"{_where(error)}: {error.message}." for error in errors[:5]),
            field="field_positions",
        )
    return value


def _where(error: jsonschema.ValidationError) -> str:
    path = " → ".join(str(part) for part in error.absolute_path)
    return path or _("the document")


class CertificateTemplateService:
    @staticmethod
    def create(owner, details: TemplateDetails) -> CertificateTemplate:
        template = CertificateTemplate(owner_id=owner.id, is_default=False)
        CertificateTemplateService._apply(template, details)
        db.session.add(template)
        db.session.flush()
        return template

    @staticmethod
    def update(template: CertificateTemplate, actor, details: TemplateDetails) -> None:
        if not template.is_editable_by(actor):
            raise PermissionDenied(_("Only admins may change the default template; copy it "
                                     "to make your own."))
        CertificateTemplateService._apply(template, details)
        db.session.flush()

    @staticmethod
    def copy(template: CertificateTemplate, owner) -> CertificateTemplate:
        """The organizer's own editable copy (of the default, or of one of theirs)."""
        duplicate = CertificateTemplate(
            owner_id=owner.id,
            is_default=False,
            name=_("Copy of %(name)s", name=template.name)[:200],
            kind=template.kind,
            html=template.html,
            css=template.css,
            page_size=template.page_size,
            orientation=template.orientation,
            field_positions=dict(template.field_positions or {}),
        )
        if template.background_key:
            duplicate.background_key = _store_background(
                get_storage().read(template.background_key),
                template.background_key.rsplit(".", 1)[-1],
            )
        db.session.add(duplicate)
        db.session.flush()
        return duplicate

    @staticmethod
    def delete(template: CertificateTemplate, actor) -> None:
        if not template.is_editable_by(actor):
            raise PermissionDenied(_("You may not delete this template."))
        template.delete()
        db.session.flush()

    @staticmethod
    def preview_pdf(details: TemplateDetails, template: CertificateTemplate | None) -> bytes:
        """The form's current content rendered with sample data (nothing is saved)."""
        draft = CertificateTemplate()
        _copy_details(draft, details)
        background_uri = None
        if details.background is not None:
            background_uri = _data_uri(details.background, check_background(details.background))
        elif template is not None and template.background_key and not details.remove_background:
            draft.background_key = template.background_key
        return _render_or_refuse(draft, background_uri)

    @staticmethod
    def _apply(template: CertificateTemplate, details: TemplateDetails) -> None:
        """Check everything, trial-render, and only then store a new background."""
        _check(details)
        background_uri = extension = None
        if details.background is not None:
            extension = check_background(details.background)
            background_uri = _data_uri(details.background, extension)
        _copy_details(template, details)
        if details.remove_background and details.background is None:
            template.background_key = None
        has_background = background_uri is not None or template.background_key is not None
        if template.kind == CertificateTemplateKind.BACKGROUND and not has_background:
            raise ValidationError(_("A background-image template needs a background image."),
                                  field="background")
        _render_or_refuse(template, background_uri)
        if details.background is not None:
            # A new key, never an overwrite: a certificate rendering now still reads the old
            # (sweep_orphaned_certificate_files deletes it a day later).
            template.background_key = _store_background(details.background, extension)


def _check(details: TemplateDetails) -> None:
    if not details.name.strip():
        raise ValidationError(_("Give the template a name."), field="name")
    if details.page_size not in PAGE_SIZES:
        raise ValidationError(_("Choose A4 or Letter."), field="page_size")
    if details.orientation not in ORIENTATIONS:
        raise ValidationError(_("Choose portrait or landscape."), field="orientation")
    if details.kind == CertificateTemplateKind.HTML:
        if not details.html.strip():
            raise ValidationError(_("Write the certificate's HTML."), field="html")
        problems = template_source_problems(details.html)
        if problems:
            raise ValidationError(" ".join(problems), field="html")
    elif not details.field_positions:
        raise ValidationError(_("Place at least one field on the background."),
                              field="field_positions")


def _copy_details(template: CertificateTemplate, details: TemplateDetails) -> None:
    template.name = details.name.strip()[:200]
    template.kind = details.kind
    template.html = details.html
    template.css = details.css
    template.page_size = details.page_size
    template.orientation = details.orientation
    template.field_positions = details.field_positions


def _render_or_refuse(template: CertificateTemplate, background_uri: str | None = None) -> bytes:
    """A trial render with sample data: what would fail for a certificate fails here."""
    try:
        return render_pdf(template, sample_context(), background_uri=background_uri)
    except (RenderError, PdfError) as error:
        field_name = "html" if template.kind == CertificateTemplateKind.HTML else None
        raise ValidationError(error.message, field=field_name) from error


def _store_background(data: bytes, extension: str) -> str:
    key = f"{BACKGROUND_PREFIX}/{uuid.uuid4()}.{extension}"
    get_storage().save(key, data)
    return key


def _data_uri(data: bytes, extension: str) -> str:
    mime = "image/jpeg" if extension == "jpg" else "image/png"
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")

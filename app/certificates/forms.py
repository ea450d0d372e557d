"""The certificate template form."""

from __future__ import annotations

import json

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from app.certificates.models import PLACEHOLDERS, CertificateTemplate, CertificateTemplateKind
from app.certificates.template_service import (
    MAX_BACKGROUND_BYTES,
    TemplateDetails,
    parse_field_positions,
)
from app.core.errors import ValidationError

KIND_LABELS = {
    CertificateTemplateKind.HTML: _l("HTML and CSS"),
    CertificateTemplateKind.BACKGROUND: _l("Background image with placed fields"),
}
PLACEHOLDER_HINT = ", ".join(f"{{{{ {name} }}}}" for name in PLACEHOLDERS)
FIELD_POSITIONS_EXAMPLE = json.dumps(
    {"attendee_name": {"x": 20, "y": 90, "width": 257, "font_size": 32, "font": "times",
                       "color": "#102a43", "align": "center"},
     "qr_code": {"x": 245, "y": 165, "width": 30}},
)


class CertificateTemplateForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    kind = RadioField(
        _l("Kind"), default=CertificateTemplateKind.HTML.value, validators=[InputRequired()],
        choices=[(kind.value, label) for kind, label in KIND_LABELS.items()],
    )
    page_size = SelectField(_l("Page size"), choices=[("A4", "A4"), ("Letter", "Letter")],
                            default="A4")
    orientation = SelectField(
        _l("Orientation"), default="landscape",
        choices=[("landscape", _l("Landscape")), ("portrait", _l("Portrait"))],
    )
    html = TextAreaField(
        _l("HTML"), validators=[Length(max=100_000)],
        description=_l("The certificate's body, in HTML with placeholders: %(names)s. "
                       "The QR code is an image: use {{ qr_code }} as its src.",
                       names=PLACEHOLDER_HINT),
    )
    css = TextAreaField(_l("CSS"), validators=[Length(max=50_000)],
                        description=_l("Styles for the HTML above."))
    background = FileField(
        _l("Background image"),
        description=_l("A PNG or JPEG image of at most %(mb)d MB and 4000 × 4000 pixels "
                       "(A4 at 300 dpi is 3508 × 2480), stretched over the page.",
                       mb=MAX_BACKGROUND_BYTES // (1024 * 1024)),
    )
    remove_background = BooleanField(_l("Remove the current background image"))
    field_positions = TextAreaField(
        _l("Field positions (JSON)"), validators=[Length(max=20_000)],
        description=_l("For background-image templates: where each placeholder goes, in "
                       "millimetres from the top-left corner, e.g. %(example)s. Keys: x, y, "
                       "width, font_size (points), font (helvetica, times, courier), color "
                       "(#rrggbb), align (left, center, right).",
                       example=FIELD_POSITIONS_EXAMPLE),
    )

    @classmethod
    def for_template(cls, template: CertificateTemplate) -> CertificateTemplateForm:
        form = cls()
        if not form.is_submitted():
            form.process(obj=template)
            form.kind.data = template.kind.value
            form.field_positions.data = (
                json.dumps(template.field_positions, indent=2) if template.field_positions else ""
            )
        return form

    @classmethod
    def unsubmitted(cls, template: CertificateTemplate | None) -> CertificateTemplateForm:
        """The form filled from the saved template (or blank), reading nothing from the
        request (whose body may be too large to read)."""
        form = cls(formdata=None, obj=template)
        if template is not None:
            form.kind.data = template.kind.value
            form.field_positions.data = (
                json.dumps(template.field_positions, indent=2) if template.field_positions else ""
            )
        return form

    def to_details(self) -> TemplateDetails:
        """The parsed content; ValidationError (naming its field) for bad JSON or a bad file."""
        upload = self.background.data
        data = upload.read() if upload and getattr(upload, "filename", "") else None
        try:
            kind = CertificateTemplateKind(self.kind.data or CertificateTemplateKind.HTML.value)
        except ValueError as exc:
            raise ValidationError(_("Choose a kind of template."), field="kind") from exc
        return TemplateDetails(
            name=self.name.data or "",
            kind=kind,
            html=self.html.data or "",
            css=self.css.data or "",
            page_size=self.page_size.data or "A4",
            orientation=self.orientation.data or "landscape",
            field_positions=parse_field_positions(self.field_positions.data or ""),
            background=data or None,
            remove_background=bool(self.remove_background.data),
        )


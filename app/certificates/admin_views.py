"""Admin views of certificates (registered by app/admin.py): templates are edited here (the
default one only here), certificates and their history are read-only. Revoking needs a
reason, so it is done on the event's issuing page, not by a bulk action."""

from __future__ import annotations

import json

from flask_admin import Admin
from flask_admin.form.fields import JSONField
from markupsafe import Markup, escape

from app.admin import AdminModelView, _enum_formatter, enum_filter
from app.certificates.models import (
    Certificate,
    CertificateStatusHistory,
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
from app.certificates.template_service import parse_field_positions
from app.core.errors import ValidationError
from app.extensions import db
from app.states import CertificateStatus


class CertificateTemplateAdmin(AdminModelView):
    """Edit only: templates are created on the site (with upload checks) and soft-deleted
    there, where a template in use is protected."""

    can_create = can_delete = False
    column_list = ("name", "kind", "is_default", "owner", "page_size", "orientation",
                   "updated_at", "deleted_at")
    column_searchable_list = ("name", "owner.email")
    column_filters = (enum_filter(CertificateTemplate.kind, CertificateTemplateKind, "Kind"),
                      "is_default")
    column_formatters = {"kind": _enum_formatter}
    form_columns = ("name", "html", "css", "page_size", "orientation", "field_positions")
    form_overrides = {"field_positions": JSONField}
    form_widget_args = {"html": {"rows": 18}, "css": {"rows": 12},
                        "field_positions": {"rows": 6}}

    def get_query(self):
        return super().get_query().execution_options(include_deleted=True)

    def get_count_query(self):
        return super().get_count_query().execution_options(include_deleted=True)

    def get_one(self, id):
        return db.session.get(CertificateTemplate, int(id),
                              execution_options={"include_deleted": True})

    def validate_form(self, form) -> bool:
        """Refuse what the site refuses: bad placeholders, bad positions, a failing render."""
        if not super().validate_form(form):
            return False
        if not hasattr(form, "html"):
            return True  # the delete and action forms
        template = getattr(form, "_obj", None)
        candidate = CertificateTemplate(
            name=form.name.data or "",
            kind=template.kind if template else CertificateTemplateKind.HTML,
            html=form.html.data or "", css=form.css.data or "",
            page_size=form.page_size.data or "A4", orientation=form.orientation.data or "",
            background_key=template.background_key if template else None,
        )
        if candidate.kind == CertificateTemplateKind.HTML:
            problems = template_source_problems(candidate.html)
            if problems:
                form.html.errors = problems
                return False
        try:
            raw = form.field_positions.data
            candidate.field_positions = parse_field_positions(
                raw if isinstance(raw, str) else json.dumps(raw or {})
            )
            render_pdf(candidate, sample_context())
        except ValidationError as error:
            form.field_positions.errors = [error.message]
            return False
        except (RenderError, PdfError) as error:
            form.html.errors = [error.message]
            return False
        return True


def _code_formatter(view, context, model, name) -> Markup:
    return Markup("<code>{}</code>").format(escape(getattr(model, name)))


class CertificateAdmin(AdminModelView):
    """Read-only: issued certificates and their frozen data."""

    can_create = can_edit = can_delete = False
    column_list = ("issued_at", "attendee_name", "event_title", "status", "verification_code",
                   "cpd_credits", "pdf_rendered_at", "emailed_at")
    column_searchable_list = ("attendee_name", "attendee_email", "event_title",
                              "verification_code")
    column_filters = (enum_filter(Certificate.status, CertificateStatus, "Status"),
                      "event_title")
    column_formatters = {"status": _enum_formatter, "verification_code": _code_formatter}
    column_default_sort = ("issued_at", True)
    column_details_list = (
        "uuid", "verification_code", "status", "attendee_name", "attendee_email", "event_title",
        "event_starts_at", "event_ends_at", "event_timezone", "cpd_credits", "organizer_name",
        "template", "issued_at", "issued_by", "revoked_at", "revoked_by", "revocation_reason",
        "pdf_key", "pdf_rendered_at", "emailed_at",
    )
    column_formatters_detail = {"status": _enum_formatter}


class CertificateStatusHistoryAdmin(AdminModelView):
    can_create = can_edit = can_delete = False
    column_list = ("created_at", "certificate", "from_status", "to_status", "changed_by",
                   "reason")
    column_searchable_list = ("reason",)
    column_formatters = {"from_status": _enum_formatter, "to_status": _enum_formatter}
    column_default_sort = ("created_at", True)


def register(admin: Admin) -> None:
    admin.add_view(CertificateTemplateAdmin(CertificateTemplate, db, name="Templates",
                                            category="Certificates"))
    admin.add_view(CertificateAdmin(Certificate, db, name="Certificates",
                                    category="Certificates"))
    admin.add_view(CertificateStatusHistoryAdmin(CertificateStatusHistory, db,
                                                 name="Status history",
                                                 category="Certificates"))

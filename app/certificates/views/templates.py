"""Certificate template pages (organizers): list, create, edit, live preview, copy, delete.

Organizers see and choose their own templates and the shipped default; admins edit the
default too. Every save goes through CertificateTemplateService, which refuses a template
that does not render (with the error and its line) and leaves nothing half-written.
"""

from __future__ import annotations

import base64
import uuid

import sqlalchemy as sa
from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from app.accounts.forms import EmptyForm
from app.certificates.defaults import DEFAULT_CSS, DEFAULT_HTML, default_template
from app.certificates.forms import CertificateTemplateForm
from app.certificates.models import CertificateTemplate
from app.certificates.pdf import pdf_thumbnail_png
from app.certificates.template_service import CertificateTemplateService, TemplateDetails
from app.certificates.views import bp
from app.core.errors import DomainError
from app.core.forms import FORM_ERROR_STATUS, attempt
from app.errors import render_error
from app.events.models import Event
from app.extensions import db

TOO_LARGE_STATUS = 413


def load_template(template_uuid: uuid.UUID, *, for_editing: bool = False) -> CertificateTemplate:
    """The template, if the current user may use it: 404 when it is not theirs (or gone),
    403 when they may use it but not edit it (the default, for organizers)."""
    template = db.session.scalar(
        sa.select(CertificateTemplate).where(CertificateTemplate.uuid == template_uuid)
    )
    if template is None or not template.is_usable_by(current_user):
        abort(404)
    if for_editing and not template.is_editable_by(current_user):
        abort(403)
    return template


@bp.get("/certificates/templates")
@login_required
def list_templates():
    templates = db.session.scalars(CertificateTemplate.usable_by(current_user)).all()
    if not any(template.is_default for template in templates):
        default_template()
        db.session.commit()
        templates = db.session.scalars(CertificateTemplate.usable_by(current_user)).all()
    return render_template(
        "certificates/templates/list.html",
        templates=templates,
        event_counts=_event_counts([template.id for template in templates]),
        form=EmptyForm(),
    )


def _event_counts(template_ids: list[int]) -> dict[int, int]:
    """How many (live) events use each template, in one query."""
    rows = db.session.execute(
        sa.select(Event.certificate_template_id, sa.func.count(Event.id))
        .where(Event.certificate_template_id.in_(template_ids))
        .group_by(Event.certificate_template_id)
    )
    return dict(rows.all())


@bp.route("/certificates/templates/new", methods=["GET", "POST"])
@login_required
def create_template():
    form = CertificateTemplateForm()
    if not form.is_submitted():
        form.html.data, form.css.data = DEFAULT_HTML, DEFAULT_CSS
    elif form.validate():
        created = attempt(
            lambda: CertificateTemplateService.create(current_user, form.to_details()), form
        )
        if created:
            flash(_("“%(name)s” is saved.", name=created.value.name), "success")
            return redirect(url_for("certificates.list_templates"), code=303)
    status = FORM_ERROR_STATUS if form.is_submitted() else 200
    return render_template("certificates/templates/form.html", form=form, template=None), status


@bp.route("/certificates/templates/<uuid:template_uuid>/edit", methods=["GET", "POST"])
@login_required
def edit_template(template_uuid: uuid.UUID):
    template = load_template(template_uuid, for_editing=True)
    form = CertificateTemplateForm.for_template(template)
    if form.is_submitted() and form.validate():
        saved = attempt(
            lambda: CertificateTemplateService.update(template, current_user, form.to_details()),
            form,
        )
        if saved:
            flash(_("“%(name)s” is saved.", name=template.name), "success")
            return redirect(url_for("certificates.list_templates"), code=303)
    status = FORM_ERROR_STATUS if form.is_submitted() else 200
    return render_template("certificates/templates/form.html", form=form,
                           template=template), status


@bp.post("/certificates/templates/preview")
@login_required
def preview_template():
    """The form's current content as a PNG thumbnail (HTMX fragment), sample data."""
    rendered = _preview()
    if isinstance(rendered, DomainError):
        return render_template("certificates/templates/_preview.html", error=rendered.message)
    png = base64.b64encode(pdf_thumbnail_png(rendered, width=600)).decode("ascii")
    return render_template("certificates/templates/_preview.html", png=png)


@bp.post("/certificates/templates/preview.pdf")
@login_required
def preview_template_pdf():
    rendered = _preview()
    if isinstance(rendered, DomainError):
        return render_template("certificates/templates/preview_failed.html",
                               error=rendered.message), FORM_ERROR_STATUS
    response = Response(rendered, mimetype="application/pdf")
    response.headers["Content-Disposition"] = 'inline; filename="certificate-preview.pdf"'
    return response


@bp.post("/certificates/templates/<uuid:template_uuid>/copy")
@login_required
def copy_template(template_uuid: uuid.UUID):
    template = load_template(template_uuid)
    if not EmptyForm().validate_on_submit():
        abort(400)
    copied = attempt(lambda: CertificateTemplateService.copy(template, current_user))
    if not copied:
        return redirect(url_for("certificates.list_templates"), code=303)
    flash(_("This is your copy of “%(name)s”: change it and save.", name=template.name),
          "success")
    return redirect(url_for("certificates.edit_template", template_uuid=copied.value.uuid),
                    code=303)


@bp.post("/certificates/templates/<uuid:template_uuid>/delete")
@login_required
def delete_template(template_uuid: uuid.UUID):
    template = load_template(template_uuid, for_editing=True)
    if not EmptyForm().validate_on_submit():
        abort(400)
    name = template.name
    if attempt(lambda: CertificateTemplateService.delete(template, current_user)):
        flash(_("“%(name)s” is deleted.", name=name), "success")
    return redirect(url_for("certificates.list_templates"), code=303)


# --- Helpers


@bp.errorhandler(RequestEntityTooLarge)
def upload_too_large(error):
    """An upload past the site's limit is refused before the view runs (the CSRF check reads
    the body): the template form says so where the file was chosen."""
    on_template_form = request.endpoint in ("certificates.create_template",
                                            "certificates.edit_template")
    if not on_template_form or not current_user.is_authenticated:
        return render_error(TOO_LARGE_STATUS)  # the blueprint's other pages; visitors
    message = _("That file is larger than this site accepts; the background image may be at "
                "most 5 MB. Nothing was saved.")
    template = None
    if request.endpoint == "certificates.edit_template":
        template = load_template(request.view_args["template_uuid"], for_editing=True)
    form = CertificateTemplateForm.unsubmitted(template)
    form.background.errors = [message]
    return render_template("certificates/templates/form.html", form=form,
                           template=template), TOO_LARGE_STATUS


def _preview() -> bytes | DomainError:
    """The PDF of the submitted form, or the error that stops it (nothing is saved)."""
    template = None
    if request.args.get("template"):
        try:
            template = load_template(uuid.UUID(request.args["template"]))
        except ValueError:
            abort(404)
    form = CertificateTemplateForm()
    if not form.validate():
        # A preview needs no name yet; every other problem is shown.
        errors = [str(error) for name, errors in form.errors.items() if name != "name"
                  for error in errors]
        if errors:
            return DomainError(" ".join(errors))
    try:
        details: TemplateDetails = form.to_details()
        return CertificateTemplateService.preview_pdf(details, template)
    except DomainError as error:
        db.session.rollback()
        return error


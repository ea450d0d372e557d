"""The organizer's certificates page of an event (who is eligible and why; issue, decline,
revoke, "issue to all eligible" with its progress bar) and the attendee's "My certificates"
with their PDFs. Event routes load the event with `load_event_for_editing` (404 when the
user cannot see it, 403 when they cannot edit it); the rules live in
app/certificates/services.py and app/certificates/runs.py.
"""

from __future__ import annotations

import uuid

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.accounts.forms import EmptyForm
from app.certificates.issuing_pages import (
    FILTERS,
    certificate_rows,
    my_certificates,
    own_certificate_or_404,
    row_of,
)
from app.certificates.jobs import ensure_pdf
from app.certificates.run_models import CertificateIssueRun
from app.certificates.runs import IssueRunService
from app.certificates.services import (
    CertificateService,
    active_certificates,
    issuing_refusal,
)
from app.certificates.views import bp
from app.core.errors import DomainError
from app.core.forms import attempt
from app.core.htmx import is_htmx, render
from app.events.models import Event
from app.events.queries import event_part_or_404
from app.events.views.manage import load_event_for_editing
from app.extensions import db
from app.registrations.models import Registration


def _page_url(event: Event) -> str:
    show = request.values.get("show", "")
    return url_for("certificates.manage_certificates", event_uuid=event.uuid,
                   **({"show": show} if show in FILTERS else {}))


def _page_context(event: Event) -> dict:
    show = request.values.get("show", "")
    rows = certificate_rows(event)
    return {
        "event": event,
        "rows": [row for row in rows if FILTERS.get(show, lambda _row: True)(row)],
        "all_rows": rows,
        "show": show if show in FILTERS else "",
        "pending": sum(1 for row in rows if row.is_pending),
        "run": IssueRunService.latest_run(event),
        "refusal": issuing_refusal(event),
        "actions": EmptyForm(),
    }


@bp.get("/events/<uuid:event_uuid>/certificates")
@login_required
def manage_certificates(event_uuid: uuid.UUID):
    event = load_event_for_editing(event_uuid)
    return render("certificates/issuing/page.html", "certificates/issuing/_results.html",
                  **_page_context(event))


def _registration_of(event: Event, registration_uuid: uuid.UUID) -> Registration:
    return event_part_or_404(Registration, event, registration_uuid)


def _after_row_change(event: Event, registration_uuid: uuid.UUID):
    """HTMX gets the row back as it now is, with the message and the summary out of band;
    a plain form goes back to the page."""
    if not is_htmx():
        return redirect(_page_url(event), code=303)
    context = _page_context(event)
    return render_template("certificates/issuing/_row_swap.html",
                           row=row_of(context["all_rows"], registration_uuid), **context)


def _act(event_uuid: uuid.UUID, registration_uuid: uuid.UUID, action, done: str):
    event = load_event_for_editing(event_uuid)
    registration = _registration_of(event, registration_uuid)
    if not EmptyForm().validate_on_submit():
        abort(400)
    name = registration.display_name
    if attempt(lambda: action(event, registration)):
        flash(done % {"name": name}, "success")
    return _after_row_change(event, registration_uuid)


@bp.post("/events/<uuid:event_uuid>/certificates/<uuid:registration_uuid>/issue")
@login_required
def issue_certificate(event_uuid: uuid.UUID, registration_uuid: uuid.UUID):
    return _act(event_uuid, registration_uuid,
                lambda _event, registration: CertificateService.issue(registration, current_user),
                _("A certificate is issued to %(name)s; its PDF is on its way."))


@bp.post("/events/<uuid:event_uuid>/certificates/<uuid:registration_uuid>/decline")
@login_required
def decline_certificate(event_uuid: uuid.UUID, registration_uuid: uuid.UUID):
    reason = request.form.get("reason", "")
    return _act(event_uuid, registration_uuid,
                lambda _event, registration: CertificateService.decline(
                    registration, current_user, reason),
                _("The certificate of %(name)s is declined."))


@bp.post("/events/<uuid:event_uuid>/certificates/<uuid:registration_uuid>/undo-decline")
@login_required
def undo_certificate_decline(event_uuid: uuid.UUID, registration_uuid: uuid.UUID):
    return _act(event_uuid, registration_uuid,
                lambda _event, registration: CertificateService.undo_decline(registration),
                _("The decline for %(name)s is undone."))


def _revoke(registration: Registration, reason: str) -> None:
    certificate = active_certificates([registration.id]).get(registration.id)
    if certificate is None:
        raise DomainError(_("%(name)s has no certificate to revoke.",
                            name=registration.display_name))
    CertificateService.revoke(certificate, current_user, reason)


@bp.post("/events/<uuid:event_uuid>/certificates/<uuid:registration_uuid>/revoke")
@login_required
def revoke_certificate(event_uuid: uuid.UUID, registration_uuid: uuid.UUID):
    reason = request.form.get("reason", "")
    return _act(event_uuid, registration_uuid,
                lambda _event, registration: _revoke(registration, reason),
                _("The certificate of %(name)s is revoked."))


@bp.post("/events/<uuid:event_uuid>/certificates/issue-all")
@login_required
def issue_all_certificates(event_uuid: uuid.UUID):
    """Start the bulk run; its job runs after the commit (inline without Redis)."""
    event = load_event_for_editing(event_uuid)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if attempt(lambda: IssueRunService.start(event, current_user)):
        flash(_("Issuing certificates to every eligible attendee."), "success")
    return redirect(_page_url(event), code=303)


@bp.get("/events/<uuid:event_uuid>/certificates/runs/<uuid:run_uuid>")
@login_required
def certificate_run_progress(event_uuid: uuid.UUID, run_uuid: uuid.UUID):
    """The progress bar, which polls itself every second until the run is finished."""
    event = load_event_for_editing(event_uuid)
    run = event_part_or_404(CertificateIssueRun, event, run_uuid)
    context = {"event": event} if is_htmx() else _page_context(event)
    return render("certificates/issuing/page.html", "certificates/issuing/_run.html",
                  **{**context, "run": run})


# --- The attendee's certificates


@bp.get("/certificates/mine")
@login_required
def my_certificates_page():
    return render_template("certificates/mine.html", certificates=my_certificates(current_user))


@bp.get("/certificates/<uuid:certificate_uuid>/certificate.pdf")
@login_required
def download_certificate_pdf(certificate_uuid: uuid.UUID):
    """The PDF, for its attendee and the event's organizers; rendered again when missing."""
    certificate = own_certificate_or_404(certificate_uuid, current_user)
    data = ensure_pdf(certificate)
    db.session.commit()  # the key of a PDF rendered again
    filename = f"certificate-{certificate.verification_code}.pdf"
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})

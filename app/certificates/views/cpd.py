"""The attendee's CPD tracker: requirements, logged activities, progress per period, and the
report as CSV or PDF. Every row belongs to the person logged in; anyone else's is a 404."""

from __future__ import annotations

import re
import uuid

from flask import Response, abort, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.certificates.cpd import (
    CPDService,
    build_tracker,
    find_activity,
    find_requirement,
    format_credits,
    local_today,
    report_progress,
)
from app.certificates.cpd_forms import ActivityForm, RequirementForm
from app.certificates.cpd_models import CPDActivity, CPDRequirement
from app.certificates.cpd_report import report_csv, report_pdf
from app.certificates.views import bp
from app.core.fields import int_param
from app.core.forms import FORM_ERROR_STATUS, attempt
from app.core.htmx import redirect_to, render
from app.extensions import db


def _back_arg() -> int:
    """`?back=N`: how many periods before the current one (bad values mean the current)."""
    return int_param(request.args.get("back"), 0, maximum=999)


def _tracker_page(requirement_form=None, activity_form=None, status: int = 200):
    user = current_user._get_current_object()
    tracker = build_tracker(
        user, local_today(user), request.args.get("requirement"), _back_arg()
    )
    requirement_form = requirement_form or RequirementForm(formdata=None)
    activity_form = activity_form or ActivityForm(tracker.requirements, formdata=None)
    return render(
        "certificates/cpd/tracker.html",
        "certificates/cpd/_period.html",
        tracker=tracker,
        requirement_form=requirement_form,
        activity_form=activity_form,
        format_credits=format_credits,
    ), status


def _own_requirement_or_404(requirement_uuid: uuid.UUID) -> CPDRequirement:
    requirement = find_requirement(current_user, requirement_uuid)
    if requirement is None:
        abort(404)
    return requirement


def _own_activity_or_404(activity_uuid: uuid.UUID) -> CPDActivity:
    activity = find_activity(current_user, activity_uuid)
    if activity is None:
        abort(404)
    return activity


def _own_requirements() -> list[CPDRequirement]:
    return list(db.session.scalars(
        db.select(CPDRequirement).where(CPDRequirement.user_id == current_user.id)
        .order_by(CPDRequirement.professional_body, CPDRequirement.id)
    ))


def _tracker_url(requirement: CPDRequirement | None = None) -> str:
    if requirement is None:
        return url_for("certificates.cpd_tracker")
    return url_for("certificates.cpd_tracker", requirement=requirement.uuid)


@bp.get("/cpd")
@login_required
def cpd_tracker():
    return _tracker_page()


# --- Requirements


@bp.post("/cpd/requirements")
@login_required
def add_requirement():
    form = RequirementForm()
    if form.validate_on_submit():
        added = attempt(lambda: CPDService.add_requirement(current_user, **form.values()), form)
        if added:
            flash(_("Your %(body)s requirement is added.", body=added.value.professional_body),
                  "success")
            return redirect_to(_tracker_url(added.value))
    return _tracker_page(requirement_form=form, status=FORM_ERROR_STATUS)


@bp.route("/cpd/requirements/<uuid:requirement_uuid>/edit", methods=["GET", "POST"])
@login_required
def edit_requirement(requirement_uuid: uuid.UUID):
    requirement = _own_requirement_or_404(requirement_uuid)
    form = RequirementForm()
    if form.validate_on_submit():
        saved = attempt(
            lambda: CPDService.update_requirement(requirement, **form.values()), form
        )
        if saved:
            flash(_("Your %(body)s requirement is saved.", body=requirement.professional_body),
                  "success")
            return redirect_to(_tracker_url(requirement))
    elif request.method == "GET":
        form.fill_from(requirement)
    status = FORM_ERROR_STATUS if form.errors else 200
    return render_template(
        "certificates/cpd/requirement_form.html", form=form, requirement=requirement
    ), status


@bp.post("/cpd/requirements/<uuid:requirement_uuid>/delete")
@login_required
def delete_requirement(requirement_uuid: uuid.UUID):
    requirement = _own_requirement_or_404(requirement_uuid)
    body = requirement.professional_body
    if attempt(lambda: CPDService.delete_requirement(requirement)):
        flash(_("Your %(body)s requirement is deleted. Activities logged for it now count "
                "toward all your requirements.", body=body), "success")
    return redirect_to(_tracker_url())


# --- Activities


@bp.post("/cpd/activities")
@login_required
def add_activity():
    form = ActivityForm(_own_requirements())
    if form.validate_on_submit():
        added = attempt(lambda: CPDService.add_activity(current_user, **form.values()), form)
        if added:
            flash(_("“%(title)s” is logged.", title=added.value.title), "success")
            return redirect_to(_tracker_url(added.value.requirement) + "#activities")
    return _tracker_page(activity_form=form, status=FORM_ERROR_STATUS)


@bp.route("/cpd/activities/<uuid:activity_uuid>/edit", methods=["GET", "POST"])
@login_required
def edit_activity(activity_uuid: uuid.UUID):
    activity = _own_activity_or_404(activity_uuid)
    form = ActivityForm(_own_requirements())
    if form.validate_on_submit():
        saved = attempt(
            lambda: CPDService.update_activity(activity, current_user, **form.values()), form
        )
        if saved:
            flash(_("“%(title)s” is saved.", title=activity.title), "success")
            return redirect_to(_tracker_url(activity.requirement) + "#activities")
    elif request.method == "GET":
        form.fill_from(activity)
    status = FORM_ERROR_STATUS if form.errors else 200
    return render_template(
        "certificates/cpd/activity_form.html", form=form, activity=activity
    ), status


@bp.post("/cpd/activities/<uuid:activity_uuid>/delete")
@login_required
def delete_activity(activity_uuid: uuid.UUID):
    activity = _own_activity_or_404(activity_uuid)
    title = activity.title
    if attempt(lambda: CPDService.delete_activity(activity)):
        flash(_("“%(title)s” is deleted.", title=title), "success")
    return redirect_to(_tracker_url() + "#activities")


# --- The report


def _report_name(progress, extension: str) -> str:
    body = re.sub(r"[^A-Za-z0-9]+", "-", progress.requirement.professional_body).strip("-")
    period = progress.period
    return f"cpd-{body.lower() or 'report'}-{period.start}-{period.end}.{extension}"


@bp.get("/cpd/requirements/<uuid:requirement_uuid>/report.csv")
@login_required
def cpd_report_csv(requirement_uuid: uuid.UUID):
    requirement = _own_requirement_or_404(requirement_uuid)
    progress = report_progress(requirement, local_today(current_user), _back_arg())
    return Response(
        report_csv(progress),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{_report_name(progress, "csv")}"'},
    )


@bp.get("/cpd/requirements/<uuid:requirement_uuid>/report.pdf")
@login_required
def cpd_report_pdf(requirement_uuid: uuid.UUID):
    requirement = _own_requirement_or_404(requirement_uuid)
    progress = report_progress(requirement, local_today(current_user), _back_arg())
    return Response(
        report_pdf(progress, current_user),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{_report_name(progress, "pdf")}"'},
    )

"""The admin panel (Flask-Admin) at /admin: inspection and CRUD for admins only.

Status changes go through the same model methods as the site's pages, never plain edits.
"""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa
from flask import Flask, abort, flash, redirect, request, url_for
from flask_admin import Admin, AdminIndexView, expose
from flask_admin.actions import action
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.filters import FilterEmpty, FilterEqual
from flask_admin.form.fields import JSONField
from flask_admin.menu import MenuLink
from flask_admin.model import typefmt
from flask_admin.theme import Bootstrap4Theme
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup, escape

from app.accounts.models import User
from app.certificates.cpd_models import CPDActivity, CPDRequirement
from app.certificates.keys import SigningKey
from app.certificates.run_models import CertificateIssueRun
from app.core.errors import DomainError
from app.core.urls import WebURLField
from app.events.models import Calendar, Event, EventCategory, EventLocation, EventVisibility
from app.extensions import db
from app.jobs import JobFailure, JobFailureStatus
from app.mailing.models import EmailLog, EmailStatus, EmailTemplate, EmailTemplateType
from app.registrations.models import AttendeeMessage, Registration
from app.states import EventStatus, IssueRunStatus, RegistrationStatus, UserStatus
from app.zoom.models import (
    MeetingSyncStatus,
    RecordingAction,
    RecordingView,
    RegistrantStatus,
    WebhookStatus,
    ZoomConnection,
    ZoomMeeting,
    ZoomRecording,
    ZoomRegistrant,
    ZoomWebhookLog,
)


class AdminOnly:
    """Admins get in; other users get 403; anonymous visitors are sent to log in."""

    def is_accessible(self) -> bool:
        return current_user.is_authenticated and current_user.is_admin

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
        abort(403)


class DashboardView(AdminOnly, AdminIndexView):
    @expose("/")
    def index(self):
        users_by_status = dict(
            db.session.execute(sa.select(User.status, sa.func.count()).group_by(User.status)).all()
        )
        emails_by_status = dict(
            db.session.execute(
                sa.select(EmailLog.status, sa.func.count()).group_by(EmailLog.status)
            ).all()
        )
        open_failures = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(JobFailure)
            .where(JobFailure.status != JobFailureStatus.RESOLVED)
        )
        return self.render(
            "admin/dashboard.html",
            users_by_status=users_by_status,
            user_statuses=list(UserStatus),
            emails_by_status=emails_by_status,
            email_statuses=list(EmailStatus),
            open_failures=open_failures,
        )


class AdminForm(FlaskForm):
    """Flask-WTF's CSRF token (the one every POST is checked for), plus what Flask-Admin's
    own BaseForm keeps: the object being edited, which its uniqueness checks compare with."""

    def __init__(self, *args, **kwargs):
        self._obj = kwargs.get("obj", args[1] if len(args) > 1 else None)
        super().__init__(*args, **kwargs)


class EnumEqualFilter(FilterEqual):
    """"Equals" over an enum's stored values. Flask-Admin's own enum filter looks members up
    by name, which our value-stored enums do not match; a value outside the options (a
    hand-edited URL) is ignored instead of reaching the database."""

    def validate(self, value) -> bool:
        return value in {option for option, _ in self.options}


def enum_filter(column, enum_class, label: str) -> EnumEqualFilter:
    return EnumEqualFilter(column, label, options=[(m.value, _label(m)) for m in enum_class])


def _label(member) -> str:
    return member.value.replace("_", " ").capitalize()


def _enum_formatter(view, context, model, name) -> str:
    value = getattr(model, name)
    return _label(value) if value is not None else ""


def _format_datetime(view, value, name=None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


class AdminModelView(AdminOnly, ModelView):
    form_base_class = AdminForm
    column_type_formatters = {**typefmt.BASE_FORMATTERS, datetime: _format_datetime}
    column_type_formatters_detail = column_type_formatters
    page_size = 50
    can_view_details = True


class UserAdmin(AdminModelView):
    can_create = False  # accounts come from sign-up, invitations or `flask users create-admin`
    can_delete = False  # deletion is the GDPR erasure the user asks for
    column_list = ("email", "full_name", "status", "is_admin", "created_at", "last_login_at")
    column_searchable_list = ("email", "full_name")
    column_filters = (enum_filter(User.status, UserStatus, "Status"), "is_admin")
    column_formatters = {"status": _enum_formatter}
    column_default_sort = ("created_at", True)
    column_details_exclude_list = ("password_hash", "security_stamp")
    form_columns = ("full_name", "professional_title", "credentials", "bio", "timezone", "is_admin")

    def _change_status(self, ids: list[str], method: str, done: str) -> None:
        users = db.session.scalars(sa.select(User).where(User.id.in_([int(i) for i in ids])))
        changed, refused = 0, []
        for user in users:
            try:
                getattr(user, method)()
                changed += 1
            except DomainError as error:
                refused.append(f"{user.email}: {error.message}")
        db.session.commit()
        if changed:
            flash(f"{changed} account(s) {done}.", "success")
        for message in refused:
            flash(message, "error")

    @action("deactivate", "Deactivate", "Deactivate the selected accounts? They are logged out.")
    def action_deactivate(self, ids):
        self._change_status(ids, "deactivate", "deactivated")

    @action("reactivate", "Reactivate", "Reactivate the selected accounts?")
    def action_reactivate(self, ids):
        self._change_status(ids, "reactivate", "reactivated")


class EmailTemplateAdmin(AdminModelView):
    column_list = ("internal_name", "display_name", "template_type", "is_active", "updated_at")
    column_searchable_list = ("internal_name", "display_name")
    column_filters = (
        enum_filter(EmailTemplate.template_type, EmailTemplateType, "Type"),
        "is_active",
    )
    column_formatters = {"template_type": _enum_formatter}
    form_columns = (
        "internal_name", "display_name", "description", "template_type", "variables",
        "subject", "content_text", "content_html", "is_active",
    )
    form_overrides = {"variables": JSONField}
    form_widget_args = {
        "content_text": {"rows": 12},
        "content_html": {"rows": 12},
        "variables": {"rows": 2},
    }
    column_descriptions = {
        "variables": 'The names the templates may use, as a JSON list: ["user_name", "site_url"]',
    }

    def validate_form(self, form) -> bool:
        """Refuse templates with syntax errors or unknown variables, naming field and line."""
        if not super().validate_form(form):
            return False
        if not hasattr(form, "subject"):
            return True  # the delete and action forms
        candidate = EmailTemplate(
            subject=form.subject.data or "",
            content_text=form.content_text.data or "",
            content_html=form.content_html.data or None,
        )
        try:
            candidate.variables = form.variables.data or []
        except Exception as exc:  # jsonschema.ValidationError: wrong shape
            form.variables.errors = [f"Give a JSON list of variable names ({exc.message})."]
            return False
        errors = candidate.validate_templates()
        for field_name, messages in errors.items():
            getattr(form, field_name).errors = list(messages)
        return not errors


class EmailLogAdmin(AdminModelView):
    can_create = can_edit = can_delete = False
    column_list = ("created_at", "template_name", "recipient", "subject", "status", "attempts")
    column_searchable_list = ("recipient", "subject")
    column_filters = (enum_filter(EmailLog.status, EmailStatus, "Status"), "template_name")
    column_formatters = {"status": _enum_formatter}
    column_default_sort = ("created_at", True)
    column_details_exclude_list = ("context",)  # may hold live links


def _payload_formatter(view, context, model, name) -> Markup:
    """The body as Zoom sent it, indented when it is JSON."""
    try:
        text = json.dumps(json.loads(model.payload), indent=2, ensure_ascii=False)
    except ValueError:
        text = model.payload
    return Markup("<pre>{}</pre>").format(text)


class ZoomWebhookLogAdmin(AdminModelView):
    """Read-only: what Zoom sent, whether it was signed, and what became of it."""

    can_create = can_edit = can_delete = False
    column_list = ("created_at", "event_type", "signature_valid", "status", "error", "processed_at")
    column_searchable_list = ("event_type", "error")
    column_filters = (
        enum_filter(ZoomWebhookLog.status, WebhookStatus, "Status"), "event_type", "signature_valid"
    )
    column_formatters = {"status": _enum_formatter}
    column_default_sort = ("created_at", True)
    column_details_list = (
        "created_at", "event_type", "event_ts", "signature_valid", "status", "error",
        "processed_at", "dedupe_key", "payload",
    )
    column_labels = {"signature_valid": "Signed", "event_ts": "Zoom event time (ms)"}
    column_formatters_detail = {"status": _enum_formatter, "payload": _payload_formatter}


class ZoomConnectionAdmin(AdminModelView):
    """Read-only: whose Zoom account is connected, and which need reconnecting. The tokens
    are never shown (nor searchable, nor exported)."""

    can_create = can_edit = can_delete = can_export = False
    column_list = ("user", "zoom_email", "zoom_account_id", "connected_at", "expires_at",
                   "needs_reconnect_at", "last_error")
    column_details_list = ("user", "zoom_email", "zoom_user_id", "zoom_account_id", "scopes",
                           "connected_at", "expires_at", "needs_reconnect_at", "last_error",
                           "created_at", "updated_at")
    column_searchable_list = ("zoom_email", "zoom_user_id", "zoom_account_id")
    column_sortable_list = ("zoom_email", "connected_at", "expires_at", "needs_reconnect_at")
    column_default_sort = ("connected_at", True)
    column_labels = {
        "expires_at": "Access token expires", "needs_reconnect_at": "Needs reconnect since",
    }


class ZoomMeetingAdmin(AdminModelView):
    """Read-only: the meetings created at Zoom and where their sync stands (the organizer
    retries from the event's overview). The host's start link is never shown."""

    can_create = can_edit = can_delete = can_export = False
    column_list = ("event", "session", "meeting_id", "sync_status", "synced_at", "last_error")
    column_details_list = ("event", "session", "meeting_id", "host_user", "topic", "start_at",
                           "duration_minutes", "join_url", "sync_status", "synced_at",
                           "last_error", "created_at", "updated_at")
    column_searchable_list = ("meeting_id", "event.title")
    column_filters = (enum_filter(ZoomMeeting.sync_status, MeetingSyncStatus, "Sync"),)
    column_sortable_list = ("meeting_id", "sync_status", "synced_at")
    column_default_sort = ("id", True)
    column_formatters = {"sync_status": _enum_formatter}
    column_labels = {"sync_status": "Sync", "duration_minutes": "Minutes"}


class ZoomRegistrantAdmin(AdminModelView):
    """Read-only: attendees registered at Zoom. Their personal join links are not shown."""

    can_create = can_edit = can_delete = can_export = False
    column_list = ("registration", "meeting", "registrant_id", "status", "last_error")
    column_details_list = ("registration", "meeting", "registrant_id", "status", "last_error",
                           "created_at", "updated_at")
    column_searchable_list = ("registrant_id",)
    column_filters = (enum_filter(ZoomRegistrant.status, RegistrantStatus, "Status"),)
    column_sortable_list = ("registrant_id", "status")
    column_default_sort = ("id", True)
    column_formatters = {"status": _enum_formatter}


class JobFailureAdmin(AdminModelView):
    can_create = can_edit = can_delete = False
    column_list = ("updated_at", "func", "status", "attempts", "next_attempt_at", "queue")
    column_filters = (enum_filter(JobFailure.status, JobFailureStatus, "Status"), "func", "queue")
    column_formatters = {"status": _enum_formatter}
    column_default_sort = ("updated_at", True)

    @action("retry", "Retry now", "Run the selected jobs again at the next tick?")
    def action_retry(self, ids):
        failures = db.session.scalars(
            sa.select(JobFailure).where(JobFailure.id.in_([int(i) for i in ids]))
        )
        count = 0
        for failure in failures:
            if failure.status != JobFailureStatus.RESOLVED:
                failure.retry_now()
                count += 1
        db.session.commit()
        flash(f"{count} job(s) will run again at the next tick.", "success")


# --- Events: inspection; status changes happen on the organizer pages, through the model.


def _history_formatter(view, context, model, name) -> Markup:
    rows = [
        "<li>{when} · {moves}{reason} · {who}</li>".format(
            when=escape(_format_datetime(view, row.changed_at)),
            moves=escape(
                (f"{_label(row.from_status)} → " if row.from_status else "")
                + _label(row.to_status)
            ),
            reason=escape(f" ({row.reason})" if row.reason else ""),
            who=escape(row.changed_by.display_name if row.changed_by else "automatic"),
        )
        for row in model.history
    ]
    return Markup("<ol>" + "".join(rows) + "</ol>") if rows else Markup("—")


class EventAdmin(AdminModelView):
    can_create = False  # organizers create events on the site, where the rules are checked
    can_delete = False  # drafts are deleted (softly) by their organizers
    column_list = ("title", "status", "start_at", "visibility", "format", "created_at")
    column_searchable_list = ("title",)
    column_filters = (
        enum_filter(Event.status, EventStatus, "Status"),
        enum_filter(Event.visibility, EventVisibility, "Visibility"),
    )
    column_formatters = {
        "status": _enum_formatter, "visibility": _enum_formatter, "format": _enum_formatter,
    }
    column_default_sort = ("start_at", True)
    column_details_list = (
        "title", "slug", "uuid", "status", "start_at", "end_at", "timezone", "format",
        "visibility", "capacity", "cpd_credits", "venue", "calendar", "created_at",
        "published_at", "cancelled_at", "cancel_reason", "deleted_at", "history",
    )
    column_formatters_detail = {**column_formatters, "history": _history_formatter}
    # Only wording; times, status and capacity go through the organizer pages' checks.
    form_columns = ("title", "summary")

    # Admins see soft-deleted drafts too (the "deleted at" column says so).
    def get_query(self):
        return super().get_query().execution_options(include_deleted=True)

    def get_count_query(self):
        return super().get_count_query().execution_options(include_deleted=True)


class EventLocationAdmin(AdminModelView):
    """Venues. Admins curate the site-wide ones, offered to every organizer; an organizer's
    or an organization's venue is offered to them alone until an admin makes it site-wide
    (it then belongs to no one). Unticking site-wide on an owner-less venue retires it."""

    column_list = ("name", "address", "city", "country", "owner", "organization", "is_site_wide")
    column_labels = {"is_site_wide": "Site-wide"}
    column_searchable_list = ("name", "city")
    column_filters = ("is_site_wide",)
    form_columns = ("name", "address", "postal_code", "city", "country", "url", "notes",
                    "is_site_wide")
    form_overrides = {"url": WebURLField}
    form_args = {"is_site_wide": {
        "default": True,
        "description": "Offered to every organizer; ticking it removes the venue's owner.",
    }}

    def on_model_change(self, form, model, is_created):
        model.set_site_wide(model.is_site_wide)


class CalendarAdmin(AdminModelView):
    column_list = ("name", "slug", "created_at")
    column_searchable_list = ("name",)
    form_columns = ("name", "description")  # the slug is derived from the name


class EventCategoryAdmin(AdminModelView):
    column_list = ("name", "slug", "calendar")
    column_searchable_list = ("name",)
    form_columns = ("calendar", "name")


class ZoomRecordingAdmin(AdminModelView):
    """Read-only: the recordings Zoom reported, with their files. The play passcode is not
    shown here (attendees see it on the event page)."""

    can_create = can_edit = can_delete = can_export = False
    column_list = ("event", "session", "topic", "start_at", "duration_minutes", "total_size",
                   "created_at")
    column_details_list = ("event", "session", "topic", "meeting_id", "meeting_uuid", "host_id",
                           "start_at", "duration_minutes", "share_url", "total_size", "files",
                           "created_at", "updated_at")
    column_searchable_list = ("topic", "meeting_id", "meeting_uuid", "event.title")
    column_filters = ("event.title", "meeting_id")
    column_sortable_list = ("topic", "start_at", "created_at")
    column_default_sort = ("created_at", True)
    column_labels = {"duration_minutes": "Minutes", "total_size": "Bytes"}


class RecordingViewAdmin(AdminModelView):
    """Read-only: each watch or download of a recording file."""

    can_create = can_edit = can_delete = False
    column_list = ("created_at", "recording", "file", "action", "user", "registration")
    column_details_list = ("created_at", "recording", "file", "action", "user", "registration")
    column_filters = (enum_filter(RecordingView.action, RecordingAction, "Action"),
                      "recording.topic")
    column_formatters = {"action": _enum_formatter}
    column_default_sort = ("created_at", True)


# --- Registrations: inspection; cancelling, promoting and check-in happen on the organizer's
# attendee page, through RegistrationService (the seats and the waitlist).


class RegistrationAdmin(AdminModelView):
    can_create = can_edit = can_delete = False
    column_list = ("event", "full_name", "email", "status", "created_at", "checked_in_at")
    column_searchable_list = ("full_name", "email", "event.title")
    column_filters = (
        enum_filter(Registration.status, RegistrationStatus, "Status"),
        "event.title",
        FilterEmpty(Registration.checked_in_at, "Not checked in"),
    )
    column_formatters = {"status": _enum_formatter}
    column_default_sort = ("created_at", True)
    column_details_list = (
        "event", "uuid", "full_name", "email", "user", "status", "created_at", "confirmed_at",
        "waitlisted_at", "cancelled_at", "checked_in_at", "deleted_at",
    )


class AttendeeMessageAdmin(AdminModelView):
    can_create = can_edit = can_delete = False
    column_list = ("created_at", "event", "subject", "audience", "recipient_count", "sent_by")
    column_searchable_list = ("subject", "event.title")
    column_filters = ("audience", "event.title")
    column_default_sort = ("created_at", True)


class CertificateIssueRunAdmin(AdminModelView):
    """Read-only: the bulk issuing runs ("issue to all eligible") and how far each got."""

    can_create = can_edit = can_delete = False
    column_list = ("created_at", "event", "started_by", "status", "total", "issued", "skipped",
                   "failed", "finished_at")
    column_searchable_list = ("event.title",)
    column_filters = (enum_filter(CertificateIssueRun.status, IssueRunStatus, "Status"),
                      "event.title")
    column_formatters = {"status": _enum_formatter}
    column_default_sort = ("created_at", True)
    column_details_list = (
        "event", "uuid", "started_by", "status", "total", "issued", "skipped", "failed",
        "error", "cursor_registration_id", "created_at", "started_at", "finished_at",
        "updated_at",
    )
    column_labels = {"cursor_registration_id": "Last registration handled (id)"}


class SigningKeyAdmin(AdminModelView):
    """Read-only: the keys that sign credentials (the JWKS lists them all). The private key
    is never shown; `flask keys new-signing-key` rotates."""

    can_create = can_edit = can_delete = can_export = False
    column_list = ("kid", "algorithm", "is_signing", "created_at", "retired_at")
    column_details_list = ("kid", "algorithm", "is_signing", "public_jwk", "created_at",
                           "retired_at")
    column_default_sort = ("created_at", True)
    column_labels = {"kid": "Key id (kid)", "is_signing": "Signs new credentials"}


# --- CPD: read-only. A person's requirements and activities are theirs to change on /cpd.


class CPDRequirementAdmin(AdminModelView):
    can_create = can_edit = can_delete = False
    column_list = ("user", "professional_body", "credits_required", "period_kind",
                   "start_month", "period_months", "active_from", "active_until")
    column_searchable_list = ("professional_body", "user.email")
    column_filters = ("professional_body",)
    column_formatters = {"period_kind": _enum_formatter}
    column_default_sort = ("created_at", True)


class CPDActivityAdmin(AdminModelView):
    can_create = can_edit = can_delete = False
    column_list = ("user", "completed_on", "title", "provider", "credits", "requirement")
    column_searchable_list = ("title", "provider", "user.email")
    column_default_sort = ("completed_on", True)


def register_admin(app: Flask) -> Admin:
    admin = Admin(
        app,
        name="Convene admin",
        theme=Bootstrap4Theme(swatch="default", fluid=True),
        index_view=DashboardView(name="Dashboard", url="/admin"),
    )
    admin.add_view(UserAdmin(User, db, name="Users", category="Accounts"))
    admin.add_view(EmailTemplateAdmin(EmailTemplate, db, name="Templates", category="Email"))
    admin.add_view(EmailLogAdmin(EmailLog, db, name="Log", category="Email"))
    admin.add_view(JobFailureAdmin(JobFailure, db, name="Job failures"))
    admin.add_view(ZoomWebhookLogAdmin(ZoomWebhookLog, db, name="Zoom webhooks",
                                       category="Zoom"))
    admin.add_view(ZoomConnectionAdmin(ZoomConnection, db, name="Zoom connections",
                                       category="Zoom"))
    admin.add_view(ZoomRecordingAdmin(ZoomRecording, db, name="Zoom recordings",
                                      category="Zoom"))
    admin.add_view(ZoomMeetingAdmin(ZoomMeeting, db, name="Zoom meetings", category="Zoom"))
    admin.add_view(ZoomRegistrantAdmin(ZoomRegistrant, db, name="Zoom registrants",
                                       category="Zoom"))
    admin.add_view(RecordingViewAdmin(RecordingView, db, name="Recording views",
                                      category="Zoom"))
    admin.add_view(EventAdmin(Event, db, name="Events", category="Events"))
    admin.add_view(EventLocationAdmin(EventLocation, db, name="Venues", category="Events"))
    admin.add_view(CalendarAdmin(Calendar, db, name="Calendars", category="Events"))
    admin.add_view(EventCategoryAdmin(EventCategory, db, name="Categories", category="Events"))
    admin.add_view(RegistrationAdmin(Registration, db, name="Registrations",
                                     category="Registrations"))
    admin.add_view(AttendeeMessageAdmin(AttendeeMessage, db, name="Attendee messages",
                                        category="Registrations"))
    admin.add_view(CertificateIssueRunAdmin(CertificateIssueRun, db, name="Issuing runs",
                                            category="Certificates"))
    admin.add_view(SigningKeyAdmin(SigningKey, db, name="Signing keys", category="Certificates"))
    admin.add_view(CPDRequirementAdmin(CPDRequirement, db, name="CPD requirements",
                                       category="Certificates"))
    admin.add_view(CPDActivityAdmin(CPDActivity, db, name="CPD activities",
                                    category="Certificates"))
    from app.certificates.admin_views import register as register_certificate_admin

    register_certificate_admin(admin)
    from app.organizations.admin_views import register as register_organization_admin

    register_organization_admin(admin)
    admin.add_link(MenuLink(name="Back to Convene", url="/"))
    return admin

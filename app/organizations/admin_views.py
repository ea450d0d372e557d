"""Admin views of organizations (registered by app/admin.py). Admins inspect everything and
may correct an organization's name or colour; memberships and the activity log are
read-only, because role changes and ownership transfers go through OrganizationService,
which keeps exactly one owner and logs each change."""

from __future__ import annotations

from flask_admin import Admin

from app.admin import AdminModelView, _enum_formatter, enum_filter
from app.core.errors import DomainError
from app.extensions import db
from app.organizations.models import (
    ActivityLog,
    OrgAction,
    Organization,
    OrganizationMembership,
)
from app.organizations.permissions import OrgRole


class OrganizationAdmin(AdminModelView):
    can_create = False  # created on the site, where the creator becomes the owner
    can_delete = False
    column_list = ("name", "slug", "primary_colour", "created_at", "deleted_at")
    column_searchable_list = ("name", "slug")
    column_default_sort = ("name", False)
    form_columns = ("name", "primary_colour")

    def get_query(self):
        return super().get_query().execution_options(include_deleted=True)

    def get_count_query(self):
        return super().get_count_query().execution_options(include_deleted=True)

    def get_one(self, id):
        return db.session.get(Organization, int(id), execution_options={"include_deleted": True})

    def update_model(self, form, model) -> bool:
        """The model's own checks (a #rrggbb colour, a name) become a flashed message."""
        try:
            return super().update_model(form, model)
        except DomainError:
            db.session.rollback()
            return False


class OrganizationMembershipAdmin(AdminModelView):
    can_create = can_edit = can_delete = False
    column_list = ("organization", "user", "role", "joined_at")
    column_searchable_list = ("user.email", "organization.name")
    column_filters = (enum_filter(OrganizationMembership.role, OrgRole, "Role"),)
    column_formatters = {"role": _enum_formatter}
    column_default_sort = ("joined_at", True)


class ActivityLogAdmin(AdminModelView):
    can_create = can_edit = can_delete = False
    column_list = ("created_at", "organization", "actor", "action", "target")
    column_searchable_list = ("target", "organization.name")
    column_filters = (enum_filter(ActivityLog.action, OrgAction, "Action"),)
    column_formatters = {"action": _enum_formatter}
    column_default_sort = ("created_at", True)


def register(admin: Admin) -> None:
    admin.add_view(OrganizationAdmin(Organization, db, name="Organizations",
                                     category="Organizations"))
    admin.add_view(OrganizationMembershipAdmin(OrganizationMembership, db, name="Memberships",
                                               category="Organizations"))
    admin.add_view(ActivityLogAdmin(ActivityLog, db, name="Activity log",
                                    category="Organizations"))

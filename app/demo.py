"""`flask demo load`: idempotent demo data. Each area adds a loader to DEMO_LOADERS."""

from __future__ import annotations

from collections.abc import Callable

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from app.accounts.models import User
from app.core.types import utcnow
from app.extensions import db
from app.mailing.services import seed_default_templates
from app.states import UserStatus

DEMO_PASSWORD = "convene-demo-2026"

DEMO_USERS = [
    # email, full name, professional title, admin
    ("admin@example.com", "Ada Admin", "Site administrator", True),
    ("organizer@example.com", "Olivia Organizer", "Education lead", False),
    ("attendee1@example.com", "Amir Attendee", "Registered nurse", False),
    ("attendee2@example.com", "Beatriz Attendee", "Physiotherapist", False),
    ("attendee3@example.com", "Chen Attendee", "Pharmacist", False),
]


def load_users() -> list[str]:
    lines = []
    for email, name, title, is_admin in DEMO_USERS:
        user = db.session.scalar(sa.select(User).where(User.email == email))
        if user is None:
            user = User(
                email=email, full_name=name, professional_title=title, is_admin=is_admin,
                status=UserStatus.ACTIVE, email_verified_at=utcnow(), timezone="Europe/London",
            )
            user.set_password(DEMO_PASSWORD)
            db.session.add(user)
        lines.append(f"  {email:28} {DEMO_PASSWORD}{'  (admin)' if is_admin else ''}")
    return lines


def load_mail_templates() -> list[str]:
    added = seed_default_templates()
    return [f"  {added} email templates added"] if added else []


DEMO_LOADERS: list[Callable[[], list[str]]] = [load_mail_templates, load_users]


def load_demo() -> list[str]:
    """Run every loader once in one transaction; returns lines to print."""
    lines = []
    for loader in DEMO_LOADERS:
        lines.extend(loader())
        db.session.flush()
    db.session.commit()
    return lines


@click.group("demo", cls=AppGroup, help="Demo data.")
def demo_cli():
    pass


@demo_cli.command("load")
def load_command():
    """Load demo data (safe to run again: existing rows are kept)."""
    lines = load_demo()
    click.echo("Demo data is loaded. Log in at http://127.0.0.1:5000/login with:")
    for line in lines:
        click.echo(line)

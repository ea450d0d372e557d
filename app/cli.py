"""Command-line entry points: `flask users`, `flask mail`, `flask keys`, `flask jobs` (and
`flask demo`)."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from app.core.errors import DomainError
from app.extensions import db


@click.group("users", cls=AppGroup, help="User accounts.")
def users_cli():
    pass


@users_cli.command("create-admin")
@click.argument("email")
@click.option("--name", default="", help="Full name.")
@click.password_option(help="Password (asked for when not given).")
def create_admin(email: str, name: str, password: str):
    """Create an admin account for EMAIL, or make that account an admin."""
    from app.accounts.services import AccountService

    try:
        user = AccountService.create_admin(email, password, name)
    except DomainError as error:
        raise click.ClickException(str(error.message)) from None
    db.session.commit()
    click.echo(f"{user.email} is an admin. Log in at /login, then open /admin.")


@click.group("mail", cls=AppGroup, help="Email templates.")
def mail_cli():
    pass


@mail_cli.command("seed")
def mail_seed():
    """Copy the shipped email templates into the database where missing."""
    from app.mailing.services import seed_default_templates

    added = seed_default_templates()
    db.session.commit()
    click.echo(f"{added} email template(s) added.")


@click.group("keys", cls=AppGroup, help="Encryption and signing keys.")
def keys_cli():
    pass


@keys_cli.command("rotate")
def keys_rotate():
    """Re-encrypt every secret at rest with the first key of ENCRYPTION_KEYS."""
    from app.core.encryption import rotate_all

    count = rotate_all()
    db.session.commit()
    click.echo(f"{count} secret(s) re-encrypted with the newest key.")


@keys_cli.command("new-signing-key")
def keys_new_signing_key():
    """Sign new credentials with a new Ed25519 key; old keys retire but stay in the JWKS."""
    from app.certificates.keys import rotate_signing_key

    key = rotate_signing_key()
    db.session.commit()
    click.echo(f"New credentials are signed with key {key.kid}; older keys stay published.")


@click.group("jobs", cls=AppGroup, help="Background jobs.")
def jobs_cli():
    pass


@jobs_cli.command("tick")
def jobs_tick():
    """Enqueue whatever is due (cron runs this every minute)."""
    from app.jobs import tick

    for path in tick():
        click.echo(f"enqueued {path}")


@jobs_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
def jobs_worker(burst: bool):
    """Run an RQ worker on the emails and default queues (needs REDIS_URL)."""
    from rq import Worker

    from app.core.process import freeze_startup_objects
    from app.jobs import QUEUES, redis_connection, warm_worker

    connection = redis_connection()
    if connection is None:
        raise click.ClickException("REDIS_URL is not set: jobs run inline, no worker needed.")
    warm_worker()
    freeze_startup_objects()  # shared by every forked work horse, never walked again
    Worker(list(QUEUES), connection=connection).work(burst=burst)


def register_commands(app: Flask) -> None:
    from app.demo import demo_cli
    from app.zoom.cli import zoom_cli

    for group in (users_cli, mail_cli, keys_cli, jobs_cli, demo_cli, zoom_cli):
        app.cli.add_command(group)

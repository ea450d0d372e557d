"""Account jobs: retention of login sessions."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.accounts.models import UserSession
from app.core.types import utcnow
from app.extensions import db
from app.jobs import periodic

SESSION_RETENTION = timedelta(days=30)


@periodic(every=timedelta(hours=1))
def purge_inactive_sessions() -> None:
    """Retention (seed 003): login sessions unused for 30 days are hard-deleted."""
    cutoff = utcnow() - SESSION_RETENTION
    db.session.execute(sa.delete(UserSession).where(UserSession.last_seen_at < cutoff))

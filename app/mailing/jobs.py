"""Mail jobs: delivery (idempotent per log row) and retention."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.core.types import utcnow
from app.extensions import db
from app.jobs import periodic
from app.mailing.backends import get_backend
from app.mailing.models import EmailLog, EmailStatus, EmailTemplate
from app.mailing.services import MailService

EMAIL_LOG_RETENTION = timedelta(days=365)


def deliver_email(email_log_id: int) -> None:
    """Render and send one logged message. A message already sent is not sent again."""
    entry = db.session.get(EmailLog, email_log_id)
    if entry is None or entry.status == EmailStatus.SENT:
        return
    entry.attempts += 1
    try:
        template = EmailTemplate.get_for(entry.template_name)
        message = MailService.build_message(entry, template)
        get_backend().send(message, str(entry.uuid))
    except Exception as exc:
        entry.status = EmailStatus.FAILED
        entry.error = f"{type(exc).__name__}: {exc}"[:2000]
        db.session.commit()  # keep the failure on the log row; the job runner retries
        raise
    MailService.mark_sent(entry, message["Subject"])


@periodic(every=timedelta(days=1), queue="emails")
def purge_old_email_logs() -> None:
    """Retention (seed 003): email logs are hard-deleted after a year."""
    cutoff = utcnow() - EMAIL_LOG_RETENTION
    db.session.execute(sa.delete(EmailLog).where(EmailLog.created_at < cutoff))

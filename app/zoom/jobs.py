"""Zoom jobs: process one stored webhook delivery, and the 90-day retention of the log."""

from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa

from app.core.types import utcnow
from app.extensions import db
from app.jobs import periodic
from app.zoom.models import WebhookStatus, ZoomWebhookLog
from app.zoom.services import ZoomEventProcessor

log = logging.getLogger(__name__)

WEBHOOK_LOG_RETENTION = timedelta(days=90)


def process_zoom_webhook(log_id: int) -> None:
    """Apply one delivery, once: a row already processed or ignored is left alone. On an
    error the work is rolled back, the row is marked failed with the error, and the job
    runner retries it (app/jobs.py)."""
    entry = _claim(log_id)
    if entry is None or entry.is_done:
        return
    try:
        ZoomEventProcessor.process(entry)
    except Exception as exc:
        db.session.rollback()
        entry = db.session.get(ZoomWebhookLog, log_id)
        entry.mark(WebhookStatus.FAILED, f"{type(exc).__name__}: {exc}")
        db.session.commit()  # keep the failure on the log row; the job runner retries
        raise


def _claim(log_id: int) -> ZoomWebhookLog | None:
    """The row, locked (PostgreSQL) so that a retry and a late first run do not both apply it."""
    return db.session.scalar(
        sa.select(ZoomWebhookLog).where(ZoomWebhookLog.id == log_id).with_for_update()
    )


@periodic(every=timedelta(days=1))
def purge_old_zoom_webhook_logs() -> None:
    """Retention (seed 003): webhook logs are hard-deleted after 90 days."""
    cutoff = utcnow() - WEBHOOK_LOG_RETENTION
    db.session.execute(sa.delete(ZoomWebhookLog).where(ZoomWebhookLog.created_at < cutoff))

"""Retention: webhook logs go after 90 days (seed 003); the tick schedules the purge."""

from datetime import timedelta

import sqlalchemy as sa

from app import jobs
from app.core.types import utcnow
from app.extensions import db
from app.zoom.jobs import purge_old_zoom_webhook_logs
from app.zoom.models import WebhookStatus, ZoomWebhookLog


def test_logs_older_than_90_days_are_purged(ctx):
    now = utcnow()
    for days in (91, 89, 1):
        db.session.add(ZoomWebhookLog(
            event_type=f"e{days}", payload="{}", status=WebhookStatus.PROCESSED,
            created_at=now - timedelta(days=days),
        ))
    db.session.commit()
    purge_old_zoom_webhook_logs()
    db.session.commit()
    left = db.session.scalars(sa.select(ZoomWebhookLog.event_type).order_by("event_type"))
    assert left.all() == ["e1", "e89"]


def test_the_purge_is_a_periodic_task():
    assert "app.zoom.jobs:purge_old_zoom_webhook_logs" in [t.path for t in jobs.periodic_tasks()]

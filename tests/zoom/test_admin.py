"""The webhook log in the admin panel: listed, filterable, read-only."""

import sqlalchemy as sa

from app.extensions import db
from app.zoom.models import ZoomWebhookLog
from tests.admin.test_admin import admin_client
from tests.conftest import create_user, log_in
from tests.zoom.helpers import deliver, meeting_event


def test_admins_see_the_log_and_a_delivery_in_full(app):
    client = admin_client(app)
    deliver(app.test_client(), meeting_event("meeting.sharing_started"))
    deliver(app.test_client(), meeting_event("meeting.started"), signature="v0=bad")
    deliver(app.test_client(), {"event": "endpoint.url_validation", "payload": {"plainToken": "t"}})
    with app.app_context():
        ids = db.session.scalars(sa.select(ZoomWebhookLog.id).order_by(ZoomWebhookLog.id)).all()
    listing = client.get("/admin/zoomwebhooklog/").get_data(as_text=True)
    assert "meeting.sharing_started" in listing
    assert "unhandled event type meeting.sharing_started" in listing
    assert "signature does not match" in listing
    ignored_only = client.get("/admin/zoomwebhooklog/?flt0_0=ignored").get_data(as_text=True)
    assert "meeting.sharing_started" in ignored_only
    assert "endpoint.url_validation" in listing and "endpoint.url_validation" not in ignored_only
    details = client.get(f"/admin/zoomwebhooklog/details/?id={ids[0]}").get_data(as_text=True)
    assert "AbCdEfGhIjKlMnOpQrStUv" in details  # the raw payload


def test_the_log_is_read_only(app):
    client = admin_client(app)
    deliver(app.test_client(), meeting_event("meeting.sharing_started"))
    with app.app_context():
        entry_id = db.session.scalar(sa.select(ZoomWebhookLog.id))
    assert client.get(f"/admin/zoomwebhooklog/edit/?id={entry_id}").status_code == 302
    assert client.get("/admin/zoomwebhooklog/new/").status_code == 302
    with app.app_context():
        assert db.session.get(ZoomWebhookLog, entry_id) is not None


def test_other_users_cannot_read_it(app):
    create_user(app, email="user@example.com")
    client = app.test_client()
    log_in(client, "user@example.com")
    assert client.get("/admin/zoomwebhooklog/").status_code == 403

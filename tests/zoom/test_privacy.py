"""A person's Zoom attendance is in "download my data" and goes with their account."""

import sqlalchemy as sa

from app.accounts.models import User
from app.core import privacy
from app.extensions import db
from app.zoom.models import AttendanceRecord, ZoomWebhookLog
from tests.zoom.helpers import deliver, participant_event


def test_attendance_is_exported_and_anonymised(app, client, zoom_session):
    from tests.factories import UserFactory

    with app.app_context():
        user_id = UserFactory(email="jill@example.com").id
        db.session.commit()
    deliver(client, participant_event("meeting.participant_joined", "2024-06-20T16:20:00Z"))
    deliver(client, participant_event("meeting.participant_left", "2024-06-20T16:30:00Z"))
    other = {"participant_uuid": "p2", "user_id": "2", "email": "bob@example.com",
             "user_name": "Bob"}
    deliver(client, participant_event("meeting.participant_joined", "2024-06-20T16:21:00Z",
                                      **other))
    with app.app_context():
        user = db.session.get(User, user_id)
        exported = privacy.export_user_data(user)["zoom"]
        assert [(r["name"], r["joined_at"], r["left_at"]) for r in exported] == [
            ("Jill Chill", "2024-06-20T16:20:00+00:00", "2024-06-20T16:30:00+00:00")
        ]
        privacy.anonymise_user(user)
        db.session.commit()
        rows = db.session.scalars(sa.select(AttendanceRecord).order_by("join_at")).all()
        assert [(r.email, r.user_name) for r in rows] == [
            (f"deleted-{user.uuid}@anonymized.local", "Deleted User"),
            ("bob@example.com", "Bob"),
        ]
        assert rows[0].participant_key == f"deleted:{rows[0].id}"
        payloads = db.session.scalars(sa.select(ZoomWebhookLog.payload).order_by("id")).all()
        assert payloads[:2] == ["", ""]
        assert "bob@example.com" in payloads[2]

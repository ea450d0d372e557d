from datetime import timedelta

import pytest

from app.extensions import db
from tests.factories import EventFactory, SessionFactory
from tests.zoom.connection_helpers import zoom_oauth  # noqa: F401 (a fixture)
from tests.zoom.helpers import MEETING_ID, SECRET
from tests.zoom.meeting_helpers import zoom  # noqa: F401 (a fixture)


@pytest.fixture(autouse=True)
def zoom_secret(app, monkeypatch):
    monkeypatch.setitem(app.config, "ZOOM_WEBHOOK_SECRET_TOKEN", SECRET)


@pytest.fixture
def zoom_session(app):
    """A session of a published event whose Zoom meeting is MEETING_ID; returns ids."""
    with app.app_context():
        event = EventFactory()
        session = SessionFactory(event=event, zoom_meeting_id=MEETING_ID)
        SessionFactory(event=event, start_at=event.start_at + timedelta(hours=2),
                       end_at=event.start_at + timedelta(hours=3))
        db.session.commit()
        return {"event_id": event.id, "session_id": session.id}

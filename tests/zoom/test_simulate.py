"""`flask zoom simulate`: its deliveries go through the real endpoint (signature checked,
stored, processed) and make the attendance intervals a meeting with a re-join makes."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from app import create_app
from app.config import DEVELOPMENT_ZOOM_SECRET
from app.demo import DEMO_ZOOM_MEETING_ID, load_demo
from app.events.models import Event, EventSession
from app.extensions import db
from app.registrations.services import RegistrationService
from app.states import SessionStatus
from app.zoom import cli as zoom_cli
from app.zoom.models import (
    AttendanceRecord,
    WebhookStatus,
    ZoomMeeting,
    ZoomRegistrant,
    ZoomWebhookLog,
)
from tests.factories import EventFactory, SessionFactory, UserFactory
from tests.zoom.helpers import MEETING_ID, SECRET


def test_client_transport(client, sent=None):
    """A transport that posts to the test app instead of over the network."""

    def send(url, raw, headers):
        if sent is not None:
            sent.append((url, headers))
        response = client.post(urlsplit(url).path, data=raw, headers=headers)
        return response.status_code, response.get_data(as_text=True)

    return send


test_client_transport.__test__ = False  # a helper, not a test


def event_with_people(app, people=2, *, on_session=True, waitlisted=0):
    with app.app_context():
        event = EventFactory(capacity=people, waitlist_enabled=True)
        if on_session:
            SessionFactory(event=event, zoom_meeting_id=MEETING_ID, start_at=event.start_at,
                           end_at=event.start_at + timedelta(hours=1))
            SessionFactory(event=event, start_at=event.start_at + timedelta(hours=2),
                           end_at=event.start_at + timedelta(hours=3))
        else:
            event.zoom_meeting_id = MEETING_ID
        for n in range(people + waitlisted):
            RegistrationService.register(event, UserFactory(full_name=f"Person {n}"), answers={})
        db.session.commit()
        return event.uuid


def run(app, client, event_uuid, secret=SECRET, sent=None):
    lines = []
    with app.test_request_context():
        event = db.session.scalar(sa.select(Event).where(Event.uuid == event_uuid))
        answers = zoom_cli.simulate(event, "http://127.0.0.1:5000", secret,
                                    transport=test_client_transport(client, sent),
                                    echo=lines.append)
        db.session.rollback()
    return answers, lines


def records(app):
    with app.app_context():
        return db.session.execute(
            sa.select(AttendanceRecord.email, AttendanceRecord.session_id,
                      AttendanceRecord.join_at, AttendanceRecord.leave_at)
            .order_by(AttendanceRecord.email, AttendanceRecord.join_at)
        ).all()


def test_a_meeting_with_a_rejoin_becomes_closed_intervals_for_the_confirmed_people(app, client):
    event_uuid = event_with_people(app, 2, waitlisted=1)
    sent = []
    answers, lines = run(app, client, event_uuid, sent=sent)

    # started, 2 joins, a leave and a re-join, 2 leaves, ended: all accepted as new
    assert [status for status, _ in answers] == [200] * 8
    assert all('"received"' in text for _, text in answers)
    assert {url for url, _ in sent} == {"http://127.0.0.1:5000/webhooks/zoom"}
    assert all(h["x-zm-signature"].startswith("v0=") for _, h in sent)
    rows = records(app)
    assert len(rows) == 3  # the waitlisted person is not in the meeting
    assert all(leave_at is not None and leave_at > join_at for *_, join_at, leave_at in rows)
    with app.app_context():
        session = db.session.scalar(
            sa.select(EventSession).where(EventSession.zoom_meeting_id == MEETING_ID)
        )
        assert {session_id for _, session_id, *_ in rows} == {session.id}
        assert session.status == SessionStatus.COMPLETED  # started, then ended
        first = rows[0].email
        first_rows = [r for r in rows if r.email == first]
        assert len(first_rows) == 2  # left and came back
        assert first_rows[0].leave_at < first_rows[1].join_at
        statuses = db.session.scalars(sa.select(ZoomWebhookLog.status)).all()
        assert statuses == [WebhookStatus.PROCESSED] * 8
    assert any("joined" in line and "-> 200" in line for line in lines)


def test_running_it_again_sends_the_same_deliveries_and_records_nothing_twice(app, client):
    event_uuid = event_with_people(app, 2)
    run(app, client, event_uuid)
    before = records(app)
    answers, _ = run(app, client, event_uuid)
    assert all(status == 200 and '"duplicate"' in text for status, text in answers)
    assert records(app) == before


def test_the_endpoint_checks_the_simulators_signatures(app, client):
    event_uuid = event_with_people(app, 1)
    answers, _ = run(app, client, event_uuid, secret="not-the-secret")
    assert {status for status, _ in answers} == {401}
    assert records(app) == []


def test_an_event_level_meeting_is_simulated_when_no_session_has_one(app, client):
    event_uuid = event_with_people(app, 2, on_session=False)
    answers, _ = run(app, client, event_uuid)
    assert [status for status, _ in answers] == [200] * 8
    rows = records(app)
    assert len(rows) == 3 and {session_id for _, session_id, *_ in rows} == {None}


def test_the_command_sends_to_the_url_it_is_given(app, client, monkeypatch):
    event_uuid = event_with_people(app, 1)
    sent = []
    monkeypatch.setattr(zoom_cli, "http_transport", test_client_transport(client, sent))
    result = app.test_cli_runner().invoke(
        args=["zoom", "simulate", str(event_uuid), "--url", "http://example.test:8000/"]
    )
    assert result.exit_code == 0, result.output
    assert "6 webhook(s) sent, 0 refused." in result.output
    assert {url for url, _ in sent} == {"http://example.test:8000/webhooks/zoom"}
    assert len(records(app)) == 2  # one person, who left and came back


def test_the_command_refuses_what_it_cannot_simulate(app, client, monkeypatch):
    runner = app.test_cli_runner()
    event_uuid = event_with_people(app, 1)
    with app.app_context():
        db.session.execute(sa.update(EventSession).values(zoom_meeting_id=None))
        db.session.commit()
    result = runner.invoke(args=["zoom", "simulate", str(event_uuid)])
    assert result.exit_code != 0 and "have a Zoom meeting id" in result.output
    result = runner.invoke(args=["zoom", "simulate", "00000000-0000-0000-0000-000000000000"])
    assert result.exit_code != 0 and "no event" in result.output
    monkeypatch.setitem(app.config, "ZOOM_WEBHOOK_SECRET_TOKEN", "")
    result = runner.invoke(args=["zoom", "simulate", str(event_uuid)])
    assert result.exit_code != 0 and "ZOOM_WEBHOOK_SECRET_TOKEN is not set" in result.output


def test_refused_deliveries_make_the_command_fail(app, client, monkeypatch):
    event_uuid = event_with_people(app, 1)
    monkeypatch.setattr(zoom_cli, "http_transport", test_client_transport(client))
    monkeypatch.setitem(app.config, "ZOOM_WEBHOOK_SECRET_TOKEN", "another-secret")
    monkeypatch.setattr(zoom_cli, "signed_headers",
                        lambda secret, raw: {"x-zm-request-timestamp": "1", "x-zm-signature": "x"})
    result = app.test_cli_runner().invoke(args=["zoom", "simulate", str(event_uuid)])
    assert result.exit_code == 1 and "6 refused" in result.output


@pytest.mark.parametrize(("env", "expected"), [("development", DEVELOPMENT_ZOOM_SECRET),
                                               ("production", "")])
def test_a_development_secret_only_outside_production(tmp_path, monkeypatch, env, expected):
    monkeypatch.delenv("ZOOM_WEBHOOK_SECRET_TOKEN", raising=False)
    keys = "x" * 43 + "="  # production needs its own ENCRYPTION_KEYS
    built = create_app({"CONVENE_ENV": env, "SECRET_KEY": "s", "ZOOM_WEBHOOK_SECRET_TOKEN": "",
                        "ENCRYPTION_KEYS": keys, "SITE_URL": "https://events.example.org",
                        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'c.db'}",
                        "STORAGE_DIR": str(tmp_path / "files"), "MAIL_DIR": str(tmp_path)})
    assert built.config["ZOOM_WEBHOOK_SECRET_TOKEN"] == expected
    configured = create_app({"CONVENE_ENV": env, "SECRET_KEY": "s", "ENCRYPTION_KEYS": keys,
                             "ZOOM_WEBHOOK_SECRET_TOKEN": "mine",
                             "SITE_URL": "https://events.example.org",
                             "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'c.db'}"})
    assert configured.config["ZOOM_WEBHOOK_SECRET_TOKEN"] == "mine"


def test_the_demo_webinar_can_be_simulated(app, client):
    with app.test_request_context():
        lines = load_demo()
        assert any("flask zoom simulate" in line for line in lines)
        webinar = db.session.scalar(sa.select(Event).where(Event.title == "Wound care webinar"))
        meeting = db.session.scalar(
            sa.select(ZoomMeeting).where(ZoomMeeting.event_id == webinar.id)
        )
        assert webinar.zoom_meeting_id == meeting.meeting_id != DEMO_ZOOM_MEETING_ID  # ZOOM_FAKE
        registrants = db.session.scalars(
            sa.select(ZoomRegistrant).where(ZoomRegistrant.zoom_meeting_id == meeting.id)
        ).all()
        assert len(registrants) == 2  # the two confirmed attendees; not the waitlisted one
        event_uuid = webinar.uuid
        assert not any("zoom" in line for line in load_demo())  # once
        db.session.rollback()
    answers, _ = run(app, client, event_uuid)
    assert {status for status, _ in answers} == {200}
    assert len(records(app)) == 3  # two confirmed (one re-joins); the waitlisted is not there
    with app.app_context():
        matched = db.session.execute(
            sa.select(AttendanceRecord.registrant_id, ZoomRegistrant.registration_id,
                      AttendanceRecord.registration_id)
            .join(ZoomRegistrant, ZoomRegistrant.registrant_id == AttendanceRecord.registrant_id)
        ).all()
    # Each joined with their own link: matched through the registrant id.
    assert len(matched) == 3 and all(row[1] == row[2] for row in matched)

"""Zoom recordings: recording.completed → rows (once), who may watch or download, the
RecordingView rows, and the organizer's view counts."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
import requests
import sqlalchemy as sa

from app.accounts.models import User
from app.core import privacy
from app.core.types import utcnow
from app.events.models import EventSession
from app.extensions import db
from app.registrations.models import Registration
from app.states import RegistrationStatus
from app.zoom import client as zoom_client
from app.zoom.models import (
    RecordingAction,
    RecordingView,
    WebhookStatus,
    ZoomConnection,
    ZoomMeeting,
    ZoomRecording,
    ZoomRecordingFile,
    ZoomWebhookLog,
)
from app.zoom.recording_services import anonymise_recording_views, store_recording
from app.zoom.services import find_meeting
from tests.conftest import create_user, log_in, query_counter
from tests.factories import EventFactory, SessionFactory
from tests.zoom.helpers import MEETING_ID, MEETING_UUID, deliver

PLAY = "https://zoom.us/rec/play/abc"
DOWNLOAD = "https://zoom.us/rec/download/abc"


def recording_file(file_id: str, **fields) -> dict:
    return {
        "id": file_id,
        "meeting_id": MEETING_UUID,
        "recording_start": "2024-06-20T16:14:00Z",
        "recording_end": "2024-06-20T17:00:00Z",
        "file_type": "MP4",
        "file_extension": "MP4",
        "file_size": 246560,
        "play_url": f"{PLAY}-{file_id}",
        "download_url": f"{DOWNLOAD}-{file_id}",
        "status": "completed",
        "recording_type": "shared_screen_with_speaker_view",
        **fields,
    }


def recording_completed(*files: dict, meeting_id=int(MEETING_ID), uuid=MEETING_UUID) -> dict:
    """Zoom's recording.completed, with the object id a number as Zoom sends it."""
    return {
        "event": "recording.completed",
        "event_ts": 1718905000123,
        "download_token": "abJhbGciOiJIUzUxMiJ9.eyJpc3MiOiJodHRwczovL2V2ZW50Lnpvb20udXMi",
        "payload": {
            "account_id": "AbCdEfGhIjKlMnOpQrStUv",
            "object": {
                "id": meeting_id,
                "uuid": uuid,
                "host_id": "z8yCxjabcdEFGHfp8uQ",
                "topic": "Weekly sync",
                "type": 2,
                "start_time": "2024-06-20T16:13:20Z",
                "timezone": "America/New_York",
                "duration": 47,
                "share_url": "https://zoom.us/rec/share/xyz",
                "total_size": 246560,
                "recording_count": len(files),
                "recording_play_passcode": "yNYIS408EJygs7rE5vVsJwXIz4-VW7MH",
                "password": "Tr1cky!",
                "recording_files": list(files),
            },
        },
    }


def files_of(app) -> list[tuple]:
    with app.app_context():
        return [
            (f.file_id, f.status, f.play_url)
            for f in db.session.scalars(sa.select(ZoomRecordingFile).order_by(
                ZoomRecordingFile.file_id))
        ]


def last_log(app) -> ZoomWebhookLog:
    with app.app_context():
        entry = db.session.scalar(sa.select(ZoomWebhookLog).order_by(ZoomWebhookLog.id.desc()))
        db.session.expunge(entry)
        return entry


# --- recording.completed


def test_a_completed_recording_becomes_a_recording_with_its_files(app, client, zoom_session):
    body = recording_completed(recording_file("f-1"),
                               recording_file("f-2", file_type="M4A", file_extension="M4A",
                                              recording_type="audio_only", play_url=""))
    assert deliver(client, body).status_code == 200
    assert last_log(app).status == WebhookStatus.PROCESSED
    with app.app_context():
        recording = db.session.scalar(sa.select(ZoomRecording))
        assert recording.event_id == zoom_session["event_id"]
        assert recording.session_id == zoom_session["session_id"]
        assert (recording.meeting_id, recording.meeting_uuid) == (MEETING_ID, MEETING_UUID)
        assert recording.host_id == "z8yCxjabcdEFGHfp8uQ"
        assert recording.topic == "Weekly sync" and recording.duration_minutes == 47
        assert recording.start_at == datetime(2024, 6, 20, 16, 13, 20, tzinfo=UTC)
        assert recording.play_passcode == "yNYIS408EJygs7rE5vVsJwXIz4-VW7MH"
        assert recording.share_url == "https://zoom.us/rec/share/xyz"
        assert recording.total_size == 246560
        video, audio = recording.files
        assert (video.file_id, video.file_type, video.recording_type) == (
            "f-1", "MP4", "shared_screen_with_speaker_view")
        assert video.play_url == f"{PLAY}-f-1" and video.download_url == f"{DOWNLOAD}-f-1"
        assert video.recording_start == datetime(2024, 6, 20, 16, 14, tzinfo=UTC)
        assert video.can_watch and video.can_download
        assert audio.file_type == "M4A" and not audio.can_watch and audio.can_download
        # The passcode is encrypted at rest: the column never holds it in clear.
        stored = db.session.execute(sa.text("SELECT play_passcode FROM zoom_recordings")).scalar()
        assert "yNYIS408" not in stored


def test_the_password_stands_in_for_a_missing_play_passcode(app, client, zoom_session):
    body = recording_completed(recording_file("f-1"))
    del body["payload"]["object"]["recording_play_passcode"]
    deliver(client, body)
    with app.app_context():
        assert db.session.scalar(sa.select(ZoomRecording)).play_passcode == "Tr1cky!"


def test_a_repeated_delivery_changes_nothing(app, client, zoom_session):
    body = recording_completed(recording_file("f-1"), recording_file("f-2"))
    deliver(client, body)
    body["event_ts"] += 5000  # Zoom's retry
    assert deliver(client, body).get_json() == {"status": "duplicate"}
    with app.app_context():
        before = [(f.id, f.updated_at) for f in db.session.scalars(sa.select(ZoomRecordingFile))]
        recording = db.session.scalar(sa.select(ZoomRecording))
        stamp = recording.updated_at
        # Processed again all the same (a second log row of the same body): nothing moves.
        store_recording(body["payload"]["object"], find_meeting(body["payload"]["object"], None))
        db.session.commit()
        after = [(f.id, f.updated_at) for f in db.session.scalars(sa.select(ZoomRecordingFile))]
        assert after == before
        assert db.session.scalar(sa.select(ZoomRecording)).updated_at == stamp
        assert db.session.scalar(sa.select(sa.func.count(ZoomRecording.id))) == 1


def test_a_later_delivery_adds_the_new_files_and_updates_the_known_ones(app, client,
                                                                        zoom_session):
    deliver(client, recording_completed(recording_file("f-1", status="processing")))
    assert files_of(app) == [("f-1", "processing", f"{PLAY}-f-1")]
    later = recording_completed(recording_file("f-1"),
                                recording_file("f-2", recording_type="audio_transcript",
                                               file_type="TRANSCRIPT", play_url=""))
    assert deliver(client, later).get_json() == {"status": "received"}
    assert files_of(app) == [("f-1", "completed", f"{PLAY}-f-1"), ("f-2", "completed", "")]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ZoomRecording.id))) == 1


def test_an_unknown_meeting_is_logged_and_ignored(app, client, zoom_session):
    deliver(client, recording_completed(recording_file("f-1"), meeting_id=111222333))
    entry = last_log(app)
    assert entry.status == WebhookStatus.IGNORED and "unknown meeting id 111222333" in entry.error
    assert files_of(app) == []


def test_files_without_an_id_or_a_bad_shape_are_skipped(app, client, zoom_session):
    body = recording_completed(recording_file("f-1"), {"file_type": "MP4"}, "junk")
    assert deliver(client, body).status_code == 200
    assert last_log(app).status == WebhookStatus.PROCESSED
    assert [row[0] for row in files_of(app)] == ["f-1"]


def test_a_file_url_that_is_not_a_web_address_is_neither_watched_nor_downloaded(
        app, client, zoom_session):
    deliver(client, recording_completed(recording_file(
        "f-1", play_url="javascript:alert(1)", download_url="file:///etc/passwd")))
    with app.app_context():
        file = db.session.scalar(sa.select(ZoomRecordingFile))
        assert not file.can_watch and not file.can_download


# --- Who may watch


@pytest.fixture
def people(app):
    """An event with a recorded session; its organizer; a confirmed, a waitlisted and a
    cancelled attendee; a stranger. Returns uuids and ids."""
    olga = create_user(app, email="olga@example.com", full_name="Olga Organizer")
    with app.app_context():
        organizer = db.session.get(User, olga.id)
        event = EventFactory(organizer=organizer)
        SessionFactory(event=event, title="Opening talk", zoom_meeting_id=MEETING_ID)
        db.session.commit()
        ids = {"event_uuid": event.uuid, "event_id": event.id, "slug": event.slug,
               "organizer_id": organizer.id}
    accounts = {}
    for name, status in (("confirmed", RegistrationStatus.CONFIRMED),
                         ("waitlisted", RegistrationStatus.WAITLISTED),
                         ("cancelled", RegistrationStatus.CANCELLED), ("stranger", None)):
        user = create_user(app, email=f"{name}@example.com", full_name=name.title())
        accounts[name] = user
        if status is not None:
            with app.app_context():
                now = utcnow()
                registration = Registration(
                    event_id=ids["event_id"], user_id=user.id, email=user.email,
                    full_name=name.title(), status=status, confirmed_at=now,
                    waitlisted_at=now if status == RegistrationStatus.WAITLISTED else None,
                    cancelled_at=now if status == RegistrationStatus.CANCELLED else None,
                )
                db.session.add(registration)
                db.session.commit()
                ids[f"{name}_registration_id"] = registration.id
    with app.app_context():
        recording = store_recording(
            recording_completed(recording_file("f-1"))["payload"]["object"],
            find_meeting({"id": MEETING_ID}, None),
        )
        db.session.commit()
        ids["file_uuid"] = recording.files[0].uuid
        ids["file_id"] = recording.files[0].id
        ids["session_id"] = db.session.scalar(
            sa.select(EventSession.id).where(EventSession.zoom_meeting_id == MEETING_ID))
    return SimpleNamespace(ids=ids, accounts=accounts)


def client_of(app, email: str | None):
    client = app.test_client()
    if email:
        log_in(client, email)
    return client


def paths(ids) -> dict[str, str]:
    base = f"/events/{ids['event_uuid']}/recordings"
    return {"list": base, "watch": f"{base}/{ids['file_uuid']}/watch",
            "download": f"{base}/{ids['file_uuid']}/download"}


def views(app) -> list[tuple]:
    with app.app_context():
        return [
            (v.action, v.user_id, v.registration_id, v.recording_file_id)
            for v in db.session.scalars(sa.select(RecordingView).order_by(RecordingView.id))
        ]


class StubZoom:
    """What zoom_api_for returns in these tests: records whose account was asked for what."""

    def __init__(self, body: bytes = b"MP4 bytes", error: Exception | None = None):
        self.body, self.error, self.calls = body, error, []

    def download_recording(self, download_url: str) -> requests.Response:
        self.calls.append(download_url)
        if self.error:
            raise self.error
        response = requests.Response()
        response.status_code = 200
        response.headers["Content-Type"] = "video/mp4"
        response.headers["Content-Length"] = str(len(self.body))
        response.raw = io.BytesIO(self.body)
        return response


@pytest.fixture
def stub_zoom(monkeypatch):
    stub = StubZoom()
    asked_for = []

    def zoom_api_for(user):
        asked_for.append(getattr(user, "id", user))
        return stub

    monkeypatch.setattr(zoom_client, "zoom_api_for", zoom_api_for)
    stub.asked_for = asked_for
    return stub


@pytest.mark.parametrize("who", ["waitlisted", "cancelled", "stranger"])
def test_people_without_a_seat_do_not_know_the_recordings_exist(app, people, stub_zoom, who):
    client = client_of(app, people.accounts[who].email)
    for path in paths(people.ids).values():
        assert client.get(path).status_code == 404, path
    page = client.get(f"/events/{people.ids['slug']}").get_data(as_text=True)
    assert "/recordings" not in page and "Recordings" not in page
    assert views(app) == [] and stub_zoom.calls == []


def test_anonymous_visitors_are_sent_to_log_in(app, people, stub_zoom):
    client = app.test_client()
    for path in paths(people.ids).values():
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith(
            "/login?next="), path
    assert "/recordings" not in client.get(f"/events/{people.ids['slug']}").get_data(
        as_text=True)
    assert views(app) == []


def test_a_registered_attendee_watches_and_each_watch_is_recorded(app, people):
    client = client_of(app, "confirmed@example.com")
    page = client.get(paths(people.ids)["list"])
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Opening talk" in html and "yNYIS408EJygs7rE5vVsJwXIz4-VW7MH" in html
    assert paths(people.ids)["watch"] in html and paths(people.ids)["download"] in html
    assert DOWNLOAD not in html and "access_token" not in html  # no Zoom link with a token
    for _ in range(2):
        response = client.get(paths(people.ids)["watch"])
        assert response.status_code == 303 and response.headers["Location"] == f"{PLAY}-f-1"
    user_id = people.accounts["confirmed"].id
    expected = (RecordingAction.WATCH, user_id, people.ids["confirmed_registration_id"],
                people.ids["file_id"])
    assert views(app) == [expected, expected]


def test_the_event_page_loads_the_recordings_for_a_registered_attendee(app, people):
    client = client_of(app, "confirmed@example.com")
    html = client.get(f"/events/{people.ids['slug']}").get_data(as_text=True)
    assert f'hx-get="{paths(people.ids)["list"]}"' in html
    fragment = client.get(paths(people.ids)["list"], headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.get_data(as_text=True)
    assert 'id="event-recordings"' in fragment.get_data(as_text=True)


def test_a_download_streams_the_file_with_the_hosts_connection(app, people, stub_zoom):
    client = client_of(app, "confirmed@example.com")
    response = client.get(paths(people.ids)["download"])
    assert response.status_code == 200
    assert response.get_data() == b"MP4 bytes"
    assert response.headers["Content-Type"] == "video/mp4"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="shared_screen_with_speaker_view.mp4"')
    assert response.headers["Cache-Control"] == "private, no-store"
    assert stub_zoom.calls == [f"{DOWNLOAD}-f-1"]
    assert stub_zoom.asked_for == [people.ids["organizer_id"]]  # the event's creator
    assert views(app) == [(RecordingAction.DOWNLOAD, people.accounts["confirmed"].id,
                           people.ids["confirmed_registration_id"], people.ids["file_id"])]


def test_the_organizer_connected_as_the_zoom_host_is_asked(app, people, stub_zoom):
    host = create_user(app, email="cohost@example.com")
    with app.app_context():
        db.session.add(ZoomConnection(
            user_id=host.id, zoom_user_id="z8yCxjabcdEFGHfp8uQ", access_token="a",
            refresh_token="r", expires_at=utcnow()))
        db.session.commit()
    client_of(app, "confirmed@example.com").get(paths(people.ids)["download"])
    assert stub_zoom.asked_for == [host.id]


def test_the_organizer_whose_connection_created_the_meeting_is_asked(app, people, stub_zoom):
    publisher = create_user(app, email="publisher@example.com")
    with app.app_context():
        db.session.add(ZoomMeeting(event_id=people.ids["event_id"], meeting_id=MEETING_ID,
                                   host_user_id=publisher.id))
        db.session.commit()
    client_of(app, "confirmed@example.com").get(paths(people.ids)["download"])
    assert stub_zoom.asked_for == [publisher.id]


def test_when_zoom_refuses_the_download_the_attendee_is_told_and_nothing_is_counted(
        app, people, stub_zoom):
    stub_zoom.error = zoom_client.ZoomError("File does not exist.", status=404)
    client = client_of(app, "confirmed@example.com")
    response = client.get(paths(people.ids)["download"])
    assert response.status_code == 303
    assert response.headers["Location"] == paths(people.ids)["list"]
    page = client.get(paths(people.ids)["list"]).get_data(as_text=True)
    assert "File does not exist." in page
    assert views(app) == []


def test_the_fake_zoom_download_works_for_a_demo(app, people, monkeypatch):
    monkeypatch.setitem(app.config, "ZOOM_FAKE", True)
    response = client_of(app, "confirmed@example.com").get(paths(people.ids)["download"])
    assert response.status_code == 200
    assert b"Fake Zoom recording" in response.get_data()


def test_the_organizer_sees_the_recordings_without_registering(app, people):
    client = client_of(app, "olga@example.com")
    assert client.get(paths(people.ids)["list"]).status_code == 200
    assert client.get(paths(people.ids)["watch"]).status_code == 303
    assert views(app) == [(RecordingAction.WATCH, people.ids["organizer_id"], None,
                           people.ids["file_id"])]


def test_a_file_of_another_events_recording_is_not_found(app, people):
    with app.app_context():
        other = EventFactory()
        db.session.flush()
        recording = ZoomRecording(event_id=other.id, meeting_id="1", meeting_uuid="other==")
        recording.files.append(ZoomRecordingFile(file_id="x", play_url=PLAY,
                                                 download_url=DOWNLOAD))
        db.session.add(recording)
        db.session.commit()
        foreign = recording.files[0].uuid
    client = client_of(app, "confirmed@example.com")
    base = f"/events/{people.ids['event_uuid']}/recordings/{foreign}"
    assert client.get(base + "/watch").status_code == 404
    assert client.get(base + "/download").status_code == 404
    assert views(app) == []


# --- The organizer's counts


def manage_page(ids) -> str:
    return f"/events/{ids['event_uuid']}/manage/recordings"


def test_the_organizer_sees_view_counts_per_file_and_recording(app, people, stub_zoom):
    attendee = client_of(app, "confirmed@example.com")
    attendee.get(paths(people.ids)["watch"])
    attendee.get(paths(people.ids)["watch"])
    attendee.get(paths(people.ids)["download"])
    organizer = client_of(app, "olga@example.com")
    organizer.get(paths(people.ids)["watch"])
    page = organizer.get(manage_page(people.ids))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "2 people, 3 watches, 1 download" in html
    assert '<td class="numeric">2</td>\n        <td class="numeric">3</td>\n        ' \
           '<td class="numeric">1</td>' in html


def test_only_the_organizer_sees_the_counts(app, people):
    assert client_of(app, "confirmed@example.com").get(
        manage_page(people.ids)).status_code == 403
    assert client_of(app, "stranger@example.com").get(
        manage_page(people.ids)).status_code == 403


def test_an_event_without_recordings_says_so(app, people):
    with app.app_context():
        db.session.execute(sa.delete(ZoomRecording))
        db.session.commit()
    html = client_of(app, "olga@example.com").get(manage_page(people.ids)).get_data(
        as_text=True)
    assert "No recordings yet" in html
    html = client_of(app, "confirmed@example.com").get(paths(people.ids)["list"]).get_data(
        as_text=True)
    assert "No recordings yet" in html


def add_recordings(app, event_id: int, count: int) -> None:
    """`count` recordings of the event, each with two files and views of both."""
    with app.app_context():
        registration_id = db.session.scalar(
            sa.select(Registration.id).where(Registration.event_id == event_id).limit(1))
        for n in range(count):
            recording = ZoomRecording(event_id=event_id, meeting_id="1",
                                      meeting_uuid=f"run-{event_id}-{n}", topic=f"Run {n}",
                                      start_at=utcnow())
            for kind in ("video", "audio"):
                recording.files.append(ZoomRecordingFile(
                    file_id=f"{kind}-{n}", recording_type=kind, play_url=PLAY,
                    download_url=DOWNLOAD, file_size=1000))
            db.session.add(recording)
            db.session.flush()
            for file in recording.files:
                db.session.add(RecordingView(recording_id=recording.id,
                                             recording_file_id=file.id,
                                             registration_id=registration_id,
                                             action=RecordingAction.WATCH))
        db.session.commit()


@pytest.mark.parametrize("which", ["manage", "list"])
def test_the_pages_run_the_same_number_of_queries_with_2_and_20_recordings(app, people, which):
    counts = []
    for size in (2, 20):
        with app.app_context():
            db.session.execute(sa.delete(ZoomRecording))
            db.session.commit()
        add_recordings(app, people.ids["event_id"], size)
        client = client_of(app, "olga@example.com")
        path = manage_page(people.ids) if which == "manage" else paths(people.ids)["list"]
        client.get(path)  # warm up
        with app.app_context():
            engine = db.engine
        with query_counter(engine) as statements:
            response = client.get(path)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        if which == "manage":
            assert html.count("<caption>") == size
            assert html.count("1 person, 2 watches, 0 downloads") == size
        else:
            assert html.count("/watch") == 2 * size
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


# --- Privacy


def test_a_users_views_are_exported_and_anonymised(app, people):
    client_of(app, "confirmed@example.com").get(paths(people.ids)["watch"])
    with app.app_context():
        user = db.session.get(User, people.accounts["confirmed"].id)
        exported = privacy.export_user_data(user)["zoom_recordings"]
        assert [(row["action"], row["recording"]) for row in exported] == [
            ("watch", "Weekly sync")]
        anonymise_recording_views(user)
        db.session.commit()
    assert views(app) == [(RecordingAction.WATCH, None, people.ids["confirmed_registration_id"],
                           people.ids["file_id"])]  # who watched is gone, the count stays


# --- Admin


def test_admins_inspect_recordings_and_views_read_only(app, people):
    from tests.admin.test_admin import admin_client

    client_of(app, "confirmed@example.com").get(paths(people.ids)["watch"])
    admin = admin_client(app)
    with app.app_context():
        recording_id = db.session.scalar(sa.select(ZoomRecording.id))
        view_id = db.session.scalar(sa.select(RecordingView.id))
    listing = admin.get("/admin/zoomrecording/").get_data(as_text=True)
    assert "Weekly sync" in listing
    details = admin.get(f"/admin/zoomrecording/details/?id={recording_id}").get_data(
        as_text=True)
    assert MEETING_UUID in details and "yNYIS408" not in details  # never the passcode
    views_page = admin.get("/admin/recordingview/").get_data(as_text=True)
    assert "Confirmed · confirmed" in views_page  # the registration that watched
    assert "Confirmed · confirmed" not in admin.get(
        "/admin/recordingview/?flt0_0=download").get_data(as_text=True)
    assert admin.get(f"/admin/recordingview/details/?id={view_id}").status_code == 200
    assert admin.get(f"/admin/zoomrecording/edit/?id={recording_id}").status_code == 302
    assert admin.get("/admin/recordingview/new/").status_code == 302
    assert len(views(app)) == 1


# --- The simulator (`flask zoom simulate --recording`)


def test_the_simulator_can_send_a_recording_for_a_demo(app, client, monkeypatch):
    from app.zoom import cli as zoom_cli
    from tests.zoom.test_simulate import event_with_people, test_client_transport

    monkeypatch.setitem(app.config, "ZOOM_FAKE", True)
    event_uuid = event_with_people(app, 1)
    sent = []
    monkeypatch.setattr(zoom_cli, "http_transport", test_client_transport(client, sent))
    runner = app.test_cli_runner()
    for _ in range(2):  # the second run is all duplicates
        result = runner.invoke(args=["zoom", "simulate", str(event_uuid), "--recording"])
        assert result.exit_code == 0, result.output
        assert "7 webhook(s) sent, 0 refused." in result.output
    with app.app_context():
        recording = db.session.scalar(sa.select(ZoomRecording))
        assert recording.play_passcode == "demo" and recording.session_id is not None
        assert [(f.recording_type, f.can_watch, f.can_download) for f in recording.files] == [
            ("shared_screen_with_speaker_view", True, True), ("chat_file", True, True)]
        attendee_email = db.session.scalar(sa.select(Registration.email))
        file_uuid = recording.files[0].uuid
    attendee = client_of(app, str(attendee_email))
    base = f"/events/{event_uuid}/recordings"
    watch = attendee.get(f"{base}/{file_uuid}/watch")
    assert watch.headers["Location"] == (
        f"http://localhost/zoom/fake/{MEETING_ID}?play=shared_screen_with_speaker_view")
    assert b"Fake Zoom recording" in attendee.get(f"{base}/{file_uuid}/download").get_data()

"""The Zoom API client (app/zoom/client.py): each call checked against Zoom's documented
endpoint, method, headers and body; the token refreshed before it expires; Zoom's errors;
and the fake Zoom of ZOOM_FAKE."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
import responses
import sqlalchemy as sa

from app.core.types import utcnow
from app.extensions import db
from app.zoom.client import (
    FakeZoomApi,
    MeetingInfo,
    MeetingSpec,
    RealZoomApi,
    RegistrantInfo,
    ZoomError,
    ZoomReconnectNeeded,
    meeting_path_uuid,
    zoom_api_for,
)
from app.zoom.models import AttendanceRecord, AttendanceSource, ZoomConnection
from tests.conftest import create_user
from tests.factories import EventFactory
from tests.zoom.connection_helpers import (
    API,
    BASIC_AUTH,
    TOKEN,
    TOKEN_URL,
    form_body,
    make_connection,
    query_of,
)

SPEC = MeetingSpec(
    topic="Summer school: opening",
    start_at=datetime(2031, 7, 10, 9, 0, tzinfo=UTC),
    duration_minutes=90,
    timezone="Europe/London",
    agenda="Welcome and overview",
)
SPEC_JSON = {
    "topic": "Summer school: opening",
    "start_time": "2031-07-10T09:00:00Z",
    "duration": 90,
    "timezone": "Europe/London",
    "agenda": "Welcome and overview",
}
# POST /users/me/meetings answers 201 with the meeting (Zoom's API reference, abridged).
CREATED = {
    "id": 85746065432,
    "uuid": "4444AAAiAAAAAiAiAiiAii==",
    "host_id": "KDcuGIm1QgePTO8WbOqwIQ",
    "topic": "Summer school: opening",
    "type": 2,
    "start_time": "2031-07-10T09:00:00Z",
    "duration": 90,
    "timezone": "Europe/London",
    "join_url": "https://us05web.zoom.us/j/85746065432?pwd=abc",
    "start_url": "https://us05web.zoom.us/s/85746065432?zak=xyz",
    "registration_url": "https://us05web.zoom.us/meeting/register/tZAkcu",
    "settings": {"approval_type": 0},
}


@pytest.fixture
def user_id(app):
    return create_user(app, email="organizer@example.com").id


@pytest.fixture
def api(ctx, zoom_oauth, user_id) -> RealZoomApi:
    return RealZoomApi(make_connection(user_id))


def bearer(request) -> str:
    return request.headers["Authorization"]


def sent_json(request) -> dict:
    return json.loads(request.body)


# --- Each call, as Zoom documents it


def test_create_meeting(api):
    with responses.RequestsMock() as mock:
        mock.post(f"{API}/users/me/meetings", status=201, json=CREATED)
        info = api.create_meeting(SPEC)
        [call] = mock.calls
    assert bearer(call.request) == "Bearer old-access-token"
    assert call.request.headers["Content-Type"] == "application/json"
    assert sent_json(call.request) == {**SPEC_JSON, "type": 2, "settings": {"approval_type": 0}}
    assert info == MeetingInfo(
        meeting_id="85746065432", uuid="4444AAAiAAAAAiAiAiiAii==",
        join_url=CREATED["join_url"], start_url=CREATED["start_url"],
        registration_url=CREATED["registration_url"],
    )


def test_a_start_time_in_another_zone_is_sent_in_utc(api):
    local = datetime(2031, 1, 15, 4, 0, tzinfo=ZoneInfo("America/New_York"))
    spec = MeetingSpec(topic="T", start_at=local, duration_minutes=30,
                       timezone="America/New_York")
    with responses.RequestsMock() as mock:
        mock.post(f"{API}/users/me/meetings", status=201, json=CREATED)
        api.create_meeting(spec)
        assert sent_json(mock.calls[0].request)["start_time"] == "2031-01-15T09:00:00Z"


def test_update_meeting(api):
    with responses.RequestsMock() as mock:
        mock.patch(f"{API}/meetings/85746065432", status=204)
        assert api.update_meeting("85746065432", SPEC) is None
        [call] = mock.calls
    assert bearer(call.request) == "Bearer old-access-token"
    assert sent_json(call.request) == SPEC_JSON


def test_delete_meeting_and_an_already_deleted_one(api):
    with responses.RequestsMock() as mock:
        mock.delete(f"{API}/meetings/85746065432", status=204)
        mock.delete(f"{API}/meetings/111", status=404,
                    json={"code": 3001, "message": "Meeting does not exist: 111."})
        api.delete_meeting("85746065432")
        api.delete_meeting("111")  # already gone: what we wanted
        assert [bearer(call.request) for call in mock.calls] == ["Bearer old-access-token"] * 2


def test_add_registrant(api):
    answer = {"id": 85746065432, "join_url": "https://us05web.zoom.us/w/85746065432?tk=T1",
              "registrant_id": "fdgsfh2ey82fuh", "start_time": "2031-07-10T09:00:00Z",
              "topic": "Summer school: opening", "occurrences": []}
    with responses.RequestsMock() as mock:
        mock.post(f"{API}/meetings/85746065432/registrants", status=201, json=answer)
        info = api.add_registrant("85746065432", email="ada@example.com", first_name="Ada",
                                  last_name="Lovelace")
        [call] = mock.calls
    assert bearer(call.request) == "Bearer old-access-token"
    assert sent_json(call.request) == {"email": "ada@example.com", "first_name": "Ada",
                                       "last_name": "Lovelace"}
    assert info == RegistrantInfo(registrant_id="fdgsfh2ey82fuh", join_url=answer["join_url"])


def test_a_registrant_without_a_first_name_gets_one(api):
    with responses.RequestsMock() as mock:
        mock.post(f"{API}/meetings/1/registrants", status=201,
                  json={"registrant_id": "r", "join_url": "https://zoom.us/w/1"})
        api.add_registrant("1", email="ada@example.com", first_name=" ", last_name="")
        assert sent_json(mock.calls[0].request)["first_name"] == "ada"


def test_cancel_registrant(api):
    with responses.RequestsMock() as mock:
        mock.put(f"{API}/meetings/85746065432/registrants/status", status=204)
        api.cancel_registrant("85746065432", registrant_id="fdgsfh2ey82fuh",
                              email="ada@example.com")
        [call] = mock.calls
    assert bearer(call.request) == "Bearer old-access-token"
    assert sent_json(call.request) == {
        "action": "cancel", "registrants": [{"id": "fdgsfh2ey82fuh", "email": "ada@example.com"}],
    }


def participant(number: int) -> dict:
    return {"id": f"user-{number}", "name": f"Person {number}",
            "user_email": f"p{number}@example.com", "join_time": "2031-07-10T09:01:00Z",
            "leave_time": "2031-07-10T10:00:00Z", "duration": 3540, "registrant_id": "",
            "status": "in_meeting"}


def test_past_meeting_participants_follow_next_page_token(api):
    path = f"{API}/past_meetings/4444AAAiAAAAAiAiAiiAii%3D%3D/participants"
    with responses.RequestsMock() as mock:
        mock.get(path, match=[responses.matchers.query_param_matcher({"page_size": "300"})],
                 json={"page_count": 2, "page_size": 300, "total_records": 3,
                       "next_page_token": "Tva2CuIdTgsv8wAnhyAdU3m06Y2HuLQtlh3",
                       "participants": [participant(1), participant(2)]})
        mock.get(path, match=[responses.matchers.query_param_matcher(
            {"page_size": "300", "next_page_token": "Tva2CuIdTgsv8wAnhyAdU3m06Y2HuLQtlh3"})],
                 json={"page_size": 300, "total_records": 3, "next_page_token": "",
                       "participants": [participant(3)]})
        found = list(api.past_meeting_participants("4444AAAiAAAAAiAiAiiAii=="))
        assert len(mock.calls) == 2
        assert all(bearer(call.request) == "Bearer old-access-token" for call in mock.calls)
    assert [p["name"] for p in found] == ["Person 1", "Person 2", "Person 3"]


@pytest.mark.parametrize("meeting_uuid, segment", [
    ("4444AAAiAAAAAiAiAiiAii==", "4444AAAiAAAAAiAiAiiAii%3D%3D"),
    ("/ajXp112QmuoKj4854875==", "%252FajXp112QmuoKj4854875%253D%253D"),
    ("ajXp112//QmuoKj4854875==", "ajXp112%252F%252FQmuoKj4854875%253D%253D"),
    ("ab/cd+ef==", "ab%2Fcd%2Bef%3D%3D"),
])
def test_meeting_uuids_are_encoded_as_zoom_documents(meeting_uuid, segment):
    assert meeting_path_uuid(meeting_uuid) == segment


def test_a_uuid_starting_with_a_slash_is_sent_double_encoded(api):
    with responses.RequestsMock() as mock:
        mock.get(f"{API}/past_meetings/%252FajXp112QmuoKj4854875%253D%253D/participants",
                 json={"participants": [participant(1)], "next_page_token": ""})
        assert len(list(api.past_meeting_participants("/ajXp112QmuoKj4854875=="))) == 1
        url = mock.calls[0].request.url
    assert url.startswith(f"{API}/past_meetings/%252FajXp112QmuoKj4854875%253D%253D/")


def test_download_recording_streams_with_the_bearer_token(api):
    url = "https://us05web.zoom.us/rec/download/abc123"
    with responses.RequestsMock() as mock:
        mock.get(url, body=b"MP4DATA" * 1000, content_type="video/mp4")
        response = api.download_recording(url)
        assert bearer(mock.calls[0].request) == "Bearer old-access-token"
        assert b"".join(response.iter_content(1024)) == b"MP4DATA" * 1000


# --- Zoom's errors


def test_zooms_own_message_comes_through(api):
    with responses.RequestsMock() as mock:
        mock.post(f"{API}/meetings/1/registrants", status=400,
                  json={"code": 3043, "message": "Meeting has reached maximum attendee capacity."})
        with pytest.raises(ZoomError) as caught:
            api.add_registrant("1", email="a@example.com", first_name="A", last_name="B")
    error = caught.value
    assert error.message == "Meeting has reached maximum attendee capacity."
    assert (error.status, error.code, error.retryable) == (400, 3043, False)
    assert not isinstance(error, ZoomReconnectNeeded)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_rate_limits_and_zoom_outages_may_be_retried(api, status):
    with responses.RequestsMock() as mock:
        mock.patch(f"{API}/meetings/1", status=status,
                   json={"code": 429, "message": "Too many requests."})
        with pytest.raises(ZoomError) as caught:
            api.update_meeting("1", SPEC)
    assert caught.value.retryable and caught.value.status == status


def test_an_error_without_json_still_says_something(api):
    with responses.RequestsMock() as mock:
        mock.delete(f"{API}/meetings/1", status=502, body="<html>Bad gateway</html>")
        with pytest.raises(ZoomError, match="HTTP 502"):
            api.delete_meeting("1")


def test_zoom_unreachable_may_be_retried(api):
    with responses.RequestsMock() as mock:
        mock.delete(f"{API}/meetings/1", body=requests.ConnectionError("connection refused"))
        with pytest.raises(ZoomError, match="Zoom could not be reached") as caught:
            api.delete_meeting("1")
    assert caught.value.retryable


def test_an_access_token_revoked_at_zoom_asks_to_reconnect(api):
    with responses.RequestsMock() as mock:
        mock.delete(f"{API}/meetings/1", status=401,
                    json={"code": 124, "message": "Invalid access token."})
        with pytest.raises(ZoomReconnectNeeded):
            api.delete_meeting("1")
    assert api.connection.needs_reconnect_at is not None
    assert api.connection.last_error == "Invalid access token."


# --- The token refresh


def refreshed_token() -> dict:
    return {**TOKEN, "access_token": "refreshed-access", "refresh_token": "refreshed-refresh"}


def test_an_expired_access_token_is_refreshed_once_then_the_call_is_made(ctx, zoom_oauth,
                                                                         user_id):
    connection = make_connection(user_id, expires_in=-10)
    api = zoom_api_for(user_id)
    with responses.RequestsMock() as mock:
        mock.post(TOKEN_URL, json=refreshed_token())
        mock.patch(f"{API}/meetings/1", status=204)
        mock.patch(f"{API}/meetings/2", status=204)
        api.update_meeting("1", SPEC)
        api.update_meeting("2", SPEC)
        refresh, first, second = (call.request for call in mock.calls)
    assert refresh.url == TOKEN_URL and refresh.headers["Authorization"] == BASIC_AUTH
    assert form_body(refresh) == {"grant_type": ["refresh_token"],
                                  "refresh_token": ["old-refresh-token"]}
    assert bearer(first) == bearer(second) == "Bearer refreshed-access"
    # Kept on the connection, encrypted.
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(ZoomConnection, connection.id)
    assert (stored.access_token, stored.refresh_token) == ("refreshed-access", "refreshed-refresh")
    assert stored.expires_at > utcnow() + timedelta(minutes=50)
    raw = db.session.execute(sa.text("SELECT access_token, refresh_token FROM zoom_connections"))
    assert all("refreshed" not in value for value in raw.one())


def test_a_refreshed_token_survives_the_callers_rollback(ctx, zoom_oauth, user_id):
    """Zoom honours only the newest refresh token: a failed operation must not lose it."""
    connection = make_connection(user_id, expires_in=-10)
    db.session.commit()
    api = zoom_api_for(user_id)
    with responses.RequestsMock() as mock:
        mock.post(TOKEN_URL, json=refreshed_token())
        mock.post(f"{API}/users/me/meetings", status=400,
                  json={"code": 300, "message": "Invalid meeting start time."})
        with pytest.raises(ZoomError):
            api.create_meeting(SPEC)
    db.session.rollback()
    stored = db.session.get(ZoomConnection, connection.id)
    assert (stored.access_token, stored.refresh_token) == ("refreshed-access", "refreshed-refresh")


def test_the_token_is_refreshed_within_a_minute_of_expiring(ctx, zoom_oauth, user_id):
    make_connection(user_id, expires_in=30)
    with responses.RequestsMock() as mock:
        mock.post(TOKEN_URL, json=refreshed_token())
        mock.delete(f"{API}/meetings/1", status=204)
        zoom_api_for(user_id).delete_meeting("1")
        assert bearer(mock.calls[1].request) == "Bearer refreshed-access"


def test_a_token_with_time_left_is_used_as_it_is(ctx, zoom_oauth, user_id):
    make_connection(user_id, expires_in=300)
    with responses.RequestsMock() as mock:
        mock.delete(f"{API}/meetings/1", status=204)
        zoom_api_for(user_id).delete_meeting("1")
        assert [call.request.url for call in mock.calls] == [f"{API}/meetings/1"]


@pytest.mark.parametrize("status", [400, 401])
def test_a_refused_refresh_token_marks_the_connection_for_reconnecting(ctx, zoom_oauth,
                                                                       user_id, status):
    connection = make_connection(user_id, expires_in=-10)
    with responses.RequestsMock() as mock:
        mock.post(TOKEN_URL, status=status,
                  json={"reason": "Invalid Token!", "error": "invalid_grant"})
        with pytest.raises(ZoomReconnectNeeded, match="connect it again"):
            zoom_api_for(user_id).delete_meeting("1")
        assert len(mock.calls) == 1  # no API call with a dead token
    assert connection.needs_reconnect_at is not None
    assert "invalid_grant" in connection.last_error or "Invalid Token" in connection.last_error
    with pytest.raises(ZoomReconnectNeeded):  # and nothing is tried until they reconnect
        zoom_api_for(user_id)


def test_without_a_connection_the_organizer_is_asked_to_connect(ctx, zoom_oauth, user_id):
    with pytest.raises(ZoomReconnectNeeded, match="Connect your Zoom account first"):
        zoom_api_for(user_id)


# --- The fake Zoom (ZOOM_FAKE)


def test_with_zoom_fake_no_connection_is_needed(ctx, user_id):
    assert isinstance(zoom_api_for(user_id), FakeZoomApi)


def test_the_fake_creates_meetings_with_local_links(ctx, client):
    fake = FakeZoomApi()
    first, second = fake.create_meeting(SPEC), fake.create_meeting(SPEC)
    assert first.meeting_id != second.meeting_id
    assert first.meeting_id.isdigit() and len(first.meeting_id) == 11
    assert first.join_url == f"http://localhost/zoom/fake/{first.meeting_id}"
    assert first.uuid and first.uuid != second.uuid
    page = client.get(f"/zoom/fake/{first.meeting_id}")
    assert page.status_code == 200
    assert "fake Zoom meeting (ZOOM_FAKE=1)" in page.get_data(as_text=True)


def test_the_fake_gives_a_registrant_the_same_id_from_any_process(ctx):
    one = FakeZoomApi().add_registrant("85746065432", email="Ada@example.com",
                                       first_name="Ada", last_name="L")
    again = FakeZoomApi().add_registrant("85746065432", email="ada@example.com",
                                         first_name="Ada", last_name="L")
    other = FakeZoomApi().add_registrant("85746065432", email="bob@example.com",
                                         first_name="Bob", last_name="B")
    assert one == again and one.registrant_id != other.registrant_id
    assert query_of(one.join_url)["tk"] == [one.registrant_id]


def test_the_fake_reports_the_participants_attendance_already_holds(ctx):
    event = EventFactory()
    join = datetime(2031, 7, 10, 9, 1, tzinfo=UTC)
    common = {"event": event, "meeting_id": "85746065432", "source": AttendanceSource.ZOOM}
    db.session.add_all([
        AttendanceRecord(meeting_uuid="uuid-1", participant_key="participant_uuid:p1",
                         participant_uuid="p1", participant_user_id="16778240",
                         email="jill@example.com", user_name="Jill Chill",
                         registrant_id="reg-1", join_at=join,
                         leave_at=join + timedelta(minutes=30), **common),
        AttendanceRecord(meeting_uuid="another-run", participant_key="participant_uuid:p2",
                         join_at=join, **common),
    ])
    db.session.flush()
    assert list(FakeZoomApi().past_meeting_participants("uuid-1")) == [{
        "id": "16778240", "user_id": "16778240", "participant_user_id": "16778240",
        "participant_uuid": "p1", "name": "Jill Chill", "user_email": "jill@example.com",
        "registrant_id": "reg-1", "join_time": "2031-07-10T09:01:00Z",
        "leave_time": "2031-07-10T09:31:00Z", "duration": 1800, "status": "in_meeting",
    }]


def test_the_fake_meeting_page_exists_only_when_zoom_is_fake(app, client, monkeypatch):
    assert client.get("/zoom/fake/not-a-meeting").status_code == 404
    monkeypatch.setitem(app.config, "ZOOM_FAKE", False)
    assert client.get("/zoom/fake/85746065432").status_code == 404

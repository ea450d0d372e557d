"""The Zoom REST API, as the rest of Convene calls it (issue 5).

`zoom_api_for(user)` gives a ZoomApi: RealZoomApi over the organizer's OAuth connection, or
FakeZoomApi when ZOOM_FAKE is on (development, demos, tests). The fake keeps nothing in
memory, so a job in another process sees the same meetings as the web process.
"""

from __future__ import annotations

import base64
import hashlib
import io
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import quote

import requests
from flask import current_app
from flask_babel import gettext as _

from app.core.errors import DomainError

PAGE_SIZE = 300  # the largest page Zoom serves for past meeting participants
TIMEOUT = 30  # seconds, for every call to Zoom


class ZoomError(DomainError):
    """Zoom refused a call or could not be reached. `message` is Zoom's own message when it
    sent one; `retryable` says trying again later may work (rate limit, Zoom down)."""

    status_code = 502

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None,
                 retryable: bool = False):
        super().__init__(message)
        self.status = status
        self.code = code
        self.retryable = retryable


class ZoomReconnectNeeded(ZoomError):
    """The organizer has no working connection: never connected, or Zoom refused the
    refresh token (expired or revoked). Only connecting again helps."""

    status_code = 409

    def __init__(self, message: str | None = None, **kwargs):
        super().__init__(
            message or _("Your Zoom account is not connected any more: "
                         "connect it again on your Zoom page."),
            **kwargs,
        )


@dataclass(frozen=True)
class MeetingSpec:
    topic: str
    start_at: datetime  # aware
    duration_minutes: int
    timezone: str
    agenda: str = ""

    def as_json(self) -> dict:
        """The fields Zoom's create and update endpoints share."""
        return {
            "topic": self.topic[:200],
            "start_time": self.start_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "duration": self.duration_minutes,
            "timezone": self.timezone,
            "agenda": self.agenda[:2000],
        }


@dataclass(frozen=True)
class MeetingInfo:
    meeting_id: str
    uuid: str
    join_url: str
    start_url: str
    registration_url: str


@dataclass(frozen=True)
class RegistrantInfo:
    registrant_id: str
    join_url: str


class ZoomApi(Protocol):
    def create_meeting(self, spec: MeetingSpec) -> MeetingInfo: ...

    def update_meeting(self, meeting_id: str, spec: MeetingSpec) -> None: ...

    def delete_meeting(self, meeting_id: str) -> None: ...

    def add_registrant(
        self, meeting_id: str, *, email: str, first_name: str, last_name: str
    ) -> RegistrantInfo: ...

    def cancel_registrant(self, meeting_id: str, *, registrant_id: str, email: str) -> None: ...

    def past_meeting_participants(self, meeting_uuid: str) -> Iterator[dict]: ...

    def download_recording(self, download_url: str) -> requests.Response: ...


def zoom_api_for(user) -> ZoomApi:
    """The Zoom API acting as `user` (a User or a user id).

    Raises ZoomReconnectNeeded when Zoom is real and the user has no usable connection.
    """
    if current_app.config.get("ZOOM_FAKE"):
        return FakeZoomApi()
    from app.zoom.models import ZoomConnection

    connection = ZoomConnection.of(user)
    if connection is None:
        raise ZoomReconnectNeeded(
            _("Connect your Zoom account first, on your Zoom page.")
        )
    if connection.needs_reconnect:
        raise ZoomReconnectNeeded()
    return RealZoomApi(connection)


def meeting_path_uuid(meeting_uuid: str) -> str:
    """A meeting UUID as a path segment: Zoom wants it encoded twice when it starts with "/"
    or contains "//", and once otherwise (a "/" inside must not split the path)."""
    once = quote(meeting_uuid, safe="")
    if meeting_uuid.startswith("/") or "//" in meeting_uuid:
        return quote(once, safe="")
    return once


def meeting_body(spec: MeetingSpec) -> dict:
    """POST /users/me/meetings: a scheduled meeting (type 2) with registration on and every
    registrant approved at once (approval_type 0), so each gets their own join link."""
    return {**spec.as_json(), "type": 2, "settings": {"approval_type": 0}}


class RealZoomApi:
    """Zoom's REST API with the connection's bearer token; Authlib refreshes the token 60 s
    before it expires and the connection keeps the new one (flushed in the caller's
    transaction, which the caller commits)."""

    def __init__(self, connection, http=None):
        from app.zoom.connection import authorized_session

        self.connection = connection
        self.http = http or authorized_session(connection)

    @property
    def base(self) -> str:
        return current_app.config["ZOOM_API_BASE"].rstrip("/")

    def create_meeting(self, spec: MeetingSpec) -> MeetingInfo:
        data = self._call("POST", "/users/me/meetings", json=meeting_body(spec)).json()
        return MeetingInfo(
            meeting_id=str(data["id"]),
            uuid=data.get("uuid", ""),
            join_url=data.get("join_url", ""),
            start_url=data.get("start_url", ""),
            registration_url=data.get("registration_url", ""),
        )

    def update_meeting(self, meeting_id: str, spec: MeetingSpec) -> None:
        self._call("PATCH", f"/meetings/{quote(meeting_id, safe='')}", json=spec.as_json())

    def delete_meeting(self, meeting_id: str) -> None:
        try:
            self._call("DELETE", f"/meetings/{quote(meeting_id, safe='')}")
        except ZoomError as error:
            if error.status != 404:  # 404: already gone, which is what we wanted
                raise

    def add_registrant(
        self, meeting_id: str, *, email: str, first_name: str, last_name: str
    ) -> RegistrantInfo:
        body = {
            "email": email,
            # Zoom requires a first name (at most 64 characters).
            "first_name": (first_name.strip() or email.split("@")[0])[:64],
            "last_name": last_name.strip()[:64],
        }
        data = self._call(
            "POST", f"/meetings/{quote(meeting_id, safe='')}/registrants", json=body
        ).json()
        return RegistrantInfo(registrant_id=data["registrant_id"], join_url=data["join_url"])

    def cancel_registrant(self, meeting_id: str, *, registrant_id: str, email: str) -> None:
        body = {"action": "cancel", "registrants": [{"id": registrant_id, "email": email}]}
        self._call("PUT", f"/meetings/{quote(meeting_id, safe='')}/registrants/status", json=body)

    def past_meeting_participants(self, meeting_uuid: str) -> Iterator[dict]:
        path = f"/past_meetings/{meeting_path_uuid(meeting_uuid)}/participants"
        page_token = ""
        while True:
            params = {"page_size": PAGE_SIZE}
            if page_token:
                params["next_page_token"] = page_token
            data = self._call("GET", path, params=params).json()
            yield from data.get("participants") or []
            page_token = data.get("next_page_token") or ""
            if not page_token:
                return

    def download_recording(self, download_url: str) -> requests.Response:
        """Streamed: the caller reads it in chunks and closes it. Zoom redirects to its file
        host, and requests drops the Authorization header on that hop, as it should."""
        return self._call("GET", download_url, stream=True, absolute=True)

    def _call(self, method: str, path: str, *, absolute: bool = False, **kwargs):
        from authlib.integrations.base_client import OAuthError

        url = path if absolute else self.base + path
        try:
            response = self.http.request(method, url, timeout=TIMEOUT, **kwargs)
        except OAuthError as error:  # the token refresh was refused
            raise self._reconnect_needed(error.description or error.error) from error
        except requests.RequestException as error:
            raise ZoomError(
                _("Zoom could not be reached: %(error)s", error=str(error)), retryable=True
            ) from error
        if response.status_code == 401:  # the access token was revoked at Zoom
            raise self._reconnect_needed(zoom_message(response))
        if response.status_code >= 400:
            raise error_from(response)
        return response

    def _reconnect_needed(self, reason: str) -> ZoomReconnectNeeded:
        from app.zoom.connection import keep_at_once

        self.connection.mark_needs_reconnect(reason)
        keep_at_once(self.connection)
        return ZoomReconnectNeeded()


def zoom_message(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        text = data.get("message") or data.get("reason") or data.get("error")
        if text:
            return str(text)
    return f"HTTP {response.status_code}"


def error_from(response: requests.Response) -> ZoomError:
    """Zoom's JSON error ({"code", "message"}) as a ZoomError; 429 and 5xx may be retried."""
    try:
        code = response.json().get("code")
    except (ValueError, AttributeError):
        code = None
    status = response.status_code
    return ZoomError(
        zoom_message(response),
        status=status,
        code=code if isinstance(code, int) else None,
        retryable=status == 429 or status >= 500,
    )


class FakeZoomApi:
    """ZOOM_FAKE: answers like Zoom without calling it. Stateless: ids are random, links lead
    to the local page /zoom/fake/<meeting_id>, and the participants of a past meeting are
    what its AttendanceRecords already say (so importing them changes nothing)."""

    def create_meeting(self, spec: MeetingSpec) -> MeetingInfo:
        meeting_id = str(10**10 + secrets.randbelow(9 * 10**10))  # 11 digits, like Zoom's
        link = fake_meeting_url(meeting_id)
        return MeetingInfo(
            meeting_id=meeting_id,
            uuid=base64.b64encode(secrets.token_bytes(16)).decode(),
            join_url=link,
            start_url=f"{link}?role=host",
            registration_url=f"{link}?register=1",
        )

    def update_meeting(self, meeting_id: str, spec: MeetingSpec) -> None:
        return None

    def delete_meeting(self, meeting_id: str) -> None:
        return None

    def add_registrant(
        self, meeting_id: str, *, email: str, first_name: str, last_name: str
    ) -> RegistrantInfo:
        # The same person gets the same id for the same meeting, as at Zoom.
        registrant_id = hashlib.sha256(f"{meeting_id}:{email.lower()}".encode()).hexdigest()[:22]
        return RegistrantInfo(
            registrant_id=registrant_id,
            join_url=f"{fake_meeting_url(meeting_id)}?tk={registrant_id}",
        )

    def cancel_registrant(self, meeting_id: str, *, registrant_id: str, email: str) -> None:
        return None

    def past_meeting_participants(self, meeting_uuid: str) -> Iterator[dict]:
        import sqlalchemy as sa

        from app.extensions import db
        from app.zoom.models import AttendanceRecord, AttendanceSource

        records = db.session.scalars(
            sa.select(AttendanceRecord)
            .where(
                AttendanceRecord.meeting_uuid == meeting_uuid,
                AttendanceRecord.source.in_([AttendanceSource.ZOOM, AttendanceSource.ZOOM_REPORT]),
            )
            .order_by(AttendanceRecord.join_at, AttendanceRecord.id)
        ).all()
        for record in records:
            leave_at = record.leave_at or record.join_at
            yield {
                "id": record.participant_user_id,
                "user_id": record.participant_user_id,
                "participant_user_id": record.participant_user_id,
                "participant_uuid": record.participant_uuid,
                "name": record.user_name,
                "user_email": record.email,
                "registrant_id": record.registrant_id,
                "join_time": zoom_time(record.join_at),
                "leave_time": zoom_time(leave_at),
                "duration": int((leave_at - record.join_at).total_seconds()),
                "status": "in_meeting",
            }

    def download_recording(self, download_url: str) -> requests.Response:
        """A small text file standing in for the recording."""
        response = requests.Response()
        response.status_code = 200
        response.url = download_url
        response.headers["Content-Type"] = "text/plain; charset=utf-8"
        body = f"Fake Zoom recording (ZOOM_FAKE=1): {download_url}\n".encode()
        response.headers["Content-Length"] = str(len(body))
        response.raw = io.BytesIO(body)  # read in chunks, like Zoom's streamed answer
        return response


def fake_meeting_url(meeting_id: str) -> str:
    from app.core.urls import external_url

    return external_url("zoom.fake_meeting", meeting_id=meeting_id)


def zoom_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

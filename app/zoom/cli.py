"""`flask zoom simulate EVENT_UUID`: play a Zoom meeting against a running server.

For each session of the event that has a Zoom meeting id (or the event itself when only it
has one), sends meeting.started, a participant_joined and _left for every confirmed
registration (the first one leaves and joins again), and meeting.ended, each signed with
ZOOM_WEBHOOK_SECRET_TOKEN as Zoom signs them, to POST /webhooks/zoom. The meeting instance
uuid is derived from the session (or event), so running it again sends the same deliveries:
the server answers "duplicate" and records nothing twice.

The body builders and `signed_headers` are also used by bench/zoom_webhooks.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from app.extensions import db
from app.zoom.webhooks import sign

# (url, raw body, headers) -> (HTTP status, answer text)
Transport = Callable[[str, bytes, dict], tuple[int, str]]

ACCOUNT_ID = "ConveneSimulatedAccount"
HOST_ID = "convene-simulated-host"


def meeting_uuid(seed: str) -> str:
    """A Zoom-looking meeting instance uuid (24 base64 characters), stable for `seed`."""
    return base64.b64encode(hashlib.sha256(seed.encode()).digest()[:16]).decode()


def zoom_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def meeting_body(event: str, meeting_id: str, uuid: str, topic: str, start_at: datetime,
                 **object_fields) -> dict:
    """A meeting.* delivery as Zoom shapes it."""
    return {
        "event": event,
        "event_ts": int(time.time() * 1000),
        "payload": {
            "account_id": ACCOUNT_ID,
            "object": {
                "id": meeting_id,
                "uuid": uuid,
                "host_id": HOST_ID,
                "topic": topic[:200],
                "type": 2,
                "start_time": zoom_time(start_at),
                **object_fields,
            },
        },
    }


@dataclass(frozen=True)
class Participant:
    user_id: str  # Zoom's per-meeting participant id
    participant_uuid: str
    user_name: str
    email: str
    # (Zoom meeting id, registrant id): joining with their own link, Zoom sends the
    # registrant id of that meeting (app/zoom/meetings.py registers confirmed attendees).
    registrant_ids: tuple[tuple[str, str], ...] = ()


def participant_body(event: str, meeting_id: str, uuid: str, topic: str, start_at: datetime,
                     who: Participant, when: datetime) -> dict:
    """meeting.participant_joined (`when` = join_time) or meeting.participant_left."""
    time_field = "join_time" if event.endswith("joined") else "leave_time"
    body = meeting_body(event, meeting_id, uuid, topic, start_at)
    body["payload"]["object"]["participant"] = {
        "user_id": who.user_id,
        "user_name": who.user_name,
        "participant_uuid": who.participant_uuid,
        "email": who.email,
        time_field: zoom_time(when),
    }
    registrant_id = dict(who.registrant_ids).get(meeting_id)
    if registrant_id:
        body["payload"]["object"]["participant"]["registrant_id"] = registrant_id
    return body


def encode(body: dict) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def signed_headers(secret: str, raw: bytes, timestamp: int | None = None) -> dict:
    """The headers Zoom sends with a body: a fresh timestamp and its signature."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": "application/json",
        "x-zm-request-timestamp": stamp,
        "x-zm-signature": sign(secret, stamp, raw),
    }


def http_transport(url: str, raw: bytes, headers: dict) -> tuple[int, str]:
    request = urllib.request.Request(url, data=raw, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


# --- The script of one simulated meeting


@dataclass(frozen=True)
class Meeting:
    meeting_id: str
    uuid: str
    topic: str
    start_at: datetime
    end_at: datetime


def meetings_of(event) -> list[Meeting]:
    """The event's sessions that have a Zoom meeting, in time order; else the event's own."""
    sessions = sorted(
        (s for s in event.sessions if s.zoom_meeting_id),
        key=lambda s: (s.start_at, s.id),
    )
    if sessions:
        return [Meeting(s.zoom_meeting_id, meeting_uuid(f"session:{s.uuid}"), s.title,
                        s.start_at, s.end_at) for s in sessions]
    if event.zoom_meeting_id:
        return [Meeting(event.zoom_meeting_id, meeting_uuid(f"event:{event.uuid}"), event.title,
                        event.start_at, event.end_at)]
    return []


def participants_of(event) -> list[Participant]:
    from app.registrations.models import Registration
    from app.states import RegistrationStatus

    registrations = db.session.scalars(
        sa.select(Registration)
        .where(Registration.event_id == event.id,
               Registration.status == RegistrationStatus.CONFIRMED)
        .order_by(Registration.id)
    ).all()
    registrant_ids = _registrant_ids([r.id for r in registrations])
    return [
        Participant(user_id=str(16_000_000 + r.id),
                    participant_uuid=meeting_uuid(f"registration:{r.uuid}"),
                    user_name=r.full_name or str(r.email).split("@")[0], email=str(r.email),
                    registrant_ids=tuple(registrant_ids.get(r.id, ())))
        for r in registrations
    ]


def _registrant_ids(registration_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """Per registration, its active Zoom registrants as (meeting id, registrant id)."""
    from app.zoom.models import RegistrantStatus, ZoomMeeting, ZoomRegistrant

    found: dict[int, list[tuple[str, str]]] = {}
    rows = db.session.execute(
        sa.select(ZoomRegistrant.registration_id, ZoomMeeting.meeting_id,
                  ZoomRegistrant.registrant_id)
        .join(ZoomMeeting, ZoomMeeting.id == ZoomRegistrant.zoom_meeting_id)
        .where(ZoomRegistrant.registration_id.in_(registration_ids),
               ZoomRegistrant.status == RegistrantStatus.ACTIVE)
    )
    for registration_id, meeting_id, registrant_id in rows:
        found.setdefault(registration_id, []).append((meeting_id, registrant_id))
    return found


def script(meeting: Meeting, people: list[Participant]) -> list[tuple[str, dict]]:
    """(what, body) in the order Zoom would send them: started, everyone joins a few minutes
    apart, the first person drops out a while and comes back, everyone leaves, ended."""
    length = meeting.end_at - meeting.start_at
    step = min(timedelta(minutes=2), length / (4 * max(len(people), 1)))

    def person(event: str, who: Participant, when: datetime) -> tuple[str, dict]:
        label = f"{event.split('.')[-1]:<18} {who.user_name} at {zoom_time(when)}"
        return label, participant_body(event, meeting.meeting_id, meeting.uuid, meeting.topic,
                                       meeting.start_at, who, when)

    steps = [("started", meeting_body("meeting.started", meeting.meeting_id, meeting.uuid,
                                      meeting.topic, meeting.start_at))]
    for n, who in enumerate(people):
        steps.append(person("meeting.participant_joined", who, meeting.start_at + step * n))
    if people:
        first = people[0]
        steps.append(person("meeting.participant_left", first, meeting.start_at + length / 3))
        steps.append(person("meeting.participant_joined", first, meeting.start_at + length / 2))
    for n, who in enumerate(people):
        steps.append(person("meeting.participant_left", who, meeting.end_at - step * n))
    steps.append(("ended", meeting_body("meeting.ended", meeting.meeting_id, meeting.uuid,
                                        meeting.topic, meeting.start_at,
                                        end_time=zoom_time(meeting.end_at))))
    return steps


def recording_body(meeting: Meeting, url: str) -> dict:
    """recording.completed for a simulated meeting: a video and a chat file. "Watch" leads to
    the server's fake meeting page; with ZOOM_FAKE, "Download" gets the fake client's file."""
    body = meeting_body("recording.completed", meeting.meeting_id, meeting.uuid, meeting.topic,
                        meeting.start_at,
                        duration=int((meeting.end_at - meeting.start_at).total_seconds() // 60),
                        share_url=f"{url.rstrip('/')}/zoom/fake/{meeting.meeting_id}",
                        total_size=2048, recording_count=2, recording_play_passcode="demo")
    if meeting.meeting_id.isdigit():
        body["payload"]["object"]["id"] = int(meeting.meeting_id)  # a number in this event
    body["download_token"] = "simulated-download-token"
    body["payload"]["object"]["recording_files"] = [
        {
            "id": f"{meeting.uuid}-{kind}",
            "meeting_id": meeting.uuid,
            "recording_start": zoom_time(meeting.start_at),
            "recording_end": zoom_time(meeting.end_at),
            "file_type": file_type,
            "file_extension": file_type,
            "file_size": 1024,
            "status": "completed",
            "recording_type": kind,
            "play_url": f"{url.rstrip('/')}/zoom/fake/{meeting.meeting_id}?play={kind}",
            "download_url": f"https://zoom.us/rec/download/simulated-{kind}",
        }
        for kind, file_type in (("shared_screen_with_speaker_view", "MP4"), ("chat_file", "TXT"))
    ]
    return body


def simulate(event, url: str, secret: str, transport: Transport | None = None,
             echo: Callable[[str], None] = print,
             recording: bool = False) -> list[tuple[int, str]]:
    """Send the whole script of every meeting of `event` (and, with `recording`, its cloud
    recording after it ends); returns the (status, answer)s."""
    transport = transport or http_transport
    answers = []
    people = participants_of(event)
    endpoint = url.rstrip("/") + "/webhooks/zoom"
    for meeting in meetings_of(event):
        echo(f"Meeting {meeting.meeting_id} ({meeting.topic}), {len(people)} participant(s):")
        steps = script(meeting, people)
        if recording:
            steps.append(("recording completed", recording_body(meeting, url)))
        for label, body in steps:
            raw = encode(body)
            status, text = transport(endpoint, raw, signed_headers(secret, raw))
            answers.append((status, text))
            echo(f"  {label:<60} -> {status} {text.strip()[:80]}")
    return answers


@click.group("zoom", cls=AppGroup, help="Zoom meetings.")
def zoom_cli():
    pass


@zoom_cli.command("simulate")
@click.argument("event_uuid", type=click.UUID)
@click.option("--url", default=None,
              help="The running server that receives the webhooks (default: SITE_URL).")
@click.option("--recording", is_flag=True,
              help="Also send recording.completed: the event page then lists a recording.")
def simulate_command(event_uuid, url: str, recording: bool):
    """Send signed Zoom webhooks for an event's meetings to a running server."""
    from app.events.models import Event

    url = url or current_app.config["SITE_URL"]
    event = db.session.scalar(sa.select(Event).where(Event.uuid == event_uuid))
    if event is None:
        raise click.ClickException(f"no event {event_uuid}")
    secret = current_app.config.get("ZOOM_WEBHOOK_SECRET_TOKEN") or ""
    if not secret:
        raise click.ClickException("ZOOM_WEBHOOK_SECRET_TOKEN is not set: nothing can be signed.")
    if not meetings_of(event):
        raise click.ClickException(
            "neither the event nor its sessions have a Zoom meeting id: nothing to simulate."
        )
    try:
        answers = simulate(event, url, secret, echo=click.echo, recording=recording)
    except OSError as error:
        raise click.ClickException(f"could not reach {url}: {error}") from None
    failed = sum(1 for status, _ in answers if status >= 400)
    click.echo(f"{len(answers)} webhook(s) sent, {failed} refused.")
    if failed:
        raise SystemExit(1)

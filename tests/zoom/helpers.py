"""Signed Zoom deliveries for the tests: real signatures, as Zoom makes them."""

from __future__ import annotations

import json
import time

from app.zoom.webhooks import sign

SECRET = "zoom_secret_token_123"
MEETING_ID = "85746065432"
MEETING_UUID = "4444AAAiAAAAAiAiAiiAii=="


def body_bytes(body) -> bytes:
    if isinstance(body, bytes):
        return body
    return json.dumps(body, separators=(",", ":")).encode()


def deliver(client, body, *, timestamp=None, secret=SECRET, signature=None, headers=None):
    raw = body_bytes(body)
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    sent = {
        "x-zm-request-timestamp": timestamp,
        "x-zm-signature": signature or sign(secret, timestamp, raw),
        "Content-Type": "application/json",
        **(headers or {}),
    }
    return client.post("/webhooks/zoom", data=raw, headers=sent)


def meeting_event(event: str, meeting_id=MEETING_ID, uuid=MEETING_UUID, **object_fields) -> dict:
    return {
        "event": event,
        "event_ts": 1718900000123,
        "payload": {
            "account_id": "AbCdEfGhIjKlMnOpQrStUv",
            "object": {
                "id": meeting_id,
                "uuid": uuid,
                "host_id": "z8yCxjabcdEFGHfp8uQ",
                "topic": "Weekly sync",
                "type": 2,
                "start_time": "2024-06-20T16:13:20Z",
                "duration": 60,
                **object_fields,
            },
        },
    }


def participant_event(event: str, when: str, meeting_id=MEETING_ID, **participant) -> dict:
    """meeting.participant_joined (when = join_time) or _left (when = leave_time)."""
    time_field = "join_time" if event.endswith("joined") else "leave_time"
    person = {
        "user_id": "16778240",
        "user_name": "Jill Chill",
        "id": "iFxeBPYun6SAiWUzBcEkX",
        "participant_uuid": "55555AAAiAAAAAiAiAiiAii",
        "email": "Jill@Example.com",
        "registrant_id": "abcdefghij0-klmnopq23456",
        time_field: when,
        **participant,
    }
    body = meeting_event(event, meeting_id=meeting_id)
    body["payload"]["object"]["participant"] = {k: v for k, v in person.items() if v is not None}
    return body

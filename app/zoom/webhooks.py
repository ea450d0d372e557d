"""Zoom webhook intake: signature, replay window, URL validation, and what identifies a
delivery (../shared/reference/zoom-stripe-webhooks.md).

Zoom signs "v0:{x-zm-request-timestamp}:{raw body}" with HMAC-SHA256 keyed by the app's
Secret Token and sends "v0=<hex>" in x-zm-signature. The raw body is hashed as it came.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass

MAX_BODY_BYTES = 1024 * 1024  # Zoom's events are a few kilobytes
REPLAY_WINDOW_SECONDS = 5 * 60  # our policy: Zoom publishes none
URL_VALIDATION = "endpoint.url_validation"


class InvalidSignature(Exception):
    """The delivery is not from Zoom, or is too old to trust: the message says why."""


def sign(secret: str, timestamp: str | int, body: bytes) -> str:
    """The x-zm-signature value for a body sent at `timestamp` (Unix seconds)."""
    message = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(
    secret: str, timestamp: str | None, signature: str | None, body: bytes, now: float | None = None
) -> None:
    """Raise InvalidSignature unless the signature matches and the timestamp is recent."""
    if not secret:
        raise InvalidSignature("ZOOM_WEBHOOK_SECRET_TOKEN is not set")
    if not timestamp or not signature:
        raise InvalidSignature("missing x-zm-request-timestamp or x-zm-signature")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise InvalidSignature("x-zm-request-timestamp is not a number") from None
    now = time.time() if now is None else now
    if abs(now - sent_at) > REPLAY_WINDOW_SECONDS:
        raise InvalidSignature("timestamp outside the 5-minute window")
    if not hmac.compare_digest(sign(secret, timestamp, body).encode(), signature.encode()):
        raise InvalidSignature("signature does not match")


def url_validation_response(secret: str, plain_token: str) -> dict:
    """Zoom's endpoint check: the token back, and its HMAC-SHA256 under the secret in hex."""
    encrypted = hmac.new(secret.encode(), plain_token.encode(), hashlib.sha256).hexdigest()
    return {"plainToken": plain_token, "encryptedToken": encrypted}


class BadShape(ValueError):
    """Valid JSON that is not a Zoom event."""


@dataclass(frozen=True)
class Delivery:
    """What the intake needs from a parsed body: the event type, its time, and its key."""

    event_type: str
    event_ts: int | None
    body: dict

    @property
    def object(self) -> dict:
        payload = self.body.get("payload")
        obj = payload.get("object") if isinstance(payload, dict) else None
        return obj if isinstance(obj, dict) else {}

    @property
    def participant(self) -> dict:
        participant = self.object.get("participant")
        return participant if isinstance(participant, dict) else {}

    def dedupe_key(self, raw: bytes) -> str:
        """event + meeting id and uuid + participant + join/leave time (Zoom's retry is the
        same delivery), + the recording's file ids. A body without an object uuid is keyed by
        its exact bytes."""
        obj, participant = self.object, self.participant
        if obj.get("uuid"):
            parts = [
                self.event_type,
                str(obj.get("id", "")),
                str(obj.get("uuid")),
                participant_key(participant),
                str(participant.get("join_time") or participant.get("leave_time") or ""),
                str(obj.get("end_time") or ""),
            ]
            files = obj.get("recording_files")
            if isinstance(files, list) and files:  # a later delivery may bring more files
                parts.append(sorted(str(f.get("id")) for f in files if isinstance(f, dict)))
            material = json.dumps(parts).encode()
        else:
            material = b"raw:" + raw
        return hashlib.sha256(material).hexdigest()


def parse(raw: bytes) -> Delivery:
    """The delivery in a body; ValueError for non-JSON, BadShape for JSON of the wrong shape."""
    body = json.loads(raw.decode("utf-8"))  # JSONDecodeError and UnicodeDecodeError: ValueError
    if not isinstance(body, dict):
        raise BadShape("the body is not a JSON object")
    event_type = body.get("event")
    if not isinstance(event_type, str) or not event_type or len(event_type) > 100:
        raise BadShape("no event type")
    event_ts = body.get("event_ts")
    if not isinstance(event_ts, int) or isinstance(event_ts, bool) or abs(event_ts) >= 2**63:
        event_ts = None
    if not isinstance(body.get("payload"), dict):
        raise BadShape("no payload object")
    return Delivery(event_type, event_ts, body)


def participant_key(participant: dict) -> str:
    """The most stable identity Zoom gives a participant: participant_uuid survives a
    re-join; `id` is the signed-in user's id; `user_id` is per session; then the email."""
    for field in ("participant_uuid", "id", "user_id", "email", "user_name"):
        value = participant.get(field)
        if value not in (None, ""):
            return f"{field}:{value}"[:320]
    return ""

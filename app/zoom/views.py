"""POST /webhooks/zoom: Zoom's deliveries (signed, not CSRF-protected: Zoom has no session)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from app.extensions import csrf, db
from app.jobs import enqueue
from app.zoom.jobs import process_zoom_webhook
from app.zoom.services import ZoomWebhookService
from app.zoom.webhooks import MAX_BODY_BYTES

bp = Blueprint("zoom", __name__)


@bp.post("/webhooks/zoom")
@csrf.exempt
def receive_webhook():
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return _too_large()
    try:
        raw = _read_body(MAX_BODY_BYTES + 1)  # a body sent without a length is read up to this
    except RequestEntityTooLarge:  # over the site-wide limit
        return _too_large()
    if len(raw) > MAX_BODY_BYTES:
        return _too_large()
    result = ZoomWebhookService.receive(
        current_app.config.get("ZOOM_WEBHOOK_SECRET_TOKEN") or "", request.headers, raw
    )
    if result.is_new:
        enqueue(process_zoom_webhook, result.log_id)
    db.session.commit()
    return jsonify(result.body), result.status_code


def _read_body(limit: int) -> bytes:
    chunks, size = [], 0
    while size < limit:
        chunk = request.stream.read(limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _too_large():
    return jsonify({"error": "the body is larger than 1 MB"}), 413

# The organizer's attendance page; the organizer's Zoom connection; recordings; online
# events' meetings and registrants (their hooks register with this import).
from app.zoom import manage, meetings_views, oauth, recordings  # noqa: E402,F401

"""Zoom's signature scheme and URL validation against the documented test vectors
(../shared/reference/zoom-stripe-webhooks.md)."""

import pytest

from app.zoom.webhooks import InvalidSignature, sign, url_validation_response, verify
from tests.zoom.helpers import SECRET

VECTOR_BODY = (
    b'{"event":"meeting.started","event_ts":1718900000123,"payload":{"account_id":'
    b'"AbCdEfGhIjKlMnOpQrStUv","object":{"id":"85746065432","uuid":"4444AAAiAAAAAiAiAiiAii==",'
    b'"host_id":"z8yCxjabcdEFGHfp8uQ","topic":"Weekly sync","type":2,"start_time":'
    b'"2024-06-20T16:13:20Z","timezone":"America/New_York","duration":60}}}'
)
VECTOR_SIGNATURE = "v0=7a18013ef017c0a9a8d76846e8929b16fc605ed0bc704be7dd611df60db325dc"
VECTOR_TS = 1718900000


def test_signature_vector():
    assert sign(SECRET, VECTOR_TS, VECTOR_BODY) == VECTOR_SIGNATURE
    verify(SECRET, str(VECTOR_TS), VECTOR_SIGNATURE, VECTOR_BODY, now=VECTOR_TS + 10)


def test_url_validation_vector():
    assert url_validation_response(SECRET, "qgg8vlvZRS6UYooatFL8Aw") == {
        "plainToken": "qgg8vlvZRS6UYooatFL8Aw",
        "encryptedToken": "2df5fa03ed8ac736e86fd42dfeb323dea9b55490e8b5c6dab0b21c00a852fe26",
    }


@pytest.mark.parametrize(
    "secret, timestamp, signature, body, now, reason",
    [
        ("", str(VECTOR_TS), VECTOR_SIGNATURE, VECTOR_BODY, VECTOR_TS, "not set"),
        (SECRET, None, VECTOR_SIGNATURE, VECTOR_BODY, VECTOR_TS, "missing"),
        (SECRET, str(VECTOR_TS), None, VECTOR_BODY, VECTOR_TS, "missing"),
        (SECRET, "yesterday", VECTOR_SIGNATURE, VECTOR_BODY, VECTOR_TS, "not a number"),
        (SECRET, str(VECTOR_TS), VECTOR_SIGNATURE, VECTOR_BODY, VECTOR_TS + 301, "window"),
        (SECRET, str(VECTOR_TS), VECTOR_SIGNATURE, VECTOR_BODY, VECTOR_TS - 301, "window"),
        (SECRET, str(VECTOR_TS), VECTOR_SIGNATURE, VECTOR_BODY + b" ", VECTOR_TS, "match"),
        (SECRET, str(VECTOR_TS + 1), VECTOR_SIGNATURE, VECTOR_BODY, VECTOR_TS, "match"),
        ("other-secret", str(VECTOR_TS), VECTOR_SIGNATURE, VECTOR_BODY, VECTOR_TS, "match"),
        (SECRET, str(VECTOR_TS), VECTOR_SIGNATURE[3:], VECTOR_BODY, VECTOR_TS, "match"),
        (SECRET, str(VECTOR_TS), VECTOR_SIGNATURE.upper(), VECTOR_BODY, VECTOR_TS, "match"),
    ],
)
def test_bad_signatures_are_refused(secret, timestamp, signature, body, now, reason):
    with pytest.raises(InvalidSignature, match=reason):
        verify(secret, timestamp, signature, body, now=now)


def test_the_window_is_five_minutes_either_way():
    for now in (VECTOR_TS - 300, VECTOR_TS + 300):
        verify(SECRET, str(VECTOR_TS), VECTOR_SIGNATURE, VECTOR_BODY, now=now)

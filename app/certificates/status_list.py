"""Revocation that any verifier can check: the W3C Bitstring Status List v1.0.

Every certificate holds one position in a status list (StatusList), given when it is saved
and never changed. Its credential points there (credentialStatus, a
BitstringStatusListEntry), and the list is published at /credentials/status/<uuid> as a
credential of its own (app/certificates/credentials.py: signed with the same key and in the
same VC-JWT form as the certificates' credentials), whose bit at that position is 1 once the
certificate is revoked.

Rules:
- Positions are drawn at random among the free ones of the list, so that a position says
  nothing about when a certificate was issued or how many there are. A list has
  STATUS_LIST_ENTRIES positions (the spec's minimum, for herd privacy); when they are all
  given, the list is closed and the next one opened.
- Drawing holds the filling list's row lock until the commit (as seats do, through the same
  lock): two issuers never draw the same position. The unique index (list, position) backs
  it.
- The bits are read from the certificates' status whenever the list is built: revoking a
  certificate (Certificate.revoke, the one way) is what sets its bit, and nothing else has
  to be kept in step. A build is one indexed query for the list's revoked certificates,
  16 KB of bits gzipped, and one signature; the page cache then serves it until the next
  commit that changes a certificate, so a revocation shows at once.
"""

from __future__ import annotations

import base64
import gzip
import math
import secrets
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.certificates.models import STATUS_LIST_ENTRIES, Certificate, StatusList
from app.extensions import db
from app.registrations.seats import lock_capacity

# Below this share of free positions, read the taken ones at once instead of probing.
DENSE = 1 / 16


# --- Positions


def assign_status_entries(certificates: Iterable[Certificate]) -> None:
    """Give each certificate that has no position a random free one in the filling list.

    The caller saves the certificates and commits, promptly: the list stays locked until
    then (PostgreSQL: its row; SQLite: the write lock).
    """
    pending = [c for c in certificates if c.status_list_index is None]
    while pending:
        status_list = _filling_list()
        lock_capacity(status_list)
        db.session.refresh(status_list)  # as of the lock: another issuer may have drawn
        if not status_list.is_filling:
            continue  # closed by the issuer we waited for: take the next list
        if status_list.room > 0:
            batch, pending = pending[:status_list.room], pending[status_list.room:]
            for certificate, position in zip(batch, _free_positions(status_list, len(batch)),
                                             strict=True):
                certificate.status_list = status_list
                certificate.status_list_index = position
            status_list.allocated += len(batch)
        if status_list.room == 0:
            status_list.is_filling = None
            db.session.flush()  # frees the UNIQUE is_filling for the next list


def _filling_list() -> StatusList:
    """The list that gives out positions, opened on first need (race-safe, as signing keys
    are: a concurrent opener's list wins)."""
    current = _current_list()
    if current is not None:
        return current
    try:
        with db.session.begin_nested():
            db.session.add(StatusList(is_filling=True, allocated=0))
    except IntegrityError:
        pass
    current = _current_list()
    assert current is not None  # one insert above won
    return current


def _current_list() -> StatusList | None:
    return db.session.scalar(sa.select(StatusList).where(StatusList.is_filling.is_(True)))


def _free_positions(status_list: StatusList, count: int) -> list[int]:
    """`count` distinct random positions that no certificate of the list holds.

    `allocated` counts every position ever given (some by batches that were then refused),
    so at least `room` positions are free. While enough are, random candidates are probed
    against the unique index; a nearly full list reads its taken positions once.
    """
    randomness = secrets.SystemRandom()
    taken_in = sa.select(Certificate.status_list_index).where(
        Certificate.status_list_id == status_list.id
    )
    free_share = status_list.room / STATUS_LIST_ENTRIES
    if free_share < DENSE:
        taken = set(db.session.scalars(taken_in))
        return randomness.sample([i for i in range(STATUS_LIST_ENTRIES) if i not in taken],
                                 count)
    chosen: list[int] = []
    while len(chosen) < count:
        wanted = count - len(chosen)
        probe = min(STATUS_LIST_ENTRIES, math.ceil(2 * wanted / free_share) + 8)
        candidates = set(randomness.sample(range(STATUS_LIST_ENTRIES), probe)) - set(chosen)
        taken = set(db.session.scalars(
            taken_in.where(Certificate.status_list_index.in_(candidates))
        ))
        fresh = list(candidates - taken)
        chosen += randomness.sample(fresh, min(wanted, len(fresh)))
    return chosen


# --- The published list


def encoded_list(positions: Iterable[int]) -> str:
    """The spec's encodedList: the bitstring (position 0 is the leftmost bit of the first
    byte) GZIP-compressed, as multibase base64url without padding ('u' prefix)."""
    bits = bytearray(STATUS_LIST_ENTRIES // 8)
    for position in positions:
        bits[position // 8] |= 0x80 >> (position % 8)
    # zlib's default level: with a thousand bits set, 20 times faster than gzip's 9 for 15 %
    # more bytes (1 ms and 1.8 KB for 16 KB of bits).
    compressed = gzip.compress(bytes(bits), compresslevel=6, mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode()

"""Seats: the one place that decides who gets a seat, for an event or for a session with its
own capacity (DESIGN.md "Decisions"), under a lock so that nothing ever oversells (issue 4
"Concurrency: never oversell"). The caller commits, promptly: the lock is held until then."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa
from flask_babel import gettext as _

from app.core.errors import ValidationError
from app.events.models import Event, EventSession
from app.extensions import db
from app.registrations.models import SEAT_HOLDING_STATUSES, Registration, SessionRegistration
from app.states import RegistrationStatus


class CapacityHolder(Protocol):
    """Anything that has seats: an Event, or an EventSession with its own capacity."""

    id: int
    capacity: int | None  # None: unlimited


def lock_capacity(holder: CapacityHolder) -> None:
    """Serialise seat-taking on `holder` until the transaction ends.

    PostgreSQL: lock the holder's row (SELECT ... FOR UPDATE); other seat-takers of the same
    holder wait, everyone else goes on. SQLite has no row locks: this transaction becomes a
    write transaction now (BEGIN IMMEDIATE), so concurrent seat-takers wait on the busy
    timeout, while reads elsewhere stay concurrent (only this operation is immediate).
    """
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        _begin_immediate(connection)
        return
    model = type(holder)
    db.session.execute(sa.select(model.id).where(model.id == holder.id).with_for_update())


def _begin_immediate(connection: sa.Connection) -> None:
    """Open the SQLite transaction as IMMEDIATE (taking the write lock, waiting for it).

    The pysqlite driver (legacy transaction control) runs SELECTs outside a transaction and
    opens one (deferred) right before the first INSERT/UPDATE/DELETE. So when none is open
    yet, we open it ourselves; when one is open, a write has already taken the write lock,
    which is what IMMEDIATE would have given us.
    """
    dbapi_connection = connection.connection.driver_connection
    if not dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def place_in(holder: CapacityHolder, taken: int, waitlist_enabled: bool) -> RegistrationStatus:
    """Where a new registration goes, given the seats already `taken` (count under the lock)."""
    if holder.capacity is None or taken < holder.capacity:
        return RegistrationStatus.CONFIRMED
    if waitlist_enabled:
        return RegistrationStatus.WAITLISTED
    if isinstance(holder, EventSession):
        raise ValidationError(_("“%(session)s” is full.", session=holder.title))
    raise ValidationError(_("This event is full."))


def free_seats(holder: CapacityHolder, taken: int) -> int | None:
    """Seats left (None: unlimited)."""
    if holder.capacity is None:
        return None
    return max(holder.capacity - taken, 0)


@dataclass(frozen=True)
class SeatPool:
    """The seats of one holder and the rows that take them: an event's registrations, or a
    session's session registrations. Every seat decision goes through here, so an event
    and a session fill, waitlist and promote the same way."""

    holder: Event | EventSession
    rows: type[Registration] | type[SessionRegistration]
    belongs: sa.ColumnElement[bool]  # "this row is for this holder"
    waitlist_enabled: bool

    @classmethod
    def of_event(cls, event: Event) -> SeatPool:
        return cls(event, Registration, Registration.event_id == event.id,
                   event.waitlist_enabled)

    @classmethod
    def of_session(cls, session: EventSession) -> SeatPool:
        return cls(session, SessionRegistration, SessionRegistration.session_id == session.id,
                   session.event.waitlist_enabled)

    def lock(self) -> None:
        lock_capacity(self.holder)
        db.session.refresh(self.holder, ["capacity"])

    def taken(self) -> int:
        return db.session.scalar(
            sa.select(sa.func.count(self.rows.id)).where(
                self.belongs, self.rows.status.in_(SEAT_HOLDING_STATUSES)
            )
        )

    def place(self) -> RegistrationStatus:
        """The status of a newcomer. Call under lock()."""
        return place_in(self.holder, self.taken(), self.waitlist_enabled)

    def free(self) -> int | None:
        return free_seats(self.holder, self.taken())

    def next_in_line(self, limit: int | None = None) -> list:
        query = (
            sa.select(self.rows)
            .where(self.belongs, self.rows.status == RegistrationStatus.WAITLISTED)
            .order_by(self.rows.waitlisted_at, self.rows.id)
        )
        if limit is not None:
            query = query.limit(limit)
        return list(db.session.scalars(query))

    def fill_from_waitlist(self, actor=None) -> list:
        """Promote waitlisted rows, first come first served, while seats are free. Call under
        lock(); returns the rows promoted."""
        free = self.free()
        if free == 0:
            return []
        promoted = self.next_in_line(free)
        for row in promoted:
            row.promote(actor)
        db.session.flush()
        return promoted

    def position(self, row) -> int | None:
        """1 for the first in line; None when `row` is not waitlisted."""
        if row.status != RegistrationStatus.WAITLISTED:
            return None
        ahead = db.session.scalar(
            sa.select(sa.func.count(self.rows.id)).where(
                self.belongs,
                self.rows.status == RegistrationStatus.WAITLISTED,
                sa.or_(
                    self.rows.waitlisted_at < row.waitlisted_at,
                    sa.and_(self.rows.waitlisted_at == row.waitlisted_at, self.rows.id < row.id),
                ),
            )
        )
        return ahead + 1


"""The organizer's view of an event's registrations ("roster"): the filtered, paged list, the
counts, the registrations-over-time chart, the CSV export, and the organizer's own actions
on a registration (check-in, adding someone by hand).

Reads are lean: a page is a fixed number of queries whatever its size (the list with the
waitlist positions, the answers of the rows shown, the counts, the chart), and the CSV is
read in keyset batches of plain tuples, so memory does not grow with the number of rows.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from app.accounts.services import AccountService
from app.core.errors import ValidationError
from app.core.fields import int_param, text_param
from app.core.types import utcnow
from app.events.models import CustomFieldType, Event, EventCustomField, EventRole
from app.extensions import db
from app.registrations.models import CustomFieldResponse, Registration
from app.registrations.services import RegistrationOutcome, RegistrationService
from app.states import EventStatus, RegistrationStatus

PAGE_SIZE = 25
MAX_PAGE = 10_000
CSV_BATCH = 500
SEARCH_MAX = 100


# --- Filters


@dataclass(frozen=True)
class RosterFilters:
    """What the organizer filters by; read from (and written back to) the query string."""

    q: str = ""
    status: RegistrationStatus | None = None
    question: EventCustomField | None = None
    answer: str = ""
    page: int = 1
    errors: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_args(cls, args: Mapping[str, str], event: Event) -> RosterFilters:
        """Read the query string against `event`'s questions; what cannot be read is dropped
        with a message (a hand-edited URL never reaches the database as is)."""
        errors: list[str] = []
        status = None
        if args.get("status"):
            try:
                status = RegistrationStatus(args["status"])
            except ValueError:
                errors.append(_("Choose a status from the list."))
        question = None
        if args.get("field"):
            try:
                wanted = uuid.UUID(args["field"])
            except ValueError:
                wanted = None
            question = next((f for f in event.custom_fields if f.uuid == wanted), None)
            if question is None:
                errors.append(_("That question does not exist (any more): showing every answer."))
        answer = (args.get("answer") or "").strip()[:200] if question else ""
        if question and answer and question.field_type.has_options and (
            answer not in question.options
        ):
            errors.append(_("Choose an answer from the list."))
            answer = ""
        page = int_param(args.get("page"), 1, minimum=1, maximum=MAX_PAGE)
        return cls(
            q=text_param(args.get("q"), SEARCH_MAX),
            status=status,
            question=question,
            answer=answer,
            page=page,
            errors=tuple(errors),
        )

    @property
    def is_filtered(self) -> bool:
        return bool(self.q or self.status or (self.question and self.answer))

    def args(self, **changes) -> dict[str, str]:
        """Query-string arguments for a link to these filters (another page, the CSV...)."""
        values = replace(self, **changes)
        result = {
            "q": values.q,
            "status": values.status.value if values.status else "",
            "field": str(values.question.uuid) if values.question else "",
            "answer": values.answer if values.question else "",
            "page": str(values.page) if values.page > 1 else "",
        }
        return {name: value for name, value in result.items() if value}

    def where(self, event: Event) -> list[sa.ColumnElement[bool]]:
        """The conditions these filters put on `event`'s registrations."""
        conditions = [Registration.event_id == event.id]
        if self.q:
            needle = self.q.lower()
            conditions.append(
                sa.or_(
                    sa.func.lower(Registration.full_name).contains(needle, autoescape=True),
                    Registration.email.contains(needle, autoescape=True),  # stored lower-case
                )
            )
        if self.status is not None:
            conditions.append(Registration.status == self.status)
        if self.question is not None and self.answer:
            answered = sa.select(CustomFieldResponse.id).where(
                CustomFieldResponse.registration_id == Registration.id,
                CustomFieldResponse.field_id == self.question.id,
            )
            if self.question.field_type.has_options or self.question.field_type in (
                CustomFieldType.CHECKBOX, CustomFieldType.NUMBER, CustomFieldType.DATE,
            ):
                answered = answered.where(CustomFieldResponse.value == self.answer)
            else:  # free text: the answer contains what was typed
                answered = answered.where(
                    sa.func.lower(CustomFieldResponse.value).contains(
                        self.answer.lower(), autoescape=True
                    )
                )
            conditions.append(answered.exists())
        return conditions


def answer_choices(question: EventCustomField | None) -> list[str] | None:
    """The answers to pick from for `question`: its options for a choice question, the
    values given so far for a checkbox; None for questions answered in free text."""
    if question is None:
        return None
    if question.field_type.has_options:
        return list(question.options)
    if question.field_type == CustomFieldType.CHECKBOX:
        return list(db.session.scalars(
            sa.select(CustomFieldResponse.value)
            .where(CustomFieldResponse.field_id == question.id)
            .distinct()
            .order_by(CustomFieldResponse.value)
        ))
    return None


# --- The list


def _positions(event: Event) -> sa.Subquery:
    """Each waitlisted registration's place in line (1 = next), computed by the database in
    the same order as SeatPool.position: arrival on the waitlist, then id."""
    return (
        sa.select(
            Registration.id.label("registration_id"),
            sa.func.row_number()
            .over(order_by=(Registration.waitlisted_at, Registration.id))
            .label("position"),
        )
        .where(
            Registration.event_id == event.id,
            Registration.status == RegistrationStatus.WAITLISTED,
            Registration.deleted_at.is_(None),
        )
        .subquery()
    )


@dataclass(frozen=True)
class RosterRow:
    registration: Registration
    position: int | None  # place in line when waitlisted

    @property
    def answers(self) -> list[tuple[str, str]]:
        """(question, answer) pairs in the order of the questions; choices joined."""
        return answers_by_question(
            (answer.field.label, answer.field.position, answer.field_id, answer.value)
            for answer in self.registration.answers
        )


def answers_by_question(rows) -> list[tuple[str, str]]:
    grouped: dict[int, tuple[str, int, list[str]]] = {}
    for label, position, field_id, value in rows:
        grouped.setdefault(field_id, (label, position, []))[2].append(value)
    ordered = sorted(grouped.items(), key=lambda item: (item[1][1], item[0]))
    return [(label, "; ".join(values)) for _id, (label, _pos, values) in ordered]


@dataclass(frozen=True)
class RosterPage:
    rows: list[RosterRow]
    page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def roster_page(event: Event, filters: RosterFilters) -> RosterPage:
    """One page of registrations, oldest first, with their answers and places in line: two
    queries whatever the page holds (one more fetch tells whether there is a next page)."""
    positions = _positions(event)
    query = (
        sa.select(Registration, positions.c.position)
        .outerjoin(positions, positions.c.registration_id == Registration.id)
        .where(*filters.where(event))
        .order_by(Registration.created_at, Registration.id)
        .offset((filters.page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE + 1)
        .options(selectinload(Registration.answers).joinedload(CustomFieldResponse.field))
    )
    rows = [RosterRow(registration, position) for registration, position in
            db.session.execute(query)]
    return RosterPage(rows[:PAGE_SIZE], filters.page, len(rows) > PAGE_SIZE)


def roster_row(event: Event, registration_uuid: uuid.UUID) -> RosterRow | None:
    """One row of the roster (for an HTMX row swap), or None when it is not this event's."""
    positions = _positions(event)
    found = db.session.execute(
        sa.select(Registration, positions.c.position)
        .outerjoin(positions, positions.c.registration_id == Registration.id)
        .where(Registration.event_id == event.id, Registration.uuid == registration_uuid)
        .options(selectinload(Registration.answers).joinedload(CustomFieldResponse.field))
    ).first()
    return RosterRow(*found) if found else None


# --- Counts


@dataclass(frozen=True)
class RosterCounts:
    confirmed: int = 0
    waitlisted: int = 0
    cancelled: int = 0
    checked_in: int = 0
    capacity: int | None = None  # None: unlimited

    @property
    def total(self) -> int:
        return self.confirmed + self.waitlisted + self.cancelled

    @property
    def seats_left(self) -> int | None:
        if self.capacity is None:
            return None
        return max(self.capacity - self.confirmed, 0)


def roster_counts(event: Event) -> RosterCounts:
    """Registrations per status and how many confirmed people are checked in: one query."""
    rows = db.session.execute(
        sa.select(
            Registration.status,
            sa.func.count(Registration.id),
            sa.func.count(Registration.checked_in_at),
        )
        .where(Registration.event_id == event.id)
        .group_by(Registration.status)
    )
    per_status = {status: (count, checked) for status, count, checked in rows}
    confirmed = per_status.get(RegistrationStatus.CONFIRMED, (0, 0))
    return RosterCounts(
        confirmed=confirmed[0],
        waitlisted=per_status.get(RegistrationStatus.WAITLISTED, (0, 0))[0],
        cancelled=per_status.get(RegistrationStatus.CANCELLED, (0, 0))[0],
        checked_in=confirmed[1],
        capacity=event.capacity,
    )


# --- The chart: registrations over time


@dataclass(frozen=True)
class ChartPoint:
    day: date
    total: int  # registrations made up to and including this day
    x: float
    y: float


@dataclass(frozen=True)
class RegistrationChart:
    """Cumulative registrations per day (in the event's timezone), laid out for an inline
    SVG of `width` x `height`. Every registration counts, including ones cancelled later:
    the line shows demand."""

    points: list[ChartPoint] = field(default_factory=list)
    width: int = 600
    height: int = 160
    padding: int = 8

    @property
    def is_empty(self) -> bool:
        return not self.points

    @property
    def total(self) -> int:
        return self.points[-1].total if self.points else 0

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)

    @property
    def area(self) -> str:
        """The polygon under the line, for a light fill."""
        if not self.points:
            return ""
        bottom = self.height - self.padding
        return (f"{self.points[0].x:.1f},{bottom} {self.polyline} "
                f"{self.points[-1].x:.1f},{bottom}")

    @property
    def first(self) -> ChartPoint:
        return self.points[0]

    @property
    def last(self) -> ChartPoint:
        return self.points[-1]


def registration_chart(event: Event, until: date | None = None) -> RegistrationChart:
    """Registrations per day, cumulated, from the first registration to `until` (today, or
    the last day anyone registered when that is later). The creation times are streamed in
    batches; only the per-day counter is kept."""
    zone = event.tzinfo
    per_day: Counter[date] = Counter()
    created = db.session.scalars(
        sa.select(Registration.created_at)
        .where(Registration.event_id == event.id)
        .execution_options(yield_per=CSV_BATCH)
    )
    for moment in created:
        per_day[moment.astimezone(zone).date()] += 1
    if not per_day:
        return RegistrationChart()
    first = min(per_day)
    last = max(max(per_day), until or utcnow().astimezone(zone).date())
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    chart = RegistrationChart()
    inner_w = chart.width - 2 * chart.padding
    inner_h = chart.height - 2 * chart.padding
    peak = sum(per_day.values())
    points, running = [], 0
    for index, day in enumerate(days):
        running += per_day.get(day, 0)
        x = chart.padding + (inner_w * index / (len(days) - 1) if len(days) > 1 else inner_w)
        y = chart.padding + inner_h * (1 - running / peak)
        points.append(ChartPoint(day, running, x, y))
    if len(points) == 1:  # one day: a flat line from the left edge
        only = points[0]
        points.insert(0, ChartPoint(only.day, only.total, float(chart.padding), only.y))
    return replace(chart, points=points)


# --- CSV


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    """A cell a spreadsheet shows as text: values that would start a formula (CSV
    injection) are prefixed with an apostrophe."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def _iso(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else ""


def csv_header(event: Event) -> list[str]:
    return [safe_cell(cell) for cell in (
        _("Name"), _("Email"), _("Status"), _("Waitlist position"), _("Registered at"),
        _("Confirmed at"), _("Cancelled at"), _("Checked in at"),
        *(question.label for question in event.custom_fields),
    )]


def csv_rows(event: Event, filters: RosterFilters) -> Iterator[list[str]]:
    """One row per registration matching `filters` (every page), with one column per
    question (the order of csv_header). Read in keyset batches of plain tuples: memory stays
    flat whatever the number of registrations."""
    questions = list(event.custom_fields)
    positions = _positions(event)
    last_id = 0
    while True:
        batch = db.session.execute(
            sa.select(
                Registration.id, Registration.full_name, Registration.email,
                Registration.status, positions.c.position, Registration.created_at,
                Registration.confirmed_at, Registration.cancelled_at, Registration.checked_in_at,
            )
            .outerjoin(positions, positions.c.registration_id == Registration.id)
            .where(*filters.where(event), Registration.id > last_id)
            .order_by(Registration.id)
            .limit(CSV_BATCH)
        ).all()
        if not batch:
            return
        answers: dict[int, dict[int, list[str]]] = {}
        for registration_id, field_id, value in db.session.execute(
            sa.select(
                CustomFieldResponse.registration_id,
                CustomFieldResponse.field_id,
                CustomFieldResponse.value,
            )
            .where(CustomFieldResponse.registration_id.in_([row.id for row in batch]))
            .order_by(CustomFieldResponse.id)
        ):
            answers.setdefault(registration_id, {}).setdefault(field_id, []).append(value)
        for row in batch:
            given = answers.get(row.id, {})
            yield [safe_cell(cell) for cell in (
                row.full_name, row.email, row.status.value, row.position or "",
                _iso(row.created_at), _iso(row.confirmed_at), _iso(row.cancelled_at),
                _iso(row.checked_in_at),
                *("; ".join(given.get(question.id, [])) for question in questions),
            )]
        last_id = batch[-1].id


# --- The organizer's actions on registrations


class RosterService:
    """What an organizer does to registrations from the attendee page. Only flushes."""

    @staticmethod
    def check_in(registration: Registration) -> None:
        """Toggle the check-in at the door: confirmed registrations of in-person and hybrid
        events only (a virtual event has no door; attendance comes from Zoom there)."""
        event = registration.event
        if not event.format.has_venue:
            raise ValidationError(
                _("Check-in is for in-person and hybrid events; this event is online.")
            )
        if event.status == EventStatus.CANCELLED:
            raise ValidationError(_("This event was cancelled; nobody can check in."))
        if registration.checked_in_at is not None:
            registration.checked_in_at = None  # undo a check-in made by mistake
            db.session.flush()
            return
        if registration.status != RegistrationStatus.CONFIRMED:
            raise ValidationError(
                _("Only confirmed registrations can check in: %(name)s is %(status)s.",
                  name=registration.display_name,
                  status=status_label(registration.status))
            )
        registration.checked_in_at = utcnow()
        db.session.flush()

    @staticmethod
    def add_attendee(event: Event, email: str, full_name: str) -> RegistrationOutcome:
        """Register someone by hand: their account is found or created (invited) by email and
        they register as a guest would, under the same rules — the registration window, the
        seats and the waitlist (the questions are skipped) — and are emailed the same
        confirmation; a new account is also sent a link to choose a password. An organizer
        who wants to add someone after registration closed reopens the window first
        (Details), so that the rules stay in one place (RegistrationService)."""
        user = AccountService.invite(email, full_name)
        existing = RegistrationService.find_live(event, user)
        if existing is not None:
            raise ValidationError(
                _("%(email)s is already registered (%(status)s).",
                  email=user.email, status=status_label(existing.status)),
                field="email",
            )
        if event.get_role(user) is None:
            # Someone added to a private event must be able to see it (registering checks).
            event.add_member(user, EventRole.ATTENDEE)
            db.session.flush()
        return RegistrationService.register_guest(event, email=user.email, full_name=full_name)


def status_label(status: RegistrationStatus) -> str:
    return {
        RegistrationStatus.CONFIRMED: _("confirmed"),
        RegistrationStatus.WAITLISTED: _("waitlisted"),
        RegistrationStatus.CANCELLED: _("cancelled"),
    }.get(status, status.value)

"""Recurrence: a RecurringRule as a dateutil rrule, expanded in the event's own timezone.

The rule runs on the event's local wall-clock time (naive datetimes in the event's zone), and
each occurrence is then placed in that zone: a meetup at 18:00 Europe/London stays at 18:00
local on both sides of a daylight-saving change. Expansion is always bounded by a window and
by MAX_OCCURRENCES, so a rule without UNTIL or COUNT never runs away.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil import rrule as du

from app.core.errors import ValidationError
from app.events.models import RecurrenceFrequency

MAX_OCCURRENCES = 500  # the most one expansion returns
MAX_COUNT = 1000  # the largest COUNT an organizer may set
MAX_INTERVAL = 999

FREQUENCIES = {
    RecurrenceFrequency.DAILY: du.DAILY,
    RecurrenceFrequency.WEEKLY: du.WEEKLY,
    RecurrenceFrequency.MONTHLY: du.MONTHLY,
    RecurrenceFrequency.YEARLY: du.YEARLY,
}
WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")  # index = Python weekday()


@dataclass(frozen=True)
class Recurrence:
    """What expansion needs, from a RecurringRule and its event or from a lean query row."""

    start_at: datetime  # the first occurrence, aware
    end_at: datetime
    timezone: str
    frequency: RecurrenceFrequency
    interval: int = 1
    until: datetime | None = None  # aware; the last occurrence starts at or before it
    count: int | None = None
    weekdays: tuple[int, ...] = field(default_factory=tuple)

    @classmethod
    def of(cls, event) -> Recurrence | None:
        rule = event.recurring_rule
        if rule is None:
            return None
        return cls(
            start_at=event.start_at, end_at=event.end_at, timezone=event.timezone,
            frequency=rule.frequency, interval=rule.interval, until=rule.until,
            count=rule.count, weekdays=tuple(rule.weekdays or ()),
        )

    @property
    def tzinfo(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def duration(self) -> timedelta:
        return self.end_at - self.start_at

    def _local_naive(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tzinfo).replace(tzinfo=None)

    def to_rrule(self) -> du.rrule:
        """The rule on naive local wall-clock times in the event's zone."""
        return du.rrule(
            FREQUENCIES[self.frequency],
            dtstart=self._local_naive(self.start_at),
            interval=self.interval,
            until=self._local_naive(self.until) if self.until else None,
            count=self.count,
            byweekday=sorted(self.weekdays) or None,
            cache=False,
        )

    def occurrences(
        self, window_start: datetime, window_end: datetime, limit: int = MAX_OCCURRENCES
    ) -> list[tuple[datetime, datetime]]:
        """(start, end) in UTC of the occurrences overlapping [window_start, window_end)."""
        zone = self.tzinfo
        # Anything starting up to one duration before the window still overlaps it.
        search_from = self._local_naive(window_start - self.duration)
        found = []
        for local in itertools.islice(self.to_rrule().xafter(search_from, inc=True), limit):
            start = local.replace(tzinfo=zone).astimezone(UTC)
            if start >= window_end:
                break
            end = start + self.duration
            if end > window_start:
                found.append((start, end))
        return found

    def next_occurrence(self, after: datetime) -> tuple[datetime, datetime] | None:
        """The first occurrence that has not ended by `after`, if any (within ten years)."""
        upcoming = self.occurrences(after, after + timedelta(days=3660), limit=MAX_OCCURRENCES)
        return upcoming[0] if upcoming else None

    def describe(self) -> str:
        from flask_babel import gettext as _

        units = {
            RecurrenceFrequency.DAILY: (_("Every day"), _("Every %(n)s days")),
            RecurrenceFrequency.WEEKLY: (_("Every week"), _("Every %(n)s weeks")),
            RecurrenceFrequency.MONTHLY: (_("Every month"), _("Every %(n)s months")),
            RecurrenceFrequency.YEARLY: (_("Every year"), _("Every %(n)s years")),
        }
        one, many = units[self.frequency]
        text = one if self.interval == 1 else many % {"n": self.interval}
        return text


# --- The rule as an organizer types it


@dataclass
class RuleInput:
    frequency: RecurrenceFrequency | None
    interval: int | None = 1
    until: date | None = None
    count: int | None = None
    weekdays: tuple[int, ...] = ()


def check_rule(event, rule: RuleInput) -> list[ValidationError]:
    """Every problem with `rule` for `event`, each naming its field."""
    problems = []
    if rule.frequency is None:
        problems.append(ValidationError("Choose how often the event repeats.", "frequency"))
    if rule.interval is None or not 1 <= rule.interval <= MAX_INTERVAL:
        problems.append(
            ValidationError(f"Repeat every 1 to {MAX_INTERVAL} periods.", field="interval")
        )
    if rule.until is not None and rule.count is not None:
        problems.append(
            ValidationError(
                "Choose an end date or a number of occurrences, not both.", field="count"
            )
        )
    if rule.count is not None and not 1 <= rule.count <= MAX_COUNT:
        problems.append(
            ValidationError(f"The number of occurrences is 1 to {MAX_COUNT}.", field="count")
        )
    if rule.until is not None and rule.until < event.local(event.start_at).date():
        problems.append(
            ValidationError("The end date must be on or after the first occurrence.", "until")
        )
    if any(not 0 <= day <= 6 for day in rule.weekdays):
        problems.append(ValidationError("Choose days of the week from the list.", "weekdays"))
    if rule.weekdays and rule.frequency != RecurrenceFrequency.WEEKLY:
        problems.append(
            ValidationError("Days of the week apply to weekly repeats only.", "weekdays")
        )
    return problems


def until_moment(event, until: date | None) -> datetime | None:
    """The end of `until` (the last day occurrences may start) in the event's timezone, UTC."""
    if until is None:
        return None
    local_end = datetime.combine(until, time(23, 59, 59), tzinfo=event.tzinfo)
    return local_end.astimezone(UTC)


def set_rule(event, rule: RuleInput):
    """Create or replace the event's rule after checking it; flushes, the view commits."""
    from app.events.models import RecurringRule
    from app.extensions import db

    event.check_editable()
    problems = check_rule(event, rule)
    if problems:
        raise problems[0]
    values = dict(
        frequency=rule.frequency, interval=rule.interval, until=until_moment(event, rule.until),
        count=rule.count, weekdays=sorted(set(rule.weekdays)),
    )
    if event.recurring_rule is None:
        event.recurring_rule = RecurringRule(**values)
    else:
        for name, value in values.items():
            setattr(event.recurring_rule, name, value)
    db.session.flush()
    return event.recurring_rule


def remove_rule(event) -> None:
    from app.extensions import db

    event.check_editable()
    event.recurring_rule = None
    db.session.flush()

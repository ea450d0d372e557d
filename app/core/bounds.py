"""What the app can store and compute with: the bounds every number and date a person types
must fall within, and date arithmetic that stays inside Python's calendar.

Integers are stored in 32-bit INTEGER columns on PostgreSQL, so a larger number is refused
where it is typed instead of failing at the flush. Dates and times are kept to years
1900–2999: far from the ends of Python's calendar (years 1–9999), so that converting a time
between timezones, adding an event's duration, a recurrence, a CPD period or a month to
navigate never leaves it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from dateutil.relativedelta import relativedelta
from flask_babel import lazy_gettext as _l

INT32_MAX = 2**31 - 1
MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2999, 12, 31)
OUT_OF_RANGE = _l("Choose a date from the years %(first)s to %(last)s.",
                  first=MIN_DATE.year, last=MAX_DATE.year)
# In UTC, whatever the timezone: a day's margin either side of the dates above.
MIN_MOMENT = datetime.combine(MIN_DATE - timedelta(days=1), time.min, tzinfo=UTC)
MAX_MOMENT = datetime.combine(MAX_DATE + timedelta(days=2), time.min, tzinfo=UTC)


def date_in_range(day: date) -> bool:
    return MIN_DATE <= day <= MAX_DATE


def moment_in_range(moment: datetime) -> bool:
    """An aware datetime within the supported years (with the timezones' margin)."""
    return MIN_MOMENT <= moment <= MAX_MOMENT


def shift_date(day: date, delta: timedelta | relativedelta) -> date:
    """`day + delta`, or the first or last day Python knows when that leaves its calendar (a
    date stored before the bounds above were enforced must still show, not fail)."""
    try:
        return day + delta
    except (OverflowError, ValueError):  # only a date near one end can leave the calendar
        return date.max if day.year > 5000 else date.min


def clamp_date(day: date) -> date:
    """`day` moved into the supported range."""
    return min(max(day, MIN_DATE), MAX_DATE)

"""The named date and time formats every page uses (app/core/templating.py)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from babel import Locale
from babel.dates import format_datetime

from app.core import templating

# 20:30 UTC on Friday 22 January 2027 is already Saturday 23 January in Tokyo (UTC+9).
LATE = datetime(2027, 1, 22, 20, 30, tzinfo=UTC)
TOKYO = ZoneInfo("Asia/Tokyo")


def text(markup) -> str:
    return re.sub(r"<[^>]+>", "", str(markup))


@pytest.fixture
def render(app):
    """Render a template string in a request whose viewer is in `zone` (UTC by default)."""

    def run(source: str, zone: str | None = None, **context) -> str:
        babel = app.extensions["babel"]
        with (
            mock.patch.object(babel, "timezone_selector", lambda: zone),
            app.test_request_context("/", headers={"Accept-Language": "en"}),
        ):
            return app.jinja_env.from_string(source).render(**context)

    return run


def test_times_are_24_hour(render):
    morning = datetime(2027, 1, 22, 8, 30, tzinfo=UTC)
    evening = datetime(2027, 1, 22, 17, 5, tzinfo=UTC)
    assert render("{{ t|time }}", t=morning) == "08:30"
    assert render("{{ t|time }}", t=evening) == "17:05"
    assert "AM" not in render("{{ t|datetime_short }}", t=morning)


def test_long_and_short_dates(render):
    moment = datetime(2027, 1, 22, 8, 30, tzinfo=UTC)
    assert render("{{ t|date_long }}", t=moment) == "Friday 22 January 2027"
    assert render("{{ t|date_short }}", t=moment) == "Fri 22 Jan 2027"
    assert render("{{ t|datetime_short }}", t=moment) == "Fri 22 Jan 2027, 08:30"
    assert render("{{ t|datetime_long }}", t=moment) == "Friday 22 January 2027, 08:30"
    # A plain date (a day heading, a certificate's expiry) is shown as it is.
    assert render("{{ d|date_long }}", d=date(2027, 1, 23)) == "Saturday 23 January 2027"
    assert render("{{ d|month_year }}", d=date(2027, 1, 23)) == "January 2027"


def test_the_patterns_are_babels_not_hard_coded(app):
    """Another locale gets its own CLDR patterns with no code change."""
    german = Locale.parse("de")
    assert templating.pattern("date_long", german) == german.date_formats["full"].pattern
    assert templating.pattern("time", german) == german.time_formats["short"].pattern


def test_time_ranges(render):
    start = datetime(2027, 1, 22, 8, 30, tzinfo=UTC)
    end = datetime(2027, 1, 22, 9, 30, tzinfo=UTC)
    page = render("{{ a|time_range(b) }}", a=start, b=end)
    assert text(page) == "08:30–09:30"
    # Both ends keep their machine-readable form.
    assert f'<time datetime="{start.isoformat()}">08:30</time>' in page
    assert f'<time datetime="{end.isoformat()}">09:30</time>' in page
    assert text(render("{{ a|datetime_range(b) }}", a=start, b=end)) == (
        "Fri 22 Jan 2027, 08:30–09:30"
    )
    assert text(render("{{ a|datetime_range(b, none, 'long') }}", a=start, b=end)) == (
        "Friday 22 January 2027, 08:30–09:30"
    )


def test_plain_ranges_for_python_built_labels(app):
    start = datetime(2027, 1, 22, 8, 30, tzinfo=UTC)
    with app.test_request_context("/"):
        assert templating.time_range(start, start.replace(hour=9), "UTC", plain=True) == (
            "08:30–09:30"
        )
        label = templating.datetime_range(start, start.replace(hour=9), TOKYO, plain=True)
    assert label == "Fri 22 Jan 2027, 17:30–18:30" and "<" not in label


def test_a_range_over_midnight_shows_both_days(render):
    start = datetime(2027, 1, 22, 23, 0, tzinfo=UTC)
    end = datetime(2027, 1, 23, 1, 0, tzinfo=UTC)
    between = Locale.parse("en_IE").interval_formats[None]  # "{0} – {1}", thin spaces
    assert text(render("{{ a|time_range(b) }}", a=start, b=end)) == between.format(
        "Fri 22 Jan 2027, 23:00", "Sat 23 Jan 2027, 01:00"
    )


def test_zone_names_are_readable(render):
    assert render("{{ z|zone_name }}", z="America/New_York") == "America/New York"
    assert render("{{ z|zone_name }}", z=ZoneInfo("America/Port_of_Spain")) == (
        "America/Port of Spain"
    )
    assert render("{{ none|zone_name }}", zone="America/New_York") == "America/New York"
    winter = datetime(2027, 1, 22, 12, tzinfo=UTC)
    assert render("{{ z|zone_name(t, true) }}", z="America/New_York", t=winter) == (
        "America/New York (GMT-05:00)"
    )


def test_the_viewers_zone_by_default_or_an_explicit_one(render):
    assert render("{{ t|date_long }}", t=LATE) == "Friday 22 January 2027"
    assert render("{{ t|date_long }}", zone="Asia/Tokyo", t=LATE) == "Saturday 23 January 2027"
    assert render("{{ t|time }}", zone="Asia/Tokyo", t=LATE) == "05:30"
    # An explicit zone (the event's) wins over the viewer's, as a name or a tzinfo.
    assert render("{{ t|date_long('Asia/Tokyo') }}", t=LATE) == "Saturday 23 January 2027"
    assert render("{{ t|date_long(z) }}", zone="Asia/Tokyo", t=LATE, z=ZoneInfo("UTC")) == (
        "Friday 22 January 2027"
    )
    assert render("{{ t|datetime_short(z) }}", t=LATE, z=TOKYO) == format_datetime(
        LATE, "EEE d MMM y, HH:mm", tzinfo=TOKYO, locale="en"
    )


def test_datetime_in_is_the_same_formatting(render):
    assert render("{{ t|datetime_in('Asia/Tokyo') }}", t=LATE) == (
        render("{{ t|datetime_short('Asia/Tokyo') }}", t=LATE)
    )
    assert render("{{ t|datetime_in('Asia/Tokyo', 'date_long') }}", t=LATE) == (
        "Saturday 23 January 2027"
    )


def test_missing_values_show_nothing(render):
    assert render("{{ none|date_long }}|{{ none|time }}|{{ none|time_range(none) }}") == "||"

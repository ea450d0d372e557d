"""Template globals and filters: HTMX detection, and the one way pages show dates and times.

Every page formats moments with the same small set of named formats, in the request's
locale and (unless a page passes an explicit zone, such as the event's) the viewer's
timezone:

========================  ==========================================  =====================
filter                    example (English)                           Babel source
========================  ==========================================  =====================
``date_long``             Friday 22 January 2027                      full date
``date_short``            Fri 22 Jan 2027                             skeleton ``yMMMEd``
``time``                  08:30                                       short time
``datetime_short``        Fri 22 Jan 2027, 08:30                      date_short + time
``datetime_long``         Friday 22 January 2027, 08:30               date_long + time
``month_year``            January 2027                                skeleton ``yMMMM``
``month_name``            January                                     skeleton ``MMMM``
``time_range``            08:30–09:30                                 interval ``Hm``
``datetime_range``        Fri 22 Jan 2027, 08:30–09:30                date + interval
``zone_name``             America/New York                            (zone key, readable)
========================  ==========================================  =====================

The patterns come from the locale's CLDR data, so adding a locale's catalogue changes them
with no code change. English is formatted with the conventions of English (Ireland): the same
words, with day-month-year dates and 24-hour times, as a European-leaning platform reads.
"""

from __future__ import annotations

import re
from datetime import date, datetime, tzinfo
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.dates import format_interval, format_timedelta, get_timezone_gmt, match_skeleton
from flask import Flask, g
from flask_babel import get_locale, get_timezone, get_translations
from markupsafe import Markup

from app.core.htmx import is_htmx
from app.core.types import utcnow
from app.core.urls import safe_href

# Locales formatted with another locale's date conventions (same language, same words).
FORMAT_LOCALES = {"en": "en_IE"}

# name -> how to find its pattern in a locale's CLDR data.
FORMATS: dict[str, tuple[str, ...]] = {
    "date_long": ("date", "full"),
    "date_short": ("skeleton", "yMMMEd"),
    "time": ("time", "short"),
    "datetime_short": ("join", "date_short", "time"),
    "datetime_long": ("join", "date_long", "time"),
    "month_year": ("skeleton", "yMMMM"),
    "month_name": ("skeleton", "MMMM"),
}

_patterns: dict[tuple[str, str], str] = {}
_TAG = re.compile(r"<[^>]*>")

Zone = tzinfo | str | None


# --- The request's locale, translations and timezone: looked up once per request


def request_locale() -> Locale:
    """The locale dates are formatted in, looked up once per request (listings format many
    dates, and Flask-Babel's own helpers look the locale up again on every call)."""
    if "_convene_locale" not in g:
        locale = get_locale() or Locale.parse("en")
        mapped = FORMAT_LOCALES.get(str(locale))
        g._convene_locale = Locale.parse(mapped) if mapped else locale
    return g._convene_locale


def viewer_zone() -> tzinfo:
    """The viewer's timezone (their profile's, or the site default), once per request."""
    if "_convene_zone" not in g:
        g._convene_zone = ZoneInfo(str(get_timezone() or "UTC"))
    return g._convene_zone


def _translations():
    """The request's translations, looked up once: Flask-Babel's own template callables look
    them up again for every `_()`, which was a quarter of a simple page's time."""
    if "_convene_translations" not in g:
        g._convene_translations = get_translations()
    return g._convene_translations


def as_zone(zone: Zone) -> tzinfo:
    """An explicit zone (a tzinfo or a name such as an event's timezone), or the viewer's."""
    if zone is None or zone == "":
        return viewer_zone()
    if isinstance(zone, str):
        return ZoneInfo(zone)
    return zone


# --- Patterns


def pattern(name: str, locale: Locale | None = None) -> str:
    """The Babel pattern of a named format in `locale` (the request's by default)."""
    locale = locale or request_locale()
    key = (str(locale), name)
    if key not in _patterns:
        _patterns[key] = _resolve(name, locale)
    return _patterns[key]


def _resolve(name: str, locale: Locale) -> str:
    kind, *args = FORMATS[name]
    if kind == "date":
        return locale.date_formats[args[0]].pattern
    if kind == "time":
        return locale.time_formats[args[0]].pattern
    if kind == "skeleton":
        skeletons = locale.datetime_skeletons
        found = match_skeleton(args[0], skeletons) or args[0]
        return skeletons[found].pattern if found in skeletons else args[0]
    date_part, time_part = (pattern(part, locale) for part in args)
    return str(locale.datetime_formats["medium"]).replace("{1}", date_part).replace(
        "{0}", time_part
    )


# --- Formatting


def format_moment(value: datetime | date | None, format: str, zone: Zone = None) -> str:
    """`value` with a named format (or, for the few special cases, a Babel pattern), in
    `zone` (the viewer's by default) and the request's locale. A date is shown as is."""
    if value is None:
        return ""
    locale = request_locale()
    fmt = pattern(format, locale) if format in FORMATS else format
    if not isinstance(value, datetime):
        return babel_format_date(value, fmt, locale=locale)
    return babel_format_datetime(value, fmt, tzinfo=as_zone(zone), locale=locale)


def date_long(value: datetime | date | None, zone: Zone = None) -> str:
    """"Friday 22 January 2027"."""
    return format_moment(value, "date_long", zone)


def date_short(value: datetime | date | None, zone: Zone = None) -> str:
    """"Fri 22 Jan 2027"."""
    return format_moment(value, "date_short", zone)


def time(value: datetime | None, zone: Zone = None) -> str:
    """"08:30"."""
    return format_moment(value, "time", zone)


def datetime_short(value: datetime | None, zone: Zone = None) -> str:
    """"Fri 22 Jan 2027, 08:30"."""
    return format_moment(value, "datetime_short", zone)


def datetime_long(value: datetime | None, zone: Zone = None) -> str:
    """"Friday 22 January 2027, 08:30"."""
    return format_moment(value, "datetime_long", zone)


def month_year(value: datetime | date | None, zone: Zone = None) -> str:
    """"January 2027"."""
    return format_moment(value, "month_year", zone)


def month_name(value: datetime | date | None, zone: Zone = None) -> str:
    """"January"."""
    return format_moment(value, "month_name", zone)


def _time_tag(value: datetime, text: str) -> Markup:
    return Markup('<time datetime="{}">{}</time>').format(value.isoformat(), text)


def _range(
    start: datetime, end: datetime, zone: Zone, day_format: str | None, plain: bool = False
) -> Markup | str:
    """Start and end as two `<time>` elements (or plain text), the end without its date when
    both are on the same day in `zone`; `day_format` names the date shown with the start."""
    if plain:
        return Markup(_TAG.sub("", _range(start, end, zone, day_format))).unescape()
    zone = as_zone(zone)
    locale = request_locale()
    start_time, end_time = time(start, zone), time(end, zone)
    if start.astimezone(zone).date() != end.astimezone(zone).date():
        day = day_format or "date_short"
        first = _join(format_moment(start, day, zone), start_time, locale)
        last = _join(format_moment(end, day, zone), end_time, locale)
        between = Markup(locale.interval_formats.get(None) or "{0} – {1}")
        return between.format(_time_tag(start, first), _time_tag(end, last))
    # The locale's own interval ("08:30–09:30", "08:30 – 09:30", "08:30–09:30 Uhr").
    skeleton = "Hm" if "H" in pattern("time", locale) else "hm"
    interval = format_interval(start, end, skeleton, tzinfo=zone, locale=locale)
    day = format_moment(start, day_format, zone) if day_format else None
    if interval.startswith(start_time) and interval.endswith(end_time) and (
        len(interval) > len(start_time) + len(end_time)
    ):
        separator = interval[len(start_time) : len(interval) - len(end_time)]
        first = _join(day, start_time, locale) if day else start_time
        return _time_tag(start, first) + separator + _time_tag(end, end_time)
    return _time_tag(start, _join(day, interval, locale) if day else interval)


def _join(day: str, clock: str, locale: Locale) -> str:
    return str(locale.datetime_formats["medium"]).replace("{1}", day).replace("{0}", clock)


def time_range(
    start: datetime | None, end: datetime | None, zone: Zone = None, plain: bool = False
) -> Markup | str:
    """"08:30–09:30" (as `<time>` elements, or text with `plain`, e.g. for an <option>);
    with dates when it ends on another day."""
    if start is None or end is None:
        return "" if plain else Markup("")
    return _range(start, end, zone, None, plain)


def datetime_range(
    start: datetime | None,
    end: datetime | None,
    zone: Zone = None,
    style: str = "short",
    plain: bool = False,
) -> Markup | str:
    """"Fri 22 Jan 2027, 08:30–17:00", or with both dates when it spans days; `style`
    "long" gives "Friday 22 January 2027, 08:30–17:00". Python code that builds display
    text (a select's labels) uses it with `plain=True`."""
    if start is None or end is None:
        return "" if plain else Markup("")
    return _range(start, end, zone, "date_long" if style == "long" else "date_short", plain)


def zone_key(zone: Zone) -> str:
    if zone is None:
        zone = viewer_zone()
    if isinstance(zone, str):
        return zone
    return getattr(zone, "key", None) or getattr(zone, "zone", None) or str(zone)


def zone_name(zone: Zone = None, at: datetime | None = None, offset: bool = False) -> str:
    """A timezone as people read it: "America/New York" (the viewer's by default); with
    `offset`, its offset from UTC at `at` (now by default): "America/New York (GMT-05:00)"."""
    key = zone_key(zone)
    name = key.replace("_", " ")
    if not offset or key in {"UTC", "Etc/UTC"}:
        return name
    moment = (at or utcnow()).astimezone(as_zone(key))
    return f"{name} ({get_timezone_gmt(moment, 'long', locale=request_locale())})"


def local_datetime(value: datetime | None, format: str = "datetime_short") -> str:
    """Kept for older templates: a moment in the viewer's timezone, in a named format."""
    return format_moment(value, format)


def time_ago(value: datetime | None) -> str:
    if value is None:
        return ""
    return format_timedelta(value - utcnow(), add_direction=True, locale=request_locale())


def register(app: Flask) -> None:
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
    )
    app.jinja_env.globals.update(is_htmx=is_htmx)
    app.jinja_env.filters.update(
        datetime=local_datetime,
        time_ago=time_ago,
        date_long=date_long,
        date_short=date_short,
        time=time,
        datetime_short=datetime_short,
        datetime_long=datetime_long,
        month_year=month_year,
        month_name=month_name,
        time_range=time_range,
        datetime_range=datetime_range,
        zone_name=zone_name,
        safe_href=safe_href,  # every href built from an address a person typed
    )

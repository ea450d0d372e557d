"""Input the app can store: bounded form fields, query-parameter readers and the NUL guard.

Every number and date a person types goes through these, with the bounds of
app/core/bounds.py (32-bit integers, years 1900–2999), so that a value the database or the
calendar cannot hold is a clear message on its field instead of a failure at the flush.
Query parameters are read by the same rules: a value that cannot be read is ignored (the
caller may say so), never passed on. NUL characters, which PostgreSQL cannot store in text,
are refused for the whole request, whatever reads it.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask, request
from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from wtforms import DateField, DateTimeLocalField, IntegerField

from app.core.bounds import INT32_MAX, MAX_DATE, MIN_DATE, date_in_range

SEARCH_MAX = 100  # characters of a search read from the query string
DATETIME_LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]  # what the browser sends


class BoundedIntegerField(IntegerField):
    """A whole number from `minimum` to `maximum` (by default what an INTEGER column holds).

    A number outside is refused as it is read, like one that is not a number: the field's
    data stays None, so no code after it (a live check, a query) ever sees it, and the page
    shows back what was typed with the message. The browser is told the bounds too."""

    def __init__(self, label=None, validators=None, *, minimum: int = 0,
                 maximum: int = INT32_MAX, message=None, **kwargs):
        self.minimum, self.maximum = minimum, maximum
        self.range_message = message or _l("Enter a whole number from %(min)s to %(max)s.")
        kwargs["render_kw"] = {"min": minimum, "max": maximum, **kwargs.get("render_kw", {})}
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and not self.minimum <= self.data <= self.maximum:
            self.data = None
            raise ValueError(self.range_message % {"min": self.minimum, "max": self.maximum})


def bounded_int(value) -> int:
    """`coerce` for a choice of ids or numbers: a value no INTEGER column holds is not one
    of the choices, and must not reach a query."""
    number = int(value)
    if not -INT32_MAX <= number <= INT32_MAX:
        raise ValueError(value)
    return number


def optional_bounded_int(value) -> int | None:
    """`bounded_int` for a choice that may be empty ("— No venue —")."""
    if value in (None, "", "None"):
        return None
    return bounded_int(value)


class _DateBounds:
    """Dates (or the dates of datetimes) within [earliest, latest], refused as they are read
    (see BoundedIntegerField)."""

    def _set_bounds(self, earliest: date, latest: date, kwargs: dict, suffix: tuple[str, str]):
        self.earliest, self.latest = earliest, latest
        kwargs["render_kw"] = {"min": earliest.isoformat() + suffix[0],
                               "max": latest.isoformat() + suffix[1],
                               **kwargs.get("render_kw", {})}

    def _check_bounds(self) -> None:
        value = self.data
        if value is None:
            return
        day = value.date() if isinstance(value, datetime) else value
        if not self.earliest <= day <= self.latest:
            self.data = None
            raise ValueError(_l(
                "Choose a date from %(earliest)s to %(latest)s.",
                earliest=format_date(self.earliest, "medium"),
                latest=format_date(self.latest, "medium"),
            ))


class BoundedDateField(_DateBounds, DateField):
    """A date within the supported years, or narrower where the domain says so."""

    def __init__(self, label=None, validators=None, *, earliest: date = MIN_DATE,
                 latest: date = MAX_DATE, **kwargs):
        self._set_bounds(earliest, latest, kwargs, ("", ""))
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        self._check_bounds()


class BoundedDateTimeLocalField(_DateBounds, DateTimeLocalField):
    """A wall-clock date and time (<input type="datetime-local">) within the supported
    years: converting it from any timezone to UTC stays inside the calendar."""

    def __init__(self, label=None, validators=None, *, earliest: date = MIN_DATE,
                 latest: date = MAX_DATE, **kwargs):
        self._set_bounds(earliest, latest, kwargs, ("T00:00", "T23:59"))
        kwargs.setdefault("format", DATETIME_LOCAL_FORMATS)
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        self._check_bounds()


# --- Query parameters: the same rules for what is typed into an address


def int_param(raw: str | None, default: int, *, minimum: int = 0,
              maximum: int = INT32_MAX) -> int:
    """A whole number from the query string, moved into [minimum, maximum]; `default` when
    it is not one (a page number past the last page shows the last one, say)."""
    text = (raw or "").strip()
    digits = text[1:] if text[:1] in ("+", "-") else text
    if not (digits.isascii() and digits.isdigit()):
        return default
    if len(digits) > 12:  # beyond any bound: no need to read it
        return minimum if text.startswith("-") else maximum
    return min(max(int(text), minimum), maximum)


def text_param(raw: str | None, max_length: int = SEARCH_MAX) -> str:
    """A search or name from the query string, stripped and cut to `max_length`: a longer
    one finds nothing more, and a 100,000-character LIKE pattern is too much for SQLite."""
    return (raw or "").strip()[:max_length].strip()


def date_param(raw: str | None, label: str = "") -> date | None:
    """A YYYY-MM-DD date from the query string, or None when empty; a ValueError whose text
    is the message to show when it is not a date in the supported years."""
    text = (raw or "").strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text) if text.isascii() and len(text) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise ValueError(_l("“%(value)s” is not a date (%(label)s).", value=text[:40],
                            label=label))
    if not date_in_range(day):
        raise ValueError(_l("Choose a date from %(earliest)s to %(latest)s (%(label)s).",
                            earliest=format_date(MIN_DATE, "medium"),
                            latest=format_date(MAX_DATE, "medium"), label=label))
    return day


def month_param(raw: str | None) -> date | None:
    """The first day of a YYYY-MM month from the query string, or None when it is not a
    month in the supported years."""
    try:
        year, month = (int(part) for part in (raw or "").strip().split("-"))
        first = date(year, month, 1)
    except ValueError:
        return None
    return first if date_in_range(first) else None


# --- NUL characters


def _has_nul(text: str | None) -> bool:
    return text is not None and "\x00" in text


def refuse_nul_characters():
    """Answer 400 to a request with a NUL character in its path, query string, form fields
    or file names: no text column can store it (PostgreSQL refuses it, SQLite would keep it
    and show it back). One guard for every view, so that nothing that reads the request can
    miss it."""
    fields = [*request.args.items(multi=True), *request.form.items(multi=True)]
    names = [upload.filename for _name, upload in request.files.items(multi=True)]
    if (
        _has_nul(request.path)
        or any(_has_nul(key) or _has_nul(value) for key, value in fields)
        or any(_has_nul(name) for name in names)
    ):
        from app.errors import render_error

        return render_error(400, str(_l(
            "What you sent contains a NUL character (an invisible control character), which "
            "cannot be saved. Go back, remove it (retyping the text is the surest way) and "
            "try again."
        )))
    return None


def register(app: Flask) -> None:
    app.before_request(refuse_nul_characters)

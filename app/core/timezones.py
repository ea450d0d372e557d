"""The one timezone field of every form (sign-up, profile, events): common zones first.

The system's list holds ~600 names, among them files and legacy links that are not places
("Factory", "localtime", "posixrules", "EST5EDT", "US/Eastern"); people choose a city. A
zone the field already holds stays offered even when the list leaves it out, so that saving
a form never changes it silently.
"""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

from flask_babel import lazy_gettext as _l
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.utils import unset_value

SUGGEST = "data-suggest-browser-timezone"

# The areas of the IANA database whose zones are places (Area/City).
GEOGRAPHIC_AREAS = frozenset({
    "Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe",
    "Indian", "Pacific",
})

# Offered first: the zones most people pick, west to east.
COMMON_ZONES = (
    "UTC",
    "Pacific/Honolulu", "America/Anchorage", "America/Los_Angeles", "America/Vancouver",
    "America/Denver", "America/Phoenix", "America/Chicago", "America/Mexico_City",
    "America/Bogota", "America/New_York", "America/Toronto", "America/Halifax",
    "America/Sao_Paulo", "America/Argentina/Buenos_Aires",
    "Atlantic/Reykjavik", "Europe/Lisbon", "Europe/London", "Europe/Dublin",
    "Africa/Lagos", "Europe/Paris", "Europe/Madrid", "Europe/Amsterdam", "Europe/Brussels",
    "Europe/Berlin", "Europe/Zurich", "Europe/Rome", "Europe/Stockholm", "Europe/Warsaw",
    "Africa/Johannesburg", "Africa/Cairo", "Europe/Athens", "Europe/Helsinki", "Europe/Kyiv",
    "Europe/Istanbul", "Africa/Nairobi", "Europe/Moscow", "Asia/Riyadh", "Asia/Dubai",
    "Asia/Karachi", "Asia/Kolkata", "Asia/Dhaka", "Asia/Bangkok", "Asia/Jakarta",
    "Asia/Singapore", "Asia/Hong_Kong", "Asia/Shanghai", "Australia/Perth", "Asia/Manila",
    "Asia/Seoul", "Asia/Tokyo", "Australia/Brisbane", "Australia/Adelaide",
    "Australia/Sydney", "Australia/Melbourne", "Pacific/Auckland",
)


def _label(name: str) -> str:
    return name.replace("_", " ")


@cache
def _zones() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(common, other): the common zones this system knows, then every other place."""
    known = available_timezones()
    common = tuple(name for name in COMMON_ZONES if name in known)
    other = tuple(sorted(
        name for name in known
        if name.split("/", 1)[0] in GEOGRAPHIC_AREAS and "/" in name and name not in common
    ))
    return common, other


def timezone_choices(current: str | None = None) -> dict[str, list[SelectChoice]]:
    """The choices of a timezone field, in two groups; `current` (the zone saved in what the
    form edits) is kept when it is a zone the groups leave out."""
    common, other = _zones()
    others = list(other)
    if current and current not in common and current not in other and current in (
        available_timezones()
    ):
        others = sorted([*others, current])
    return {
        str(_l("Common timezones")): [SelectChoice(name, _label(name)) for name in common],
        str(_l("All timezones")): [SelectChoice(name, _label(name)) for name in others],
    }


class TimezoneField(SelectField):
    """A timezone select with `timezone_choices()`.

    `suggest_browser=True` marks a form's first showing for static/js/app.js, which then
    selects the browser's own zone while the field holds its default; once submitted, the
    field shows what the person chose.
    """

    def __init__(self, label=None, validators=None, *, suggest_browser: bool = False, **kwargs):
        render_kw = dict(kwargs.pop("render_kw", None) or {})
        if suggest_browser:
            render_kw[SUGGEST] = kwargs.get("default") or "UTC"
        super().__init__(label, validators, render_kw=render_kw, **kwargs)

    def process(self, formdata, data=unset_value, extra_filters=None):
        super().process(formdata, data, extra_filters=extra_filters)
        if formdata is not None and self.name in formdata and SUGGEST in self.render_kw:
            self.render_kw = {k: v for k, v in self.render_kw.items() if k != SUGGEST}
        # The saved zone (not one typed into a request) is kept among the choices.
        self.choices = timezone_choices(self.object_data)

"""The timezone field of every form: common zones first, places only, the browser's zone
suggested on a form's first showing, and a zone already held never lost."""

import re

import pytest

from app.core.timezones import COMMON_ZONES, timezone_choices
from tests.conftest import PASSWORD, create_user, log_in, post_form

JUNK = ("Factory", "localtime", "posixrules", "EST5EDT", "US/Eastern", "Etc/GMT+5", "GMT0",
        "Zulu", "Canada/Atlantic")


def select(html: str, name: str = "timezone") -> str:
    match = re.search(rf'<select[^>]*name="{name}".*?</select>', html, re.S)
    assert match, f"no {name} select"
    return match.group(0)


def options(html: str) -> list[str]:
    return re.findall(r'<option[^>]*value="([^"]*)"', html)


def selected(html: str) -> str:
    [value] = re.findall(r'<option selected value="([^"]*)"', html)
    return value


def test_common_zones_come_first_and_non_places_are_left_out(ctx):
    groups = timezone_choices()
    common, everything = (list(group) for group in groups.values())
    values = [choice.value for choice in common + everything]

    assert [c.value for c in common][:3] == ["UTC", "Pacific/Honolulu", "America/Anchorage"]
    assert "Europe/London" in [c.value for c in common]
    assert not set(JUNK) & set(values)
    assert len(values) == len(set(values))  # each zone once
    assert len(values) < 500  # of ~600 names on the system
    assert all(value == "UTC" or "/" in value for value in values)
    assert "America/Argentina/Buenos_Aires" in values and "Asia/Kolkata" in values


def test_the_sign_up_form_offers_the_groups_and_asks_the_browser(app, client):
    field = select(client.get("/signup").get_data(as_text=True))

    assert re.findall(r'<optgroup label="([^"]+)"', field) == ["Common timezones",
                                                              "All timezones"]
    assert options(field)[:len(COMMON_ZONES)][:2] == ["UTC", "Pacific/Honolulu"]
    assert "Factory" not in options(field) and "localtime" not in options(field)
    assert selected(field) == "UTC"
    assert 'data-suggest-browser-timezone="UTC"' in field


def test_a_submitted_sign_up_keeps_the_chosen_zone_and_suggests_nothing(app, client):
    response = post_form(client, "/signup", {"full_name": "", "email": "a@example.com",
                                             "password": PASSWORD, "timezone": "UTC"})
    field = select(response.get_data(as_text=True))

    assert response.status_code == 422
    assert selected(field) == "UTC"
    assert "data-suggest-browser-timezone" not in field  # the person chose UTC


@pytest.mark.parametrize("zone", ["Factory", "localtime", "Not/AZone"])
def test_sign_up_refuses_a_zone_that_is_not_offered(app, client, zone):
    response = post_form(client, "/signup", {"full_name": "Ann", "email": "a@example.com",
                                             "password": PASSWORD, "timezone": zone})

    assert response.status_code == 422


def test_a_legacy_zone_already_held_stays_selected_on_the_profile(app, client):
    create_user(app, email="ann@example.com", timezone="US/Eastern")
    log_in(client, "ann@example.com")

    field = select(client.get("/account/profile").get_data(as_text=True))

    assert selected(field) == "US/Eastern"
    assert "data-suggest-browser-timezone" not in field  # a saved choice is never replaced
    assert options(field).count("US/Eastern") == 1


def test_the_event_form_uses_the_same_choices_with_the_organizers_zone(app, client):
    create_user(app, email="ann@example.com", timezone="Asia/Tokyo")
    log_in(client, "ann@example.com")

    field = select(client.get("/events/new").get_data(as_text=True))

    assert '<optgroup label="Common timezones">' in field
    assert selected(field) == "Asia/Tokyo"
    assert "Factory" not in options(field)

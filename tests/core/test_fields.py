"""Bad input is never a 500: numbers beyond a column, dates at the ends of the calendar and
NUL characters get a clear message and write nothing (app/core/fields.py, app/core/bounds.py).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from dateutil.relativedelta import relativedelta

from app.accounts.models import User
from app.certificates.cpd_models import CPDPeriodKind, CPDRequirement
from app.core.bounds import shift_date
from app.core.fields import date_param, int_param, month_param
from app.events.models import Event, EventSession
from app.extensions import db
from app.states import EventStatus
from tests.conftest import create_user, log_in, post_form
from tests.factories import CalendarFactory, EventFactory, SessionFactory

NEW_EVENT = {"title": "Summer school", "timezone": "Asia/Tokyo", "start_at": "2031-07-10T09:00",
             "end_at": "2031-07-10T17:00", "format": "virtual", "visibility": "public",
             "cpd_credits": "0", "attendance_threshold": "75"}


@pytest.fixture
def organizer(app, client):
    user = create_user(app, email="organizer@example.com", timezone="Asia/Tokyo")
    log_in(client, user.email)
    return user


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def draft_event(app, organizer, **fields):
    with app.app_context():
        event = EventFactory(organizer=db.session.get(User, organizer.id),
                             status=EventStatus.DRAFT, timezone="Asia/Tokyo", **fields)
        SessionFactory(event=event)
        db.session.commit()
        return event.uuid


# --- Numbers beyond the column


@pytest.mark.parametrize("name, typed", [
    ("capacity", "99999999999999999999"),
    ("capacity", "2147483648"),
    ("max_speakers", "2147483648"),
    ("capacity", "-1"),
])
def test_a_number_beyond_its_column_is_a_message_on_its_field(app, client, organizer, name,
                                                              typed):
    response = post_form(client, "/events/new", {**NEW_EVENT, name: typed})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter a whole number from 0 to" in page
    assert 'value="Summer school"' in page and f'value="{typed}"' in page  # nothing lost
    assert count(app, Event) == 0


def test_a_venue_id_beyond_any_column_is_not_a_choice(app, client, organizer):
    response = post_form(client, "/events/new", {**NEW_EVENT, "format": "in_person",
                                                 "venue_id": "99999999999999999999"})
    assert response.status_code == 422
    assert count(app, Event) == 0


def test_a_session_capacity_beyond_the_column_is_refused(app, client, organizer):
    event_uuid = draft_event(app, organizer)
    response = post_form(client, f"/events/{event_uuid}/sessions", {
        "title": "Talk", "start_at": "2031-01-01T00:00", "end_at": "2031-01-01T00:30",
        "capacity": "2147483648",
    })
    assert response.status_code == 422
    assert "Enter a whole number from 0 to 1000000." in response.get_data(as_text=True)
    assert count(app, EventSession) == 1


# --- Dates at the ends of the calendar


@pytest.mark.parametrize("start_at", ["0001-01-01T00:00", "9999-12-31T23:00"])
def test_an_event_at_the_end_of_the_calendar_is_a_message(app, client, organizer, start_at):
    response = post_form(client, "/events/new", {**NEW_EVENT, "start_at": start_at,
                                                 "end_at": start_at[:-2] + "59"})
    assert response.status_code == 422
    assert "Choose a date from Jan 1, 1900 to Dec 31, 2999." in response.get_data(as_text=True)
    assert count(app, Event) == 0


def test_rescheduling_to_the_end_of_the_calendar_is_a_message(app, client, organizer):
    event_uuid = draft_event(app, organizer)
    response = post_form(client, f"/events/{event_uuid}/reschedule",
                         {"start_at": "9999-12-31T23:00"})
    assert response.status_code == 422
    assert "Choose a date from" in response.get_data(as_text=True)


def test_rescheduling_keeps_the_duration_within_the_supported_years(app, client, organizer):
    start = datetime(2999, 12, 1, tzinfo=UTC)
    event_uuid = draft_event(app, organizer, start_at=start, end_at=start + timedelta(days=90))
    response = post_form(client, f"/events/{event_uuid}/reschedule",
                         {"start_at": "2999-12-31T09:00"})
    assert response.status_code == 422
    assert "the end moves with the start" in response.get_data(as_text=True)


def test_a_repeat_until_the_end_of_the_calendar_is_a_message(app, client, organizer):
    event_uuid = draft_event(app, organizer)
    response = post_form(client, f"/events/{event_uuid}/recurrence",
                         {"frequency": "weekly", "interval": "1", "until": "9999-12-31"})
    assert response.status_code == 422
    assert "Choose a date from" in response.get_data(as_text=True)


@pytest.mark.parametrize("query", ["from=9999-12-31", "to=9999-12-31", "from=0001-01-01",
                                   "to=0001-01-01&from=0001-01-01"])
@pytest.mark.parametrize("zone", [None, "Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_the_listing_says_which_dates_it_reads(app, client, query, zone):
    if zone:
        create_user(app, email="viewer@example.com", timezone=zone)
        log_in(client, "viewer@example.com")
    response = client.get(f"/events?{query}")
    assert response.status_code == 200
    assert "Choose a date from Jan 1, 1900 to Dec 31, 2999" in response.get_data(as_text=True)


@pytest.mark.parametrize("month, shown, links", [
    ("9999-12", None, None), ("0001-01", None, None),
    ("1900-01", "January 1900", ("next",)), ("2999-12", "December 2999", ("prev",)),
])
def test_a_calendar_month_at_the_ends_of_the_calendar(app, month, shown, links):
    with app.app_context():
        slug = CalendarFactory(name="Cardiology").slug
        db.session.commit()
    response = app.test_client().get(f"/calendars/{slug}?month={month}")  # anonymous
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    if shown:
        assert shown in page
        assert {rel for rel in ("prev", "next") if f'rel="{rel}"' in page} == set(links)


def test_a_cpd_requirement_from_the_end_of_the_calendar_is_a_message(app, client, organizer):
    response = post_form(client, "/cpd/requirements", {
        "professional_body": "Royal College", "credits_required": "30",
        "period_kind": "yearly", "start_month": "1", "period_months": "12",
        "active_from": "9999-12-31",
    }, page="/cpd")
    assert response.status_code == 422
    assert "Choose a date from" in response.get_data(as_text=True)
    assert count(app, CPDRequirement) == 0


@pytest.mark.parametrize("kind", [CPDPeriodKind.YEARLY, CPDPeriodKind.ROLLING])
def test_a_requirement_stored_at_the_end_of_the_calendar_still_shows(app, client, organizer,
                                                                     kind):
    with app.app_context():  # as saved before the bounds: the tracker must still open
        db.session.add(CPDRequirement(
            user_id=organizer.id, professional_body="Royal College", credits_required=30,
            period_kind=kind, start_month=1, period_months=120,
            active_from=date(9999, 12, 31),
        ))
        db.session.commit()
    assert client.get("/cpd").status_code == 200
    assert client.get("/cpd?back=999").status_code == 200


# --- NUL characters


def test_a_nul_in_a_query_string_is_a_clear_400(app, client):
    response = client.get("/events?q=a%00b")
    assert response.status_code == 400
    assert "NUL character" in response.get_data(as_text=True)


def test_a_nul_in_a_sign_up_is_refused_and_nothing_is_stored(app, client):
    response = post_form(client, "/signup", {
        "full_name": "Ada\x00Lovelace", "email": "ada@example.com",
        "password": "a-Sturdy-test-passphrase-42", "timezone": "UTC",
    })
    assert response.status_code == 400
    assert "NUL character" in response.get_data(as_text=True)
    assert count(app, User) == 0


def test_a_nul_in_a_guest_registration_is_refused(app, client):
    with app.app_context():
        event = EventFactory()
        db.session.commit()
        slug, people = event.slug, db.session.scalar(sa.select(sa.func.count(User.id)))
    response = post_form(client, f"/events/{slug}/register",
                         {"full_name": "Guest\x00", "email": "guest@example.com"})
    assert response.status_code == 400
    assert count(app, User) == people


def test_a_nul_in_a_path_is_a_400(app, client):
    assert client.get("/events/a%00b").status_code == 400


# --- The readers themselves


@pytest.mark.parametrize("raw, expected", [
    (None, 1), ("", 1), ("7", 7), ("-3", 1), ("99999999999999999999", 100), ("1e3", 1),
    ("٣", 1), (" 5 ", 5), ("+4", 4),
])
def test_int_param(raw, expected):
    assert int_param(raw, 1, minimum=1, maximum=100) == expected


def test_date_and_month_params(ctx):
    assert date_param("2030-02-01") == date(2030, 2, 1)
    assert date_param("") is None
    for raw in ("9999-12-31", "0001-01-01", "2030-02-30", "٢٠٣٠-٠١-٠١", "x" * 1000):
        with pytest.raises(ValueError):
            date_param(raw)
    assert month_param("2999-12") == date(2999, 12, 1)
    assert [month_param(raw) for raw in ("9999-12", "0001-01", "2030-13", "", "x")] == [None] * 5


def test_shift_date_stops_at_the_ends_of_the_calendar():
    assert shift_date(date(9999, 12, 31), relativedelta(years=1)) == date.max
    assert shift_date(date(1, 1, 1), timedelta(days=-1)) == date.min
    assert shift_date(date(2030, 1, 31), relativedelta(months=1)) == date(2030, 2, 28)


def test_a_search_as_long_as_a_book_is_cut_to_its_first_words(app, client, organizer):
    event_uuid = draft_event(app, organizer)
    response = client.get(f"/events/{event_uuid}/speakers?q=" + "x" * 100_000)
    assert response.status_code == 200  # SQLite: "LIKE or GLOB pattern too complex"

"""iCalendar export: one event, recurring events as RRULE, and the private per-user feed."""

import re
from datetime import UTC, timedelta

import icalendar
import sqlalchemy as sa

from app.accounts.models import User
from app.core.bearer import hash_token
from app.events.models import EventRole, EventVisibility, RecurrenceFrequency, RecurringRule
from app.extensions import db
from tests.conftest import create_user, log_in, post_form
from tests.events.test_public import make
from tests.factories import EventFactory, SessionFactory, UserFactory, VenueFactory, in_days


def parse(response) -> icalendar.Calendar:
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/calendar"
    return icalendar.Calendar.from_ical(response.data)


def vevents(calendar) -> list:
    return list(calendar.walk("VEVENT"))


def test_event_without_sessions_is_one_vevent_in_utc(app, client):
    def build():
        event = EventFactory(title="Webinar", summary="One hour")
        return event.slug, event.uuid, event.start_at, event.end_at

    slug, uuid, start, end = make(app, build)
    [vevent] = vevents(parse(client.get(f"/events/{slug}.ics")))
    assert str(vevent["uid"]) == f"event-{uuid}@localhost"
    dtstart = vevent.decoded("dtstart")
    assert dtstart == start and dtstart.utcoffset() == timedelta(0)
    assert vevent.decoded("dtend") == end
    assert str(vevent["summary"]) == "Webinar"
    assert str(vevent["location"]) == "Online"
    assert str(vevent["url"]).endswith(f"/events/{slug}")
    assert "One hour" in str(vevent["description"]) and "<" not in str(vevent["description"])


def test_each_session_is_a_vevent_with_a_stable_uid(app, client):
    def build():
        venue = VenueFactory(name="Town Hall", city="Leeds")
        from app.events.models import EventFormat

        event = EventFactory(format=EventFormat.IN_PERSON, venue=venue)
        first = SessionFactory(event=event, title="First", start_at=event.start_at,
                               end_at=event.start_at + timedelta(hours=1))
        second = SessionFactory(event=event, title="Second",
                                start_at=event.start_at + timedelta(hours=2),
                                end_at=event.start_at + timedelta(hours=3), room="Room B")
        first.add_speaker(UserFactory(full_name="Ada Speaker"))
        event.cancel_session(second)
        return event.slug, [(str(s.uuid), s.start_at) for s in (first, second)]

    slug, sessions = make(app, build)
    calendar = parse(client.get(f"/events/{slug}.ics"))
    first, second = vevents(calendar)
    assert [str(v["uid"]) for v in (first, second)] == [
        f"session-{uuid}@localhost" for uuid, _ in sessions
    ]
    assert [v.decoded("dtstart") for v in (first, second)] == [start for _, start in sessions]
    assert "Town Hall" in str(first["location"]) and "Room B" in str(second["location"])
    assert "Ada Speaker" in str(first["description"])
    assert str(second["status"]) == "CANCELLED" and str(first["status"]) == "CONFIRMED"
    again = vevents(parse(client.get(f"/events/{slug}.ics")))
    assert [str(v["uid"]) for v in again] == [str(v["uid"]) for v in (first, second)]


def test_recurring_event_is_one_vevent_with_an_rrule_in_its_timezone(app, client):
    def build():
        event = EventFactory(title="Weekly meetup", timezone="Europe/London",
                             start_at=in_days(3, 18), end_at=in_days(3, 19))
        until = event.start_at + timedelta(days=70)
        event.recurring_rule = RecurringRule(
            frequency=RecurrenceFrequency.WEEKLY, interval=2, until=until, weekdays=[0, 3]
        )
        return event.slug, event.start_at, until

    slug, start, until = make(app, build)
    [vevent] = vevents(parse(client.get(f"/events/{slug}.ics")))
    dtstart = vevent.decoded("dtstart")
    assert str(dtstart.tzinfo) == "Europe/London" and dtstart == start
    assert vevent["dtstart"].params["TZID"] == "Europe/London"
    rule = vevent["rrule"]
    assert rule["FREQ"] == ["WEEKLY"] and rule["INTERVAL"] == [2]
    assert rule["BYDAY"] == ["MO", "TH"]
    assert rule["UNTIL"][0].astimezone(UTC) == until.replace(microsecond=0)
    assert b"UNTIL=" in vevent["rrule"].to_ical() and vevent["rrule"].to_ical().count(b"Z") == 1
    assert "COUNT" not in rule


def test_private_event_ics_is_404_to_strangers(app, client):
    slug = make(app, lambda: EventFactory(visibility=EventVisibility.PRIVATE).slug)
    assert client.get(f"/events/{slug}.ics").status_code == 404


def feed_url_in(response) -> str:
    match = re.search(r'id="feed-url" value="(http://localhost/feeds/[^"]+\.ics)"',
                      response.get_data(as_text=True))
    assert match, response.get_data(as_text=True)
    return match.group(1).removeprefix("http://localhost")


def stored_user_row(app, user_id: int) -> dict:
    with app.app_context():
        return dict(db.session.execute(
            sa.select(User.__table__).where(User.id == user_id)).mappings().one())


def test_private_feed_lists_my_events_and_resets(app, client):
    me = create_user(app, email="me@example.com")

    def build():
        user = db.session.get(User, me.id)
        EventFactory(title="I organise", organizer=user)
        SessionFactory(event=EventFactory(title="I speak"), title="Talk").add_speaker(user)
        EventFactory(title="I attend").add_member(user, EventRole.ATTENDEE)
        EventFactory(title="Not mine")

    make(app, build)
    log_in(client, "me@example.com")
    assert "Make my calendar link" in client.get("/dashboard").get_data(as_text=True)

    made = post_form(client, "/account/feed/reset", page="/dashboard")
    assert made.status_code == 200 and made.headers["Cache-Control"] == "private, no-store"
    feed = feed_url_in(made)
    anonymous = app.test_client()
    summaries = {str(v["summary"]) for v in vevents(parse(anonymous.get(feed)))}
    assert summaries == {"I organise", "Talk · I speak", "I attend"}
    assert anonymous.get("/feeds/not-a-token.ics").status_code == 404

    again = post_form(client, "/account/feed/reset", page="/dashboard",
                      headers={"HX-Request": "true"})
    assert again.status_code == 200 and 'id="calendar-feed"' in again.get_data(as_text=True)
    assert "<html" not in again.get_data(as_text=True)  # the fragment replaces the section
    new_feed = feed_url_in(again)
    assert new_feed != feed
    assert anonymous.get(feed).status_code == 404
    assert anonymous.get(new_feed).status_code == 200


def test_the_feed_token_is_stored_hashed_and_shown_only_once(app, client):
    me = create_user(app, email="me@example.com")
    log_in(client, "me@example.com")
    feed = feed_url_in(post_form(client, "/account/feed/reset", page="/dashboard"))
    token = feed.removeprefix("/feeds/").removesuffix(".ics")

    row = stored_user_row(app, me.id)
    assert row["feed_token_hash"] == hash_token(token) != token
    assert token not in str(row)
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert token not in dashboard and "Your calendar link is active" in dashboard
    assert "Make a new link" in dashboard
    anonymous = app.test_client()
    assert anonymous.get(feed).status_code == 200
    assert anonymous.get(f"/feeds/{row['feed_token_hash']}.ics").status_code == 404

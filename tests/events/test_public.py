"""The public listing, the event page and the dashboard: what each shows, to whom, and in a
fixed number of SQL queries."""

import re
from datetime import timedelta

from babel.dates import format_date

from app.events.models import EventFormat, EventRole, EventVisibility
from app.extensions import db
from app.states import EventStatus
from tests.conftest import create_user, log_in, query_counter
from tests.factories import (
    CategoryFactory,
    EventFactory,
    SessionFactory,
    UserFactory,
    VenueFactory,
    in_days,
)


def make(app, build):
    """Run `build()` in a request context and commit; returns what it returns."""
    with app.test_request_context():
        result = build()
        db.session.commit()
        return result


def page_text(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


# --- The listing


def test_listing_shows_only_public_published_upcoming_events(app, client):
    def build():
        EventFactory(title="Visible published")
        EventFactory(title="Visible live", status=EventStatus.LIVE,
                     start_at=in_days(-0.1), end_at=in_days(1))
        EventFactory(title="Hidden draft", status=EventStatus.DRAFT)
        EventFactory(title="Hidden private", visibility=EventVisibility.PRIVATE)
        EventFactory(title="Hidden unlisted", visibility=EventVisibility.UNLISTED)
        EventFactory(title="Hidden past", start_at=in_days(-3), end_at=in_days(-2))
        EventFactory(title="Hidden cancelled", status=EventStatus.CANCELLED)
        EventFactory(title="Hidden deleted").soft_delete()

    make(app, build)
    text = page_text(client.get("/events"))
    assert "Visible published" in text and "Visible live" in text
    assert "Hidden" not in text
    assert text.index("Visible live") < text.index("Visible published")  # by start time


def test_search_and_filters(app, client):
    def build():
        category = CategoryFactory(name="Cardiology")
        venue = VenueFactory()
        EventFactory(title="Heart failure day", categories=[category],
                     format=EventFormat.IN_PERSON, venue=venue, start_at=in_days(5))
        EventFactory(title="Wound care", summary="All about HEART-healthy dressings 100%",
                     start_at=in_days(20))
        EventFactory(title="Sleep clinic", start_at=in_days(40))
        return category.slug, in_days(5).date(), in_days(20).date()

    slug, day5, day20 = make(app, build)

    def titles(query: str) -> set[str]:
        text = page_text(client.get("/events?" + query))
        return {t for t in ("Heart failure day", "Wound care", "Sleep clinic") if t in text}

    assert titles("q=heart") == {"Heart failure day", "Wound care"}  # title or summary
    assert titles("q=100%25") == {"Wound care"}  # % is literal, not a wildcard
    assert titles(f"category={slug}") == {"Heart failure day"}
    assert titles("format=in_person") == {"Heart failure day"}
    assert titles(f"from={day20}") == {"Wound care", "Sleep clinic"}
    assert titles(f"to={day20}") == {"Heart failure day", "Wound care"}
    assert titles(f"from={day5}&to={day5}") == {"Heart failure day"}
    empty = page_text(client.get("/events?q=nothing-like-this"))
    assert "No events match your search" in empty
    bad = page_text(client.get("/events?from=31-02-2020&format=zoom"))
    assert "is not a date" in bad and "Choose a format" in bad


def test_date_filter_uses_the_viewers_timezone(app, client):
    # 20:00 UTC on day 10 is already day 11 in Tokyo.
    make(app, lambda: EventFactory(title="Late", start_at=in_days(10, 20),
                                   end_at=in_days(10, 21)))
    create_user(app, email="tokyo@example.com", timezone="Asia/Tokyo")
    day10 = in_days(10).date()
    assert "Late" in page_text(client.get(f"/events?from={day10}&to={day10}"))  # UTC
    log_in(client, "tokyo@example.com")
    assert "Late" not in page_text(client.get(f"/events?from={day10}&to={day10}"))
    day11 = day10 + timedelta(days=1)
    assert "Late" in page_text(client.get(f"/events?from={day11}&to={day11}"))


def test_pages_and_a_far_page(app, client):
    def build():
        for number in range(45):
            EventFactory(title=f"Course {number:02d}", start_at=in_days(1 + number))

    make(app, build)
    first = page_text(client.get("/events"))
    assert "Course 00" in first and "Course 19" in first and "Course 20" not in first
    assert 'rel="next"' in first and 'rel="prev"' not in first
    second = page_text(client.get("/events?page=2"))
    assert "Course 20" in second and "Course 39" in second and "Course 19" not in second
    assert 'rel="prev"' in second and "Page 2" in second
    third = page_text(client.get("/events?page=3"))
    assert "Course 44" in third and 'rel="next"' not in third
    far = page_text(client.get("/events?page=50"))
    assert "No more events" in far and "Course" not in far
    assert client.get("/events?page=abc").status_code == 200


def test_htmx_search_returns_the_results_fragment(app, client):
    make(app, lambda: EventFactory(title="Heart day"))
    response = client.get("/events?q=heart", headers={"HX-Request": "true"})
    text = page_text(response)
    assert text.lstrip().startswith('<section id="results"') and "<html" not in text
    assert "Heart day" in text
    assert "HX-Request" in response.headers["Vary"]


# --- The event page


def test_event_page_groups_the_schedule_by_day_in_the_viewers_timezone(app, client):
    def build():
        speaker = UserFactory(full_name="Ada Speaker")
        event = EventFactory(title="Night school", start_at=in_days(7, 20),
                             end_at=in_days(7, 20) + timedelta(hours=8))
        early = SessionFactory(event=event, title="Evening talk", start_at=event.start_at,
                               end_at=event.start_at + timedelta(hours=1))
        late_start = event.start_at.replace(hour=23, minute=30)
        late = SessionFactory(event=event, title="Late talk", start_at=late_start,
                              end_at=late_start + timedelta(hours=1))
        early.add_speaker(speaker)
        late.add_speaker(speaker)
        return event.slug, late_start

    slug, late_start = make(app, build)
    create_user(app, email="tokyo@example.com", timezone="Asia/Tokyo")
    log_in(client, "tokyo@example.com")
    text = page_text(client.get(f"/events/{slug}"))
    tokyo_day = (late_start + timedelta(hours=9)).date()
    london_day = late_start.date()  # 23:30 UTC is still that day in London (GMT or BST)
    assert format_date(tokyo_day, "EEEE d MMMM y", locale="en") in text
    # Both sessions are on the next day in Tokyo (05:00 and 08:30 JST): one heading.
    assert format_date(london_day, "EEEE d MMMM y", locale="en") not in text
    assert "08:30" in text and "Asia/Tokyo" in text
    assert "Europe/London" in text  # the event's own timezone is noted


def test_event_page_lists_speakers_with_their_sessions_and_cancellations(app, client):
    def build():
        ada = UserFactory(full_name="Ada Lovelace", professional_title="Engineer")
        bob = UserFactory(full_name="Bob Keynote")
        event = EventFactory(title="Big day", cpd_credits=6)
        one = SessionFactory(event=event, title="Opening",
                             start_at=event.start_at, end_at=event.start_at + timedelta(hours=1))
        two = SessionFactory(event=event, title="Closing",
                             start_at=event.start_at + timedelta(hours=2),
                             end_at=event.start_at + timedelta(hours=3))
        one.add_speaker(ada)
        two.add_speaker(ada)
        two.add_speaker(bob)
        event.cancel_session(one, "Speaker ill")
        return event.slug

    slug = make(app, build)
    text = page_text(client.get(f"/events/{slug}"))
    speakers = text[text.index('id="speakers-heading"'):]
    assert speakers.index("Ada Lovelace") < speakers.index("Bob Keynote")
    ada = speakers[speakers.index("Ada Lovelace"):speakers.index("Bob Keynote")]
    assert "Opening" in ada and "Closing" in ada
    assert "Cancelled" in text and "<del>Opening</del>" in text
    assert "<strong>practice</strong>" in text  # description_html, marked safe
    assert "CPD credits" in text
    assert f"/events/{slug}.ics" in text


def test_cancelled_event_shows_its_reason(app, client):
    def build():
        event = EventFactory(title="Storm day")
        event.cancel(db.session.get(type(event.members[0].user), event.created_by_id),
                     "The venue flooded.")
        return event.slug

    slug = make(app, build)
    text = page_text(client.get(f"/events/{slug}"))
    assert "This event has been cancelled." in text and "The venue flooded." in text


def test_private_and_draft_events_are_404_to_others_and_visible_to_their_people(app, client):
    organizer = create_user(app, email="org@example.com")
    create_user(app, email="stranger@example.com")

    def build():
        from app.accounts.models import User

        user = db.session.get(User, organizer.id)
        return [
            EventFactory(title=title, organizer=user, **fields).slug
            for title, fields in (
                ("Private one", {"visibility": EventVisibility.PRIVATE}),
                ("Draft one", {"status": EventStatus.DRAFT}),
            )
        ]

    slugs = make(app, build)
    for slug in slugs:
        assert client.get(f"/events/{slug}").status_code == 404
        assert client.get(f"/events/{slug}.ics").status_code == 404
    log_in(client, "stranger@example.com")
    for slug in slugs:
        assert client.get(f"/events/{slug}").status_code == 404
    owner = app.test_client()
    log_in(owner, "org@example.com")
    for slug in slugs:
        assert owner.get(f"/events/{slug}").status_code == 200
        assert owner.get(f"/events/{slug}.ics").status_code == 200
    assert client.get("/events/no-such-event").status_code == 404


def test_unlisted_event_is_reachable_by_its_link(app, client):
    slug = make(app, lambda: EventFactory(title="By link",
                                          visibility=EventVisibility.UNLISTED).slug)
    assert "By link" in page_text(client.get(f"/events/{slug}"))


def test_organizer_sees_repeat_settings_and_others_do_not(app, client):
    organizer = create_user(app, email="org@example.com")

    def build():
        from app.accounts.models import User

        event = EventFactory(organizer=db.session.get(User, organizer.id))
        return event.slug, event.uuid

    slug, event_uuid = make(app, build)
    assert f"/events/{event_uuid}/recurrence" not in page_text(client.get(f"/events/{slug}"))
    log_in(client, "org@example.com")
    assert f"/events/{event_uuid}/recurrence" in page_text(client.get(f"/events/{slug}"))


# --- Dashboard


def test_dashboard_sections_and_empty_states(app, client):
    user = create_user(app, email="me@example.com")
    log_in(client, "me@example.com")
    empty = page_text(client.get("/dashboard"))
    # Someone who organises and speaks at nothing sees no organizer sections or tools, only
    # a small way to start an event.
    assert "organizing-heading" not in empty and "Events I organise" not in empty
    assert "speaking-heading" not in empty
    assert "Certificate templates" not in empty
    assert re.search(r'class="button button-small button-secondary" href="/events/new"', empty)
    assert "You are not registered for any upcoming events." in empty

    def build():
        from app.accounts.models import User

        me = db.session.get(User, user.id)
        EventFactory(title="Mine to run", organizer=me)
        EventFactory(title="Mine done", organizer=me, start_at=in_days(-5),
                     end_at=in_days(-4))
        talk_event = EventFactory(title="Where I talk")
        SessionFactory(event=talk_event, title="My talk").add_speaker(me)
        EventFactory(title="Where I listen").add_member(me, EventRole.ATTENDEE)
        EventFactory(title="Not mine")

    make(app, build)
    text = page_text(client.get("/dashboard"))
    organise = text[text.index("organizing-heading"):text.index("speaking-heading")]
    speak = text[text.index("speaking-heading"):text.index("attending-heading")]
    attend = text[text.index("attending-heading"):text.index("feed-heading")]
    assert organise.index("Mine to run") < organise.index("Mine done")  # upcoming first
    assert "My talk" in speak and "Where I talk" in speak
    assert "Where I listen" in attend
    assert "Not mine" not in text
    assert "Certificate templates" in text  # an organizer's tools, once there is an event


def test_dashboard_needs_login(client):
    assert client.get("/dashboard").headers["Location"].startswith("/login")


# --- Constant query counts


def count_queries(app, client, path: str) -> int:
    with app.app_context(), query_counter(db.engine) as statements:
        assert client.get(path).status_code == 200
    return len(statements)


def test_listing_runs_the_same_queries_for_2_and_20_events(app, client):
    create_user(app, email="me@example.com")
    log_in(client, "me@example.com")  # no page cache for people who are logged in

    def add(count):
        def build():
            venue = VenueFactory()
            category = CategoryFactory()
            for number in range(count):
                EventFactory(format=EventFormat.HYBRID, venue=venue, categories=[category],
                             start_at=in_days(1 + number))
        make(app, build)

    def warm_count(path):
        client.get(path)  # the category filter's choices are cached per cache generation
        return count_queries(app, client, path)

    add(2)
    few = warm_count("/events")
    add(18)
    many = warm_count("/events")
    assert few == many
    assert warm_count("/events?q=clinical&format=hybrid&page=2") == few


def test_event_page_runs_the_same_queries_for_2_and_20_sessions(app, client):
    create_user(app, email="me@example.com")
    log_in(client, "me@example.com")

    def build(count):
        event = EventFactory(start_at=in_days(7, 0), end_at=in_days(7, 0) + timedelta(hours=23))
        for number in range(count):
            start = event.start_at + timedelta(hours=number)
            session = SessionFactory(event=event, start_at=start,
                                     end_at=start + timedelta(minutes=50))
            session.add_speaker(UserFactory())
        return event.slug

    small, large = make(app, lambda: build(2)), make(app, lambda: build(20))
    assert count_queries(app, client, f"/events/{small}") == count_queries(
        app, client, f"/events/{large}"
    )


def test_dashboard_runs_the_same_queries_for_2_and_20_events(app):
    def build(count):
        me = UserFactory()
        for number in range(count):
            EventFactory(organizer=me, start_at=in_days(1 + number))
            event = EventFactory(start_at=in_days(1 + number))
            SessionFactory(event=event).add_speaker(me)
            EventFactory(start_at=in_days(1 + number)).add_member(me, EventRole.ATTENDEE)
        return me.email

    counts = []
    for count in (2, 20):
        email = make(app, lambda count=count: build(count))
        client = app.test_client()
        log_in(client, email)
        client.get("/dashboard")  # the first visit makes the feed token
        counts.append(count_queries(app, client, "/dashboard"))
    assert counts[0] == counts[1]


def test_a_visitor_never_sees_a_stale_page_after_an_organizer_saves(app, client):
    """The anonymous page cache serves the event page without a query, and the organizer's
    save (here: cancelling, which the page shows with its reason) invalidates it."""
    from tests.conftest import post_form

    organizer = create_user(app, email="org@example.com")

    def build():
        from app.accounts.models import User

        event = EventFactory(organizer=db.session.get(User, organizer.id))
        return event.slug, event.uuid

    slug, event_uuid = make(app, build)
    path = f"/events/{slug}"
    assert "Venue flooded" not in page_text(client.get(path))
    assert count_queries(app, client, path) == 0  # served from the page cache

    organizer_client = app.test_client()
    log_in(organizer_client, "org@example.com")
    manage = f"/events/{event_uuid}/manage"
    response = post_form(
        organizer_client, f"/events/{event_uuid}/cancel", {"reason": "Venue flooded"}, page=manage
    )
    assert response.status_code == 303
    assert "Venue flooded" in page_text(client.get(path))


def test_event_page_shows_every_category(app, client):
    def build():
        event = EventFactory(categories=[CategoryFactory(name="Cardiology"),
                                         CategoryFactory(name="Nursing")])
        return event.slug

    slug = make(app, build)
    with app.test_request_context():
        from app.events.queries import event_by_slug

        assert sorted(c.name for c in event_by_slug(slug).categories) == ["Cardiology", "Nursing"]

"""Matching Zoom participants to registrations and turning intervals into attendance;
the organizer's attendance page (app/zoom/attendance.py, app/zoom/manage.py)."""

import csv
import io
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from app.accounts.models import User
from app.core.types import utcnow
from app.events.models import Event
from app.extensions import db
from app.registrations.models import Registration
from app.states import RegistrationStatus
from app.zoom.attendance import AttendanceService, merged_seconds, normalise_name
from app.zoom.models import AttendanceRecord, AttendanceSource, SessionAttendance
from tests.conftest import create_user, csrf_token, log_in, query_counter
from tests.factories import EventFactory, SessionFactory
from tests.zoom.helpers import MEETING_ID, MEETING_UUID, deliver, meeting_event, participant_event

JOINED, LEFT = "meeting.participant_joined", "meeting.participant_left"
T0 = datetime(2024, 6, 20, 16, 0, tzinfo=UTC)
HX = {"HX-Request": "true"}


def t(minute: int) -> datetime:
    return T0 + timedelta(minutes=minute)


def at(minute: int) -> str:
    return t(minute).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- Intervals


def test_overlapping_intervals_count_once():
    spans = [(t(0), t(30)), (t(20), t(40)), (t(50), t(55))]
    assert merged_seconds(spans, t(0), t(60)) == 45 * 60


def test_intervals_are_clipped_to_the_window():
    spans = [(t(-10), t(10)), (t(50), t(80))]
    assert merged_seconds(spans, t(0), t(60)) == 20 * 60
    assert merged_seconds([(t(70), t(80))], t(0), t(60)) == 0


def test_names_are_normalised():
    assert normalise_name("  José   O'Neil ") == normalise_name("jose oneil") == "jose oneil"


# --- Setup


def build(organizer_id=None, *, threshold=75, people=(), multi=True):
    """A published event with a 60-minute session on MEETING_ID (16:00–17:00) and a second
    session; `people` are (full name, email) of confirmed registrations."""
    fields = {"organizer": db.session.get(User, organizer_id)} if organizer_id else {}
    event = EventFactory(attendance_threshold=threshold, **fields)
    session = SessionFactory(event=event, zoom_meeting_id=MEETING_ID, title="Opening talk",
                             start_at=t(0), end_at=t(60))
    if multi:
        SessionFactory(event=event, title="Second talk", start_at=t(120), end_at=t(180))
    registrations = [
        Registration(event=event, email=email, full_name=name,
                     status=RegistrationStatus.CONFIRMED, confirmed_at=utcnow())
        for name, email in people
    ]
    db.session.add_all(registrations)
    db.session.flush()
    return event, session, registrations


def interval(event, session, name, email, join, leave, key=None, registration=None):
    record = AttendanceRecord(
        event=event, session=session, meeting_id=MEETING_ID, meeting_uuid=MEETING_UUID,
        participant_key=key or f"key:{name}:{email}", user_name=name, email=email,
        join_at=t(join), leave_at=None if leave is None else t(leave),
        registration_id=registration.id if registration else None,
    )
    db.session.add(record)
    db.session.flush()
    return record


# --- Matching


def test_matching_by_email_then_by_a_unique_name(ctx):
    event, session, (ann, bob, _kim1, _kim2) = build(people=[
        ("Ann Archer", "ann@example.com"), ("Bob Baker", "bob@example.com"),
        ("Kim Lee", "kim1@example.com"), ("Kim Lee", "kim2@example.com"),
    ])
    by_email = interval(event, session, "Somebody", "ANN@example.com ", 0, 10)
    by_name = interval(event, session, "bob  BAKER", "", 0, 10)
    ambiguous = interval(event, session, "Kim Lee", "", 0, 10)
    stranger = interval(event, session, "Zed", "zed@example.com", 0, 10)
    assert AttendanceService.match(event, session) == 2
    assert by_email.registration_id == ann.id
    assert by_name.registration_id == bob.id
    assert ambiguous.registration_id is None  # two registrations have that name
    assert stranger.registration_id is None


def test_matching_skips_cancelled_registrations_and_ignored_participants(ctx):
    event, session, (ann, bob) = build(people=[("Ann Archer", "ann@example.com"),
                                               ("Bob Baker", "bob@example.com")])
    ann.status = RegistrationStatus.CANCELLED
    ignored = interval(event, session, "Bob Baker", "bob@example.com", 0, 10)
    ignored.ignored_at = utcnow()
    left = interval(event, session, "Ann", "ann@example.com", 0, 10)
    assert AttendanceService.match(event, session) == 0
    assert left.registration_id is None and ignored.registration_id is None


# --- Attendance


def attendance(event, session) -> dict[int, tuple]:
    rows = AttendanceService.recompute(event, session)
    return {key: (row.minutes, row.percent, row.attended) for key, row in rows.items()}


def test_minutes_percent_and_threshold(ctx):
    event, session, (ann, bob, cy) = build(people=[
        ("Ann", "ann@example.com"), ("Bob", "bob@example.com"), ("Cy", "cy@example.com")])
    interval(event, session, "Ann", "", 0, 30, registration=ann)
    interval(event, session, "Ann", "", 20, 50, key="ann-rejoin", registration=ann)  # overlap
    interval(event, session, "Bob", "", -15, 44, registration=bob)  # early: clipped at 16:00
    interval(event, session, "Cy", "", 0, 45, registration=cy)
    assert attendance(event, session) == {
        ann.id: (50, 83, True), bob.id: (44, 73, False), cy.id: (45, 75, True),
    }
    event.attendance_threshold = 80
    assert attendance(event, session)[ann.id] == (50, 83, True)
    assert attendance(event, session)[cy.id] == (45, 75, False)


def test_the_actual_meeting_times_replace_the_scheduled_ones(app, client):
    with app.test_request_context():
        event, session, (ann,) = build(people=[("Jill Chill", "jill@example.com")])
        db.session.commit()
        ids = event.id, session.id, ann.id
    deliver(client, meeting_event("meeting.started", start_time=at(10)))
    deliver(client, participant_event(JOINED, at(5)))
    deliver(client, participant_event(LEFT, at(40)))
    deliver(client, participant_event(JOINED, at(45), participant_uuid="second-device"))
    deliver(client, participant_event(LEFT, at(50), participant_uuid="second-device"))
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(SessionAttendance.id))) == 0
    deliver(client, meeting_event("meeting.ended", end_time=at(50)))
    with app.app_context():
        row = db.session.scalar(sa.select(SessionAttendance))
        assert (row.event_id, row.session_id, row.registration_id) == ids
        # 16:10 (actual start) to 16:40, and 16:45–16:50, of 40 actual minutes.
        assert (row.minutes, row.percent, row.attended, row.sources) == (35, 87, True, "zoom")
        assert db.session.scalar(sa.select(AttendanceRecord.registration_id).limit(1)) == ids[2]
    # A late "left" after the end is counted too.
    deliver(client, participant_event(JOINED, at(46), participant_uuid="third-device"))
    deliver(client, participant_event(LEFT, at(49), participant_uuid="third-device"))
    with app.app_context():
        assert db.session.scalar(sa.select(SessionAttendance.minutes)) == 35


def test_a_repeated_ended_does_not_double_count(app, client):
    with app.test_request_context():
        build(people=[("Jill Chill", "jill@example.com")])
        db.session.commit()
    deliver(client, participant_event(JOINED, at(0)))
    deliver(client, participant_event(LEFT, at(30)))
    deliver(client, meeting_event("meeting.ended", end_time=at(60)))
    deliver(client, meeting_event("meeting.ended", end_time=at(60), topic="retried"))
    with app.app_context():
        rows = db.session.execute(sa.select(SessionAttendance.minutes)).all()
        assert rows == [(30,)]


# --- The organizer's page


def organizer_setup(app, people, unmatched=()):
    organizer = create_user(app, full_name="Olga Organizer")
    with app.test_request_context():
        event, session, registrations = build(organizer.id, people=people)
        for n, reg in enumerate(registrations):
            interval(event, session, reg.full_name, str(reg.email), 0, 30 + n % 30,
                     registration=reg)
        for name, email in unmatched:
            interval(event, session, name, email, 0, 15)
            interval(event, session, name, email, 20, 25)  # same participant, re-join
        AttendanceService.recompute(event, session)
        db.session.commit()
        ids = {"event": event.uuid, "session": session.id,
               "registrations": [r.uuid for r in registrations]}
    client = app.test_client()
    log_in(client, organizer.email)
    return client, ids


def page(event_uuid) -> str:
    return f"/events/{event_uuid}/attendance"


def test_the_page_shows_each_attendee_and_the_unmatched(app):
    client, ids = organizer_setup(
        app, [("Ann Archer", "ann@example.com"), ("Bob Baker", "bob@example.com")],
        unmatched=[("Zed Zoom", "zed@example.com")])
    response = client.get(page(ids["event"]))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Opening talk" in html and "Second talk" in html
    assert "Ann Archer" in html and "50 %" in html and "Bob Baker" in html and "51 %" in html
    assert "Zed Zoom" in html and "20 min" in html  # two intervals of one participant
    assert "Participants we could not match" in html
    assert html.count("Participants we could not match") == 1  # only under its session
    assert "Attended, per session" in html and "0 of 2 attended" in html  # 50 % < 75 %


def unmatched_record(app) -> AttendanceRecord:
    with app.app_context():
        record = db.session.scalar(
            sa.select(AttendanceRecord).where(AttendanceRecord.registration_id.is_(None))
            .order_by(AttendanceRecord.join_at)
        )
        db.session.expunge(record)
        return record


def test_matching_by_hand_counts_every_interval_of_the_participant(app):
    client, ids = organizer_setup(app, [("Ann Archer", "ann@example.com")],
                                  unmatched=[("Zed Zoom", "zed@example.com")])
    record = unmatched_record(app)
    token = csrf_token(client, page(ids["event"]))
    url = f"{page(ids['event'])}/{record.uuid}/match"
    refused = client.post(url, data={"csrf_token": token, "registration": "nonsense"})
    assert refused.status_code == 303
    assert "Choose one of this event" in client.get(page(ids["event"])).get_data(as_text=True)
    response = client.post(url, headers=HX, data={
        "csrf_token": token, "registration": str(ids["registrations"][0])})
    assert response.status_code == 204 and response.headers["HX-Redirect"] == page(ids["event"])
    with app.app_context():
        ann = db.session.scalar(sa.select(Registration))
        matched = db.session.scalars(
            sa.select(AttendanceRecord.registration_id).where(
                AttendanceRecord.user_name == "Zed Zoom")).all()
        assert matched == [ann.id, ann.id]
        row = db.session.scalar(sa.select(SessionAttendance))
        assert row.minutes == 30  # 0–30 of Ann's own, and Zed's 0–15 and 20–25 inside it
    html = client.get(page(ids["event"])).get_data(as_text=True)
    assert "is now matched to Ann Archer" in html
    assert "Participants we could not match" not in html


def test_ignoring_a_participant_removes_them_from_the_list(app):
    client, ids = organizer_setup(app, [("Ann Archer", "ann@example.com")],
                                  unmatched=[("Zed Zoom", "zed@example.com")])
    record = unmatched_record(app)
    token = csrf_token(client, page(ids["event"]))
    response = client.post(f"{page(ids['event'])}/{record.uuid}/ignore",
                           data={"csrf_token": token})
    assert response.status_code == 303
    with app.app_context():
        ignored = db.session.scalars(sa.select(AttendanceRecord.ignored_at).where(
            AttendanceRecord.user_name == "Zed Zoom")).all()
        assert len(ignored) == 2 and all(ignored)
    html = client.get(page(ids["event"])).get_data(as_text=True)
    assert "Zed Zoom is ignored." in html and "Participants we could not match" not in html
    # and a later automatic pass leaves them alone
    with app.app_context():
        event = db.session.scalar(sa.select(Event))
        db.session.add(Registration(event=event, email="zed@example.com", full_name="Zed Zoom",
                                    status=RegistrationStatus.CONFIRMED))
        db.session.flush()
        assert AttendanceService.match(event, all_sessions=True) == 0


def test_a_record_of_another_event_is_not_found(app):
    client, ids = organizer_setup(app, [("Ann Archer", "ann@example.com")])
    with app.test_request_context():
        other, session, _ = build(people=[])
        record = interval(other, session, "Zed", "", 0, 10)
        db.session.commit()
        record_uuid = record.uuid
    token = csrf_token(client, page(ids["event"]))
    response = client.post(f"{page(ids['event'])}/{record_uuid}/ignore",
                           data={"csrf_token": token})
    assert response.status_code == 404


def test_the_csv(app):
    client, ids = organizer_setup(
        app, [("Ann Archer", "ann@example.com"), ("Bob Baker", "bob@example.com")])
    response = client.get(page(ids["event"]) + ".csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["session", "name", "email", "minutes", "percent", "attended", "sources"]
    assert ["Opening talk", "Ann Archer", "ann@example.com", "30", "50", "no", "zoom"] in rows
    assert ["Opening talk", "Bob Baker", "bob@example.com", "31", "51", "no", "zoom"] in rows
    assert ["Second talk", "Ann Archer", "ann@example.com", "0", "0", "no", ""] in rows


def test_the_page_runs_the_same_number_of_queries_with_2_and_20_attendees(app):
    counts = []
    for size in (2, 20):
        people = [(f"Person {n:02} of {size}", f"p{n}-{size}@example.com") for n in range(size)]
        client, ids = organizer_setup(app, people, unmatched=[
            (f"Stranger {n} of {size}", f"s{n}-{size}@example.com") for n in range(size)])
        client.get(page(ids["event"]))  # warm up
        with app.app_context():
            engine = db.engine
        with query_counter(engine) as statements:
            response = client.get(page(ids["event"]))
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert f"Person {size - 1:02} of {size}" in html
        assert f"Stranger {size - 1} of {size}" in html
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


def test_someone_else_may_not_see_the_page(app):
    client, ids = organizer_setup(app, [("Ann Archer", "ann@example.com")])
    stranger = create_user(app, full_name="Sam Stranger")
    other = app.test_client()
    log_in(other, stranger.email)
    assert other.get(page(ids["event"])).status_code == 403
    assert other.get(page(ids["event"]) + ".csv").status_code == 403


def test_the_single_session_event_meeting(app, ctx):
    event = EventFactory(zoom_meeting_id="999")
    ann = Registration(event=event, email="ann@example.com", full_name="Ann",
                       status=RegistrationStatus.CONFIRMED)
    db.session.add(ann)
    db.session.flush()
    record = AttendanceRecord(event=event, meeting_id="999", meeting_uuid="u",
                              email="ann@example.com", participant_key="k",
                              join_at=event.start_at,
                              leave_at=event.end_at, source=AttendanceSource.ZOOM)
    db.session.add(record)
    db.session.flush()
    AttendanceService.refresh(event, None)
    row = db.session.scalar(sa.select(SessionAttendance))
    assert row.session_id is None and row.registration_id == ann.id
    assert (row.percent, row.attended) == (100, True)


def test_the_attendee_sees_their_own_attendance(app):
    person = create_user(app, full_name="Ann Archer", email="ann@example.com")
    with app.test_request_context():
        event, session, (ann, bob) = build(people=[("Ann Archer", "ann@example.com"),
                                                   ("Bob Baker", "bob@example.com")])
        ann.user_id = person.id
        interval(event, session, "Ann", "", 0, 48, registration=ann)
        interval(event, session, "Bob", "", 0, 12, registration=bob)
        AttendanceService.recompute(event, session)
        db.session.commit()
        slug = event.slug
    client = app.test_client()
    log_in(client, person.email)
    html = client.get(f"/events/{slug}/registration").get_data(as_text=True)
    assert "Your attendance" in html and "Opening talk" in html
    assert "48 min, 80 % of the session" in html and "12 min" not in html

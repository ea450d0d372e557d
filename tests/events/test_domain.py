"""Event domain rules: sessions, rescheduling, state machine and history, speakers (seed 001),
Markdown sanitising, and the user-side queries of seed 000."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from app.core.errors import InvalidTransition, ValidationError
from app.events.models import EventFormat, EventRole, EventVisibility
from app.events.services import EventDetails, EventService, SpeakerService, render_markdown
from app.extensions import db
from app.states import EventStatus, SessionStatus
from tests.factories import EventFactory, SessionFactory, UserFactory, VenueFactory, in_days

LA = ZoneInfo("America/Los_Angeles")
TOKYO = ZoneInfo("Asia/Tokyo")


def details(**overrides) -> EventDetails:
    start = in_days(10, 9)
    values = dict(title="Cardiology update", start_at=start, end_at=start + timedelta(hours=8),
                  timezone="Europe/London", format=EventFormat.VIRTUAL)
    values.update(overrides)
    return EventDetails(**values)


def test_create_makes_a_draft_with_its_organizer_and_history(ctx):
    organizer = UserFactory()
    event = EventService.create(organizer, details(description="Hi <script>x()</script> **there**"))
    assert event.status == EventStatus.DRAFT
    assert event.get_role(organizer) == EventRole.ORGANIZER
    assert organizer.can_edit_event(event)
    assert [(h.from_status, h.to_status) for h in event.history] == [(None, EventStatus.DRAFT)]
    assert "<script" not in event.description_html
    assert "<strong>there</strong>" in event.description_html
    assert event.slug == "cardiology-update"


@pytest.mark.parametrize("overrides, field", [
    ({"title": " "}, "title"),
    ({"timezone": "Mars/Base"}, "timezone"),
    ({"end_at": in_days(10, 8)}, "end_at"),
    ({"capacity": -1}, "capacity"),
    ({"cpd_credits": "lots"}, "cpd_credits"),
    ({"format": EventFormat.IN_PERSON}, "venue_id"),
])
def test_create_refuses_bad_details_with_the_field(ctx, overrides, field):
    with pytest.raises(ValidationError) as caught:
        EventService.create(UserFactory(), details(**overrides))
    assert caught.value.field == field


def test_markdown_links_are_kept_safe():
    html = render_markdown(
        "[x](javascript:alert(1)) [y](https://example.com) <img src=x onerror=1>"
    )
    assert 'href="javascript' not in html and "<img" not in html
    assert 'href="https://example.com"' in html and "noopener" in html


def test_sessions_must_lie_within_the_event_and_not_overlap(ctx):
    event = EventFactory()
    start, hour = event.start_at, timedelta(hours=1)
    event.add_session(title="Opening", start_at=start, end_at=start + hour)
    with pytest.raises(ValidationError, match="overlaps “Opening”"):
        event.add_session(title="Clash", start_at=event.start_at + timedelta(minutes=30),
                          end_at=event.start_at + timedelta(hours=2))
    with pytest.raises(ValidationError, match="within the event"):
        event.add_session(title="Late", start_at=event.end_at, end_at=event.end_at + hour)
    with pytest.raises(ValidationError, match="end after it starts"):
        event.add_session(title="Backwards", start_at=event.start_at + timedelta(hours=3),
                          end_at=event.start_at + timedelta(hours=2))
    event.allow_parallel_sessions = True
    event.add_session(title="Parallel", start_at=start, end_at=start + hour)
    assert len(event.get_schedule()) == 2


def test_reschedule_shifts_every_session_and_keeps_the_duration(ctx):
    event = EventFactory()
    session = SessionFactory(event=event, start_at=event.start_at + timedelta(hours=2))
    new_start = event.start_at + timedelta(days=3)
    event.reschedule(new_start, new_start + timedelta(hours=8))
    assert session.start_at == new_start + timedelta(hours=2)
    with pytest.raises(ValidationError, match="keeps its duration"):
        event.reschedule(new_start, new_start + timedelta(hours=9))


def test_event_state_machine_writes_history_and_refuses_invalid_moves(ctx):
    organizer = UserFactory()
    event = EventFactory(status=EventStatus.DRAFT, organizer=organizer)
    event.publish(organizer)
    event.start()
    event.complete()
    event.close(organizer)
    event.reopen(organizer, reason="Late certificates")
    assert event.status == EventStatus.COMPLETED
    assert [h.to_status for h in event.history] == [
        EventStatus.PUBLISHED, EventStatus.LIVE, EventStatus.COMPLETED,
        EventStatus.CLOSED, EventStatus.COMPLETED,
    ]
    assert event.history[-1].reason == "Late certificates"
    with pytest.raises(InvalidTransition, match="Cannot cancel: the event is completed"):
        event.cancel(organizer, "Too late")


def test_cancel_needs_a_reason_and_cancels_the_sessions(ctx):
    organizer = UserFactory()
    event = EventFactory(organizer=organizer)
    session = SessionFactory(event=event)
    with pytest.raises(ValidationError, match="reason"):
        event.cancel(organizer, " ")
    event.cancel(organizer, "Venue flooded")
    assert event.status == EventStatus.CANCELLED and session.status == SessionStatus.CANCELLED
    with pytest.raises(ValidationError, match="can no longer be changed"):
        event.reschedule(event.start_at + timedelta(days=1), event.end_at + timedelta(days=1))


def test_publishing_an_in_person_event_needs_a_venue(ctx):
    organizer = UserFactory()
    event = EventFactory(
        status=EventStatus.DRAFT, format=EventFormat.IN_PERSON, organizer=organizer
    )
    with pytest.raises(ValidationError, match="a venue"):
        event.publish(organizer)
    assert event.status == EventStatus.DRAFT
    event.venue = VenueFactory()
    event.publish(organizer)
    assert event.status == EventStatus.PUBLISHED


def test_session_signals_are_idempotent(ctx):
    session = SessionFactory()
    assert session.go_live() is True
    assert session.go_live() is False  # a repeated "meeting started" is a no-op
    assert session.finish() is True
    assert session.finish() is False
    assert session.status == SessionStatus.COMPLETED


def test_private_and_draft_events_are_visible_only_to_their_people(ctx):
    organizer, stranger = UserFactory(), UserFactory()
    private = EventFactory(visibility=EventVisibility.PRIVATE, organizer=organizer)
    draft = EventFactory(status=EventStatus.DRAFT, organizer=organizer)
    public = EventFactory()
    assert organizer.can_view_event(private) and organizer.can_view_event(draft)
    assert not stranger.can_view_event(private) and not stranger.can_view_event(draft)
    assert stranger.can_view_event(public)
    assert not stranger.can_edit_event(public)


# --- Speakers (seed 001)


def test_adding_a_session_speaker_gives_the_speaker_role(ctx):
    session = SessionFactory()
    speaker = UserFactory()
    SpeakerService.register_speaker_for_session(session, speaker)
    assert session.event.get_role(speaker) == EventRole.SPEAKER
    assert speaker in session.event.get_speakers()
    assert speaker.get_speaking_sessions() == [session]
    with pytest.raises(ValidationError, match="already speaks at this session"):
        SpeakerService.register_speaker_for_session(session, speaker)


def test_speaker_schedule_conflict(ctx):
    speaker = UserFactory()
    first = SessionFactory()
    other_event = EventFactory(start_at=first.event.start_at, end_at=first.event.end_at)
    clash = SessionFactory(event=other_event, start_at=first.start_at + timedelta(minutes=30))
    SpeakerService.register_speaker_for_session(first, speaker)
    with pytest.raises(ValidationError, match="another session at that time"):
        SpeakerService.register_speaker_for_session(clash, speaker)


def test_event_speaker_limit_and_session_speaker_capacity(ctx):
    event = EventFactory(max_speakers=1)
    session = SessionFactory(event=event, speaker_capacity=2)
    SpeakerService.register_speaker_for_session(session, UserFactory())
    with pytest.raises(ValidationError, match="already has its 1 speaker"):
        SpeakerService.register_speaker_for_session(session, UserFactory())
    event.max_speakers = None
    SpeakerService.register_speaker_for_session(session, UserFactory())
    with pytest.raises(ValidationError, match="already has its 2 speaker"):
        SpeakerService.register_speaker_for_session(session, UserFactory())


def test_a_speaker_may_give_at_most_three_sessions_a_day(ctx):
    event = EventFactory()
    event.allow_parallel_sessions = True
    speaker = UserFactory()
    sessions = [
        SessionFactory(event=event, start_at=event.start_at + timedelta(hours=2 * n))
        for n in range(4)
    ]
    for session in sessions[:3]:
        SpeakerService.register_speaker_for_session(session, speaker)
    with pytest.raises(ValidationError, match="3 sessions that day"):
        SpeakerService.register_speaker_for_session(sessions[3], speaker)


def test_required_certification_must_be_valid_on_the_day(ctx):
    from app.accounts.models import UserCertification

    session = SessionFactory(required_certification="ACLS")
    speaker = UserFactory()
    with pytest.raises(ValidationError, match="“ACLS” certification"):
        SpeakerService.register_speaker_for_session(session, speaker)
    expired = UserCertification(user=speaker, cert_type="ACLS", expires_on=date(2020, 1, 1))
    db.session.add(expired)
    db.session.flush()
    with pytest.raises(ValidationError, match="certification"):
        SpeakerService.register_speaker_for_session(session, speaker)
    expired.expires_on = session.start_at.date() + timedelta(days=30)
    SpeakerService.register_speaker_for_session(session, speaker)


def test_user_dashboard_queries(ctx):
    user = UserFactory()
    managed = EventFactory(organizer=user)
    speaking = SessionFactory()
    SpeakerService.register_speaker_for_session(speaking, user)
    EventFactory(start_at=in_days(-10), end_at=in_days(-10) + timedelta(hours=2), organizer=user)
    assert user.get_managed_events()[0] == managed or managed in user.get_managed_events()
    upcoming = dict(user.get_upcoming_events())
    assert upcoming[managed] == EventRole.ORGANIZER
    assert upcoming[speaking.event] == EventRole.SPEAKER
    assert len(upcoming) == 2  # the past event is not upcoming


# --- The speaker's day is the event's local day (seed 001)


def winter_event(timezone: str, first_utc: datetime, hours: int = 30):
    """A published event in `timezone` from `first_utc` (January: no daylight saving)."""
    return EventFactory(timezone=timezone, start_at=first_utc,
                        end_at=first_utc + timedelta(hours=hours), allow_parallel_sessions=True)


def test_three_sessions_a_day_counts_the_events_local_day_not_utc(ctx):
    # Los Angeles is UTC-8 in January: 17:00 and 19:00 local on the 15th are the 16th in UTC.
    event = winter_event("America/Los_Angeles", datetime(2031, 1, 15, 16, tzinfo=UTC))
    speaker = UserFactory()
    local = [(9, 0), (13, 0), (17, 0), (19, 0)]
    sessions = [
        SessionFactory(event=event, start_at=datetime(2031, 1, 15, h, m, tzinfo=LA).astimezone(UTC))
        for h, m in local
    ]
    for session in sessions[:3]:
        SpeakerService.register_speaker_for_session(session, speaker)
    assert {s.local_date() for s in sessions} == {date(2031, 1, 15)}
    assert speaker.get_speaking_sessions(on=date(2031, 1, 15), tz=event.tzinfo) == sessions[:3]
    assert speaker.get_speaking_sessions(on=date(2031, 1, 15)) == sessions[:2]  # UTC by default
    with pytest.raises(ValidationError, match="3 sessions that day"):
        SpeakerService.register_speaker_for_session(sessions[3], speaker)


def test_a_session_early_next_local_day_is_another_day_even_on_the_same_utc_day(ctx):
    # Tokyo is UTC+9: 08:00 on the 16th is 23:00 on the 15th in UTC, like 19:00–21:00 local.
    event = winter_event("Asia/Tokyo", datetime(2031, 1, 15, 9, tzinfo=UTC))
    speaker = UserFactory()
    evening = [datetime(2031, 1, 15, h, tzinfo=TOKYO) for h in (19, 20, 21)]
    for start in evening:
        SpeakerService.register_speaker_for_session(
            SessionFactory(event=event, start_at=start.astimezone(UTC)), speaker
        )
    morning = SessionFactory(
        event=event, start_at=datetime(2031, 1, 16, 8, tzinfo=TOKYO).astimezone(UTC)
    )
    assert morning.start_at.date() == date(2031, 1, 15)  # the UTC day of the others
    SpeakerService.register_speaker_for_session(morning, speaker)
    assert morning.has_speaker(speaker)


@pytest.mark.parametrize("zone, local_start, valid", [
    # 20:00 on the 15th in Los Angeles is the 16th in UTC: a certification expiring on the
    # 15th is still valid on the local day of the session.
    ("America/Los_Angeles", datetime(2031, 1, 15, 20), True),
    # 08:00 on the 16th in Tokyo is still the 15th in UTC: the certification has expired.
    ("Asia/Tokyo", datetime(2031, 1, 16, 8), False),
])
def test_certification_validity_uses_the_events_local_day(ctx, zone, local_start, valid):
    from app.accounts.models import UserCertification

    start = local_start.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
    event = winter_event(zone, start - timedelta(hours=1), hours=4)
    session = SessionFactory(event=event, start_at=start, required_certification="ACLS")
    speaker = UserFactory()
    db.session.add(UserCertification(user=speaker, cert_type="ACLS", expires_on=date(2031, 1, 15)))
    db.session.flush()
    if valid:
        SpeakerService.register_speaker_for_session(session, speaker)
        assert session.has_speaker(speaker)
    else:
        with pytest.raises(ValidationError, match="“ACLS” certification"):
            SpeakerService.register_speaker_for_session(session, speaker)


# --- Roles when speaking at a session


def test_an_attendee_assigned_to_a_session_becomes_a_speaker(ctx):
    session = SessionFactory()
    event = session.event
    attendee = UserFactory()
    event.add_member(attendee, EventRole.ATTENDEE)
    SpeakerService.register_speaker_for_session(session, attendee)
    assert event.get_role(attendee) == EventRole.SPEAKER
    assert attendee in event.get_speakers()


def test_an_attendee_counts_against_the_event_speaker_limit(ctx):
    event = EventFactory(max_speakers=1)
    session = SessionFactory(event=event)
    SpeakerService.add_event_speaker(event, UserFactory())
    attendee = UserFactory()
    event.add_member(attendee, EventRole.ATTENDEE)
    with pytest.raises(ValidationError, match="already has its 1 speaker"):
        SpeakerService.register_speaker_for_session(session, attendee)
    assert event.get_role(attendee) == EventRole.ATTENDEE
    assert not session.has_speaker(attendee)


def test_an_organizer_who_speaks_stays_organizer_and_is_not_counted(ctx):
    organizer = UserFactory()
    event = EventFactory(max_speakers=0, organizer=organizer)
    session = SessionFactory(event=event)
    SpeakerService.register_speaker_for_session(session, organizer)
    assert event.get_role(organizer) == EventRole.ORGANIZER
    assert session.has_speaker(organizer) and event.speaker_count() == 0


# --- Event.get_role


def test_get_role_is_one_query_for_that_user_and_sees_pending_members(ctx):
    from tests.conftest import query_counter

    organizer = UserFactory()
    event = EventFactory(organizer=organizer)
    for _ in range(5):
        event.add_member(UserFactory(), EventRole.ATTENDEE)
    stranger = UserFactory()
    db.session.flush()
    db.session.expire(event, ["members"])
    with query_counter(db.engine) as statements:
        assert event.get_role(organizer) == EventRole.ORGANIZER
        assert event.get_role(stranger) is None
    assert len(statements) == 2
    assert "members" not in sa.inspect(event).dict  # the members were not loaded

    newcomer = UserFactory()
    event.add_member(newcomer, EventRole.SPEAKER)  # pending: autoflush makes it visible
    assert event.get_role(newcomer) == EventRole.SPEAKER
    event.add_member(newcomer, EventRole.ATTENDEE)  # a changed role, not yet flushed
    assert event.get_role(newcomer) == EventRole.ATTENDEE


# --- Locked sessions keep their speakers (seed 000: live and completed sessions are locked)


@pytest.mark.parametrize("finish", [False, True])
def test_speakers_of_a_live_or_completed_session_cannot_be_removed(ctx, finish):
    session = SessionFactory()
    event = session.event
    speaker = UserFactory()
    SpeakerService.register_speaker_for_session(session, speaker)
    session.go_live()
    if finish:
        session.finish()
    status = "completed" if finish else "live"
    with pytest.raises(ValidationError) as caught:
        SpeakerService.remove_session_speaker(session, speaker)
    assert str(caught.value.message) == (
        f"“{session.title}” is {status}: its speakers can no longer be changed."
    )
    with pytest.raises(ValidationError) as caught:
        SpeakerService.remove_event_speaker(event, speaker)
    assert str(caught.value.message) == (
        f"{speaker.display_name} speaks at “{session.title}”, which is live or over: they "
        "stay a speaker of this event."
    )
    assert session.has_speaker(speaker) and event.get_role(speaker) == EventRole.SPEAKER


def test_speakers_of_a_cancelled_session_can_be_removed(ctx):
    session = SessionFactory()
    event = session.event
    speaker = UserFactory()
    SpeakerService.register_speaker_for_session(session, speaker)
    event.cancel_session(session, "Speaker unwell")
    SpeakerService.remove_session_speaker(session, speaker)
    assert not session.has_speaker(speaker)
    SpeakerService.remove_event_speaker(event, speaker)
    assert event.get_role(speaker) is None


# --- Registration questions


def test_a_refused_question_never_enters_the_event_or_the_session(ctx):
    from app.events.models import CustomFieldType, EventCustomField
    from app.events.services import CustomFieldService

    event = EventFactory()
    with pytest.raises(ValidationError, match="at least two options"):
        CustomFieldService.add(event, label="Diet", field_type=CustomFieldType.SINGLE_CHOICE,
                               options=["Vegan"])
    assert event.custom_fields == []
    assert not [o for o in db.session.new if isinstance(o, EventCustomField)]
    db.session.flush()
    count = sa.select(sa.func.count()).select_from(EventCustomField)
    assert db.session.scalar(count) == 0


# --- Messages are marked for translation


@pytest.fixture
def bracketing_translation(monkeypatch):
    """A stand-in locale whose translation of every message is the message in brackets."""
    import flask_babel
    from babel.support import NullTranslations

    class Bracketing(NullTranslations):
        def ugettext(self, message):
            return f"[{message}]"

        gettext = ugettext

    monkeypatch.setattr(flask_babel.Domain, "get_translations", lambda self: Bracketing())


def test_messages_of_models_and_services_are_translated_when_shown(ctx, bracketing_translation):
    from app.events.models import CustomFieldType
    from app.events.services import CustomFieldService, check_details

    organizer = UserFactory(full_name="Olga Organizer")
    event = EventFactory(organizer=organizer)
    speaker = UserFactory(full_name="Ada Lovelace")
    SpeakerService.add_event_speaker(event, speaker)

    def message(action) -> str:
        with pytest.raises(ValidationError) as caught:
            action()
        return str(caught.value.message)

    assert message(lambda: SpeakerService.add_event_speaker(event, speaker)) == (
        "[Ada Lovelace is already a speaker of this event.]"
    )
    assert message(lambda: CustomFieldService.add(
        event, label=" ", field_type=CustomFieldType.SHORT_TEXT
    )) == "[Give the question a label.]"
    assert message(lambda: event.add_session(
        title="Backwards", start_at=event.end_at, end_at=event.start_at
    )) == "[A session must end after it starts.]"
    assert [str(p.message) for p in check_details(details(title=" "))] == [
        "[Give the event a title.]"
    ]
    event.cancel(organizer, "Venue flooded")
    assert message(event.check_editable) == (
        "[This event is cancelled and can no longer be changed.]"
    )


def test_the_next_session_slot_follows_the_last_session(ctx):
    event = EventFactory()
    hour = timedelta(hours=1)
    assert event.next_session_slot() == (event.start_at, event.start_at + hour)
    SessionFactory(event=event, start_at=event.start_at + hour, end_at=event.start_at + 3 * hour)
    db.session.expire(event, ["sessions"])
    assert event.next_session_slot() == (event.start_at + 3 * hour, event.start_at + 4 * hour)
    SessionFactory(event=event, start_at=event.end_at - hour / 2, end_at=event.end_at)
    db.session.expire(event, ["sessions"])
    assert event.next_session_slot() == (event.start_at + 3 * hour, event.start_at + 4 * hour)

"""CPD progress maths: periods (yearly, from a month, rolling, clipped to the active dates),
which credits count where, and the figures of the bar."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.certificates.cpd import CreditSource, build_tracker
from app.certificates.cpd_models import CPDPeriod, CPDPeriodKind, CPDRequirement
from app.core.errors import ValidationError
from app.extensions import db
from tests.certificates.cpd_helpers import activity, at, certificate, requirement
from tests.conftest import query_counter
from tests.factories import UserFactory

# Every area's models are mapped once the app exists (Event refers to later areas' models).
pytestmark = pytest.mark.usefixtures("_session_app")


def yearly(start_month: int = 1, **fields) -> CPDRequirement:
    return CPDRequirement(period_kind=CPDPeriodKind.YEARLY, start_month=start_month,
                          period_months=12, **fields)


def rolling(months: int, **fields) -> CPDRequirement:
    return CPDRequirement(period_kind=CPDPeriodKind.ROLLING, start_month=1,
                          period_months=months, **fields)


# --- Periods (no database)


def test_a_calendar_year_runs_from_january_to_december():
    today = date(2026, 6, 15)
    assert yearly().period(today) == CPDPeriod(date(2026, 1, 1), date(2026, 12, 31))
    assert yearly().period(today, back=1) == CPDPeriod(date(2025, 1, 1), date(2025, 12, 31))
    assert yearly().period(date(2026, 12, 31)).start == date(2026, 1, 1)
    assert yearly().period(date(2027, 1, 1)).start == date(2027, 1, 1)


def test_a_year_from_april_changes_on_the_first_of_april():
    assert yearly(4).period(date(2026, 3, 31)) == CPDPeriod(date(2025, 4, 1), date(2026, 3, 31))
    assert yearly(4).period(date(2026, 4, 1)) == CPDPeriod(date(2026, 4, 1), date(2027, 3, 31))
    assert yearly(4).period(date(2026, 4, 1), back=2) == CPDPeriod(
        date(2024, 4, 1), date(2025, 3, 31)
    )


def test_rolling_periods_end_today_and_follow_each_other_without_gaps():
    requirement = rolling(12)
    today = date(2026, 6, 15)
    assert requirement.period(today) == CPDPeriod(date(2025, 6, 16), date(2026, 6, 15))
    assert requirement.period(today, back=1) == CPDPeriod(date(2024, 6, 16), date(2025, 6, 15))
    month = rolling(1)
    assert month.period(date(2026, 3, 31)) == CPDPeriod(date(2026, 3, 1), date(2026, 3, 31))
    assert month.period(date(2026, 3, 31), back=1) == CPDPeriod(
        date(2026, 2, 1), date(2026, 2, 28)
    )


def test_periods_are_clipped_to_the_active_dates():
    started = yearly(active_from=date(2026, 3, 10))
    assert started.period(date(2026, 6, 1)) == CPDPeriod(date(2026, 3, 10), date(2026, 12, 31))
    assert started.periods_back_to(date(2020, 1, 1), date(2026, 6, 1)) == 0
    ended = yearly(active_from=date(2024, 1, 1), active_until=date(2025, 6, 30))
    # Ended: its last period stays "current", and it reaches back to its start.
    assert ended.period(date(2026, 6, 1)) == CPDPeriod(date(2025, 1, 1), date(2025, 6, 30))
    assert ended.periods_back_to(None, date(2026, 6, 1)) == 1
    not_yet = yearly(active_from=date(2027, 2, 1))
    assert not_yet.period(date(2026, 6, 1)) == CPDPeriod(date(2027, 2, 1), date(2027, 12, 31))


def test_history_reaches_back_to_the_earliest_credit_at_most_twenty_periods():
    today = date(2026, 6, 15)
    assert yearly().periods_back_to(date(2024, 12, 31), today) == 2
    assert yearly().periods_back_to(date(2026, 2, 1), today) == 0
    assert yearly().periods_back_to(None, today) == 0
    assert yearly().periods_back_to(date(1900, 1, 1), today) == 20


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"professional_body": "  "}, "professional_body", "professional body's name"),
        ({"credits_required": "0"}, "credits_required", "more than zero"),
        ({"credits_required": "-3"}, "credits_required", "more than zero"),
        ({"credits_required": "lots"}, "credits_required", "as a number"),
        ({"credits_required": "NaN"}, "credits_required", "more than zero"),
        ({"credits_required": "1.255"}, "credits_required", "two decimals"),
        ({"credits_required": "100000"}, "credits_required", "at most"),
        ({"start_month": 13}, "start_month", "month"),
        ({"period_kind": CPDPeriodKind.ROLLING, "period_months": 0}, None, None),
        ({"period_months": 121}, "period_months", "1 to 120"),
        ({"active_from": date(2026, 5, 1), "active_until": date(2026, 4, 30)},
         "active_until", "before the start"),
    ],
)
def test_a_requirement_refuses_bad_values_and_keeps_its_own(ctx, fields, field, message):
    row = CPDRequirement(professional_body="Kept", credits_required=Decimal("30"))
    values = {"professional_body": "Royal College", "credits_required": "30",
              "period_kind": CPDPeriodKind.YEARLY, **fields}
    if field is None:  # 0 months means "not given": the default of 12 applies
        row.update(**values)
        assert row.period_months == 12
        return
    with pytest.raises(ValidationError) as refused:
        row.update(**values)
    assert refused.value.field == field
    assert message in refused.value.message
    assert row.professional_body == "Kept"


# --- Credits per period (database)


@pytest.fixture
def person(ctx):
    return UserFactory(full_name="Ada Lovelace")


def test_credits_are_dated_by_the_day_the_event_ended_where_it_took_place(person):
    plan = requirement(person, "30")
    # 23:30 UTC on 31 December: still 2026 in London, already 2027 in Tokyo.
    certificate(person, at(2026, 12, 31, 23) , "5", timezone="Europe/London", title="London")
    certificate(person, at(2026, 12, 31, 23), "7", timezone="Asia/Tokyo", title="Tokyo")
    activity(person, date(2026, 1, 1), "1", title="First day")
    activity(person, date(2025, 12, 31), "4", title="Day before")

    tracker = build_tracker(person, date(2026, 6, 1))
    [current] = tracker.current
    assert current.requirement == plan
    assert sorted(line.title for line in current.lines) == ["First day", "London"]
    assert current.earned == Decimal("6")

    next_year = build_tracker(person, date(2027, 3, 1)).current[0]
    assert [line.title for line in next_year.lines] == ["Tokyo"]


def test_revoked_certificates_and_other_peoples_credits_never_count(person):
    requirement(person, "10")
    certificate(person, at(2026, 3, 1), "3", title="Counts")
    certificate(person, at(2026, 3, 2), "8", title="Revoked", revoked=True)
    certificate(person, at(2026, 3, 3), "0", title="No credits")
    someone_else = UserFactory()
    requirement(someone_else, "10")
    certificate(someone_else, at(2026, 3, 4), "9", title="Theirs")
    activity(someone_else, date(2026, 3, 5), "9", title="Their activity")

    current = build_tracker(person, date(2026, 6, 1)).current[0]
    assert [(line.title, line.source) for line in current.lines] == [
        ("Counts", CreditSource.CERTIFICATE)
    ]
    assert current.earned == Decimal("3")


def test_an_activity_for_one_body_counts_toward_that_body_only(person):
    nursing = requirement(person, "20", body="Nursing council")
    pharmacy = requirement(person, "20", body="Pharmacy board")
    activity(person, date(2026, 2, 1), "2", title="Everywhere")
    activity(person, date(2026, 2, 2), "3", title="Nursing only", requirement=nursing)

    tracker = build_tracker(person, date(2026, 6, 1))
    earned = {p.requirement.professional_body: p.earned for p in tracker.current}
    assert earned == {"Nursing council": Decimal("5"), "Pharmacy board": Decimal("2")}
    assert pharmacy in tracker.requirements


def test_the_bar_is_capped_and_the_text_says_what_is_left(person):
    requirement(person, "30")
    activity(person, date(2026, 2, 1), "18")
    progress = build_tracker(person, date(2026, 6, 1)).current[0]
    assert (progress.earned, progress.remaining, progress.percent) == (18, 12, 60)
    assert not progress.is_met
    assert progress.summary.startswith("18 of 30 credits, 12 to go, period ")
    assert "2026" in progress.summary

    activity(person, date(2026, 3, 1), "14.5")
    progress = build_tracker(person, date(2026, 6, 1)).current[0]
    assert (progress.earned, progress.remaining, progress.percent) == (Decimal("32.5"), 0, 100)
    assert progress.is_met
    assert progress.summary.startswith("32.5 of 30 credits, requirement met")


def test_a_rolling_requirement_counts_only_its_window(person):
    requirement(person, "10", kind=CPDPeriodKind.ROLLING, period_months=3)
    activity(person, date(2026, 3, 16), "1", title="In")
    activity(person, date(2026, 3, 15), "2", title="Out")
    current = build_tracker(person, date(2026, 6, 15)).current[0]
    assert current.period == CPDPeriod(date(2026, 3, 16), date(2026, 6, 15))
    assert [line.title for line in current.lines] == ["In"]


def test_earlier_periods_and_the_period_switcher(person):
    plan = requirement(person, "10")
    activity(person, date(2024, 5, 1), "4", title="2024")
    activity(person, date(2025, 5, 1), "12", title="2025")

    tracker = build_tracker(person, date(2026, 6, 1), str(plan.uuid), back=1)
    assert tracker.selected.period == CPDPeriod(date(2025, 1, 1), date(2025, 12, 31))
    assert [line.title for line in tracker.selected.lines] == ["2025"]
    assert [(p.back, p.earned, p.is_met) for p in tracker.history] == [
        (1, Decimal("12"), True), (2, Decimal("4"), False)
    ]
    # Asking for a period before the history starts shows the oldest one.
    assert build_tracker(person, date(2026, 6, 1), str(plan.uuid), back=99).selected.back == 2


def test_the_tracker_reads_a_constant_number_of_queries(app, person):
    def statements(rows: int) -> int:
        db.session.expunge_all()
        with query_counter(db.engine) as counted:
            tracker = build_tracker(person, date(2026, 6, 1))
            assert len(tracker.selected.lines) == rows * 2
        return len(counted)

    plan = requirement(person, "30")
    for number in range(2):
        activity(person, date(2026, 2, 1 + number), "1", requirement=plan)
        certificate(person, at(2026, 3, 1 + number), "1")
    with_two = statements(2)
    for number in range(2, 20):
        activity(person, date(2026, 2, 1 + number), "1", requirement=plan)
        certificate(person, at(2026, 3, 1 + number), "1")
    assert statements(20) == with_two
    assert with_two <= 3

"""Answers to registration questions: checked on the server (type, required, options, length),
every problem shown at once next to its question, nothing stored and no seat taken when one
is wrong; stored as one row per answer (per option for multiple choice) with the
registration."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from app.events.models import CustomFieldType, EventCustomField
from app.extensions import db
from app.registrations.answers import (
    CHECKED,
    LONG_TEXT_MAX,
    SHORT_TEXT_MAX,
    AnswerErrors,
    check_answers,
    input_name,
)
from app.registrations.services import RegistrationService
from tests.factories import EventFactory, UserFactory
from tests.registrations.test_attend import (
    add_field,
    answer_rows,
    logged_in,
    make_event,
    register,
    registrations,
    text_of,
)

T = CustomFieldType
DIETS = ["None", "Vegetarian", "Vegan"]
TOPICS = ["Wounds", "Burns", "Ulcers"]


def field(kind: CustomFieldType, required=False, options=None) -> EventCustomField:
    return EventCustomField(label=kind.value, field_type=kind, required=required,
                            options=options or [])


def check(f: EventCustomField, *values):
    return check_answers([f], MultiDict([(input_name(f), v) for v in values]))


def error_of(f: EventCustomField, *values) -> str:
    with pytest.raises(AnswerErrors) as refused:
        check(f, *values)
    return refused.value.errors[input_name(f)]


# --- Unit: one rule at a time


def test_text_answers_are_stripped_and_limited(ctx):
    short, long = field(T.SHORT_TEXT), field(T.LONG_TEXT)
    assert check(short, "  hello ")[0].values == ("hello",)
    assert check(short, "x" * SHORT_TEXT_MAX)[0].values == ("x" * SHORT_TEXT_MAX,)
    assert "at most 500 characters" in error_of(short, "x" * (SHORT_TEXT_MAX + 1))
    assert check(long, "y" * LONG_TEXT_MAX)[0].values == ("y" * LONG_TEXT_MAX,)
    assert "at most 5,000 characters" in error_of(long, "y" * 100_000)
    assert "not allowed" in error_of(short, "nul\x00byte")


def test_empty_optional_answers_store_nothing_and_required_ones_are_asked_for(ctx):
    assert check(field(T.SHORT_TEXT), "   ") == []
    assert error_of(field(T.SHORT_TEXT, required=True), "  ") == "Answer this question."
    assert error_of(field(T.SINGLE_CHOICE, True, DIETS)) == "Choose an answer."
    assert error_of(field(T.NUMBER, required=True)) == "Answer this question."


def test_choices_must_come_from_the_options(ctx):
    single, multiple = field(T.SINGLE_CHOICE, options=DIETS), field(T.MULTIPLE_CHOICE,
                                                                    options=TOPICS)
    assert check(single, "Vegan")[0].values == ("Vegan",)
    assert "options given" in error_of(single, "Carnivore")
    assert error_of(single, "Vegan", "None") == "Give one answer."
    # Several options, kept in the question's order, each once.
    assert check(multiple, "Ulcers", "Wounds", "Ulcers")[0].values == ("Wounds", "Ulcers")
    assert "options given" in error_of(multiple, "Wounds", "Bones")


def test_numbers_and_dates_are_parsed(ctx):
    number, day = field(T.NUMBER), field(T.DATE)
    assert check(number, "42")[0].values == ("42",)
    assert check(number, "3.50")[0].values == ("3.5",)
    assert check(number, "1,200")[0].values == ("1200",)
    for bad in ("forty-two", "NaN", "Infinity", "1e999999", "9" * 50):
        assert "Enter a number" in error_of(number, bad), bad
    assert check(day, "2031-07-10")[0].values == ("2031-07-10",)
    assert "YYYY-MM-DD" in error_of(day, "10/07/2031")
    assert "YYYY-MM-DD" in error_of(day, "2031-02-30")


def test_checkbox_is_yes_or_no_and_a_required_one_must_be_ticked(ctx):
    box, consent = field(T.CHECKBOX), field(T.CHECKBOX, required=True)
    assert check(box)[0].values == ("no",)
    assert check(box, "y")[0].values == (CHECKED,)
    assert error_of(consent) == "Tick this box to register."


def test_every_wrong_answer_is_reported_at_once(ctx):
    fields = [field(T.SHORT_TEXT, required=True), field(T.NUMBER),
              field(T.SINGLE_CHOICE, options=DIETS), field(T.LONG_TEXT)]
    form = MultiDict([(input_name(fields[1]), "lots"), (input_name(fields[2]), "Steak"),
                      (input_name(fields[3]), "fine")])
    with pytest.raises(AnswerErrors) as refused:
        check_answers(fields, form)
    assert set(refused.value.errors) == {input_name(f) for f in fields[:3]}


def test_service_refuses_bad_answers_before_taking_a_seat(ctx):
    event = EventFactory(capacity=1)
    required = EventCustomField(event=event, label="Licence", field_type=T.SHORT_TEXT,
                                required=True)
    db.session.add(required)
    db.session.flush()
    with pytest.raises(AnswerErrors):
        RegistrationService.register(event, UserFactory(), answers=MultiDict())
    from app.registrations.seats import SeatPool

    assert SeatPool.of_event(event).taken() == 0
    registration = RegistrationService.register(
        event, UserFactory(), answers=MultiDict([(input_name(required), "AB-12")])
    )
    assert [(a.field.label, a.value) for a in registration.answers] == [("Licence", "AB-12")]
    # An organizer adding someone (answers=None) is not held to the questions.
    assert RegistrationService.register(event, UserFactory()).answers == []


# --- Over HTTP: the bad input of the issue


def questionnaire(app, event_id):
    return {
        "licence": add_field(app, event_id, "Licence number", T.SHORT_TEXT, required=True),
        "bio": add_field(app, event_id, "About you", T.LONG_TEXT),
        "diet": add_field(app, event_id, "Diet", T.SINGLE_CHOICE, required=True,
                          options=DIETS),
        "topics": add_field(app, event_id, "Topics", T.MULTIPLE_CHOICE, options=TOPICS),
        "years": add_field(app, event_id, "Years in practice", T.NUMBER),
        "since": add_field(app, event_id, "Qualified on", T.DATE),
        "consent": add_field(app, event_id, "I agree to be photographed", T.CHECKBOX,
                             required=True),
    }


def test_all_bad_answers_are_shown_next_to_their_questions_and_nothing_is_taken(app):
    event = make_event(app, capacity=1)
    q = questionnaire(app, event.id)
    client = logged_in(app, "ann@example.com")
    response = register(client, event.slug, {
        q["licence"]: "",  # missing required
        q["bio"]: "x" * 100_000,  # a 100 KB answer
        q["diet"]: "Carnivore",  # outside the options
        q["topics"]: ["Wounds", "Bones"],
        q["years"]: "ten",  # text in a number field
        q["since"]: "yesterday",
        # consent not ticked
    })
    assert response.status_code == 422
    page = text_of(response)
    for message in ("Answer this question.", "at most 5,000 characters",
                    "Choose one of the options given.", "Choose from the options given.",
                    "Enter a number", "YYYY-MM-DD", "Tick this box to register."):
        assert message in page, message
    assert page.count('class="field-error"') == 7
    assert "no seat was taken" in page
    # What was typed is kept (but for the oversized text, which is kept too: it is theirs).
    assert 'value="ten"' in page
    assert registrations(app, event.id) == []
    assert answer_rows(app) == []
    # The seat is still free for the next person.
    other = logged_in(app, "bob@example.com")
    response = register(other, event.slug, {q["licence"]: "B-1", q["diet"]: "None",
                                            q["consent"]: "y"})
    assert response.status_code == 303
    assert registrations(app, event.id) == [("bob@example.com",
                                             registrations(app, event.id)[0][1])]


def test_good_answers_are_stored_one_row_each_in_the_registrations_transaction(app):
    event = make_event(app)
    q = questionnaire(app, event.id)
    client = logged_in(app, "ann@example.com")
    response = register(client, event.slug, {
        q["licence"]: " AB-12 ", q["bio"]: "Nurse", q["diet"]: "Vegan",
        q["topics"]: ["Ulcers", "Wounds"], q["years"]: "12", q["since"]: "2015-09-01",
        q["consent"]: "y",
    })
    assert response.status_code == 303
    assert sorted(answer_rows(app)) == sorted([
        ("Licence number", "AB-12"), ("About you", "Nurse"), ("Diet", "Vegan"),
        ("Topics", "Wounds"), ("Topics", "Ulcers"), ("Years in practice", "12"),
        ("Qualified on", "2015-09-01"), ("I agree to be photographed", "yes"),
    ])
    page = text_of(client.get(f"/events/{event.slug}/registration"))
    assert "Wounds, Ulcers" in page and "AB-12" in page


def test_a_form_posted_to_another_events_question_does_not_store_it(app):
    event = make_event(app)
    other_event = make_event(app)
    foreign = add_field(app, other_event.id, "Foreign", T.SHORT_TEXT)
    client = logged_in(app, "ann@example.com")
    assert register(client, event.slug, {foreign: "sneaky"}).status_code == 303
    assert answer_rows(app) == []

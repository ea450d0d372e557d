"""The CPD tracker pages: adding, changing and deleting requirements and activities (with
clear refusals of bad input), the period switcher, the exports, and privacy."""

from __future__ import annotations

import csv
import io
import subprocess
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.certificates.cpd import local_today
from app.certificates.cpd_models import CPDActivity, CPDRequirement
from app.core import privacy
from app.extensions import db
from tests.certificates.cpd_helpers import activity, at, certificate, requirement
from tests.conftest import create_user, log_in, post_form, query_counter


@pytest.fixture
def member(app, client):
    user = create_user(app, email="ada@example.com", full_name="Ada Lovelace")
    log_in(client, user.email)
    return user


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def today() -> date:
    return local_today(User(timezone="Europe/London"))


def add_requirement(app, email: str, **fields) -> CPDRequirement:
    with app.test_request_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        row = requirement(user, **fields)
        db.session.commit()
        return row.uuid


def add_activity(app, email: str, **fields):
    with app.test_request_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        row = activity(user, **fields)
        db.session.commit()
        return row.uuid


REQUIREMENT = {
    "professional_body": "Royal College of Nursing",
    "credits_required": "30",
    "period_kind": "yearly",
    "start_month": "1",
    "period_months": "12",
}


def activity_form(**changes) -> dict:
    return {"title": "Resuscitation course", "provider": "Red Cross",
            "completed_on": (today() - timedelta(days=1)).isoformat(), "credits": "7.5",
            "requirement": "", "evidence_url": "", "notes": "", **changes}


# --- The page


def test_the_empty_tracker_explains_cpd_and_offers_the_forms(member, client):
    page = client.get("/cpd").get_data(as_text=True)
    assert "Keep track of your CPD credits" in page
    assert "Add a requirement" in page and "Log an activity" in page
    assert "Nothing logged yet" in page
    assert 'href="/cpd"' in page  # the navigation links to the tracker


def test_adding_a_requirement_shows_its_progress(app, member, client):
    response = post_form(client, "/cpd/requirements", REQUIREMENT, page="/cpd")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your Royal College of Nursing requirement is added." in page
    assert "0 of 30 credits, 30 to go, period " in page
    assert '<progress id="cpd-period-progress" max="100" value="0">' in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"professional_body": ""}, "Enter the professional body"),
        ({"credits_required": "0"}, "Credits must be more than zero."),
        ({"credits_required": "-2"}, "Credits must be more than zero."),
        ({"credits_required": "thirty"}, "Enter the credits as a number"),
        ({"period_kind": "weekly"}, "Not a valid choice"),
        ({"active_from": "2026-05-01", "active_until": "2026-04-01"},
         "The end date must not be before the start date."),
        ({"active_from": "2026-02-30"}, "Not a valid date value"),
    ],
)
def test_a_bad_requirement_is_refused_with_a_message(app, member, client, changes, message):
    response = post_form(client, "/cpd/requirements", {**REQUIREMENT, **changes}, page="/cpd")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert count(CPDRequirement) == 0


def test_logging_an_activity_counts_it(app, member, client):
    plan = add_requirement(app, member.email, credits="10")
    response = post_form(client, "/cpd/activities", activity_form(requirement=str(plan)),
                         page="/cpd")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "“Resuscitation course” is logged." in page
    assert "7.5 of 10 credits, 2.5 to go" in page
    with app.app_context():
        logged = db.session.scalar(sa.select(CPDActivity))
        assert (logged.provider, str(logged.credits), logged.requirement.uuid) == (
            "Red Cross", "7.50", plan
        )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"title": " "}, "Enter what you did."),
        ({"credits": "0"}, "Credits must be more than zero."),
        ({"credits": ""}, "Enter the credits it earned."),
        ({"completed_on": ""}, "Enter the date you completed it."),
        ({"completed_on": "31/02/2026"}, "Not a valid date value"),
        ({"completed_on": "2999-01-01"}, "The date cannot be in the future"),
        ({"evidence_url": "javascript:alert(1)"}, "starting with https://"),
        ({"evidence_url": "/relative/path"}, "starting with https://"),
        ({"requirement": "00000000-0000-0000-0000-000000000000"}, "Not a valid choice"),
    ],
)
def test_a_bad_activity_is_refused_with_a_message(app, member, client, changes, message):
    response = post_form(client, "/cpd/activities", activity_form(**changes), page="/cpd")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert count(CPDActivity) == 0


def test_an_activity_cannot_be_logged_against_someone_elses_requirement(app, member, client):
    other = create_user(app, email="grace@example.com")
    theirs = add_requirement(app, other.email)
    response = post_form(client, "/cpd/activities", activity_form(requirement=str(theirs)),
                         page="/cpd")
    assert response.status_code == 422
    assert "Not a valid choice" in response.get_data(as_text=True)


def test_editing_and_deleting_an_activity(app, member, client):
    logged = add_activity(app, member.email, completed_on=today(), credits="2")
    edit = f"/cpd/activities/{logged}/edit"
    form = client.get(edit).get_data(as_text=True)
    assert 'value="Journal club"' in form and 'value="2"' in form

    refused = post_form(client, edit, activity_form(credits="-1"))
    assert refused.status_code == 422
    assert "Credits must be more than zero." in refused.get_data(as_text=True)

    assert post_form(client, edit, activity_form(title="Renamed")).status_code == 303
    with app.app_context():
        assert db.session.scalar(sa.select(CPDActivity.title)) == "Renamed"

    assert post_form(client, f"/cpd/activities/{logged}/delete", page="/cpd").status_code == 303
    with app.app_context():
        assert count(CPDActivity) == 0


def test_editing_and_deleting_a_requirement_keeps_its_activities(app, member, client):
    plan = add_requirement(app, member.email)
    with app.test_request_context():
        user = db.session.scalar(sa.select(User).where(User.email == member.email))
        chosen = db.session.scalar(sa.select(CPDRequirement))
        activity(user, completed_on=today(), requirement=chosen)
        db.session.commit()
    edit = f"/cpd/requirements/{plan}/edit"
    assert 'value="Royal College"' in client.get(edit).get_data(as_text=True)
    saved = post_form(client, edit, {**REQUIREMENT, "credits_required": "40"})
    assert saved.status_code == 303
    with app.app_context():
        assert str(db.session.scalar(sa.select(CPDRequirement.credits_required))) == "40.00"

    assert post_form(client, f"/cpd/requirements/{plan}/delete", page="/cpd").status_code == 303
    with app.app_context():
        assert count(CPDRequirement) == 0
        assert db.session.scalar(sa.select(CPDActivity.requirement_id)) is None


def test_other_peoples_rows_are_not_found(app, member, client):
    other = create_user(app, email="grace@example.com")
    theirs = add_requirement(app, other.email)
    their_activity = add_activity(app, other.email, completed_on=today())
    for path in (f"/cpd/requirements/{theirs}/edit", f"/cpd/requirements/{theirs}/report.csv",
                 f"/cpd/requirements/{theirs}/report.pdf",
                 f"/cpd/activities/{their_activity}/edit"):
        assert client.get(path).status_code == 404, path
    for path in (f"/cpd/requirements/{theirs}/delete",
                 f"/cpd/activities/{their_activity}/delete"):
        assert post_form(client, path, page="/cpd").status_code == 404, path
    with app.app_context():
        assert (count(CPDRequirement), count(CPDActivity)) == (1, 1)


def test_the_period_switcher_answers_htmx_with_the_period_only(app, member, client):
    plan = add_requirement(app, member.email)
    last_year = today().replace(month=6, day=1) - timedelta(days=365)
    add_activity(app, member.email, completed_on=last_year, title="Last year's course")

    page = client.get("/cpd").get_data(as_text=True)
    assert "Earlier period" in page and "Last year&#39;s course" not in page.split(
        'id="cpd-period"')[1].split("Earlier periods")[0]

    fragment = client.get(f"/cpd?requirement={plan}&back=1", headers={"HX-Request": "true"})
    text = fragment.get_data(as_text=True)
    assert "<html" not in text and 'id="cpd-period"' in text
    assert "Last year&#39;s course" in text
    assert str(last_year.year) in text
    assert "HX-Request" in fragment.headers["Vary"]


def test_the_period_fragment_survives_a_requirement_deleted_meanwhile(app, member, client):
    response = client.get("/cpd?requirement=gone&back=1", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "no CPD requirement any more" in response.get_data(as_text=True)


def test_the_page_reads_the_same_number_of_queries_for_2_and_20_rows(app, member, client):
    def add_rows(first: int, last: int) -> None:
        with app.test_request_context():
            user = db.session.scalar(sa.select(User).where(User.email == member.email))
            plan = db.session.scalar(sa.select(CPDRequirement))
            for number in range(first, last):
                activity(user, completed_on=today() - timedelta(days=number), requirement=plan,
                         title=f"Activity {number}")
                certificate(user, ends_at=_noon(today() - timedelta(days=number)),
                            title=f"Event {number}")
            db.session.commit()

    def statements() -> int:
        with app.app_context(), query_counter(db.engine) as counted:
            assert client.get("/cpd").status_code == 200
        return len(counted)

    add_requirement(app, member.email)
    add_rows(0, 2)
    with_two = statements()
    add_rows(2, 20)
    assert statements() == with_two


def _noon(day: date):
    return at(day.year, day.month, day.day)


# --- Exports


def test_the_csv_report_lists_each_credit_safely(app, member, client):
    plan = add_requirement(app, member.email, credits="10")
    add_activity(app, member.email, completed_on=today(), credits="2.5",
                 title="=HYPERLINK(\"http://evil.example\")", provider="+Provider",
                 evidence_url="https://evidence.example/cert")
    with app.test_request_context():
        user = db.session.scalar(sa.select(User).where(User.email == member.email))
        issued = certificate(user, ends_at=_noon(today()), credits="6", title="Cardiology day")
        code = issued.verification_code
        db.session.commit()

    response = client.get(f"/cpd/requirements/{plan}/report.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert 'filename="cpd-royal-college-' in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["Date", "Activity", "Source", "Provider", "Credits",
                       "Verification or evidence"]
    by_title = {row[1]: row for row in rows[1:]}
    assert by_title["Cardiology day"][2:5] == ["Certificate", "Olivia Organizer", "6.00"]
    assert by_title["Cardiology day"][5].endswith(f"/verify/{code}")
    injected = by_title["'=HYPERLINK(\"http://evil.example\")"]
    assert injected[2:] == ["External activity", "'+Provider", "2.50",
                            "https://evidence.example/cert"]
    assert len(rows) == 3


def test_the_pdf_report_has_the_person_the_body_the_lines_and_the_totals(app, member, client):
    plan = add_requirement(app, member.email, credits="10", body="Pharmacy Board")
    add_activity(app, member.email, completed_on=today(), credits="4", title="Dosage workshop")
    response = client.get(f"/cpd/requirements/{plan}/report.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=response.data,
                          capture_output=True, check=True).stdout.decode()
    for expected in ("CPD report", "Ada Lovelace", "ada@example.com", "Pharmacy Board",
                     "Dosage workshop", "External activity", "Credits earned", "Still to earn"):
        assert expected in text, expected
    assert str(today().year) in text


# --- Privacy


def test_cpd_data_is_exported_and_erased_with_the_account(app, member):
    plan = add_requirement(app, member.email)
    add_activity(app, member.email, completed_on=today(), title="Private course")
    other = create_user(app, email="grace@example.com")
    add_requirement(app, other.email)
    with app.test_request_context():
        user = db.session.scalar(sa.select(User).where(User.email == member.email))
        exported = privacy.export_user_data(user)["cpd"]
        assert [r["professional_body"] for r in exported["requirements"]] == ["Royal College"]
        assert [a["title"] for a in exported["activities"]] == ["Private course"]
        privacy.anonymise_user(user)
        db.session.commit()
        assert count(CPDActivity) == 0
        assert db.session.scalars(sa.select(CPDRequirement.uuid)).all() != [plan]
        assert count(CPDRequirement) == 1  # the other person's stays


def test_admins_can_inspect_requirements_and_activities(app, client):
    admin = create_user(app, email="root@example.com", is_admin=True)
    create_user(app, email="ada@example.com", full_name="Ada Lovelace")
    add_requirement(app, "ada@example.com", body="Nursing council")
    add_activity(app, "ada@example.com", completed_on=today(), title="Wound care course")
    log_in(client, admin.email)
    requirements = client.get("/admin/cpdrequirement/").get_data(as_text=True)
    assert "Nursing council" in requirements and "Ada Lovelace" in requirements
    activities = client.get("/admin/cpdactivity/").get_data(as_text=True)
    assert "Wound care course" in activities
    assert client.get("/admin/cpdactivity/new/").status_code == 302  # read-only

"""The organizer's certificates page (eligibility, issue / decline / revoke over HTMX, issue
to all with its progress bar) and the attendee's "My certificates" with the PDF download."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.certificates.models import Certificate
from app.certificates.run_models import CertificateIssueRun
from app.extensions import db
from app.registrations.models import Registration
from app.states import CertificateStatus, IssueRunStatus
from tests.certificates.issuing_helpers import (
    attend,
    completed_event,
    default_template,
    event_with_attendees,
    register,
)
from tests.conftest import create_user, csrf_token, log_in, query_counter

HX = {"HX-Request": "true"}


@pytest.fixture
def organizer(app, client):
    person = create_user(app, email="olga@example.com", full_name="Olga Organizer")
    log_in(client, person.email)
    return person


def build(app, organizer, count: int = 2) -> SimpleNamespace:
    """A completed event of the organizer with `count` eligible attendees and one who
    attended too little; returns uuids and ids."""
    with app.test_request_context():
        built = event_with_attendees(count, db.session.get(User, organizer.id))
        absent = register(built.event, "Zed Absent")
        attend(absent, 20)
        db.session.commit()
        return SimpleNamespace(
            event_uuid=built.event.uuid, event_id=built.event.id,
            registrations=[r.uuid for r in built.registrations], absent=absent.uuid,
        )


def page_url(data) -> str:
    return f"/events/{data.event_uuid}/certificates"


def active_certificate(app, registration_uuid) -> Certificate | None:
    with app.app_context():
        certificate = db.session.scalar(
            sa.select(Certificate)
            .join(Registration, Registration.id == Certificate.registration_id)
            .where(Registration.uuid == registration_uuid,
                   Certificate.status == CertificateStatus.ACTIVE)
        )
        if certificate is not None:
            db.session.expunge(certificate)
        return certificate


def test_the_page_lists_eligibility_with_reasons_and_offers_issue_to_all(app, client, organizer):
    data = build(app, organizer, 2)

    html = client.get(page_url(data)).get_data(as_text=True)

    assert html.count("attended 90 % of “Talk 1”") == 2
    assert "attended 20 % of “Talk 1”, below 75 %" in html
    assert "Issue to all eligible (2)" in html
    assert html.count(">Issue<") == 2  # the absent attendee gets no button
    assert 'aria-current="page">Certificates</a>' in html  # linked from the event's menu


def test_before_the_event_completes_the_page_says_so_and_offers_no_issuing(
        app, client, organizer):
    from app.events.models import Event
    from app.states import EventStatus

    data = build(app, organizer, 2)
    with app.app_context():
        db.session.get(Event, data.event_id).status = EventStatus.LIVE
        db.session.commit()

    html = client.get(page_url(data)).get_data(as_text=True)

    assert "Certificates are issued once the event has completed (it is live)." in html
    assert "Issue to all eligible" not in html and ">Issue<" not in html
    assert html.count(">Decline<") == 2  # deciding who gets none can start early


def test_the_page_takes_the_same_queries_for_2_or_20_registrations(app, client, organizer):
    counts = []
    for size in (2, 20):
        data = build(app, organizer, size)
        token = csrf_token(client, page_url(data))  # a certificate, a decline, a revoked one
        first, second = (f"{page_url(data)}/{uuid}" for uuid in data.registrations[:2])
        client.post(first + "/issue", data={"csrf_token": token})
        client.post(first + "/revoke", data={"csrf_token": token, "reason": "Wrong name"})
        client.post(first + "/issue", data={"csrf_token": token})
        client.post(second + "/decline", data={"csrf_token": token, "reason": "Quiz failed"})
        with app.app_context(), query_counter(db.engine) as statements:
            response = client.get(page_url(data))
        assert response.status_code == 200
        assert response.get_data(as_text=True).count("<tr id=\"certificate-row-") == size + 1
        counts.append(len(statements))
    assert counts[0] == counts[1]


def test_issuing_over_htmx_returns_the_row_with_the_certificate(app, client, organizer):
    data = build(app, organizer, 1)
    token = csrf_token(client, page_url(data))
    registration = data.registrations[0]

    response = client.post(f"{page_url(data)}/{registration}/issue",
                           data={"csrf_token": token}, headers=HX)

    html = response.get_data(as_text=True)
    certificate = active_certificate(app, registration)
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tr id="certificate-row-{registration}">')
    assert certificate is not None and certificate.verification_code in html
    assert "A certificate is issued to Attendee 00" in html  # the message, out of band
    assert "Nobody is waiting for a certificate" in html  # the summary, out of band

    again = client.post(f"{page_url(data)}/{registration}/issue",
                        data={"csrf_token": token}, headers=HX)
    assert "one live certificate per registration" in again.get_data(as_text=True)


def test_declining_needs_a_reason_then_shows_it_and_can_be_undone(app, client, organizer):
    data = build(app, organizer, 1)
    token = csrf_token(client, page_url(data))
    url = f"{page_url(data)}/{data.registrations[0]}"

    refused = client.post(url + "/decline", data={"csrf_token": token, "reason": ""},
                          headers=HX)
    assert "Give a reason for declining" in refused.get_data(as_text=True)

    declined = client.post(url + "/decline",
                           data={"csrf_token": token, "reason": "Did not pass the quiz"},
                           headers=HX).get_data(as_text=True)
    assert "Declined" in declined and "Did not pass the quiz" in declined
    assert "Undo decline" in declined

    undone = client.post(url + "/undo-decline", data={"csrf_token": token}, headers=HX)
    assert ">Issue<" in undone.get_data(as_text=True)


def test_revoking_needs_a_reason_and_the_row_then_offers_a_new_certificate(
        app, client, organizer):
    data = build(app, organizer, 1)
    token = csrf_token(client, page_url(data))
    url = f"{page_url(data)}/{data.registrations[0]}"
    client.post(url + "/issue", data={"csrf_token": token})

    refused = client.post(url + "/revoke", data={"csrf_token": token, "reason": " "},
                          headers=HX)
    assert "Give a reason for revoking" in refused.get_data(as_text=True)
    assert active_certificate(app, data.registrations[0]) is not None

    revoked = client.post(url + "/revoke", data={"csrf_token": token, "reason": "Wrong person"},
                          headers=HX).get_data(as_text=True)
    assert "Revoked" in revoked and "Wrong person" in revoked and ">Issue<" in revoked
    assert active_certificate(app, data.registrations[0]) is None


def test_issue_to_all_shows_the_finished_run_at_100_percent(app, client, organizer):
    data = build(app, organizer, 3)
    token = csrf_token(client, page_url(data))

    response = client.post(f"{page_url(data)}/issue-all", data={"csrf_token": token},
                           follow_redirects=True)

    html = response.get_data(as_text=True)
    assert 'value="100"' in html and "Issuing finished" in html
    assert "3 issued, 0 skipped" in html
    assert "hx-trigger" not in re.search(r'<div id="certificate-run".*?>', html, re.S).group(0)
    for registration in data.registrations:
        assert active_certificate(app, registration) is not None
    assert active_certificate(app, data.absent) is None


def test_the_progress_of_a_running_run_polls_itself_every_second(app, client, organizer):
    data = build(app, organizer, 4)
    with app.app_context():
        run = CertificateIssueRun(event_id=data.event_id, total=4, issued=1,
                                  status=IssueRunStatus.RUNNING)
        db.session.add(run)
        db.session.commit()
        run_uuid = run.uuid

    response = client.get(f"{page_url(data)}/runs/{run_uuid}", headers=HX)

    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="certificate-run"')
    assert 'hx-trigger="load delay:1s"' in html and 'value="25"' in html
    assert 'aria-valuenow="25"' in html and "<progress" in html
    assert "Issue to all eligible" not in client.get(page_url(data)).get_data(as_text=True)


# --- My certificates


def issue_all(app, client, data) -> None:
    token = csrf_token(client, page_url(data))
    client.post(f"{page_url(data)}/issue-all", data={"csrf_token": token})


def attendee_of(app, registration_uuid) -> str:
    with app.app_context():
        registration = db.session.scalar(
            sa.select(Registration).where(Registration.uuid == registration_uuid))
        return registration.email


def test_my_certificates_lists_mine_only_with_a_share_link(app, client, organizer):
    data = build(app, organizer, 2)
    issue_all(app, client, data)
    mine = active_certificate(app, data.registrations[0])
    theirs = active_certificate(app, data.registrations[1])
    attendee = app.test_client()
    log_in(attendee, attendee_of(app, data.registrations[0]))

    html = attendee.get("/certificates/mine").get_data(as_text=True)

    assert mine.verification_code in html and theirs.verification_code not in html
    assert f"http://localhost/verify/{mine.verification_code}" in html
    assert "Copy share link" in html and "Download PDF" in html
    assert "Cardiology update" in html and "6" in html


def test_my_certificates_has_a_helpful_empty_state(app, client, organizer):
    assert "No certificates yet" in client.get("/certificates/mine").get_data(as_text=True)


def test_my_certificates_takes_the_same_queries_for_2_or_20(app, organizer):
    from app.certificates.services import CertificateService

    counts = []
    for size in (2, 20):
        person = create_user(app, email=f"many{size}@example.com", full_name="Many Certs")
        with app.test_request_context():
            user = db.session.get(User, person.id)
            default_template()
            for n in range(size):  # one registration per event and person
                event = completed_event(db.session.get(User, organizer.id), title=f"Talks {n}")
                registration = register(event, "Many Certs", user=user)
                attend(registration, 90)
                CertificateService.issue(registration, user)
            db.session.commit()
        attendee = app.test_client()
        log_in(attendee, person.email)
        with app.app_context(), query_counter(db.engine) as statements:
            html = attendee.get("/certificates/mine").get_data(as_text=True)
        assert html.count('class="card certificate-card"') == size
        counts.append(len(statements))
    assert counts[0] == counts[1]


def test_the_pdf_is_for_its_attendee_and_the_organizer_only(app, client, organizer):
    data = build(app, organizer, 1)
    issue_all(app, client, data)
    certificate = active_certificate(app, data.registrations[0])
    url = f"/certificates/{certificate.uuid}/certificate.pdf"
    attendee = app.test_client()
    log_in(attendee, attendee_of(app, data.registrations[0]))
    stranger = app.test_client()
    log_in(stranger, create_user(app, email="nosy@example.com").email)

    own = attendee.get(url)
    assert own.status_code == 200 and own.mimetype == "application/pdf"
    assert own.data.startswith(b"%PDF")
    assert client.get(url).status_code == 200  # the organizer
    assert stranger.get(url).status_code == 404


def test_a_missing_pdf_is_rendered_again(app, client, organizer):
    from app.core.storage import get_storage

    data = build(app, organizer, 1)
    issue_all(app, client, data)
    certificate = active_certificate(app, data.registrations[0])
    with app.app_context():
        if certificate.pdf_key:
            get_storage().delete(certificate.pdf_key)

    response = client.get(f"/certificates/{certificate.uuid}/certificate.pdf")

    assert response.status_code == 200 and response.data.startswith(b"%PDF")


def test_closing_the_event_is_refused_while_someone_eligible_waits(app, client, organizer):
    from app.events.models import Event
    from app.states import EventStatus

    data = build(app, organizer, 2)
    token = csrf_token(client, f"/events/{data.event_uuid}/manage")  # where Close is

    refused = client.post(f"/events/{data.event_uuid}/close", data={"csrf_token": token},
                          follow_redirects=True)
    assert "2 eligible registrations have neither a certificate nor a decline" in (
        refused.get_data(as_text=True))

    client.post(f"{page_url(data)}/issue-all", data={"csrf_token": token})
    client.post(f"/events/{data.event_uuid}/close", data={"csrf_token": token})
    with app.app_context():
        assert db.session.get(Event, data.event_id).status == EventStatus.CLOSED

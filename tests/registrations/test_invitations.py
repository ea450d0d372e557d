"""Invitations: pasting addresses, the result, the emails and their links, resend, delete,
and the "registered" mark (issue 4 "Invitations")."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.core.bearer import hash_token
from app.core.types import utcnow
from app.events.models import Event, EventVisibility
from app.extensions import db
from app.mailing.models import EmailLog
from app.registrations.invitations import MAX_PER_PASTE, InvitationService, split_addresses
from app.registrations.models import EventInvitation, Registration
from app.states import EventStatus, RegistrationStatus
from tests.conftest import create_user, csrf_token, link_in, log_in, mail_text, query_counter
from tests.conftest import read_mail as read_mailbox
from tests.factories import EventFactory


@pytest.fixture
def organizer(app, client):
    person = create_user(app, email="olga@example.com", full_name="Olga Organizer")
    log_in(client, person.email)
    return person


def make_event(app, organizer, **fields) -> Event:
    with app.app_context():
        event = EventFactory(organizer=db.session.get(User, organizer.id), **fields)
        db.session.commit()
        db.session.refresh(event)
        db.session.expunge(event)
        return event


def invitations_path(event) -> str:
    return f"/events/{event.uuid}/invitations"


def paste(client, event, text: str):
    token = csrf_token(client, invitations_path(event))
    return client.post(invitations_path(event), data={"addresses": text, "csrf_token": token})


def invitations(app, event) -> dict[str, EventInvitation]:
    with app.app_context():
        rows = db.session.scalars(
            sa.select(EventInvitation).where(EventInvitation.event_id == event.id)
        ).all()
        for row in rows:
            db.session.expunge(row)
        return {row.email: row for row in rows}


def row_values(app, invitation: EventInvitation) -> dict:
    """Every column of the invitation's row, as stored."""
    with app.app_context():
        return dict(db.session.execute(
            sa.select(EventInvitation.__table__).where(EventInvitation.id == invitation.id)
        ).mappings().one())


def register(app, event, email: str, user_id: int | None = None) -> None:
    with app.app_context():
        db.session.add(Registration(
            event_id=event.id, email=email, full_name="Reg", user_id=user_id,
            status=RegistrationStatus.CONFIRMED, confirmed_at=utcnow(),
        ))
        db.session.commit()


# --- Parsing


def test_addresses_are_split_on_newlines_commas_and_semicolons():
    text = " ada@example.com,\nBob <BOB@example.com> ;carol@example.com\r\n\n,, ;\n dan@x.org "
    assert split_addresses(text) == [
        "ada@example.com", "BOB@example.com", "carol@example.com", "dan@x.org",
    ]
    assert split_addresses("") == []
    assert split_addresses("not an address") == ["not an address"]


# --- Pasting


def test_a_paste_invites_the_valid_new_addresses_and_reports_the_others(app, client, organizer):
    event = make_event(app, organizer)
    register(app, event, "reg@example.com")
    with app.app_context():
        db.session.add(EventInvitation(event_id=event.id, email="old@example.com",
                                       token_hash=hash_token(secrets.token_urlsafe()),
                                       sent_at=utcnow()))
        db.session.commit()

    response = paste(client, event, "\n".join([
        "Ada@Example.com", "bob@example.com", "not-an-address", "ada@example.com",
        "old@example.com", "reg@example.com", "also bad@", "Carol <carol@example.com>",
    ]))

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "3 people invited." in page
    assert "5 addresses were not invited" in page
    for shown in ("not-an-address", "also bad@", "Pasted more than once", "Already invited",
                  "Already registered"):
        assert shown in page
    rows = invitations(app, event)
    assert set(rows) == {"ada@example.com", "bob@example.com", "carol@example.com",
                         "old@example.com"}
    # The invalid ones stay in the box to be fixed.
    assert "not-an-address\nalso bad@</textarea>" in page
    new = [rows[e] for e in ("ada@example.com", "bob@example.com", "carol@example.com")]
    assert all(r.sent_at is not None and r.registered_at is None for r in new)
    assert all(r.invited_by_id == organizer.id for r in new)
    mails = read_mailbox(app)
    assert sorted(m["To"] for m in mails) == ["ada@example.com", "bob@example.com",
                                              "carol@example.com"]
    # Each link has its own token, of 256 random bits; the database holds only its hash.
    sent = {m["To"]: link_in(m, f"/events/{event.slug}/register").split("invite=")[1]
            for m in mails}
    assert len(set(sent.values())) == 3 and all(len(token) >= 43 for token in sent.values())
    for row in new:
        assert row.token_hash == hash_token(sent[row.email])
        assert sent[row.email] not in str(row_values(app, row))


def test_the_email_links_to_the_registration_form_filled_in(app, client, organizer):
    event = make_event(app, organizer, visibility=EventVisibility.PRIVATE, title="Secret summit")
    paste(client, event, "guest@example.com")
    (message,) = read_mailbox(app)
    assert message["Subject"] == "You are invited to Secret summit"
    assert "Olga Organizer invites you" in mail_text(message)
    link = link_in(message, f"/events/{event.slug}/register")
    token = link.split("?invite=")[1]
    assert link == f"/events/{event.slug}/register?invite={token}"
    assert invitations(app, event)["guest@example.com"].token_hash == hash_token(token)

    # A stranger (not logged in) opens the private event's form through the link.
    stranger = app.test_client()
    assert stranger.get(f"/events/{event.slug}/register").status_code == 404
    form = stranger.get(link)
    assert form.status_code == 200
    assert 'value="guest@example.com"' in form.get_data(as_text=True)


def test_an_empty_paste_is_refused(app, client, organizer):
    event = make_event(app, organizer)
    response = paste(client, event, " \n ,; ")
    assert response.status_code == 422
    assert "Paste at least one email address." in response.get_data(as_text=True)
    assert invitations(app, event) == {}


def test_more_than_500_addresses_are_refused_and_nothing_is_written(app, client, organizer):
    event = make_event(app, organizer)
    text = "\n".join(f"person{n}@example.com" for n in range(MAX_PER_PASTE + 1))
    response = paste(client, event, text)
    assert response.status_code == 422
    assert "Paste at most 500 addresses at once (this has 501)" in response.get_data(as_text=True)
    assert invitations(app, event) == {}
    assert read_mailbox(app) == []


def test_500_addresses_are_invited_in_one_paste(app, client, organizer):
    event = make_event(app, organizer)
    text = ";".join(f"person{n}@example.com" for n in range(MAX_PER_PASTE))
    response = paste(client, event, text)
    assert response.status_code == 200
    assert len(invitations(app, event)) == MAX_PER_PASTE
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(EmailLog.id))) == MAX_PER_PASTE


@pytest.mark.parametrize("status", [EventStatus.DRAFT, EventStatus.CANCELLED,
                                    EventStatus.COMPLETED])
def test_an_event_not_open_takes_no_invitations(app, client, organizer, status):
    event = make_event(app, organizer, status=status)
    page = client.get(invitations_path(event)).get_data(as_text=True)
    assert 'name="addresses"' not in page  # the form is replaced by the reason
    token = csrf_token(client, "/account/profile")
    response = client.post(invitations_path(event),
                           data={"addresses": "ada@example.com", "csrf_token": token})
    assert response.status_code == 422
    assert invitations(app, event) == {}
    assert read_mailbox(app) == []


def test_a_clash_while_writing_leaves_nothing_half_written(app, client, organizer,
                                                           monkeypatch):
    """Someone else invites one of the addresses between our check and our insert: the
    unique (event, email) row refuses ours, and the whole paste is rolled back (ada, who was
    fine, is not half-invited without an email): the organizer is told to paste again."""
    event = make_event(app, organizer)
    from app.registrations import invitations as module

    real_token = module.EventInvitation.new_link_token
    rival_done = []

    def token_after_a_rival(invitation):
        if not rival_done:  # after the "already invited" lookup, before our insert
            rival_done.append(True)
            with app.app_context():  # its own session and connection
                rival = EventInvitation(event_id=event.id, email="bob@example.com",
                                        sent_at=utcnow())
                rival.new_link_token()
                db.session.add(rival)
                db.session.commit()
        return real_token(invitation)

    token = csrf_token(client, invitations_path(event))
    monkeypatch.setattr(module.EventInvitation, "new_link_token", token_after_a_rival)
    response = client.post(invitations_path(event), data={
        "addresses": "ada@example.com\nbob@example.com", "csrf_token": token,
    })

    assert response.status_code == 422
    assert "invited at the same moment by someone else" in response.get_data(as_text=True)
    assert set(invitations(app, event)) == {"bob@example.com"}  # the rival's only
    assert read_mailbox(app) == []


# --- The list, resend, delete


def test_the_list_shows_each_invitation_and_the_counts(app, client, organizer):
    event = make_event(app, organizer)
    paste(client, event, "ada@example.com\nbob@example.com\ncarol@example.com")
    user = create_user(app, email="bob@example.com")
    with app.app_context():
        registration = Registration(event_id=event.id, user_id=user.id, email="bob@example.com",
                                    status=RegistrationStatus.CONFIRMED, confirmed_at=utcnow())
        db.session.add(registration)
        assert InvitationService.record_registration(registration).email == "bob@example.com"
        db.session.commit()

    page = client.get(invitations_path(event)).get_data(as_text=True)
    assert "3 invited · 1 registered · 2 have not registered yet" in page
    assert page.count(">Registered<") == 1 and page.count(">Pending<") == 2
    assert page.count(">Resend<") == 2  # nobody resends to someone registered


def test_an_event_without_invitations_says_how_to_start(app, client, organizer):
    event = make_event(app, organizer)
    page = client.get(invitations_path(event)).get_data(as_text=True)
    assert "Nobody is invited yet." in page
    assert f'href="/events/{event.uuid}/invitations" aria-current="page"' in page


def test_the_list_takes_the_same_number_of_queries_for_2_and_20(app, client, organizer):
    def count_for(n: int) -> int:
        event = make_event(app, organizer)
        paste(client, event, "\n".join(f"p{n}-{i}@example.com" for i in range(n)))
        client.get(invitations_path(event))  # warm up
        with app.app_context():
            engine = db.engine
        with query_counter(engine) as statements:
            response = client.get(invitations_path(event))
        assert response.status_code == 200
        assert response.get_data(as_text=True).count(">Pending<") == n
        return len(statements)

    assert count_for(2) == count_for(20)


def test_resend_emails_a_new_link_and_the_first_stops_working(app, client, organizer):
    """Only the link's hash is kept, so the first link cannot be sent again: a new one is."""
    event = make_event(app, organizer, visibility=EventVisibility.PRIVATE)
    paste(client, event, "ada@example.com")
    first = invitations(app, event)["ada@example.com"]
    with app.app_context():  # as if sent yesterday
        db.session.execute(sa.update(EventInvitation).values(
            sent_at=utcnow() - timedelta(days=1)))
        db.session.commit()

    path = f"{invitations_path(event)}/{first.uuid}/resend"
    response = client.post(path, data={"csrf_token": csrf_token(client, invitations_path(event))})

    assert response.status_code == 303
    again = invitations(app, event)["ada@example.com"]
    assert again.sent_at > utcnow() - timedelta(minutes=1)
    mails = read_mailbox(app)
    assert len(mails) == 2
    first_link, new_link = (link_in(mail, "/events/") for mail in mails)
    assert first_link != new_link
    assert app.test_client().get(new_link).status_code == 200
    assert app.test_client().get(first_link).status_code == 404  # the event is private
    assert "is sent again" in client.get(invitations_path(event)).get_data(as_text=True)


def test_resend_to_someone_registered_is_refused(app, client, organizer):
    event = make_event(app, organizer)
    paste(client, event, "ada@example.com")
    invitation = invitations(app, event)["ada@example.com"]
    with app.app_context():
        db.session.execute(sa.update(EventInvitation).values(registered_at=utcnow()))
        db.session.commit()
    path = f"{invitations_path(event)}/{invitation.uuid}/resend"
    response = client.post(path, data={"csrf_token": csrf_token(client, invitations_path(event))},
                           follow_redirects=True)
    assert "ada@example.com has already registered." in response.get_data(as_text=True)
    assert len(read_mailbox(app)) == 1


def test_delete_removes_the_invitation_and_its_link(app, client, organizer):
    event = make_event(app, organizer)
    paste(client, event, "ada@example.com\nbob@example.com")
    invitation = invitations(app, event)["ada@example.com"]
    link = next(link_in(mail, "/events/") for mail in read_mailbox(app)
                if mail["To"] == "ada@example.com")
    path = f"{invitations_path(event)}/{invitation.uuid}/delete"
    response = client.post(path, data={"csrf_token": csrf_token(client, invitations_path(event))},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert 'id="invitation-list"' in fragment and "ada@example.com" not in fragment.split(
        "</div>", 1)[1]
    assert set(invitations(app, event)) == {"bob@example.com"}
    with app.app_context():
        assert InvitationService.for_token(db.session.get(Event, event.id),
                                           link.split("invite=")[1]) is None


def test_an_invitation_of_another_event_is_not_found(app, client, organizer):
    event = make_event(app, organizer)
    other = make_event(app, organizer)
    paste(client, other, "ada@example.com")
    invitation = invitations(app, other)["ada@example.com"]
    token = csrf_token(client, invitations_path(event))
    for action in ("resend", "delete"):
        path = f"{invitations_path(event)}/{invitation.uuid}/{action}"
        assert client.post(path, data={"csrf_token": token}).status_code == 404
    assert set(invitations(app, other)) == {"ada@example.com"}


# --- Registered marking


def test_record_registration_marks_the_invitation_once(app, organizer):
    event = make_event(app, organizer)
    with app.app_context():
        db.session.add(EventInvitation(event_id=event.id, email="ada@example.com",
                                       token_hash=hash_token("t" * 43), sent_at=utcnow()))
        first = Registration(event_id=event.id, email="ADA@example.com ",
                             status=RegistrationStatus.CONFIRMED)
        stranger = Registration(event_id=event.id, email="zed@example.com",
                                status=RegistrationStatus.CONFIRMED)
        db.session.add_all([first, stranger])
        db.session.flush()
        marked = InvitationService.record_registration(first)
        db.session.flush()
        assert marked is not None and marked.registration_id == first.id
        when = marked.registered_at
        assert when is not None
        assert InvitationService.record_registration(stranger) is None
        db.session.commit()
        # A second registration (after a cancellation) keeps the first mark.
        again = InvitationService.record_registration(first)
        assert again.registered_at == when


def test_registering_through_the_link_marks_the_invitation(app, client, organizer):
    event = make_event(app, organizer)
    paste(client, event, "guest@example.com")
    link = link_in(read_mailbox(app)[0], f"/events/{event.slug}/register")
    guest = app.test_client()
    token = csrf_token(guest, link)
    guest.post(link, data={"csrf_token": token, "full_name": "Gus Guest",
                           "email": "guest@example.com"})
    invitation = invitations(app, event)["guest@example.com"]
    assert invitation.registered_at is not None
    assert invitation.registration_id is not None
    page = client.get(invitations_path(event)).get_data(as_text=True)
    assert "1 invited · 1 registered" in page

"""Venues: whose they are (an organizer's, an organization's, the site's), who may choose
them for an event, their website (http(s) only, however it arrives, and never linked when a
stored one is not), the "Add a venue" dialog of the event form, the admin panel, privacy."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.certificates.cpd_models import CPDActivity
from app.core import privacy
from app.core.errors import ValidationError
from app.events.models import Event, EventFormat, EventLocation, EventRole
from app.events.services import EventDetails, EventService, VenueService
from app.extensions import db
from app.organizations.models import OrganizationMembership
from app.organizations.permissions import OrgRole
from tests.certificates.cpd_helpers import activity, requirement
from tests.conftest import create_user, csrf_token, log_in, post_form
from tests.factories import EventFactory, VenueFactory, in_days
from tests.organizations.helpers import make_org

HTMX = {"HX-Request": "true"}
BAD_URL = "javascript:alert(document.cookie)"
URL_MESSAGE = "Enter a web address starting with https:// or http://"


def text(response) -> str:
    return response.get_data(as_text=True)


def venue_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(EventLocation))


@pytest.fixture
def organizer(app, client):
    user = create_user(app, email="organizer@example.com")
    log_in(client, user.email)
    return user


def client_of(app, email: str):
    """A browser of its own, logged in as `email`."""
    client = app.test_client()
    log_in(client, email)
    return client


def make_venue(app, name: str, **fields) -> int:
    with app.test_request_context():
        venue = VenueFactory(name=name, **fields)
        db.session.commit()
        return venue.id


def make_event(app, organizer, **fields):
    with app.test_request_context():
        event = EventFactory(organizer=db.session.get(User, organizer.id), **fields)
        db.session.commit()
        return event.uuid


def event_form(**overrides) -> dict:
    return {
        "title": "Stroke study day", "timezone": "Europe/London",
        "start_at": "2031-07-10T09:00", "end_at": "2031-07-10T17:00",
        "format": "in_person", "venue_id": "", "capacity": "", "max_speakers": "",
        "cpd_credits": "0", "attendance_threshold": "75", "visibility": "public",
        "calendar_id": "", "certificate_template_id": "", "organization_id": "",
        **overrides,
    }


def venue_options(page: str) -> list[str]:
    select = re.search(r'<select[^>]*name="venue_id".*?</select>', page, re.S).group(0)
    return re.findall(r"<option[^>]*>([^<]*)</option>", select)[1:]  # after "— No venue —"


# --- Every address a person types is http(s), whichever form it comes through


def _venue_page(client):
    return "/venues/new", "/venues/new", {"name": "Civic Hall"}, "url"


def _cpd_activity(client):
    return "/cpd/activities", "/cpd", {
        "title": "Resuscitation course", "completed_on": (date.today() - timedelta(days=2))
        .isoformat(), "credits": "2", "requirement": "",
    }, "evidence_url"


def _admin_venue(client):
    return "/admin/eventlocation/new/", "/admin/eventlocation/new/", {
        "name": "Civic Hall", "address": "", "postal_code": "", "city": "", "country": "",
        "notes": "", "is_site_wide": "y",
    }, "url"


URL_FIELDS = {"venue website": _venue_page, "CPD evidence": _cpd_activity,
              "venue website (admin)": _admin_venue}


@pytest.mark.parametrize("form", URL_FIELDS.values(), ids=URL_FIELDS.keys())
@pytest.mark.parametrize("bad", [BAD_URL, "java\tscript:alert(1)", "data:text/html,x",
                                 "/relative", "example.org"])
def test_an_address_that_is_not_http_is_refused_with_a_message(app, client, form, bad):
    create_user(app, email="admin@example.com", is_admin=True)
    log_in(client, "admin@example.com")
    path, page, data, name = form(client)

    response = post_form(client, path, {**data, name: bad}, page=page)

    assert URL_MESSAGE in text(response)
    assert response.status_code in (200, 422)  # Flask-Admin shows its form again with 200
    with app.app_context():
        assert venue_count() == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CPDActivity)) == 0


@pytest.mark.parametrize("form", URL_FIELDS.values(), ids=URL_FIELDS.keys())
def test_a_web_address_is_saved(app, client, form):
    create_user(app, email="admin@example.com", is_admin=True)
    log_in(client, "admin@example.com")
    path, page, data, name = form(client)

    response = post_form(client, path, {**data, name: " https://example.org/a "}, page=page)

    assert response.status_code in (302, 303)
    with app.app_context():
        saved = db.session.scalars(sa.select(EventLocation.url)).all() + db.session.scalars(
            sa.select(CPDActivity.evidence_url)).all()
        assert saved == ["https://example.org/a"]


def test_the_model_refuses_it_however_it_is_set(ctx):
    with pytest.raises(ValidationError, match="starting with https://") as refused:
        EventLocation(name="Hall", url=BAD_URL)
    assert refused.value.field == "url"
    venue = VenueFactory()
    with pytest.raises(ValidationError):
        venue.url = "javascript:void(0)"
    venue.url = " https://example.org "
    assert venue.url == "https://example.org"


# --- A bad address stored before the check is never linked


def _venue_on_the_public_page(app, client):
    owner = create_user(app, email="olivia@example.com")
    with app.test_request_context():
        venue = VenueFactory(name="Civic Hall")
        event = EventFactory(organizer=db.session.get(User, owner.id), venue=venue,
                             format=EventFormat.IN_PERSON)
        db.session.commit()
        venue_id, slug = venue.id, event.slug
    return (sa.update(EventLocation).where(EventLocation.id == venue_id).values,
            f"/events/{slug}", "Venue website")


def _evidence_on_the_cpd_tracker(app, client):
    member = create_user(app, email="ada@example.com")
    log_in(client, member.email)
    with app.test_request_context():
        user = db.session.get(User, member.id)
        requirement(user)
        row = activity(user, completed_on=in_days(-2).date())
        db.session.commit()
        row_id = row.id

    def values(url):
        return sa.update(CPDActivity).where(CPDActivity.id == row_id).values(evidence_url=url)

    return values, "/cpd", "Evidence"


STORED = {"venue website, public event page": (_venue_on_the_public_page, "url"),
          "CPD evidence, tracker": (_evidence_on_the_cpd_tracker, None)}


@pytest.mark.parametrize(("setup", "column"), STORED.values(), ids=STORED.keys())
def test_a_stored_address_is_linked_only_when_it_is_http(app, client, setup, column):
    update, path, label = setup(app, client)

    def store(url):
        with app.app_context():  # straight into the table, as rows saved before the check
            db.session.execute(update(**{column: url}) if column else update(url))
            db.session.commit()

    store("https://example.org/where")
    assert 'href="https://example.org/where"' in text(client.get(path))
    assert label in text(client.get(path))

    for bad in (BAD_URL, " javascript:alert(1)", "java\tscript:alert(1)", "/relative"):
        store(bad)
        page = text(client.get(path))
        assert "javascript" not in page.lower() and 'href="/relative"' not in page
        assert f">{label}<" not in page and f">{label} <" not in page


# --- Whose venues an organizer is offered


def test_the_picker_offers_own_organization_and_site_wide_venues_only(app, client, organizer):
    org = make_org(app, prefix="medics")
    other = create_user(app, email="someone-else@example.com")
    with app.test_request_context():
        db.session.add(OrganizationMembership(organization_id=org.id, user_id=organizer.id,
                                              role=OrgRole.MANAGER))
        db.session.commit()
    make_venue(app, "Mine", is_site_wide=False, owner_id=organizer.id)
    make_venue(app, "Theirs", is_site_wide=False, owner_id=other.id)
    make_venue(app, "Medics", is_site_wide=False, organization_id=org.id)
    make_venue(app, "Everyone's")
    make_venue(app, "Retired", is_site_wide=False)

    options = venue_options(text(client.get("/events/new")))

    assert [o.split(",")[0] for o in options] == ["Everyone&#39;s", "Medics", "Mine"]


@pytest.mark.parametrize("how", ["create", "edit", "validate"])
def test_someone_elses_venue_is_refused_with_a_field_message(app, client, organizer, how):
    other = create_user(app, email="someone-else@example.com")
    theirs = make_venue(app, "Theirs", is_site_wide=False, owner_id=other.id)
    event_uuid = make_event(app, organizer)
    path, page = {
        "create": ("/events/new", "/events/new"),
        "edit": (f"/events/{event_uuid}/edit", f"/events/{event_uuid}/edit"),
        "validate": ("/events/validate", "/events/new"),
    }[how]

    response = post_form(client, path, event_form(venue_id=str(theirs)), page=page,
                         headers=HTMX if how == "validate" else {})

    assert response.status_code == (200 if how == "validate" else 422)
    assert "Choose a venue from the list." in text(response)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)
                                 .where(Event.venue_id == theirs)) == 0


def test_a_venue_id_that_does_not_exist_gets_the_same_message(app, client, organizer):
    response = post_form(client, "/events/new", event_form(venue_id="987654"),
                         page="/events/new")
    assert response.status_code == 422 and "Choose a venue from the list." in text(response)


def test_an_event_keeps_a_venue_its_editor_could_not_choose(app, client, organizer):
    """A co-organizer edits an event whose venue is the other organizer's."""
    owner = create_user(app, email="olivia@example.com")
    venue_id = make_venue(app, "Olivia's hall", is_site_wide=False, owner_id=owner.id)
    with app.test_request_context():
        event = EventFactory(organizer=db.session.get(User, owner.id), venue_id=venue_id,
                             format=EventFormat.IN_PERSON, start_at=in_days(30),
                             end_at=in_days(30, 17))
        event.add_member(db.session.get(User, organizer.id), EventRole.ORGANIZER)
        db.session.commit()
        event_uuid = event.uuid
    page = text(client.get(f"/events/{event_uuid}/edit"))
    assert "Olivia&#39;s hall" in page

    response = post_form(client, f"/events/{event_uuid}/edit", event_form(
        title="Renamed", venue_id=str(venue_id), start_at=in_days(30).strftime("%Y-%m-%dT%H:%M"),
        end_at=in_days(30, 17).strftime("%Y-%m-%dT%H:%M")))

    assert response.status_code == 303, text(response)
    with app.app_context():
        saved = db.session.scalar(sa.select(Event).where(Event.uuid == event_uuid))
        assert (saved.title, saved.venue_id) == ("Renamed", venue_id)


def test_the_service_refuses_someone_elses_venue_too(ctx):
    organizer, other = User(email="a@example.com"), User(email="b@example.com")
    db.session.add_all([organizer, other])
    db.session.flush()
    theirs = VenueFactory(is_site_wide=False, owner_id=other.id)
    details = EventDetails(title="Day", start_at=in_days(9), end_at=in_days(9, 17),
                           timezone="UTC", format=EventFormat.IN_PERSON, venue_id=theirs.id)

    with pytest.raises(ValidationError, match="Choose a venue from the list") as refused:
        EventService.create(organizer, details)
    assert refused.value.field == "venue_id"
    event = EventService.create(other, details)
    assert event.venue_id == theirs.id
    with pytest.raises(ValidationError):  # another venue of theirs, chosen by someone else
        EventService.update(event, EventDetails(**{
            **details.__dict__, "venue_id": VenueFactory(is_site_wide=False,
                                                         owner_id=other.id).id,
        }), editor=organizer)


ROLE_USES_ORG_VENUE = {"owner": True, "admin": True, "manager": True, "member": False,
                       "outsider": False}


@pytest.mark.parametrize("role", ROLE_USES_ORG_VENUE)
def test_who_may_use_which_venue(app, role):
    """can_use_venue and the picker's query agree, for every kind of venue and role."""
    org = make_org(app, prefix="medics")
    person = getattr(org, role) if role != "outsider" else create_user(
        app, email="person@example.com")
    other = create_user(app, email="other@example.com")
    with app.test_request_context():
        venues = {
            "site-wide": VenueFactory(),
            "own": VenueFactory(is_site_wide=False, owner_id=person.id),
            "someone else's": VenueFactory(is_site_wide=False, owner_id=other.id),
            "organization's": VenueFactory(is_site_wide=False, organization_id=org.id),
            "retired": VenueFactory(is_site_wide=False),
        }
        db.session.flush()
        user = db.session.get(User, person.id)
        expected = {"site-wide": True, "own": True, "someone else's": False,
                    "organization's": ROLE_USES_ORG_VENUE[role], "retired": False}

        assert {kind: user.can_use_venue(v) for kind, v in venues.items()} == expected
        listed = set(db.session.scalars(EventLocation.usable_by(user)))
        assert {kind for kind, v in venues.items() if v in listed} == {
            kind for kind, ok in expected.items() if ok}


# --- Adding a venue: for oneself or for an organization


def test_a_venue_added_by_an_organizer_is_theirs_alone(app, client, organizer):
    post_form(client, "/venues/new", {"name": "Civic Hall", "url": "https://civic.example"})
    with app.app_context():
        venue = db.session.scalar(sa.select(EventLocation))
        assert (venue.owner_id, venue.organization_id, venue.is_site_wide) == (
            organizer.id, None, False)
    other = create_user(app, email="someone-else@example.com")
    assert venue_options(text(client_of(app, other.email).get("/events/new"))) == []


def test_a_manager_adds_a_venue_for_their_organization(app, client):
    org = make_org(app, prefix="medics")
    log_in(client, org.manager.email)
    page = text(client.get(f"/venues/new?organization_id={org.id}"))
    assert re.search(rf'<option selected value="{org.id}">', page)  # the event's organization

    response = post_form(client, "/venues/new", {"name": "Medics HQ",
                                                 "organization": str(org.id)})

    assert response.status_code == 303
    with app.app_context():
        venue = db.session.scalar(sa.select(EventLocation))
        assert (venue.owner_id, venue.organization_id) == (None, org.id)
    assert venue_options(text(client_of(app, org.admin.email).get("/events/new"))) == [
        "Medics HQ"]
    member = client_of(app, org.member.email)  # a member does not create events
    assert venue_options(text(member.get("/events/new"))) == []


def test_a_member_cannot_add_a_venue_for_the_organization(app, client):
    org = make_org(app, prefix="medics")
    log_in(client, org.member.email)
    assert "Who can choose it" not in text(client.get("/venues/new"))

    response = post_form(client, "/venues/new", {"name": "Medics HQ",
                                                 "organization": str(org.id)})

    assert response.status_code == 422 and "Not a valid choice" in text(response)
    with app.test_request_context():
        assert venue_count() == 0
        member = db.session.get(User, org.member.id)
        with pytest.raises(ValidationError, match="may not add venues for that organization"):
            VenueService.create(member, name="Medics HQ", organization_id=org.id)


# --- The dialog of the event form (HTMX)


def test_the_dialog_gets_the_form_alone(app, client, organizer):
    response = client.get("/venues/new", headers=HTMX)

    page = text(response)
    assert response.status_code == 200 and "<html" not in page
    assert 'id="venue-dialog-title"' in page
    assert 'hx-post="/venues/new"' in page and 'hx-target="#venue-dialog"' in page
    assert 'method="dialog"' in page  # Cancel closes it without a request
    assert "<script" not in page and " on" not in re.sub(r"[^<]*(<[^>]*>)", r"\1", page)
    assert "HX-Request" in response.headers["Vary"]


def test_the_dialog_shows_problems_inside_itself(app, client, organizer):
    token = csrf_token(client, "/venues/new")
    response = client.post("/venues/new", data={"csrf_token": token, "name": "",
                                                "url": BAD_URL}, headers=HTMX)

    page = text(response)
    assert response.status_code == 422 and "<html" not in page
    assert URL_MESSAGE in page and 'aria-invalid="true"' in page
    with app.app_context():
        assert venue_count() == 0


def test_a_venue_added_in_the_dialog_joins_the_list_chosen_and_closes_it(app, client,
                                                                         organizer):
    token = csrf_token(client, "/venues/new")
    response = client.post("/venues/new", data={"csrf_token": token, "name": "Civic Hall",
                                                "city": "Leeds"}, headers=HTMX)

    assert response.status_code == 200
    assert response.headers["HX-Reswap"] == "none"
    assert response.headers["HX-Trigger-After-Swap"] == "dialog-done"
    with app.app_context():
        venue_id = db.session.scalar(sa.select(EventLocation.id))
    page = text(response)
    assert 'hx-swap-oob="beforeend:#venue_id"' in page
    assert f'<option value="{venue_id}" selected>Civic Hall, Leeds</option>' in page
    assert "The venue “Civic Hall” is added and chosen." in page


def test_the_event_form_opens_the_dialog_without_inline_script(app, client, organizer):
    event_uuid = make_event(app, organizer)
    for path in ("/events/new", f"/events/{event_uuid}/edit"):
        page = text(client.get(path))
        button = re.search(r'<button[^>]*hx-get="/venues/new"[^>]*>', page).group(0)
        assert 'hx-target="#venue-dialog"' in button and 'aria-haspopup="dialog"' in button
        assert '<dialog id="venue-dialog"' in page
        assert page.index("</form>") < page.index('<dialog id="venue-dialog"')  # not nested
        assert not re.search(r"\son[a-z]+=", page.split('<main', 1)[1])


# --- Admins curate the site-wide venues


def admin_client(app, client):
    create_user(app, email="admin@example.com", is_admin=True)
    log_in(client, "admin@example.com")
    return client


def test_an_admin_adds_a_site_wide_venue_every_organizer_is_offered(app, client):
    admin_client(app, client)
    response = post_form(client, "/admin/eventlocation/new/", {
        "name": "Town Hall", "address": "", "postal_code": "", "city": "", "country": "",
        "url": "", "notes": "", "is_site_wide": "y"})
    assert response.status_code == 302
    someone = create_user(app, email="someone@example.com")
    assert venue_options(text(client_of(app, someone.email).get("/events/new"))) == [
        "Town Hall"]


def test_making_an_organizers_venue_site_wide_takes_it_from_them(app, client):
    owner = create_user(app, email="olivia@example.com")
    venue_id = make_venue(app, "Olivia's hall", is_site_wide=False, owner_id=owner.id)
    admin_client(app, client)
    edit = f"/admin/eventlocation/edit/?id={venue_id}"
    assert "Olivia" in text(client.get("/admin/eventlocation/"))

    response = post_form(client, edit, {
        "name": "Olivia's hall", "address": "", "postal_code": "", "city": "", "country": "",
        "url": "", "notes": "", "is_site_wide": "y"})

    assert response.status_code == 302
    with app.app_context():
        venue = db.session.get(EventLocation, venue_id)
        assert (venue.is_site_wide, venue.owner_id, venue.organization_id) == (True, None, None)


# --- Privacy


def test_a_persons_own_venues_are_exported_and_erased(app):
    owner = create_user(app, email="olivia@example.com")
    with app.test_request_context():
        user = db.session.get(User, owner.id)
        unused = VenueFactory(name="Spare room", is_site_wide=False, owner_id=user.id)
        used = VenueFactory(name="Civic Hall", is_site_wide=False, owner_id=user.id,
                            url="https://civic.example")
        EventFactory(organizer=user, venue=used, format=EventFormat.IN_PERSON)
        VenueFactory(name="Everyone's")
        db.session.flush()
        unused_id, used_id = unused.id, used.id

        exported = privacy.export_user_data(user)["venues"]
        assert [(v["name"], v["website"]) for v in exported] == [
            ("Spare room", ""), ("Civic Hall", "https://civic.example")]

        privacy.anonymise_user(user)
        db.session.expire_all()
        assert db.session.get(EventLocation, unused_id) is None
        kept = db.session.get(EventLocation, used_id)
        assert (kept.owner_id, kept.is_site_wide) == (None, False)  # offered to no one
        assert privacy.export_user_data(user)["venues"] == []

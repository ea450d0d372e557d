"""Events choose their certificate template on the event form: the default or one of the
organizer's own, never someone else's."""

from __future__ import annotations

import sqlalchemy as sa

from app.certificates.defaults import default_template, template_for_event
from app.certificates.models import CertificateTemplate
from app.events.models import Event
from app.extensions import db
from tests.conftest import create_user, log_in, post_form
from tests.events.test_manage import event_form


def owned_template(app, owner_id: int, name: str) -> int:
    with app.app_context():
        template = CertificateTemplate(name=name, owner_id=owner_id, html="<p>x</p>",
                                       field_positions={})
        db.session.add(template)
        db.session.commit()
        return template.id


def created_event(app) -> Event:
    with app.app_context():
        return db.session.scalars(sa.select(Event)).one()


def test_the_form_offers_the_default_and_my_templates(app, client):
    me = create_user(app, email="me@example.com")
    other = create_user(app, email="other@example.com")
    owned_template(app, me.id, "My gala design")
    owned_template(app, other.id, "Their design")
    log_in(client, me.email)

    page = client.get("/events/new").get_data(as_text=True)

    assert "— The default template —" in page
    assert "My gala design" in page
    assert "Their design" not in page


def test_an_event_keeps_the_template_chosen(app, client):
    me = create_user(app, email="me@example.com")
    template_id = owned_template(app, me.id, "My gala design")
    log_in(client, me.email)

    data = event_form(certificate_template_id=str(template_id))
    response = post_form(client, "/events/new", data, page="/events/new")

    assert response.status_code == 303
    assert created_event(app).certificate_template_id == template_id


def test_someone_elses_template_is_refused(app, client):
    me = create_user(app, email="me@example.com")
    other = create_user(app, email="other@example.com")
    theirs = owned_template(app, other.id, "Their design")
    log_in(client, me.email)

    data = event_form(certificate_template_id=str(theirs))
    response = post_form(client, "/events/new", data, page="/events/new")

    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) == 0


def test_without_a_choice_the_event_uses_the_default(app, ctx, client):
    me = create_user(app, email="me@example.com")
    log_in(client, me.email)

    post_form(client, "/events/new", event_form(), page="/events/new")

    event = db.session.scalars(sa.select(Event)).one()
    assert event.certificate_template_id is None
    assert template_for_event(event) == default_template()

"""Certificates in /admin: the default template is edited there with the site's checks;
certificates and their history are read-only."""

from __future__ import annotations

from app.certificates.defaults import DEFAULT_CSS, default_template
from app.certificates.models import CertificateTemplate
from app.extensions import db
from tests.certificates.template_helpers import make_certificate
from tests.conftest import create_user, csrf_token, log_in


def admin_client(app):
    admin = create_user(app, email="admin@example.com", is_admin=True)
    client = app.test_client()
    log_in(client, admin.email)
    return client


def default_id(app) -> int:
    with app.test_request_context():
        template = default_template()
        db.session.commit()
        return template.id


def edit(client, template_id: int, **fields):
    url = f"/admin/certificatetemplate/edit/?id={template_id}"
    data = {"name": "Convene classic", "html": "<h1>{{ attendee_name }}</h1>",
            "css": DEFAULT_CSS, "page_size": "A4", "orientation": "landscape",
            "field_positions": "{}", **fields}
    return client.post(url, data={**data, "csrf_token": csrf_token(client, url)})


def stored_html(app, template_id: int) -> str:
    with app.app_context():
        return db.session.get(CertificateTemplate, template_id).html


def test_an_admin_restyles_the_default_template(app):
    client = admin_client(app)
    template_id = default_id(app)

    response = edit(client, template_id, html="<h1>Well done, {{ attendee_name }}</h1>")

    assert response.status_code == 302
    assert stored_html(app, template_id) == "<h1>Well done, {{ attendee_name }}</h1>"


def test_the_admin_refuses_a_broken_template_with_its_line(app):
    client = admin_client(app)
    template_id = default_id(app)
    before = stored_html(app, template_id)

    response = edit(client, template_id, html="<h1>\n{{ attendee_name </h1>")

    assert response.status_code == 200
    assert "Line 2:" in response.get_data(as_text=True)
    assert stored_html(app, template_id) == before


def test_the_admin_refuses_config(app):
    client = admin_client(app)
    template_id = default_id(app)

    response = edit(client, template_id, html="{{ config }}")

    assert "Unknown variable: config" in response.get_data(as_text=True)


def test_certificates_and_history_are_listed_read_only(app):
    client = admin_client(app)
    with app.test_request_context():
        certificate = make_certificate(name="Mary Jackson")
        db.session.commit()
        code = certificate.verification_code

    certificates = client.get("/admin/certificate/").get_data(as_text=True)
    history = client.get("/admin/certificatestatushistory/")

    assert "Mary Jackson" in certificates and code in certificates
    assert history.status_code == 200 and "Issued" in history.get_data(as_text=True)
    assert client.get("/admin/certificate/new/").status_code == 302

"""The certificate template pages: list, create, edit, preview, copy, delete."""

from __future__ import annotations

import base64
import io
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.certificates.defaults import default_template
from app.certificates.models import CertificateTemplate, CertificateTemplateKind
from app.core.storage import get_storage
from app.core.types import utcnow
from app.extensions import db
from tests.certificates.template_helpers import html_form, make_certificate
from tests.conftest import create_user, csrf_token, log_in, post_form, query_counter
from tests.core.image_files import REFUSED_IMAGES
from tests.factories import EventFactory

NEW = "/certificates/templates/new"
LIST = "/certificates/templates"


@pytest.fixture
def organizer(app, client):
    user = create_user(app, email="organizer@example.com")
    log_in(client, user.email)
    return user


def png_upload(size: tuple[int, int] = (300, 210), name: str = "bg.png"):
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (240, 230, 210)).save(buffer, format="PNG")
    buffer.seek(0)
    return buffer, name


def templates_named(app, name: str) -> list[CertificateTemplate]:
    with app.app_context():
        return db.session.scalars(
            sa.select(CertificateTemplate).where(CertificateTemplate.name == name)
            .execution_options(include_deleted=True)
        ).all()


def new_template(app, owner_id: int | None, name: str = "Mine", **fields) -> str:
    with app.test_request_context():
        template = CertificateTemplate(name=name, owner_id=owner_id, css="",
                                       html="<p>{{ attendee_name }}</p>", field_positions={},
                                       **fields)
        db.session.add(template)
        db.session.commit()
        return str(template.uuid)


# --- Listing


def test_the_list_shows_the_default_and_my_templates_only(app, client, organizer):
    other = create_user(app, email="other@example.com")
    new_template(app, organizer.id, "Gala blue")
    new_template(app, other.id, "Someone else's")

    page = client.get(LIST).get_data(as_text=True)

    assert "Convene classic" in page and "Default" in page
    assert "Gala blue" in page
    assert "Someone else" not in page


def test_the_list_suggests_what_to_do_when_i_have_no_template(client, organizer):
    page = client.get(LIST).get_data(as_text=True)

    assert "You have no templates of your own yet" in page


def test_the_list_costs_the_same_queries_for_2_and_20_templates(app, client, organizer):
    client.get(LIST)  # the default exists from now on

    def count(templates: int) -> int:
        with app.app_context():
            db.session.execute(sa.delete(CertificateTemplate).where(
                CertificateTemplate.owner_id == organizer.id))
            db.session.commit()
        for n in range(templates):
            new_template(app, organizer.id, f"Template {n:02d}")
        with app.app_context(), query_counter(db.engine) as statements:
            response = client.get(LIST)
        assert response.status_code == 200
        assert response.get_data(as_text=True).count("Template ") >= templates
        return len(statements)

    assert count(2) == count(20)


# --- Creating and editing


def test_an_organizer_creates_an_html_template(app, client, organizer):
    response = post_form(client, NEW, html_form(name="Gala design"))

    assert response.status_code == 303
    [template] = templates_named(app, "Gala design")
    assert template.owner_id == organizer.id
    assert template.kind == CertificateTemplateKind.HTML
    assert not template.is_default


def test_the_new_form_starts_from_the_default_design(client, organizer):
    page = client.get(NEW).get_data(as_text=True)

    assert "{{ attendee_name }}" in page
    assert 'hx-post="/certificates/templates/preview"' in page


def test_a_syntax_error_is_refused_with_its_line(app, client, organizer):
    html = "<h1>{{ attendee_name }}</h1>\n<p>{% if cpd_credits %}</p>\n"
    response = post_form(client, NEW, html_form(name="Broken", html=html), page=NEW)

    assert response.status_code == 422
    assert "Line 2: Unexpected end of template" in response.get_data(as_text=True)
    assert templates_named(app, "Broken") == []


def test_config_is_refused_on_save(app, client, organizer):
    response = post_form(client, NEW, html_form(name="Sneaky", html="{{ config }}"), page=NEW)

    assert response.status_code == 422
    assert "Unknown variable: config" in response.get_data(as_text=True)
    assert templates_named(app, "Sneaky") == []


def test_internals_are_refused_on_save_by_the_trial_render(app, client, organizer):
    html = "{{ attendee_name.__class__.__mro__ }}"
    response = post_form(client, NEW, html_form(name="Sneaky", html=html), page=NEW)

    assert response.status_code == 422
    assert "not allowed" in response.get_data(as_text=True)
    assert templates_named(app, "Sneaky") == []


def test_a_20_mb_upload_gets_a_clear_message_and_nothing_is_saved(app, client, organizer):
    data = {**html_form(name="Huge"), "background": (io.BytesIO(b"\0" * (20 * 1024 * 1024)),
                                                      "huge.png")}
    response = post_form(client, NEW, data, page=NEW, content_type="multipart/form-data")

    assert response.status_code == 413
    assert "the background image may be at most 5 MB" in response.get_data(as_text=True)
    assert templates_named(app, "Huge") == []


def test_a_20_mb_upload_to_an_edit_keeps_the_saved_template(app, client, organizer):
    template_uuid = new_template(app, organizer.id, "Saved design")
    url = f"/certificates/templates/{template_uuid}/edit"
    data = {**html_form(name="Renamed"), "background": (io.BytesIO(b"\0" * (20 * 1024 * 1024)),
                                                         "huge.png")}
    response = post_form(client, url, data, content_type="multipart/form-data")

    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "the background image may be at most 5 MB" in page
    assert 'value="Saved design"' in page
    assert templates_named(app, "Renamed") == []


def test_a_20_mb_post_from_a_visitor_gets_the_plain_413_page(client):
    response = client.post(NEW, data={"background": (io.BytesIO(b"\0" * (20 * 1024 * 1024)),
                                                     "huge.png")},
                           content_type="multipart/form-data")

    assert response.status_code == 413
    assert "Name" not in response.get_data(as_text=True)


def test_a_6_mb_image_is_refused_by_the_form(app, client, organizer):
    import os

    from PIL import Image

    buffer = io.BytesIO()
    Image.frombytes("RGB", (1500, 1400), os.urandom(1500 * 1400 * 3)).save(buffer, format="PNG")
    assert buffer.tell() > 5 * 1024 * 1024
    buffer.seek(0)
    data = {**html_form(name="Big"), "background": (buffer, "big.png")}
    response = post_form(client, NEW, data, page=NEW, content_type="multipart/form-data")

    assert response.status_code == 422
    assert "it may be at most 5 MB" in response.get_data(as_text=True)
    assert templates_named(app, "Big") == []


def test_a_file_that_is_not_an_image_is_refused(app, client, organizer):
    data = {**html_form(name="Fake"), "background": (io.BytesIO(b"MZ\x90\0 an exe"), "bg.png")}
    response = post_form(client, NEW, data, page=NEW, content_type="multipart/form-data")

    assert response.status_code == 422
    assert "not an image in a format accepted here: PNG or JPEG" in response.get_data(
        as_text=True)
    assert templates_named(app, "Fake") == []


def test_a_background_template_is_stored_outside_static(app, client, organizer):
    positions = '{"attendee_name": {"x": 20, "y": 90, "width": 250, "font_size": 30}}'
    data = {**html_form(name="Parchment", kind="background", html="", css="",
                        field_positions=positions),
            "background": png_upload()}
    response = post_form(client, NEW, data, page=NEW, content_type="multipart/form-data")

    assert response.status_code == 303, response.get_data(as_text=True)
    [template] = templates_named(app, "Parchment")
    assert template.background_key.startswith("certificate-backgrounds/")
    with app.app_context():
        assert get_storage().exists(template.background_key)
        assert "static" not in str(get_storage().path(template.background_key))
    assert template.field_positions["attendee_name"]["font_size"] == 30


def stored_backgrounds(app) -> list[str]:
    with app.app_context():
        return get_storage().keys_written_before("certificate-backgrounds",
                                                 utcnow() + timedelta(days=1))


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("name", list(REFUSED_IMAGES))
def test_an_image_bomb_or_a_broken_background_is_a_form_error_and_nothing_is_saved(
        app, client, organizer, name):
    data, message = REFUSED_IMAGES[name]
    template_uuid = new_template(app, organizer.id, "Keep me")
    edit = f"/certificates/templates/{template_uuid}/edit"
    files = stored_backgrounds(app)

    def form(title):
        return {**html_form(name=title, kind="background", html="", css="",
                            field_positions='{"attendee_name": {"x": 20, "y": 90}}'),
                "background": (io.BytesIO(data()), "background.png")}

    created = post_form(client, NEW, form("Bomb"), page=NEW,
                        content_type="multipart/form-data")
    edited = post_form(client, edit, form("Changed"), page=edit,
                       content_type="multipart/form-data")
    preview = client.post("/certificates/templates/preview",
                          data={**form("Preview"), "csrf_token": csrf_token(client, NEW)},
                          content_type="multipart/form-data", headers={"HX-Request": "true"})

    for response in (created, edited):
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    assert preview.status_code == 200 and message in preview.get_data(as_text=True)
    assert templates_named(app, "Bomb") == templates_named(app, "Changed") == []
    [kept] = templates_named(app, "Keep me")
    assert kept.kind == CertificateTemplateKind.HTML and kept.background_key is None
    assert stored_backgrounds(app) == files


def test_a_background_for_a4_at_300_dpi_is_accepted(app, client, organizer):
    data = {**html_form(name="Print", kind="background", html="", css="",
                        field_positions='{"attendee_name": {"x": 20, "y": 90}}'),
            "background": png_upload((3508, 2480))}
    response = post_form(client, NEW, data, page=NEW, content_type="multipart/form-data")

    assert response.status_code == 303, response.get_data(as_text=True)
    [template] = templates_named(app, "Print")
    assert template.background_key.endswith(".png")


def test_a_background_template_needs_an_image(app, client, organizer):
    data = html_form(name="Bare", kind="background", html="",
                     field_positions='{"attendee_name": {"x": 1, "y": 1}}')
    response = post_form(client, NEW, data, page=NEW)

    assert response.status_code == 422
    assert "needs a background image" in response.get_data(as_text=True)


def test_bad_field_positions_are_refused_with_where(app, client, organizer):
    data = {**html_form(name="Off", kind="background", html="",
                        field_positions='{"attendee_name": {"x": -5, "y": 1}}'),
            "background": png_upload()}
    response = post_form(client, NEW, data, page=NEW, content_type="multipart/form-data")

    assert response.status_code == 422
    assert "attendee_name → x: -5 is less than the minimum of 0" in response.get_data(
        as_text=True)
    assert templates_named(app, "Off") == []


def test_an_organizer_edits_their_template(app, client, organizer):
    template_uuid = new_template(app, organizer.id, "Old name")
    url = f"/certificates/templates/{template_uuid}/edit"

    response = post_form(client, url, html_form(name="New name", orientation="portrait"))

    assert response.status_code == 303
    [template] = templates_named(app, "New name")
    assert template.orientation == "portrait"


def test_a_failed_edit_changes_nothing(app, client, organizer):
    template_uuid = new_template(app, organizer.id, "Keep me")
    url = f"/certificates/templates/{template_uuid}/edit"

    response = post_form(client, url, html_form(name="Changed", html="{% for %}"))

    assert response.status_code == 422
    assert len(templates_named(app, "Keep me")) == 1
    assert templates_named(app, "Changed") == []


def test_someone_elses_template_is_not_found(app, client, organizer):
    other = create_user(app, email="other@example.com")
    template_uuid = new_template(app, other.id, "Theirs")

    assert client.get(f"/certificates/templates/{template_uuid}/edit").status_code == 404


# --- The default template


def default_uuid(app) -> str:
    with app.test_request_context():
        template = default_template()
        db.session.commit()
        return str(template.uuid)


def test_organizers_cannot_edit_the_default_but_can_copy_it(app, client, organizer):
    template_uuid = default_uuid(app)

    assert client.get(f"/certificates/templates/{template_uuid}/edit").status_code == 403
    response = post_form(client, f"/certificates/templates/{template_uuid}/copy", page=LIST)

    assert response.status_code == 303
    [copy] = templates_named(app, "Copy of Convene classic")
    assert copy.owner_id == organizer.id and not copy.is_default
    assert response.headers["Location"] == f"/certificates/templates/{copy.uuid}/edit"


def test_admins_edit_the_default(app, client):
    admin = create_user(app, email="admin@example.com", is_admin=True)
    log_in(client, admin.email)
    template_uuid = default_uuid(app)

    assert client.get(f"/certificates/templates/{template_uuid}/edit").status_code == 200


def test_the_default_is_seeded_once(app, client, organizer):
    client.get(LIST)
    client.get(LIST)

    assert len(templates_named(app, "Convene classic")) == 1


# --- Preview


def test_the_preview_is_a_png_of_the_form_content(client, organizer):
    token = csrf_token(client, NEW)
    response = client.post("/certificates/templates/preview",
                           data={**html_form(), "csrf_token": token},
                           headers={"HX-Request": "true"})

    assert response.status_code == 200
    match = re.search(r'src="data:image/png;base64,([^"]+)"', response.get_data(as_text=True))
    assert match
    assert base64.b64decode(match.group(1)).startswith(b"\x89PNG\r\n\x1a\n")


def test_the_preview_shows_the_error_of_a_broken_template(client, organizer):
    token = csrf_token(client, NEW)
    response = client.post("/certificates/templates/preview",
                           data={**html_form(html="{{ attendee_name"), "csrf_token": token})

    assert response.status_code == 200
    assert "Line 1:" in response.get_data(as_text=True)
    assert "data:image/png" not in response.get_data(as_text=True)


def test_the_preview_pdf(client, organizer):
    token = csrf_token(client, NEW)
    response = client.post("/certificates/templates/preview.pdf",
                           data={**html_form(), "csrf_token": token})

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")


# --- Deleting


def test_deleting_is_soft(app, client, organizer):
    template_uuid = new_template(app, organizer.id, "Old design")

    response = post_form(client, f"/certificates/templates/{template_uuid}/delete", page=LIST)

    assert response.status_code == 303
    [template] = templates_named(app, "Old design")
    assert template.deleted_at is not None
    assert '<th scope="row">Old design' not in client.get(LIST).get_data(as_text=True)


def test_a_template_an_event_uses_cannot_be_deleted(app, client, organizer):
    template_uuid = new_template(app, organizer.id, "Chosen")
    with app.test_request_context():
        [template] = templates_named(app, "Chosen")
        EventFactory(certificate_template_id=template.id)
        db.session.commit()

    response = post_form(client, f"/certificates/templates/{template_uuid}/delete", page=LIST,
                         follow_redirects=True)

    assert "used by an event or an issued certificate" in response.get_data(as_text=True)
    assert templates_named(app, "Chosen")[0].deleted_at is None


def test_a_template_a_certificate_uses_cannot_be_deleted(app, client, organizer):
    template_uuid = new_template(app, organizer.id, "Issued")
    with app.test_request_context():
        [template] = templates_named(app, "Issued")
        make_certificate(db.session.merge(template))
        db.session.commit()

    response = post_form(client, f"/certificates/templates/{template_uuid}/delete", page=LIST,
                         follow_redirects=True)

    assert "used by an event or an issued certificate" in response.get_data(as_text=True)
    assert templates_named(app, "Issued")[0].deleted_at is None


def test_the_default_cannot_be_deleted_even_by_an_admin(app, client):
    admin = create_user(app, email="admin@example.com", is_admin=True)
    log_in(client, admin.email)
    template_uuid = default_uuid(app)

    post_form(client, f"/certificates/templates/{template_uuid}/delete", page=LIST)

    assert templates_named(app, "Convene classic")[0].deleted_at is None

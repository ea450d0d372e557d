"""Rendering certificate templates: the sandbox, the render budget and time limit, the
link_callback's allow-list, field positions, and the PDF's content from frozen data."""

from __future__ import annotations

import signal
import threading

import pytest
from flask import current_app

from app.certificates.models import PLACEHOLDERS, CertificateTemplate, CertificateTemplateKind
from app.certificates.pdf import REFUSED, html_to_pdf, link_callback, pdf_thumbnail_png
from app.certificates.rendering import (
    RenderError,
    certificate_context,
    render_pdf,
    render_template_html,
    sample_context,
    template_source_problems,
)
from app.certificates.template_service import check_background, parse_field_positions
from app.core.deadline import THREAD_NAME
from app.core.errors import ValidationError
from app.core.storage import get_storage
from tests.certificates.template_helpers import make_certificate, pdf_text

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def html_template(html: str, css: str = "") -> CertificateTemplate:
    return CertificateTemplate(name="t", kind=CertificateTemplateKind.HTML, html=html, css=css,
                               page_size="A4", orientation="landscape", field_positions={})


def png_bytes(width: int = 40, height: int = 30) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 220, 240)).save(buffer, format="PNG")
    return buffer.getvalue()


# --- The sandbox


def test_config_is_not_a_placeholder(ctx):
    [problem] = template_source_problems("<p>{{ config }}</p>")
    assert problem.startswith("Unknown variable: config. Available: attendee_name, ")
    assert all(name in problem for name in PLACEHOLDERS)
    with pytest.raises(RenderError, match="config"):
        render_template_html(html_template("{{ config }}"), sample_context())


def test_python_internals_are_refused(ctx):
    template = html_template("{{ ''.__class__.__mro__[1].__subclasses__() }}")

    with pytest.raises(RenderError, match="not allowed|unsafe"):
        render_template_html(template, sample_context())


def test_a_syntax_error_is_reported_with_its_line(ctx):
    problems = template_source_problems("<p>fine</p>\n<p>{{ attendee_name </p>\n")

    assert len(problems) == 1
    assert problems[0].startswith("Line 2: ")


def test_a_huge_range_is_refused(ctx):
    template = html_template("{% for i in range(10 ** 6) %}.{% endfor %}")

    with pytest.raises(RenderError, match="range"):
        render_template_html(template, sample_context())


def test_output_past_the_budget_is_stopped(ctx):
    template = html_template("{% for i in range(1000) %}{{ 'x' * 1000 }}{% endfor %}")

    with pytest.raises(RenderError, match="produces more than 500,000 characters"):
        render_template_html(template, sample_context())


ENDLESS = ("{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}"
           "{% endfor %}{% endfor %}{% endfor %}")


def test_an_endless_template_is_stopped_by_the_time_limit(ctx, monkeypatch):
    """In the main thread (a work horse, a sync web worker) by the CPU timer, which then
    leaves the process's SIGVTALRM handler and timer as they were."""
    monkeypatch.setitem(current_app.config, "TEMPLATE_RENDER_SECONDS", 0.5)
    handler_before = signal.getsignal(signal.SIGVTALRM)

    with pytest.raises(RenderError, match="took too long to render \\(more than 0.5 seconds"):
        render_template_html(html_template(ENDLESS), sample_context())

    assert signal.getsignal(signal.SIGVTALRM) is handler_before
    assert signal.getitimer(signal.ITIMER_VIRTUAL) == (0.0, 0.0)
    assert not [t for t in threading.enumerate() if t.name == THREAD_NAME]


def test_a_timer_that_was_running_runs_on_after_a_render(ctx):
    fired = []
    previous = signal.signal(signal.SIGVTALRM, lambda signum, frame: fired.append(signum))
    try:
        signal.setitimer(signal.ITIMER_VIRTUAL, 30)

        render_template_html(html_template("<p>{{ attendee_name }}</p>"), sample_context())

        assert signal.getitimer(signal.ITIMER_VIRTUAL)[0] > 0
        assert not fired
    finally:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        signal.signal(signal.SIGVTALRM, previous)


def test_an_endless_template_is_stopped_outside_the_main_thread(app, monkeypatch):
    """A threaded server renders in its request threads, where signals cannot be used: the
    render runs in a thread of its own, stopped by an asynchronous exception."""
    monkeypatch.setitem(app.config, "TEMPLATE_RENDER_SECONDS", 0.5)
    outcome = {}

    def request_thread():
        with app.test_request_context():
            try:
                render_template_html(html_template(ENDLESS), sample_context())
            except RenderError as error:
                outcome["error"] = str(error)
            outcome["fine"] = render_template_html(html_template("<p>{{ 1 + 1 }}</p>"),
                                                   sample_context())

    thread = threading.Thread(target=request_thread)
    thread.start()
    thread.join(30)

    assert "took too long to render (more than 0.5 seconds)" in outcome["error"]
    assert "<p>2</p>" in outcome["fine"]
    renders = [t for t in threading.enumerate() if t.name == THREAD_NAME]
    for render in renders:
        render.join(5)
    assert not any(render.is_alive() for render in renders), "the render thread still runs"


def test_placeholders_are_escaped(ctx):
    context = {**sample_context(), "attendee_name": "<script>alert(1)</script>"}

    html = render_template_html(html_template("<p>{{ attendee_name }}</p>"), context)

    assert "&lt;script&gt;" in html
    assert "<script>" not in html


def test_page_size_and_orientation_reach_the_page_rule(ctx):
    template = html_template("<p>x</p>")
    template.page_size, template.orientation = "Letter", "portrait"

    assert "size: letter portrait" in render_template_html(template, sample_context())


# --- link_callback: only storage keys and static files


def test_link_callback_loads_a_storage_key(ctx):
    get_storage().save("certificate-backgrounds/bg.png", png_bytes())

    path = link_callback("storage:certificate-backgrounds/bg.png")

    assert path == str(get_storage().path("certificate-backgrounds/bg.png"))


def test_link_callback_loads_a_static_file(ctx):
    path = link_callback("/static/css/app.css")

    assert path.endswith("static/css/app.css")


@pytest.mark.parametrize("uri", [
    "http://169.254.169.254/latest/meta-data/",
    "https://example.com/logo.png",
    "file:///etc/passwd",
    "/etc/passwd",
    "../../etc/passwd",
    "/static/../app/config.py",
    "/static/../../etc/passwd",
    "storage:../secrets.txt",
    "storage:/etc/passwd",
    "storage:missing/file.png",
    "data:text/html;base64,PGgxPng8L2gxPg==",
])
def test_link_callback_refuses_everything_else(ctx, uri):
    assert link_callback(uri) == REFUSED


def test_a_refused_image_is_left_out_of_the_pdf(ctx, tmp_path):
    (tmp_path / "secret.png").write_bytes(png_bytes())
    html = f'<p>Hello</p><img src="{tmp_path / "secret.png"}"><img src="http://127.0.0.1/x.png">'

    pdf = html_to_pdf(html)

    assert "Hello" in pdf_text(pdf, tmp_path)
    assert b"/Subtype /Image" not in pdf


def test_an_allowed_storage_image_is_in_the_pdf(ctx):
    get_storage().save("certificate-backgrounds/bg.png", png_bytes())

    pdf = html_to_pdf('<p>Hello</p><img src="storage:certificate-backgrounds/bg.png">')

    assert b"/Subtype /Image" in pdf


# --- Background images and field positions


def test_a_background_must_be_an_image():
    with pytest.raises(ValidationError, match="PNG or JPEG") as error:
        check_background(b"%PDF-1.4 not an image at all")
    assert error.value.field == "background"


def test_a_background_must_be_at_most_5_mb():
    with pytest.raises(ValidationError, match="20.0 MB; it may be at most 5 MB"):
        check_background(png_bytes() + b"\0" * (20 * 1024 * 1024))


def test_a_gif_is_refused_whatever_its_name():
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="GIF")
    with pytest.raises(ValidationError, match="format accepted here: PNG or JPEG"):
        check_background(buffer.getvalue())


def test_field_positions_errors_say_where():
    with pytest.raises(ValidationError) as error:
        parse_field_positions('{"attendee_name": {"x": "left", "y": 10, "font_size": 900}}')

    message = error.value.message
    assert "attendee_name → x: 'left' is not of type 'number'" in message
    assert "attendee_name → font_size: 900 is greater than the maximum of 200" in message


def test_field_positions_refuse_unknown_fields_and_keys():
    with pytest.raises(ValidationError, match="nickname"):
        parse_field_positions('{"nickname": {"x": 1, "y": 1}}')
    with pytest.raises(ValidationError, match="rotation"):
        parse_field_positions('{"attendee_name": {"x": 1, "y": 1, "rotation": 90}}')


def test_field_positions_json_errors_give_line_and_column():
    with pytest.raises(ValidationError, match="Line 2, column 2: Expecting property name"):
        parse_field_positions('{"attendee_name": {"x": 1, "y": 2}\n,}')


def test_a_background_template_places_its_fields(ctx, tmp_path):
    get_storage().save("certificate-backgrounds/bg.png", png_bytes(600, 420))
    template = CertificateTemplate(
        name="bg", kind=CertificateTemplateKind.BACKGROUND, page_size="A4",
        orientation="landscape", background_key="certificate-backgrounds/bg.png",
        field_positions=parse_field_positions(
            '{"attendee_name": {"x": 20, "y": 80, "width": 250, "font_size": 28,'
            ' "align": "center", "font": "times", "color": "#aa0000"},'
            ' "verification_code": {"x": 20, "y": 180, "font_size": 9},'
            ' "qr_code": {"x": 240, "y": 150, "width": 30}}'
        ),
    )

    html = render_template_html(template, sample_context())
    pdf = render_pdf(template, sample_context())

    assert "left: 20mm; top: 80mm; width: 250mm" in html
    assert 'url("storage:certificate-backgrounds/bg.png")' in html
    text = pdf_text(pdf, tmp_path)
    assert "Alexandra Montgomery-Whitfield" in text
    assert "SAMPLE2345CODE6789AB" in text


# --- Certificates


def test_the_pdf_holds_the_attendee_name_and_the_code(ctx, tmp_path):
    certificate = make_certificate(name="Grace Hopper")

    pdf = render_pdf(certificate.template, certificate_context(certificate))

    text = pdf_text(pdf, tmp_path)
    assert "Grace Hopper" in text
    assert certificate.verification_code in text
    assert "2.5 CPD credits" in text
    assert pdf_thumbnail_png(pdf).startswith(PNG_SIGNATURE)


def test_scanning_the_printed_qr_code_gives_the_verification_address(ctx):
    import io

    import zxingcpp
    from PIL import Image

    certificate = make_certificate(name="Grace Hopper")
    context = certificate_context(certificate)

    page = Image.open(io.BytesIO(pdf_thumbnail_png(render_pdf(certificate.template, context),
                                                   width=1600)))

    read = zxingcpp.read_barcode(page, formats=zxingcpp.BarcodeFormat.QRCode)
    assert read is not None
    assert read.text == context["verify_url"]
    assert read.text.endswith("/verify/" + certificate.verification_code)


def test_the_context_comes_from_the_frozen_data_not_the_event(ctx, tmp_path):
    certificate = make_certificate(title="Original title")
    certificate.event.title = "Renamed later"
    certificate.event.timezone = "Asia/Tokyo"

    context = certificate_context(certificate)

    assert context["event_title"] == "Original title"
    assert context["verify_url"] == (
        f"http://localhost/verify/{certificate.verification_code}"
    )
    text = pdf_text(render_pdf(certificate.template, context), tmp_path)
    assert "Original title" in text
    assert "Renamed later" not in text


def test_the_qr_code_reads_back_as_its_text_with_a_one_module_margin(ctx):
    import base64
    import io

    import zxingcpp
    from PIL import Image

    from app.certificates.pdf import QR_MODULE_PIXELS, qr_code_data_uri

    text = "http://localhost/verify/ABCDEFGHJKMNPQRSTVWX"
    uri = qr_code_data_uri(text)
    assert uri.startswith("data:image/png;base64,")
    image = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))

    read = zxingcpp.read_barcode(image)
    assert read is not None and read.text == text
    assert read.format == zxingcpp.BarcodeFormat.QRCode and read.ec_level == "M"
    # A version-3 symbol (29 modules: the upper-case code is packed as alphanumerics), one
    # white module around it, QR_MODULE_PIXELS pixels a module: sharp however it is scaled.
    assert image.size == ((29 + 2) * QR_MODULE_PIXELS,) * 2
    pixels = image.convert("L").load()
    side = image.size[0]
    assert all(pixels[x, 0] == 255 and pixels[0, x] == 255 for x in range(side))
    assert pixels[QR_MODULE_PIXELS, QR_MODULE_PIXELS] == 0  # the finder pattern's corner

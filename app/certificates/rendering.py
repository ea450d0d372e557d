"""From a certificate (or sample data) and a template to the HTML xhtml2pdf renders.

The context is built from the certificate's FROZEN fields, never from the live event, so
that a certificate reads the same however often it is rendered. HTML templates are Jinja
run in the sandbox every person-written template uses (app/core/sandbox.py: no `config`,
no internals, bounded values and output, a CPU deadline); background-image templates place
each field in its own xhtml2pdf frame, at the millimetres `field_positions` gives.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from flask import current_app
from markupsafe import Markup, escape

from app.certificates.models import (
    PLACEHOLDERS,
    Certificate,
    CertificateTemplate,
    CertificateTemplateKind,
)
from app.certificates.pdf import STORAGE_PREFIX, html_to_pdf, qr_code_data_uri
from app.core.errors import DomainError
from app.core.sandbox import RenderFailed, html_env, render, template_problems
from app.core.templating import date_long
from app.core.types import utcnow
from app.organizations.branding import CERTIFICATE_VARIABLES, certificate_branding

MAX_OUTPUT = 500_000  # characters of HTML one certificate may produce


class RenderError(DomainError):
    """A template that cannot be rendered; the message says why, for the organizer."""


# --- Contexts


def certificate_context(certificate: Certificate) -> dict:
    """What a certificate prints, from its frozen data."""
    verify_url = certificate.verify_url()
    return {
        "attendee_name": certificate.attendee_name,
        "event_title": certificate.event_title,
        "event_dates": event_dates(certificate.event_starts_at, certificate.event_ends_at,
                                   certificate.event_timezone),
        "cpd_credits": format_credits(certificate.cpd_credits),
        "issue_date": date_long(certificate.issued_at, certificate.event_timezone),
        "verification_code": certificate.verification_code,
        "verify_url": verify_url,
        "qr_code": qr_code_data_uri(verify_url),
        "organizer_name": certificate.organizer_name,
        # The organization's brand as it was at issue (issue 7).
        **certificate_branding(certificate.organization_logo_key,
                               certificate.organization_colour),
    }


def sample_context() -> dict:
    """Made-up data for previews: the longest plausible values show overflow early."""
    starts = utcnow().replace(hour=9, minute=0, second=0, microsecond=0) - timedelta(days=7)
    verify_url = current_app.config.get("SITE_URL", "") + "/verify/SAMPLE2345CODE6789AB"
    return {
        "attendee_name": "Dr. Alexandra Montgomery-Whitfield",
        "event_title": "Advances in Clinical Practice: Annual Conference",
        "event_dates": event_dates(starts, starts + timedelta(days=1, hours=8), "UTC"),
        "cpd_credits": "7.5",
        "issue_date": date_long(utcnow(), "UTC"),
        "verification_code": "SAMPLE2345CODE6789AB",
        "verify_url": verify_url,
        "qr_code": qr_code_data_uri(verify_url),
        "organizer_name": "Convene Events",
        "organization_logo": "",
        "organization_colour": "#1a5fb4",
    }


def event_dates(starts_at: datetime, ends_at: datetime, timezone: str) -> str:
    """"Friday 22 January 2027", or a range of two dates, as days in the event's timezone."""
    first, last = date_long(starts_at, timezone), date_long(ends_at, timezone)
    return first if first == last else f"{first} – {last}"


def format_credits(credits: Decimal | None) -> str:
    """"7.5", "2", "0": no trailing zeros, never an exponent."""
    return format(Decimal(credits or 0).normalize(), "f")


# --- Checking and rendering templates


def template_source_problems(html: str) -> list[str]:
    """Syntax errors (with their line) and unknown placeholders of an HTML template."""
    return template_problems(html, frozenset(PLACEHOLDERS) | CERTIFICATE_VARIABLES, html_env)


def render_template_html(template: CertificateTemplate, context: dict,
                         background_uri: str | None = None) -> str:
    """The whole HTML document for xhtml2pdf; RenderError when the template cannot render.
    `background_uri` (a data URI) stands in for the stored background in previews."""
    if template.kind == CertificateTemplateKind.BACKGROUND:
        body = _positioned_fields(template, context)
        frames = _frames(template)
    else:
        body = _render_jinja(template.html, context)
        frames = ""
    return _document(template, body, frames, background_uri)


def render_pdf(template: CertificateTemplate, context: dict,
               background_uri: str | None = None) -> bytes:
    """The certificate as PDF bytes (RenderError / PdfError with a readable reason)."""
    return html_to_pdf(render_template_html(template, context, background_uri))


def _render_jinja(source: str, context: dict) -> str:
    """The person's HTML in the sandbox, within its budgets (app/core/sandbox.py)."""
    try:
        return render(source, context, html=True, limit=MAX_OUTPUT)
    except RenderFailed as error:
        raise RenderError(error.message) from error


# --- The document


def _document(template: CertificateTemplate, body: str, frames: str,
              background_uri: str | None) -> str:
    size = f"{template.page_size.lower()} {template.orientation}"
    background = ""
    if background_uri is None and template.background_key:
        background_uri = STORAGE_PREFIX + template.background_key
    if background_uri:
        background = f'background-image: url("{background_uri}");'
    margin = "0" if template.kind == CertificateTemplateKind.BACKGROUND else "12mm"
    css = template.css if template.kind == CertificateTemplateKind.HTML else ""
    return (
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>"
        f"@page {{ size: {size}; margin: {margin}; {background} {frames} }}"
        f"\n{css}\n</style></head><body>{body}</body></html>"
    )


MM_PER_POINT = 25.4 / 72


def _frames(template: CertificateTemplate) -> str:
    """One static xhtml2pdf frame per positioned field."""
    frames = []
    for name, spec in (template.field_positions or {}).items():
        font_size = spec.get("font_size", 14)
        width = spec.get("width", 150)
        height = width if name == "qr_code" else font_size * MM_PER_POINT * 2.2
        frames.append(
            f"@frame field_{name} {{ -pdf-frame-content: field_{name}; "
            f"left: {spec['x']}mm; top: {spec['y']}mm; width: {width}mm; "
            f"height: {height:.1f}mm; }}"
        )
    return " ".join(frames)


def _positioned_fields(template: CertificateTemplate, context: dict) -> str:
    """The content of each frame: the field's value in the font, colour and alignment given."""
    parts = []
    for name, spec in (template.field_positions or {}).items():
        style = (
            f"font-size: {spec.get('font_size', 14)}pt; "
            f"font-family: {spec.get('font', 'helvetica')}; "
            f"color: {spec.get('color', '#000000')}; "
            f"text-align: {spec.get('align', 'left')}; margin: 0; padding: 0"
        )
        if name == "qr_code":
            side = spec.get("width", 30)
            value = Markup('<img src="{}" width="{}mm" height="{}mm" alt="">').format(
                context["qr_code"], side, side
            )
        else:
            value = escape(context[name])
        parts.append(f'<div id="field_{name}"><p style="{style}">{value}</p></div>')
    # xhtml2pdf makes a page only for flowing content: a blank line carries the frames.
    parts.append("<p>&nbsp;</p>")
    return "".join(parts)

"""An organization's brand as other areas' templates use it: certificates (xhtml2pdf reads
the logo from storage, never a URL) and emails about its events (an absolute link)."""

from __future__ import annotations

# What certificate templates may use besides the certificate's own placeholders.
CERTIFICATE_VARIABLES = frozenset({"organization_logo", "organization_colour"})
NO_BRANDING = {"organization_name": "", "organization_logo": "", "organization_colour": ""}


def _live_organization(event):
    organization = getattr(event, "organization", None) if event is not None else None
    if organization is None or organization.is_deleted:
        return None
    return organization


def frozen_brand(event) -> tuple[str, str, str]:
    """(name, logo storage key, colour) of the event's organization, to freeze into a
    certificate when it is issued; empty strings without an organization."""
    organization = _live_organization(event)
    if organization is None:
        return "", "", ""
    return organization.name, organization.logo_key or "", organization.primary_colour or ""


def certificate_branding(logo_key: str, colour: str) -> dict:
    """Variables for certificate templates from a certificate's frozen brand: the logo as a
    `storage:` reference for the PDF renderer's link_callback, the colour as #rrggbb."""
    from app.certificates.pdf import STORAGE_PREFIX

    return {
        "organization_logo": STORAGE_PREFIX + logo_key if logo_key else "",
        "organization_colour": colour or "",
    }


def email_branding(event) -> dict:
    """Variables for emails about an event: the logo as an absolute URL."""
    organization = _live_organization(event)
    if organization is None:
        return dict(NO_BRANDING)
    branding = organization.branding()
    return {key: branding[key] for key in NO_BRANDING}


def branded_email_html(html: str, context: dict) -> str:
    """The HTML part of an email about an organization's event, with its logo, name and
    colour on top (the context carries them: see `email_branding`); unchanged otherwise."""
    from markupsafe import escape

    name = context.get("organization_name") or ""
    if not name:
        return html
    colour = context.get("organization_colour") or "#1a5fb4"
    logo = context.get("organization_logo") or ""
    image = (f'<img src="{escape(logo)}" alt="" height="40" '
             f'style="vertical-align:middle;margin-right:8px">' if logo else "")
    header = (f'<div style="border-top:4px solid {escape(colour)};padding:10px 0;'
              f'margin-bottom:16px">{image}<strong>{escape(name)}</strong></div>')
    return header + html

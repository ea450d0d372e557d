"""The certificate template Convene ships: A4 landscape, every placeholder, the QR code.

It is a row (`is_default`, no owner) so that admins can restyle it in /admin; organizers
copy it to make their own. `default_template()` creates it on first need, once.
"""

from __future__ import annotations

import sqlalchemy as sa

from app.certificates.models import CertificateTemplate, CertificateTemplateKind
from app.extensions import db

DEFAULT_NAME = "Convene classic"

DEFAULT_HTML = """\
<div class="frame">
  <div class="inner">
    <p class="kicker">Certificate of attendance</p>
    <p class="lead">This certifies that</p>
    <h1 class="name">{{ attendee_name }}</h1>
    <p class="lead">attended</p>
    <h2 class="event">{{ event_title }}</h2>
    <p class="dates">{{ event_dates }}</p>
    {% if cpd_credits != "0" %}
    <p class="credits">{{ cpd_credits }} CPD credits</p>
    {% endif %}
    <table class="footer">
      <tr>
        <td class="sign">
          <p class="value">{{ organizer_name }}</p>
          <p class="label">Organizer</p>
        </td>
        <td class="sign">
          <p class="value">{{ issue_date }}</p>
          <p class="label">Date of issue</p>
        </td>
        <td class="verify">
          <img src="{{ qr_code }}" width="90" height="90" alt="">
          <p class="code">{{ verification_code }}</p>
          <p class="url">Verify at {{ verify_url }}</p>
        </td>
      </tr>
    </table>
  </div>
</div>
"""

DEFAULT_CSS = """\
body { font-family: Helvetica; color: #1f2933; }
.frame { border: 4pt solid #1a5fb4; padding: 4pt; }
.inner { border: 1pt solid #8fb3e0; padding: 44pt 40pt 26pt 40pt; text-align: center; }
.kicker { font-size: 13pt; letter-spacing: 3pt; text-transform: uppercase; color: #1a5fb4;
          margin: 0 0 26pt 0; }
.lead { font-size: 12pt; color: #52606d; margin: 6pt 0; }
.name { font-family: Times; font-size: 40pt; font-weight: normal; margin: 10pt 0 16pt 0;
        color: #102a43; }
.event { font-size: 22pt; margin: 10pt 0 8pt 0; color: #102a43; }
.dates { font-size: 12pt; margin: 2pt 0; }
.credits { font-size: 12pt; font-weight: bold; color: #1a5fb4; margin: 6pt 0; }
.footer { width: 100%; margin-top: 54pt; }
.sign { width: 35%; vertical-align: bottom; text-align: center; padding: 0 12pt; }
.sign .value { font-size: 12pt; border-bottom: 0.75pt solid #9aa5b1; padding-bottom: 3pt;
               margin: 0; }
.sign .label { font-size: 9pt; color: #52606d; margin: 3pt 0 0 0; }
.verify { width: 30%; text-align: center; vertical-align: bottom; }
.verify .code { font-family: Courier; font-size: 10pt; margin: 2pt 0 0 0; }
.verify .url { font-size: 7pt; color: #52606d; margin: 1pt 0 0 0; }
"""


def default_fields() -> dict:
    return {
        "name": DEFAULT_NAME,
        "kind": CertificateTemplateKind.HTML,
        "html": DEFAULT_HTML,
        "css": DEFAULT_CSS,
        "page_size": "A4",
        "orientation": "landscape",
        "field_positions": {},
        "is_default": True,
        "owner_id": None,
    }


def default_template() -> CertificateTemplate:
    """The shipped template, created (flushed, not committed) when it is missing."""
    template = db.session.scalar(
        sa.select(CertificateTemplate)
        .where(CertificateTemplate.is_default.is_(True))
        .order_by(CertificateTemplate.id)
        .limit(1)
    )
    if template is None:
        template = CertificateTemplate(**default_fields())
        db.session.add(template)
        db.session.flush()
    return template


def template_for_event(event) -> CertificateTemplate:
    """The template an event's certificates are issued with: its own choice, else the default."""
    if event.certificate_template_id is not None:
        chosen = db.session.get(CertificateTemplate, event.certificate_template_id)
        if chosen is not None:
            return chosen
    return default_template()

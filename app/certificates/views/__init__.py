"""The certificates blueprint. Routes live in one module per job so that each stays small:
templates (certificate designs and previews), issuing, verify (public verification and
credentials), cpd (the attendee's CPD tracker)."""

from flask import Blueprint

bp = Blueprint("certificates", __name__)

from app.certificates.views import cpd, issuing, templates, verify  # noqa: E402,F401

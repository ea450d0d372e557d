"""The CPD report of one requirement and period, for a professional body's audit: a CSV of
the credit lines (safe to open in a spreadsheet) and an A4 PDF with the person, the body, the
period, each line with its source, and the totals."""

from __future__ import annotations

import csv
import io

from flask import render_template
from flask_babel import gettext as _

from app.certificates.cpd import PeriodProgress
from app.certificates.pdf import html_to_pdf
from app.core.types import utcnow
from app.registrations.roster import safe_cell


def csv_header() -> list[str]:
    return [_("Date"), _("Activity"), _("Source"), _("Provider"), _("Credits"),
            _("Verification or evidence")]


def report_csv(progress: PeriodProgress) -> str:
    """One row per credit line, oldest first (the order of a logbook)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([safe_cell(cell) for cell in csv_header()])
    for line in reversed(progress.lines):
        writer.writerow([safe_cell(cell) for cell in (
            line.day.isoformat(), line.title, line.source_label, line.provider,
            format(line.credits, "f"), line.reference,
        )])
    return buffer.getvalue()


def report_pdf(progress: PeriodProgress, user) -> bytes:
    html = render_template(
        "certificates/cpd/report.html",
        progress=progress,
        person=user,
        lines=list(reversed(progress.lines)),
        generated_at=utcnow(),
    )
    return html_to_pdf(html)

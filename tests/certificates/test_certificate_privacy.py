"""Certificates in "download my data" and account deletion: kept as a record, anonymised,
their PDFs (which print the name) deleted."""

from __future__ import annotations

from app.certificates.jobs import ensure_pdf, store_pdf
from app.core import privacy
from app.core.storage import get_storage
from app.extensions import db
from tests.certificates.template_helpers import make_certificate, pdf_text


def test_my_certificates_are_in_my_data(ctx):
    certificate = make_certificate(name="Ada Lovelace")

    exported = privacy.export_user_data(certificate.user)["certificates"]

    assert [(c["attendee_name"], c["verification_code"], c["cpd_credits"]) for c in exported] == [
        ("Ada Lovelace", certificate.verification_code, "2.5")
    ]


def test_deleting_the_account_anonymises_the_certificate_and_its_pdf(ctx, tmp_path):
    certificate = make_certificate(name="Ada Lovelace")
    store_pdf(certificate)
    old_key = certificate.pdf_key
    user = certificate.user

    privacy.anonymise_user(user)
    db.session.flush()

    assert certificate.is_active  # kept: a historical record that still verifies
    assert certificate.attendee_name == "Deleted User"
    assert certificate.attendee_email == f"deleted-{user.uuid}@anonymized.local"
    assert not get_storage().exists(old_key)
    pdf = ensure_pdf(certificate)
    assert b"Lovelace" not in pdf  # nor in the uncompressed parts (metadata)
    text = pdf_text(pdf, tmp_path)
    assert "Deleted User" in text
    assert "Ada" not in text

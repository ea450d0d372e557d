"""The Certificate model: codes, revoking (with its history), one active per registration,
and the template's "in use" protection."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.certificates.models import (
    CODE_ALPHABET,
    CODE_LENGTH,
    Certificate,
    CertificateTemplate,
)
from app.core.errors import DomainError, ValidationError
from app.extensions import db
from app.states import CertificateStatus
from tests.certificates.template_helpers import make_certificate
from tests.factories import EventFactory, UserFactory


def test_verification_codes_are_long_unambiguous_and_distinct(ctx):
    codes = {make_certificate().verification_code for _ in range(5)}

    assert len(codes) == 5
    for code in codes:
        assert len(code) == CODE_LENGTH
        assert set(code) <= set(CODE_ALPHABET)
        assert not set(code) & set("01OIL")


def test_revoking_needs_a_reason(ctx):
    certificate = make_certificate()

    with pytest.raises(ValidationError, match="reason"):
        certificate.revoke(UserFactory(), "  ")
    assert certificate.is_active


def test_revoking_records_who_when_and_why(ctx):
    certificate = make_certificate()
    admin = UserFactory()

    certificate.revoke(admin, "Attendance was misreported")
    db.session.flush()

    assert certificate.status == CertificateStatus.REVOKED and not certificate.is_active
    assert certificate.revoked_by_id == admin.id
    assert certificate.revocation_reason == "Attendance was misreported"
    assert [(h.from_status, h.to_status, h.reason) for h in certificate.history] == [
        (None, CertificateStatus.ACTIVE, "Issued"),
        (CertificateStatus.ACTIVE, CertificateStatus.REVOKED, "Attendance was misreported"),
    ]
    assert certificate.history[1].changed_by_id == admin.id


def test_revoking_a_revoked_certificate_is_refused(ctx):
    certificate = make_certificate()
    certificate.revoke(None, "Wrong person")

    with pytest.raises(DomainError, match="already revoked"):
        certificate.revoke(None, "Again")
    assert len(certificate.history) == 2


def test_one_active_certificate_per_registration(ctx):
    first = make_certificate()
    fields = {c.key: getattr(first, c.key) for c in sa.inspect(Certificate).column_attrs
              if c.key not in ("id", "uuid", "verification_code", "status", "created_at",
                               "updated_at")}

    db.session.add(Certificate(**fields))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_a_revoked_certificate_may_be_followed_by_a_new_one(ctx):
    first = make_certificate()
    first.revoke(None, "Name misspelt")
    fields = {c.key: getattr(first, c.key) for c in sa.inspect(Certificate).column_attrs
              if c.key not in ("id", "uuid", "verification_code", "status", "created_at",
                               "updated_at", "revoked_at", "revoked_by_id", "revocation_reason")}

    second = Certificate(**fields)
    db.session.add(second)
    db.session.flush()

    assert second.is_active and second.verification_code != first.verification_code


def test_a_template_is_in_use_once_an_event_or_a_certificate_uses_it(ctx):
    owner = UserFactory()
    template = CertificateTemplate(name="Mine", owner_id=owner.id, html="<p>x</p>",
                                   field_positions={})
    db.session.add(template)
    db.session.flush()
    assert not template.is_in_use()

    event = EventFactory(certificate_template_id=template.id)
    assert template.is_in_use()
    with pytest.raises(ValidationError, match="used by an event"):
        template.delete()

    event.certificate_template_id = None
    db.session.flush()
    make_certificate(template)
    assert template.is_in_use()


def test_the_database_protects_a_template_events_use(ctx):
    template = CertificateTemplate(name="Mine", html="<p>x</p>", field_positions={})
    db.session.add(template)
    db.session.flush()
    EventFactory(certificate_template_id=template.id)

    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.delete(CertificateTemplate).where(
            CertificateTemplate.id == template.id))
    db.session.rollback()

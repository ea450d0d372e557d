"""The daily sweep of certificate files that nothing refers to: replaced backgrounds, and the
files of rolled-back batches and uploads, a day after they were written."""

from __future__ import annotations

import os
import time
import uuid
from datetime import timedelta

import pytest

from app.certificates.jobs import sweep_orphaned_certificate_files
from app.certificates.models import CertificateTemplate, CertificateTemplateKind
from app.core.storage import get_storage
from app.core.types import utcnow
from app.extensions import db
from tests.certificates.template_helpers import make_certificate

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 32


@pytest.fixture
def storage(ctx):
    return get_storage()


def named(folder: str, extension: str = "pdf") -> str:
    """A key as the app names files there."""
    return f"{folder}/{uuid.uuid4()}.{extension}"


def written(storage, key: str, *, days_ago: float) -> str:
    storage.save(key, PNG if key.endswith(".png") else b"%PDF-1.4 test")
    then = time.time() - days_ago * 86400
    os.utime(storage.path(key), (then, then))
    return key


def background_template(key: str) -> CertificateTemplate:
    template = CertificateTemplate(name="Framed", kind=CertificateTemplateKind.BACKGROUND,
                                   html="", css="", page_size="A4", orientation="landscape",
                                   field_positions={"attendee_name": {"x": 20, "y": 40}},
                                   background_key=key)
    db.session.add(template)
    db.session.flush()
    return template


def test_files_nothing_refers_to_go_a_day_after_they_were_written(storage):
    current = background_template(written(storage, named("certificate-backgrounds", "png"),
                                          days_ago=3))
    deleted_template = background_template(
        written(storage, named("certificate-backgrounds", "png"), days_ago=3))
    deleted_template.delete()
    replaced = written(storage, named("certificate-backgrounds", "png"), days_ago=2)
    just_replaced = written(storage, named("certificate-backgrounds", "png"),
                            days_ago=0.5)
    certificate = make_certificate(pdf_key=written(storage, named("certificates"), days_ago=5))
    rolled_back = written(storage, named("certificates"), days_ago=2)
    db.session.commit()

    assert sweep_orphaned_certificate_files() == 2

    assert not storage.exists(replaced) and not storage.exists(rolled_back)
    for kept in (current.background_key, deleted_template.background_key, just_replaced,
                 certificate.pdf_key):
        assert storage.exists(kept), kept


def test_the_sweep_looks_up_keys_in_chunks(storage, monkeypatch):
    monkeypatch.setattr("app.certificates.jobs.SWEEP_CHUNK", 2)
    kept = [written(storage, named("certificates"), days_ago=2) for _ in range(3)]
    for key in kept:
        make_certificate(pdf_key=key)
    orphans = [written(storage, named("certificates"), days_ago=2) for _ in range(3)]
    db.session.commit()

    assert sweep_orphaned_certificate_files() == 3

    assert all(storage.exists(key) for key in kept)
    assert not any(storage.exists(key) for key in orphans)


def test_only_files_named_as_the_app_names_them_are_swept(storage, app, monkeypatch):
    """A prefix may point at a folder that holds other files too."""
    monkeypatch.setitem(app.config, "CERTIFICATE_STORAGE_PREFIX", "media")
    theirs = [written(storage, key, days_ago=9) for key in
              ("media/logo.png", "media/reports/2026.pdf", "media/notes.txt")]
    ours = written(storage, named("media"), days_ago=9)
    db.session.commit()

    assert sweep_orphaned_certificate_files() == 1

    assert not storage.exists(ours)
    assert all(storage.exists(key) for key in theirs)


def test_keys_written_before_skips_temporary_files_and_newer_ones(storage):
    old = written(storage, "certificates/a.pdf", days_ago=2)
    written(storage, "certificates/b.pdf", days_ago=0)
    temporary = storage.path("certificates/a.pdf").with_name(".tmp-abc")
    temporary.write_bytes(b"half")
    os.utime(temporary, (0, 0))

    assert storage.keys_written_before("certificates", utcnow() - timedelta(days=1)) == [old]
    assert storage.keys_written_before("nothing-here", utcnow()) == []


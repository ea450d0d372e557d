"""The worker's warm-up: registered work runs once before jobs; a failing one is logged."""

from __future__ import annotations

import app.jobs as jobs
from app.certificates.jobs import warm_pdf_renderer


def test_the_certificate_renderer_is_warmed_up():
    assert warm_pdf_renderer in jobs._warmups


def test_each_warm_up_runs_and_a_failure_does_not_stop_the_others(ctx, monkeypatch, caplog):
    ran = []

    def broken():
        ran.append("broken")
        raise RuntimeError("no fonts")

    monkeypatch.setattr(jobs, "_warmups", [broken, lambda: ran.append("fine")])

    jobs.warm_worker()

    assert ran == ["broken", "fine"]
    assert "warming up the worker" in caplog.text


def test_warming_the_pdf_renderer_stores_nothing(ctx, app, files_root):
    warm_pdf_renderer()

    assert not (files_root / "files").exists() or not any((files_root / "files").rglob("*"))

"""Bulk issuing: a run issues to every eligible registration in batches, one run per event at
a time, and a run interrupted mid-way resumes without issuing anything twice
(app/certificates/runs.py)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.certificates import runs
from app.certificates.models import Certificate
from app.certificates.run_models import CertificateIssueRun
from app.certificates.runs import IssueRunService, issue_certificates_run, resume_stale_issue_runs
from app.certificates.services import CertificateService
from app.core.errors import DomainError
from app.core.storage import LocalStorage, get_storage
from app.core.types import utcnow
from app.extensions import db
from app.jobs import JobFailure, execute, job_path
from app.states import CertificateStatus, IssueRunStatus
from tests.certificates.issuing_helpers import attend, event_with_attendees, register
from tests.factories import UserFactory


@pytest.fixture
def organizer(ctx):
    return UserFactory(full_name="Olga Organizer")


def active_per_registration(event) -> dict[int, int]:
    rows = db.session.execute(
        sa.select(Certificate.registration_id, sa.func.count(Certificate.id))
        .where(Certificate.event_id == event.id, Certificate.status == CertificateStatus.ACTIVE)
        .group_by(Certificate.registration_id)
    )
    return dict(rows.all())


def failing_on_call(number: int, real, error: Exception):
    """`real`, except that its `number`th call raises `error` (a worker dying mid-run, a
    full disk)."""
    calls = []

    def wrapper(*args, **kwargs):
        calls.append(1)
        if len(calls) == number:
            raise error
        return real(*args, **kwargs)

    return wrapper


def fresh(run: CertificateIssueRun) -> CertificateIssueRun:
    db.session.expire_all()
    return db.session.get(CertificateIssueRun, run.id)


def test_a_run_issues_to_every_eligible_registration_and_only_them(organizer, monkeypatch):
    monkeypatch.setattr(runs, "BATCH_SIZE", 2)
    built = event_with_attendees(5, organizer)
    absent = register(built.event, "Absent Person")
    attend(absent, 10)
    declined = built.registrations[0]
    CertificateService.decline(declined, organizer, "Failed the quiz")
    db.session.commit()

    run = IssueRunService.start(built.event, organizer)
    assert run.total == 4
    db.session.commit()  # the job runs inline, after the commit

    run = fresh(run)
    assert run.status == IssueRunStatus.DONE
    assert (run.issued, run.skipped, run.failed, run.percent) == (4, 0, 0, 100)
    assert run.started_at is not None and run.finished_at is not None
    issued = active_per_registration(built.event)
    assert set(issued) == {r.id for r in built.registrations[1:]}
    assert set(issued.values()) == {1}


def test_one_run_per_event_at_a_time_and_none_without_anybody_to_issue_to(organizer):
    built = event_with_attendees(2, organizer)
    queued = CertificateIssueRun(event_id=built.event.id, total=2)
    db.session.add(queued)
    db.session.flush()

    with pytest.raises(DomainError, match="being issued for this event already"):
        IssueRunService.start(built.event, organizer)

    db.session.delete(queued)
    for registration in built.registrations:
        CertificateService.issue(registration, organizer)
    with pytest.raises(DomainError, match="there is nobody to issue to"):
        IssueRunService.start(built.event, organizer)


def test_the_partial_index_refuses_a_second_unfinished_run(organizer):
    built = event_with_attendees(1, organizer)
    db.session.add(CertificateIssueRun(event_id=built.event.id, total=1))
    db.session.flush()
    db.session.add(CertificateIssueRun(event_id=built.event.id, total=1))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_a_run_interrupted_mid_way_resumes_and_issues_each_registration_once(
        organizer, monkeypatch):
    monkeypatch.setattr(runs, "BATCH_SIZE", 2)
    built = event_with_attendees(5, organizer)
    db.session.commit()
    real_prepare = CertificateService.prepare
    # The worker dies inside the second batch.
    crash_on_the_third = failing_on_call(3, real_prepare, RuntimeError("worker killed"))
    monkeypatch.setattr(CertificateService, "prepare", staticmethod(crash_on_the_third))
    run = IssueRunService.start(built.event, organizer)
    db.session.commit()  # the inline job crashes; the failure is recorded for a retry

    run = fresh(run)
    assert run.status == IssueRunStatus.RUNNING
    assert (run.issued, run.cursor_registration_id) == (2, built.registrations[1].id)
    assert sum(active_per_registration(built.event).values()) == 2  # the first batch only
    assert db.session.scalar(sa.select(JobFailure.func)) == job_path(issue_certificates_run)

    monkeypatch.setattr(CertificateService, "prepare", real_prepare)
    assert execute(job_path(issue_certificates_run), [run.id])  # the retry

    run = fresh(run)
    assert run.status == IssueRunStatus.DONE
    assert (run.issued, run.skipped, run.failed, run.percent) == (5, 0, 0, 100)
    issued = active_per_registration(built.event)
    assert set(issued) == {r.id for r in built.registrations}
    assert set(issued.values()) == {1}

    assert execute(job_path(issue_certificates_run), [run.id])  # once more: a no-op
    assert sum(active_per_registration(built.event).values()) == 5


def test_a_second_worker_on_the_same_run_takes_no_batch(organizer):
    """The cursor is claimed with a conditional UPDATE: a worker holding a stale cursor
    (another one moved it meanwhile) stops instead of issuing the same batch."""
    built = event_with_attendees(2, organizer)
    run = CertificateIssueRun(event_id=built.event.id, total=2, status=IssueRunStatus.RUNNING)
    db.session.add(run)
    db.session.commit()
    assert run.cursor_registration_id == 0  # what this worker read
    db.session.execute(sa.update(CertificateIssueRun).where(CertificateIssueRun.id == run.id)
                       .values(cursor_registration_id=built.registrations[0].id)
                       .execution_options(synchronize_session=False))  # the other worker
    assert IssueRunService.run_batch(run) is False
    assert sum(active_per_registration(built.event).values()) == 0


def test_the_tick_queues_a_stalled_run_again(organizer):
    built = event_with_attendees(3, organizer)
    stalled = CertificateIssueRun(event_id=built.event.id, total=3,
                                  status=IssueRunStatus.RUNNING)
    db.session.add(stalled)
    db.session.commit()
    db.session.execute(sa.update(CertificateIssueRun)
                       .where(CertificateIssueRun.id == stalled.id)
                       .values(updated_at=utcnow() - runs.STALE_AFTER - timedelta(minutes=1)))
    db.session.commit()

    resume_stale_issue_runs()
    db.session.commit()  # the re-queued job runs inline

    run = fresh(stalled)
    assert run.status == IssueRunStatus.DONE and run.issued == 3


def test_the_tick_leaves_a_run_with_a_recent_heartbeat_alone(organizer):
    built = event_with_attendees(1, organizer)
    running = CertificateIssueRun(event_id=built.event.id, total=1,
                                  status=IssueRunStatus.RUNNING)
    db.session.add(running)
    db.session.commit()

    resume_stale_issue_runs()
    db.session.commit()

    assert fresh(running).status == IssueRunStatus.RUNNING
    assert sum(active_per_registration(built.event).values()) == 0


def test_a_run_on_an_event_that_was_closed_meanwhile_fails_with_the_reason(organizer):
    built = event_with_attendees(1, organizer)
    run = CertificateIssueRun(event_id=built.event.id, total=1)
    db.session.add(run)
    db.session.flush()
    for registration in built.registrations:
        CertificateService.decline(registration, organizer, "Not this time")
    built.event.close(organizer)
    db.session.commit()

    issue_certificates_run(run.id)

    run = fresh(run)
    assert run.status == IssueRunStatus.FAILED
    assert "reopen it to issue more" in run.error
    assert run.percent == 100  # finished: the bar is full, the message says why


def test_every_file_of_a_batch_is_on_disk_when_its_rows_are_saved(organizer, monkeypatch):
    """The files are written by a second thread while the next certificate renders: the
    batch's rows may be saved only once all of them are written."""
    monkeypatch.setattr(runs, "BATCH_SIZE", 3)
    built = event_with_attendees(3, organizer)
    db.session.commit()
    real_save = runs.save_certificates
    seen_at_save = []

    def save_and_look(certificates):
        storage = get_storage()
        seen_at_save.append([storage.exists(c.pdf_key) for c in certificates])
        return real_save(certificates)

    real_write = LocalStorage.save_new

    def slow_write(storage, key, data):
        time.sleep(0.1)  # still writing when the last certificate has rendered
        real_write(storage, key, data)

    monkeypatch.setattr(runs, "save_certificates", save_and_look)
    monkeypatch.setattr(LocalStorage, "save_new", slow_write)
    run = IssueRunService.start(built.event, organizer)
    db.session.commit()

    assert fresh(run).issued == 3
    assert seen_at_save == [[True, True, True]]


def test_a_file_that_cannot_be_written_fails_the_batch_and_the_retry_issues_it(
        organizer, monkeypatch):
    monkeypatch.setattr(runs, "BATCH_SIZE", 2)
    built = event_with_attendees(3, organizer)
    db.session.commit()
    disk_full = OSError("No space left on device")
    monkeypatch.setattr(LocalStorage, "save_new",
                        failing_on_call(3, LocalStorage.save_new, disk_full))
    run = IssueRunService.start(built.event, organizer)
    db.session.commit()  # the inline job fails in the second batch

    run = fresh(run)
    assert (run.status, run.issued) == (IssueRunStatus.RUNNING, 2)
    assert sum(active_per_registration(built.event).values()) == 2
    assert "No space left on device" in db.session.scalar(sa.select(JobFailure.error))

    assert execute(job_path(issue_certificates_run), [run.id])  # the retry

    run = fresh(run)
    assert (run.status, run.issued, run.failed) == (IssueRunStatus.DONE, 3, 0)
    for certificate in db.session.scalars(sa.select(Certificate)):
        assert get_storage().read(certificate.pdf_key).startswith(b"%PDF")

"""Bulk issuing: "issue to all eligible" as a job that issues in batches, each batch its own
transaction, and that a crashed worker can resume without issuing anything twice.

Resuming is safe because each batch commits its certificates together with the run's
counters and its cursor (the last registration handled): a batch that crashes leaves
nothing, and the next attempt starts after the cursor. Two workers on one run (a retry and
the tick, say) cannot both take a batch: each claims it with a conditional UPDATE of the
cursor, and the partial unique index stops a second ACTIVE certificate in any case.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm.attributes import set_committed_value

from app.accounts.models import User
from app.certificates.jobs import certificate_pdf, email_certificates, record_pdf
from app.certificates.models import Certificate
from app.certificates.run_models import UNFINISHED, CertificateIssueRun
from app.certificates.services import (
    CertificateService,
    EventEligibility,
    IssueContext,
    active_certificates,
    check_can_issue,
    save_certificates,
)
from app.core.errors import DomainError
from app.core.storage import get_storage
from app.core.types import utcnow
from app.events.models import Event
from app.extensions import db
from app.jobs import enqueue, periodic
from app.registrations.models import Registration
from app.states import RegistrationStatus

log = logging.getLogger(__name__)

# Certificates issued per transaction: each batch also pays ~15 queries, a savepoint and a
# commit (measured: 50 instead of 25 takes 1.6 % off a run), and is what a crash loses and
# how often the progress bar moves (every ~0.6 s at 80 certificates a second).
BATCH_SIZE = 50
# A run whose heartbeat (updated_at, written by every batch) is older than this lost its
# worker: the tick queues it again.
STALE_AFTER = timedelta(minutes=5)
MAX_ERROR_LINES = 20


class IssueRunService:
    @staticmethod
    def unfinished_run(event: Event) -> CertificateIssueRun | None:
        return db.session.scalar(
            sa.select(CertificateIssueRun).where(CertificateIssueRun.event_id == event.id,
                                                 CertificateIssueRun.status.in_(UNFINISHED))
        )

    @staticmethod
    def latest_run(event: Event) -> CertificateIssueRun | None:
        return db.session.scalar(
            sa.select(CertificateIssueRun).where(CertificateIssueRun.event_id == event.id)
            .order_by(CertificateIssueRun.id.desc()).limit(1)
        )

    @classmethod
    def start(cls, event: Event, actor) -> CertificateIssueRun:
        """Create the run and queue its job (after the commit). One run per event at a time."""
        check_can_issue(event)
        if cls.unfinished_run(event) is not None:
            raise DomainError(_("Certificates are being issued for this event already: wait "
                                "for that run to finish."))
        pending = CertificateService.pending_registrations(event)
        if not pending:
            raise DomainError(_("Every eligible registration has a certificate or a decline: "
                                "there is nobody to issue to."))
        run = CertificateIssueRun(event_id=event.id, started_by_id=getattr(actor, "id", None),
                                  total=len(pending))
        try:
            with db.session.begin_nested():
                db.session.add(run)
                db.session.flush()
        except sa.exc.IntegrityError as error:  # another organizer started one just now
            raise DomainError(_("Certificates are being issued for this event already: wait "
                                "for that run to finish.")) from error
        enqueue(issue_certificates_run, run.id)
        return run

    @classmethod
    def run_batch(cls, run: CertificateIssueRun) -> bool:
        """Handle the next batch of registrations; returns whether there may be more. Only
        flushes: the caller commits the batch as one transaction."""
        event = db.session.get(Event, run.event_id)
        try:
            check_can_issue(event)
            context = IssueContext.of(event)
        except DomainError as error:
            run.fail(error.message)
            return False
        batch = db.session.scalars(
            sa.select(Registration).where(
                Registration.event_id == run.event_id,
                Registration.id > run.cursor_registration_id,
                Registration.status == RegistrationStatus.CONFIRMED,
            ).order_by(Registration.id).limit(BATCH_SIZE)
        ).all()
        if not batch:
            run.finish()
            return False
        if not cls._claim(run, batch[-1].id):
            return False
        actor = db.session.get(User, run.started_by_id) if run.started_by_id else None
        judged = EventEligibility(event).of(batch)
        active = active_certificates(r.id for r in batch)
        errors, prepared = [], []
        for registration in batch:
            eligibility = judged[registration.id]
            if not eligibility.eligible:
                continue  # never counted in the total
            certificate = active.get(registration.id)
            declined_at = registration.certificate_declined_at
            if certificate is not None or declined_at is not None:
                # Counted in the total only when it happened after the run was created.
                if max(filter(None, (declined_at, getattr(certificate, "issued_at", None)))
                       ) >= run.created_at:
                    run.skipped += 1
                continue
            try:
                prepared.append(CertificateService.prepare(
                    registration, actor, eligibility=eligibility, context=context,
                    has_active=False,
                ))
            except DomainError as error:
                run.failed += 1
                errors.append(f"{registration.display_name}: {error.message}")
        rendered = cls._render_and_write(prepared, run, errors)
        refused = save_certificates(rendered) if rendered else []
        for certificate, reason in refused:
            run.failed += 1
            errors.append(f"{certificate.attendee_name}: {reason}")
            get_storage().delete(certificate.pdf_key)
        lost = {id(certificate) for certificate, _reason in refused}
        issued = [certificate for certificate in rendered if id(certificate) not in lost]
        run.issued += len(issued)
        if issued:  # queued with this batch's commit, sent after the PDFs
            enqueue(email_certificates, [certificate.id for certificate in issued])
        if errors:
            lines = [line for line in run.error.splitlines() if line] + errors
            run.error = "\n".join(lines[:MAX_ERROR_LINES])
        db.session.flush()
        return True

    @staticmethod
    def _render_and_write(prepared: list[Certificate], run: CertificateIssueRun,
                          errors: list[str]) -> list[Certificate]:
        """Render the batch's PDFs here (no job per certificate), before the rows are
        written, so that each row is inserted once with its file's key; returns the ones
        rendered. A certificate that cannot be rendered is not issued: the run says why.

        The files are written by a second thread while the next certificate renders: creating
        a file is kernel time that needs no GIL, and a second core does it meanwhile. All are
        on disk before the batch's rows are saved; a failed write fails the batch, as it did
        when written inline."""
        storage = get_storage()
        rendered, writes = [], []
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="certificate-files") as files:
            for certificate in prepared:
                try:
                    pdf = certificate_pdf(certificate)
                except DomainError as error:
                    run.failed += 1
                    errors.append(f"{certificate.attendee_name}: {error.message}")
                    continue
                writes.append(files.submit(storage.save_new, record_pdf(certificate), pdf))
                rendered.append(certificate)
        for write in writes:
            write.result()  # raises what the write raised
        return rendered

    @staticmethod
    def _claim(run: CertificateIssueRun, last_id: int) -> bool:
        """Move the cursor past this batch, unless another worker moved it first."""
        result = db.session.execute(
            sa.update(CertificateIssueRun)
            .where(CertificateIssueRun.id == run.id,
                   CertificateIssueRun.cursor_registration_id == run.cursor_registration_id)
            .values(cursor_registration_id=last_id, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            log.info("issuing run %s: another worker took the batch after %s", run.id,
                     run.cursor_registration_id)
            return False
        # What the UPDATE wrote, without marking the run changed: no second UPDATE at flush.
        set_committed_value(run, "cursor_registration_id", last_id)
        return True


def issue_certificates_run(run_id: int) -> None:
    """The job: start (or resume) the run and issue batch after batch, committing each."""
    run = db.session.get(CertificateIssueRun, run_id)
    if run is None or run.is_finished:
        return
    run.start()
    db.session.commit()
    while IssueRunService.run_batch(run):
        db.session.commit()
    db.session.commit()


@periodic(every=timedelta(minutes=1))
def resume_stale_issue_runs() -> None:
    """Queue again the runs whose worker died (no batch for STALE_AFTER): the job resumes
    after the last committed batch. The claim (a conditional UPDATE of the heartbeat) keeps
    two ticks from queueing one run twice."""
    cutoff = utcnow() - STALE_AFTER
    stale = db.session.scalars(
        sa.select(CertificateIssueRun.id).where(CertificateIssueRun.status.in_(UNFINISHED),
                                                CertificateIssueRun.updated_at < cutoff)
    ).all()
    for run_id in stale:
        claimed = db.session.execute(
            sa.update(CertificateIssueRun)
            .where(CertificateIssueRun.id == run_id, CertificateIssueRun.updated_at < cutoff)
            .values(updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount == 1:
            log.warning("issuing run %s stalled: queued again", run_id)
            enqueue(issue_certificates_run, run_id)

"""Certificates: the cost of issuing through the app against a bare xhtml2pdf render, and the
speed of the public verification page, each as a ratio measured in the same run.

    REDIS_URL=redis://127.0.0.1:6379/15 .venv/bin/python bench/certificates.py  (emptied)
    (BENCH_DATABASE_URL, TEST_DATABASE_URL or DATABASE_URL=postgresql://... to use
    PostgreSQL; the schema there is dropped and rebuilt. Without any, SQLite in a temporary
    directory.)

(a) Issuing, in interleaved rounds (the machine is shared: a neighbour's burst during one
    measurement must not decide the figure). Each round has its own completed event with 200
    checked-in (so eligible) attendees with distinct names; "issue to all eligible" is
    started through the issuing service, exactly as the organizer's button does, and ONE
    long-lived RQ worker (`flask jobs worker`) runs the bulk job. Timed from the start until
    the round's 200 PDFs are in storage. Then the same 200 HTML documents (rebuilt from the
    certificates, not timed) go through a bare `xhtml2pdf.pisa.CreatePDF`, one after another
    in one process. The median of the rounds' ratios may be at most 1.25 (REDIS_URL is
    required: the worker is the point). The worker finishes the round's emails before the
    next round starts.
(b) Verification. gunicorn (2 workers, the page cache on, as production runs it) serves
    /verify/<code> for the 200 codes round robin, and /healthz, measured with wrk in
    interleaved rounds; the verification page must reach 0.30 of /healthz.

Exits non-zero below either target, or if a certificate or PDF is missing. Figures last.
"""

from __future__ import annotations

import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import poll_until, reachable_redis, serve, stop  # noqa: E402
from bench.pages import measure  # noqa: E402

CERTIFICATES = 200
MAX_COST_RATIO = 1.25
MIN_VERIFY_RATIO = 0.30
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
ISSUE_ROUNDS = int(os.environ.get("BENCH_ISSUE_ROUNDS", "7"))
ROUND_SECONDS = int(os.environ.get("BENCH_SECONDS", "3"))
HTTP_WORKERS = 2
ISSUE_TIMEOUT = 900  # seconds to wait for the PDFs before calling it a failure


def app_settings(url: str, instance: Path, redis_url: str) -> dict[str, str]:
    return {"DATABASE_URL": url, "SECRET_KEY": "bench", "LOG_LEVEL": "WARNING",
            "REDIS_URL": redis_url, "MAIL_BACKEND": "file", "MAIL_DIR": str(instance / "mail"),
            "STORAGE_DIR": str(instance / "files"), "PAGE_CACHE": "1",
            "SITE_URL": "http://127.0.0.1"}


def make_app(settings: dict[str, str]):
    from app import create_app

    return create_app(dict(settings))


def dispose(app) -> None:
    from app.extensions import db

    db.session.remove()
    for engine in db.engines.values():
        engine.dispose()


# --- The database: an organizer, a completed event, 200 checked-in attendees


def build_database(settings: dict[str, str]) -> list[int]:
    """The schema, an organizer and one completed event of 200 eligible attendees per issuing
    round; returns the events' ids."""
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from app.accounts.models import User
    from app.certificates.defaults import default_template
    from app.events.models import Event, EventRole
    from app.extensions import db
    from app.registrations.models import Registration
    from app.states import EventStatus, RegistrationStatus, UserStatus

    app = make_app({**settings, "REDIS_URL": ""})
    with app.app_context():
        with db.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade(directory=str(ROOT / "migrations"))
        now = datetime.now(UTC).replace(microsecond=0)
        organizer = User(email="organizer@example.com", full_name="Olivia Organizer",
                         status=UserStatus.ACTIVE, timezone="Europe/London")
        db.session.add(organizer)
        db.session.flush()
        default_template()
        events = []
        for round_number in range(1, ISSUE_ROUNDS + 1):
            start = now - timedelta(days=2 + round_number)
            event = Event(title=f"Annual clinical update {round_number}",
                          created_by_id=organizer.id, start_at=start,
                          end_at=start + timedelta(hours=7), status=EventStatus.COMPLETED,
                          published_at=start - timedelta(days=30), timezone="Europe/London",
                          cpd_credits=6)
            db.session.add(event)
            event.add_member(organizer, EventRole.ORGANIZER)
            db.session.flush()
            events.append(event.id)
            for n in range(1, CERTIFICATES + 1):
                name = f"Attendee {uuid.uuid4().hex[:8].title()} {n}"
                db.session.add(Registration(
                    event_id=event.id, email=f"attendee{n}@example.com", full_name=name,
                    status=RegistrationStatus.CONFIRMED, confirmed_at=start - timedelta(days=1),
                    checked_in_at=start,
                ))
        db.session.commit()
        dispose(app)
    return events


# --- (a) Issuing through the app with a worker, against a bare render


def start_worker(settings: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "jobs", "worker"],
        cwd=ROOT, env={**os.environ, **settings}, start_new_session=True,
    )


def issue_through_the_app(app, event_id: int) -> float:
    """Seconds from "issue to all eligible" until the event's PDFs are all in storage."""
    import sqlalchemy as sa

    from app.accounts.models import User
    from app.certificates.models import Certificate
    from app.certificates.runs import IssueRunService
    from app.core.storage import get_storage
    from app.events.models import Event
    from app.extensions import db

    with app.app_context():
        event = db.session.get(Event, event_id)
        organizer = db.session.scalar(sa.select(User).where(User.email.like("organizer%")))
        keys: list[str] = []

        def all_on_disk() -> bool:
            db.session.remove()
            keys[:] = db.session.scalars(
                sa.select(Certificate.pdf_key).where(Certificate.event_id == event_id,
                                                     Certificate.pdf_key.is_not(None))
            ).all()
            storage = get_storage()
            return len(keys) >= CERTIFICATES and all(storage.exists(key) for key in keys)

        started = time.perf_counter()
        IssueRunService.start(event, organizer)
        db.session.commit()  # the bulk job goes to RQ now
        poll_until(all_on_disk, ISSUE_TIMEOUT, 0.02,
                   lambda: f"only {len(keys)} of {CERTIFICATES} PDFs after {ISSUE_TIMEOUT} s")
        elapsed = time.perf_counter() - started
        db.session.remove()
        return elapsed


def wait_for_the_emails(app, event_id: int) -> None:
    """Untimed: the worker sends the round's certificate emails (the email_certificates jobs,
    then the deliveries they queue on the emails queue, which the worker serves first) before
    the next round starts, so they are not counted against it."""
    import sqlalchemy as sa

    from app.certificates.models import Certificate
    from app.extensions import db
    from app.jobs import QUEUES, rq_queue

    unsent = [0]

    def all_sent() -> bool:
        db.session.remove()
        unsent[0] = db.session.scalar(
            sa.select(sa.func.count()).select_from(Certificate)
            .where(Certificate.event_id == event_id, Certificate.emailed_at.is_(None)))
        queues = [rq_queue(name) for name in QUEUES]
        return not unsent[0] and not any(queue.count or queue.started_job_registry.count
                                         for queue in queues)

    with app.app_context():
        poll_until(all_sent, ISSUE_TIMEOUT, 0.1,
                   lambda: f"{unsent[0]} certificate emails unsent after {ISSUE_TIMEOUT} s")


def seconds_in_the_job(app, event_id: int) -> float:
    """How long the bulk job itself ran (its run's start to finish), to tell the job's cost
    from the queue's: the rest of a round is the hand-over to the worker and its fork."""
    import sqlalchemy as sa

    from app.certificates.run_models import CertificateIssueRun
    from app.extensions import db

    with app.app_context():
        run = db.session.scalar(sa.select(CertificateIssueRun)
                                .where(CertificateIssueRun.event_id == event_id))
        seconds = (run.finished_at - run.started_at).total_seconds()
        db.session.remove()
    return seconds


def wait_for_the_worker(app, seconds: float = 120) -> None:
    """Until the worker has imported and warmed the app and listens to its queues."""
    from rq import Worker

    from app.jobs import redis_connection

    with app.app_context():
        poll_until(lambda: Worker.count(connection=redis_connection()) > 0, seconds, 0.1,
                   lambda: f"the RQ worker did not start within {seconds:.0f} s")


def issuing_rounds(settings: dict[str, str],
                   events: list[int]) -> list[tuple[float, float, float]]:
    """(app seconds, of which in the job, bare seconds) for each event, the app's issuing and
    the bare render of the same documents taking turns."""
    app = make_app(settings)
    worker = start_worker(settings)
    rounds = []
    try:
        wait_for_the_worker(app)
        for event_id in events:
            app_seconds = issue_through_the_app(app, event_id)
            wait_for_the_emails(app, event_id)
            job_seconds = seconds_in_the_job(app, event_id)
            bare_seconds = bare_render(same_documents(app, event_id))
            rounds.append((app_seconds, job_seconds, bare_seconds))
    finally:
        stop(worker)
        with app.app_context():
            dispose(app)
    return rounds


def same_documents(app, event_id: int) -> list[str]:
    """The HTML the app rendered for each of the event's certificates (rebuilt from their
    frozen data)."""
    import sqlalchemy as sa

    from app.certificates.models import Certificate
    from app.certificates.rendering import certificate_context, render_template_html
    from app.extensions import db

    with app.test_request_context():
        certificates = db.session.scalars(
            sa.select(Certificate).where(Certificate.event_id == event_id)
            .order_by(Certificate.id)).all()
        documents = [render_template_html(c.template, certificate_context(c))
                     for c in certificates]
        db.session.remove()
    if len(set(documents)) != CERTIFICATES:
        raise SystemExit(f"expected {CERTIFICATES} distinct documents, got "
                         f"{len(set(documents))}")
    return documents


def bare_render(documents: list[str]) -> float:
    """Seconds for the documents one after another; the first once more beforehand, untimed,
    so that fonts and parsers are loaded as they are in the warmed worker."""
    from xhtml2pdf import pisa

    pisa.CreatePDF(documents[0], dest=io.BytesIO())
    started = time.perf_counter()
    for html in documents:
        result = pisa.CreatePDF(html, dest=io.BytesIO())
        if result.err:
            raise SystemExit("the bare render failed")
    return time.perf_counter() - started


# --- (b) The verification page against /healthz


def wait_until_answering(base: str, seconds: float = 120) -> None:
    """gunicorn accepts connections before its workers have imported the app (several
    seconds on a busy machine): wait until every worker answers."""
    deadline = time.perf_counter() + seconds
    answered = 0
    while answered < 4 * HTTP_WORKERS:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=30) as response:
                answered = answered + 1 if response.status == 200 else 0
        except OSError:
            answered = 0
            time.sleep(0.5)
        if time.perf_counter() > deadline:
            raise SystemExit(f"the app did not answer /healthz within {seconds:.0f} s")


def verification_ratio(settings: dict[str, str]) -> tuple[float, float]:
    """(median ratio of /verify/<code> to /healthz, median /healthz requests/s)."""
    import sqlalchemy as sa

    from app.certificates.models import Certificate
    from app.extensions import db

    app = make_app({**settings, "REDIS_URL": ""})
    with app.app_context():
        codes = db.session.scalars(sa.select(Certificate.verification_code)
                                   .order_by(Certificate.id).limit(CERTIFICATES)).all()
        dispose(app)
    paths = [f"/verify/{code}" for code in codes]
    process, base = serve(settings, HTTP_WORKERS)
    try:
        wait_until_answering(base)
        for path in paths:  # every page once: its credential signed, the page cached
            with urllib.request.urlopen(base + path, timeout=60) as response:
                if response.status != 200:
                    raise SystemExit(f"{path} answered {response.status}")
        measure(base, paths, seconds=2)
        measure(base, ["/healthz"], seconds=1)
        ratios, baselines = [], []
        for _ in range(ROUNDS):
            baseline = measure(base, ["/healthz"], seconds=ROUND_SECONDS)
            if baseline <= 0:
                raise SystemExit("/healthz answered nothing in a whole round: is the machine "
                                 "overloaded?")
            baselines.append(baseline)
            ratios.append(measure(base, paths, seconds=ROUND_SECONDS) / baseline)
        return statistics.median(ratios), statistics.median(baselines)
    finally:
        stop(process)


def main() -> int:
    if not os.environ.get("REDIS_URL"):
        print("bench/certificates.py needs REDIS_URL (an RQ worker runs the jobs)",
              file=sys.stderr)
        return 2
    if shutil.which("wrk") is None:
        print("bench/certificates.py needs wrk: apt-get install -y wrk", file=sys.stderr)
        return 2
    redis_url = reachable_redis()  # emptied
    if redis_url is None:
        print(f"cannot reach Redis at {os.environ['REDIS_URL']}", file=sys.stderr)
        return 2
    instance = Path(tempfile.mkdtemp(prefix="convene-certificates-"))
    url = (os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
           or os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'bench.db'}")
    settings = app_settings(url, instance, redis_url)
    try:
        events = build_database(settings)
        rounds = issuing_rounds(settings, events)
        verify_ratio, healthz = verification_ratio(settings)
    finally:
        shutil.rmtree(instance, ignore_errors=True)
        reachable_redis()  # drop whatever the jobs left queued (their emails)

    ratios = [app_seconds / bare_seconds for app_seconds, _job, bare_seconds in rounds]
    cost_ratio = statistics.median(ratios)
    job_ratio = statistics.median(job / bare for _app, job, bare in rounds)
    app_seconds, _job, bare_seconds = min(rounds, key=lambda r: abs(r[0] / r[2] - cost_ratio))
    database = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(f"\n{database}, {CERTIFICATES} certificates a round, one RQ worker, median of "
          f"{ISSUE_ROUNDS} interleaved rounds; verification: gunicorn {HTTP_WORKERS} workers, "
          f"page cache on, median of {ROUNDS} rounds of {ROUND_SECONDS} s")
    print("issuing rounds app (job)/bare: " + ", ".join(
        f"{a:.2f} ({j:.2f})/{b:.2f} s = {a / b:.2f}" for a, j, b in rounds))
    print(f"median round, issuing through the app (bulk job, until on disk): "
          f"{CERTIFICATES / app_seconds:6.1f} certificates/s ({app_seconds:.2f} s)")
    print(f"median round, bare xhtml2pdf.pisa.CreatePDF of the same HTML:   "
          f"{CERTIFICATES / bare_seconds:6.1f} certificates/s ({bare_seconds:.2f} s)")
    print(f"the bulk job alone (its run's start to finish) / bare, median: {job_ratio:.2f}")
    print(f"cost ratio app/bare, median of the rounds: {cost_ratio:.2f} "
          f"(target at most {MAX_COST_RATIO})")
    print(f"/verify/<code>: ratio {verify_ratio:.2f} of /healthz (~{verify_ratio * healthz:.0f}"
          f"/s, /healthz {healthz:.0f}/s; target at least {MIN_VERIFY_RATIO})")
    failed = []
    if cost_ratio > MAX_COST_RATIO:
        failed.append(f"issuing costs {cost_ratio:.2f}x the bare render")
    if verify_ratio < MIN_VERIFY_RATIO:
        failed.append(f"/verify/<code> at {verify_ratio:.2f} of /healthz")
    if failed:
        print("FAILED: " + "; ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

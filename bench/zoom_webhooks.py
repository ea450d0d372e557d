"""Zoom webhook intake throughput (issue 5, part (a)), as a ratio of /healthz in the same run.

    .venv/bin/python bench/zoom_webhooks.py                # SQLite in a temporary directory
    DATABASE_URL=postgresql://... bench/zoom_webhooks.py   (the schema there is rebuilt)

Serves the app with gunicorn (4 sync workers) with Redis configured (REDIS_URL, default
redis://127.0.0.1:6379/14, flushed before and after) so that processing is off the request
path: a delivery is verified, stored, enqueued and answered. Builds an event with four
sessions that have Zoom meeting ids, then sends 5,000 signed participant webhooks over HTTP
from 32 concurrent clients in four rounds (joins of half the participants, their leaves, joins
of the other half, their leaves), 10 % of each round being repeated deliveries (the same body,
signed again with a fresh timestamp, as Zoom retries). Each round is followed by a round of
as many GET /healthz from the same clients; the medians of the rounds give the ratio.

Then an RQ worker (in-process, burst) drains the queue, and the bench checks that there is one
AttendanceRecord per distinct joined delivery and that every left closed its interval.
Exits non-zero if the ratio is below 0.40, a request failed, or the counts differ.
The figures are printed last. The target is for production's PostgreSQL: on SQLite every
intake commit waits for the journal's fsync (and the four workers take turns writing), which
/healthz never does, so SQLite measures about 0.26 and fails.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import reachable_redis, serve, stop  # noqa: E402

DELIVERIES, CLIENTS, WORKERS, SESSIONS = 5_000, 32, 4, 4
ROUNDS = 4  # joins A, leaves A, joins B, leaves B
REPEATED = 0.10
TARGET_RATIO = 0.40
SECRET = "bench-zoom-secret"
PER_ROUND = DELIVERIES // ROUNDS
DISTINCT_PER_ROUND = round(PER_ROUND * (1 - REPEATED))  # 1,125, and 125 repeats


def app_settings(url: str, instance: Path, redis_url: str | None) -> dict[str, str]:
    return {"DATABASE_URL": url, "SECRET_KEY": "bench", "LOG_LEVEL": "WARNING",
            "REDIS_URL": redis_url or "", "MAIL_BACKEND": "file",
            "MAIL_DIR": str(instance / "mail"), "STORAGE_DIR": str(instance / "files"),
            "PAGE_CACHE": "0", "SITE_URL": "http://127.0.0.1",
            "ZOOM_WEBHOOK_SECRET_TOKEN": SECRET}


def make_app(url: str, instance: Path, redis_url: str | None = None):
    from app import create_app

    settings = app_settings(url, instance, redis_url)
    settings["REDIS_URL"] = redis_url
    return create_app(settings)


def dispose(app) -> None:
    from app.extensions import db

    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


def build_database(url: str, instance: Path) -> list[dict]:
    """Migrate an empty database; an event whose sessions are Zoom meetings. Returns the
    meetings (id, uuid, topic, start)."""
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from app.accounts.models import User
    from app.events.models import Event, EventRole
    from app.extensions import db
    from app.states import EventStatus
    from app.zoom.cli import meeting_uuid

    app = make_app(url, instance)
    with app.app_context():
        with db.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade(directory=str(ROOT / "migrations"))
        organizer = User(email="organizer@example.com", full_name="Olivia Organizer",
                         password_hash="x", timezone="Europe/London")
        db.session.add(organizer)
        db.session.flush()
        start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
        event = Event(title="Zoom bench", created_by_id=organizer.id, start_at=start,
                      end_at=start + timedelta(hours=SESSIONS * 2), status=EventStatus.PUBLISHED,
                      published_at=datetime.now(UTC), timezone="Europe/London")
        db.session.add(event)
        event.add_member(organizer, EventRole.ORGANIZER)
        for n in range(SESSIONS):
            event.add_session(
                title=f"Session {n + 1}", start_at=start + timedelta(hours=2 * n),
                end_at=start + timedelta(hours=2 * n + 1),
            )
        db.session.commit()  # the sessions of a published online event get (fake) meetings
        meetings = [
            {"id": session.zoom_meeting_id, "topic": session.title,
             "uuid": meeting_uuid(f"bench:{session.uuid}"), "start_at": session.start_at}
            for session in sorted(event.sessions, key=lambda s: s.start_at)
        ]
        if not all(meeting["id"] for meeting in meetings):
            raise SystemExit("the sessions got no Zoom meeting: is ZOOM_FAKE off?")
    dispose(app)
    return meetings


def deliveries(meetings: list[dict]) -> list[list[bytes]]:
    """The bodies of each round: distinct deliveries plus 10 % repeats, shuffled."""
    from app.zoom.cli import Participant, encode, participant_body

    rng = random.Random(5)
    rounds = []
    for number in range(ROUNDS):
        group, kind = divmod(number, 2)
        event = "meeting.participant_left" if kind else "meeting.participant_joined"
        bodies = []
        for n in range(DISTINCT_PER_ROUND):
            person = group * DISTINCT_PER_ROUND + n
            meeting = meetings[person % len(meetings)]
            who = Participant(user_id=str(16_000_000 + person), user_name=f"Person {person}",
                              participant_uuid=f"bench-participant-{person}",
                              email=f"person{person}@example.com")
            joined = meeting["start_at"] + timedelta(seconds=person % 600)
            when = joined + timedelta(minutes=30) if kind else joined
            bodies.append(encode(participant_body(event, meeting["id"], meeting["uuid"],
                                                  meeting["topic"], meeting["start_at"], who,
                                                  when)))
        bodies += rng.sample(bodies, PER_ROUND - DISTINCT_PER_ROUND)  # Zoom's retries
        rng.shuffle(bodies)
        rounds.append(bodies)
    return rounds


# --- HTTP: 32 clients, each its own connection


def fire(base: str, requests: list[tuple[str, str, bytes | None, dict]]):
    """Send every request from CLIENTS threads; returns (answers, seconds)."""
    parts = urlsplit(base)
    answers: list[tuple[int, bytes]] = [(0, b"")] * len(requests)
    order = itertools.count()
    ready = threading.Barrier(CLIENTS + 1)
    finished = [0.0] * CLIENTS

    def client(number: int) -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        ready.wait()
        while (index := next(order)) < len(requests):
            method, path, body, headers = requests[index]
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                answers[index] = (response.status, response.read())
                if response.will_close:
                    connection.close()  # the next request opens a new connection
            except (OSError, http.client.HTTPException):
                connection.close()
                answers[index] = (599, b"")
        connection.close()
        finished[number] = time.perf_counter()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    ready.wait()
    released = time.perf_counter()
    for thread in threads:
        thread.join()
    return answers, max(finished) - released


def webhook_round(base: str, bodies: list[bytes]) -> dict:
    from app.zoom.cli import signed_headers

    requests = [("POST", "/webhooks/zoom", raw, signed_headers(SECRET, raw)) for raw in bodies]
    answers, seconds = fire(base, requests)
    statuses = [json.loads(text).get("status") if code == 200 else None
                for code, text in answers]
    return {"seconds": seconds, "per_second": len(bodies) / seconds,
            "failed": sum(1 for code, _ in answers if code != 200),
            "received": statuses.count("received"), "duplicate": statuses.count("duplicate")}


def healthz_round(base: str, count: int) -> dict:
    answers, seconds = fire(base, [("GET", "/healthz", None, {})] * count)
    return {"per_second": count / seconds, "failed": sum(1 for c, _ in answers if c != 200)}


# --- Processing: drain the queue, then count


def drain(url: str, instance: Path, redis_url: str) -> dict:
    import sqlalchemy as sa
    from redis import Redis
    from rq import SimpleWorker

    from app.extensions import db
    from app.jobs import QUEUES, JobFailure
    from app.zoom.models import AttendanceRecord, ZoomWebhookLog

    app = make_app(url, instance, redis_url)
    with app.app_context():
        started = time.perf_counter()
        SimpleWorker(list(QUEUES), connection=Redis.from_url(redis_url)).work(
            burst=True, logging_level="WARNING"
        )
        seconds = time.perf_counter() - started
        count = sa.func.count
        result = {
            "seconds": seconds,
            "logs": db.session.scalar(sa.select(count(ZoomWebhookLog.id))),
            "records": db.session.scalar(sa.select(count(AttendanceRecord.id))),
            "open": db.session.scalar(
                sa.select(count(AttendanceRecord.id)).where(AttendanceRecord.leave_at.is_(None))
            ),
            "statuses": dict(db.session.execute(
                sa.select(ZoomWebhookLog.status, count()).group_by(ZoomWebhookLog.status)
            ).all()),
            "job_failures": db.session.scalar(sa.select(count(JobFailure.id))),
        }
        db.session.remove()
    dispose(app)
    return result


def main() -> int:
    redis_url = reachable_redis()
    if redis_url is None:
        raise SystemExit("this bench needs Redis (REDIS_URL, default redis://127.0.0.1:6379/14)")
    instance = Path(tempfile.mkdtemp(prefix="convene-zoom-"))
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'zoom.db'}"
    try:
        meetings = build_database(url, instance)
        bodies = deliveries(meetings)
        process, base = serve(app_settings(url, instance, redis_url), WORKERS)
        try:
            healthz_round(base, 200)  # warm the workers up
            rounds = []
            for round_bodies in bodies:
                hooks = webhook_round(base, round_bodies)
                health = healthz_round(base, len(round_bodies))
                rounds.append({**hooks, "healthz_per_second": health["per_second"],
                               "failed": hooks["failed"] + health["failed"]})
        finally:
            stop(process)
        processed = drain(url, instance, redis_url)
    finally:
        shutil.rmtree(instance, ignore_errors=True)
        reachable_redis()  # drop whatever is left in the queue

    distinct_joined = DISTINCT_PER_ROUND * ROUNDS // 2
    acks = statistics.median(r["per_second"] for r in rounds)
    health = statistics.median(r["healthz_per_second"] for r in rounds)
    ratio = acks / health
    failed = []
    for n, r in enumerate(rounds, start=1):
        print(f"round {n}: {r['per_second']:.0f} acknowledgements/s, /healthz "
              f"{r['healthz_per_second']:.0f}/s, received {r['received']}, duplicate "
              f"{r['duplicate']}, failed {r['failed']}")
        if r["failed"] or (r["received"], r["duplicate"]) != (
            DISTINCT_PER_ROUND, PER_ROUND - DISTINCT_PER_ROUND
        ):
            failed.append(f"round {n} answers")
    if processed["records"] != distinct_joined:
        failed.append(f"{processed['records']} attendance records, want {distinct_joined}")
    if processed["open"]:
        failed.append(f"{processed['open']} intervals left open")
    if processed["job_failures"]:
        failed.append(f"{processed['job_failures']} jobs failed")
    if ratio < TARGET_RATIO:
        failed.append(f"ratio {ratio:.2f} is below {TARGET_RATIO}")
    statuses = ", ".join(f"{status.value} {n}" for status, n in processed["statuses"].items())
    database = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(f"\n{database}, gunicorn {WORKERS} workers, RQ on Redis, {CLIENTS} clients, "
          f"{DELIVERIES:,} signed participant webhooks ({ROUNDS} rounds of {PER_ROUND}, "
          f"{PER_ROUND - DISTINCT_PER_ROUND} repeats each):")
    print(f"worker drained {processed['logs']} stored deliveries in {processed['seconds']:.1f} s "
          f"({processed['logs'] / processed['seconds']:.0f}/s): {statuses}")
    print(f"attendance records {processed['records']} (want {distinct_joined}), open intervals "
          f"{processed['open']} (want 0), failed jobs {processed['job_failures']}")
    print(f"acknowledgements {acks:.0f}/s; /healthz {health:.0f}/s; ratio {ratio:.2f} "
          f"(target {TARGET_RATIO})")
    if failed:
        print("FAILED: " + "; ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

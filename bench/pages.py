"""Page speed of the public event pages, as ratios of /healthz measured in the same run.

    .venv/bin/python bench/pages.py            # SQLite in a temporary directory
    DATABASE_URL=postgresql://... bench/pages.py   (the schema there is dropped and rebuilt)

Loads 10,000 events with 50,000 sessions and 2,000 speakers, serves the app with gunicorn on
127.0.0.1 and measures requests/s with wrk (apt-get install wrk) for: /healthz (the
baseline), /events (pages and filters), page 50 of /events with a filter, and event pages,
spreading requests over more than 200 distinct URLs. It does so twice, with the page cache on
and off. Exits non-zero when /events or the event page is below 0.30 of the baseline with the
cache, or below 0.12 without it. The figures are printed last.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import serve, stop  # noqa: E402

EVENTS, SESSIONS_PER_EVENT, SPEAKERS = 10_000, 5, 2_000
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
ROUND_SECONDS = int(os.environ.get("BENCH_SECONDS", "3"))
CONNECTIONS = 8
WORKERS = 2
TARGET_CACHED, TARGET_UNCACHED = 0.30, 0.12


def build_database(url: str, instance: Path) -> None:
    """Migrate an empty database and bulk-load the events (Core inserts, in batches)."""
    import sqlalchemy as sa
    from flask_migrate import upgrade
    from werkzeug.security import generate_password_hash

    from app import create_app
    from app.extensions import db

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "LOG_LEVEL": "WARNING",
                      "STORAGE_DIR": str(instance / "files"), "MAIL_DIR": str(instance / "mail")})
    with app.app_context():
        with db.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade(directory=str(ROOT / "migrations"))
        meta = db.metadata.tables
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        password = generate_password_hash("bench-password-1234", method="scrypt:1024:8:1")

        def stamp(row):
            row.update(uuid=uuid.uuid4(), created_at=now, updated_at=now)
            return row

        def insert(table, rows):
            for start in range(0, len(rows), 5_000):
                db.session.execute(meta[table].insert(), rows[start:start + 5_000])

        users = [stamp({"id": n, "email": f"person{n}@example.com", "password_hash": password,
                        "full_name": f"Speaker {n}", "professional_title": "Clinician",
                        "credentials": "", "bio": "", "timezone": "Europe/London",
                        "status": "active", "is_admin": False, "security_stamp": "x" * 32})
                 for n in range(1, SPEAKERS + 2)]
        insert("users", users)
        organizer = SPEAKERS + 1
        insert("calendars", [stamp({"id": 1, "name": "Community", "slug": "community",
                                    "description": ""})])
        categories = ["cardiology", "nursing", "pharmacy", "surgery", "meetups"]
        insert("event_categories", [stamp({"id": i + 1, "calendar_id": 1, "name": c.title(),
                                           "slug": c}) for i, c in enumerate(categories)])
        insert("event_locations", [stamp({"id": 1, "name": "Leeds Conference Centre",
                                           "address": "1 Park Row", "city": "Leeds",
                                           "postal_code": "", "country": "United Kingdom",
                                           "url": "", "notes": ""})])
        formats = ["virtual", "in_person", "hybrid"]
        events, sessions, links, members, speakers_links = [], [], [], [], []
        for n in range(1, EVENTS + 1):
            start = now + timedelta(hours=6 * n)
            fmt = formats[n % 3]
            events.append(stamp({
                "id": n, "title": f"Clinical update {n}", "slug": f"clinical-update-{n}",
                "summary": "Talks and workshops for clinicians.",
                "description": "Talks about **practice**.",
                "description_html": "<p>Talks about <strong>practice</strong>.</p>",
                "timezone": "Europe/London", "format": fmt,
                "venue_id": 1 if fmt != "virtual" else None, "capacity": 100,
                "waitlist_enabled": True, "max_speakers": None,
                "allow_parallel_sessions": False, "cpd_credits": 5,
                "visibility": "public", "status": "published", "calendar_id": 1,
                "created_by_id": organizer, "cancel_reason": "",
                "start_at": start, "end_at": start + timedelta(hours=SESSIONS_PER_EVENT),
            }))
            links.append({"event_id": n, "category_id": n % len(categories) + 1})
            members.append(stamp({"event_id": n, "user_id": organizer, "role": "organizer"}))
            for s in range(SESSIONS_PER_EVENT):
                session_id = (n - 1) * SESSIONS_PER_EVENT + s + 1
                speaker = session_id % SPEAKERS + 1
                sessions.append(stamp({
                    "id": session_id, "event_id": n, "title": f"Session {s + 1}",
                    "description": "", "room": f"Room {s + 1}", "position": s,
                    "start_at": start + timedelta(hours=s),
                    "end_at": start + timedelta(hours=s + 1),
                    "status": "scheduled", "cancel_reason": "",
                }))
                speakers_links.append(stamp({"session_id": session_id, "user_id": speaker,
                                             "role": "speaker"}))
            for speaker in sorted({(n * SESSIONS_PER_EVENT - s) % SPEAKERS + 1
                                   for s in range(SESSIONS_PER_EVENT)}):
                members.append(stamp({"event_id": n, "user_id": speaker, "role": "speaker"}))
        insert("events", events)
        insert("event_category_links", links)
        insert("event_users", members)
        insert("event_sessions", sessions)
        insert("session_speakers", speakers_links)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                    sa.text("ANALYZE")
                )


def start_app(url: str, instance: Path, page_cache: bool) -> tuple[subprocess.Popen, str]:
    return serve({"DATABASE_URL": url, "SECRET_KEY": "bench", "LOG_LEVEL": "WARNING",
                  "PAGE_CACHE": "1" if page_cache else "0",
                  "STORAGE_DIR": str(instance / "files"), "MAIL_DIR": str(instance / "mail")},
                 WORKERS)


def measure(base: str, paths: list[str], seconds: int) -> float:
    """Requests per second over `paths` (round robin); fails on any non-2xx answer."""
    quoted = ", ".join(f'"{p}"' for p in paths)
    lua = (
        f"local paths = {{{quoted}}}\nlocal i = 0\n"
        "request = function()\n  i = i % #paths + 1\n"
        "  return wrk.format('GET', paths[i])\nend\n"
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(lua)
        script.flush()
        result = subprocess.run(
            ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "-s", script.name, base],
            capture_output=True, text=True, check=True,
        )
    if "Non-2xx" in result.stdout:
        raise SystemExit(f"errors while measuring {paths[0]}…:\n{result.stdout}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))


def url_sets() -> dict[str, list[str]]:
    listing = [f"/events?page={n}" for n in range(1, 51)]
    listing += [f"/events?format={f}&page={n}" for f in ("virtual", "hybrid") for n in (1, 2, 3)]
    listing += [f"/events?category={c}" for c in ("cardiology", "nursing", "surgery")]
    listing += [f"/events?q=update+{n}" for n in range(1, 41)]
    page_50 = [f"/events?format={f}&page=50" for f in ("virtual", "in_person", "hybrid")]
    page_50 += [f"/events?category={c}&page=50" for c in ("cardiology", "nursing")]
    detail = [f"/events/clinical-update-{n}" for n in range(1, EVENTS, EVENTS // 150)]
    return {"listing": listing, "page_50": page_50, "detail": detail}


def run(url: str, instance: Path, page_cache: bool) -> dict[str, float]:
    """Median ratio to /healthz per URL group over interleaved rounds: each round measures
    the baseline and every group back to back, so a load swing on this shared machine moves
    numerator and denominator together."""
    process, base = start_app(url, instance, page_cache)
    try:
        urls = url_sets()
        for paths in urls.values():  # warm up every worker and every URL once
            measure(base, paths, seconds=2)
        ratios: dict[str, list[float]] = {name: [] for name in urls}
        baselines = []
        for _ in range(ROUNDS):
            baseline = measure(base, ["/healthz"], seconds=ROUND_SECONDS)
            baselines.append(baseline)
            for name, paths in urls.items():
                ratios[name].append(measure(base, paths, seconds=ROUND_SECONDS) / baseline)
        result = {"healthz": statistics.median(baselines)}
        result.update({name: statistics.median(values) for name, values in ratios.items()})
        return result
    finally:
        stop(process)


def main() -> int:
    if shutil.which("wrk") is None:
        print("bench/pages.py needs wrk: apt-get install -y wrk", file=sys.stderr)
        return 2
    instance = Path(tempfile.mkdtemp(prefix="convene-bench-"))
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'bench.db'}"
    started = time.perf_counter()
    build_database(url, instance)
    print(f"loaded {EVENTS} events, {EVENTS * SESSIONS_PER_EVENT} sessions, {SPEAKERS} "
          f"speakers in {time.perf_counter() - started:.0f} s", flush=True)
    distinct = sum(len(paths) for paths in url_sets().values())
    results = {cached: run(url, instance, cached) for cached in (True, False)}
    shutil.rmtree(instance, ignore_errors=True)

    failed = []
    print(f"\nmedian of {ROUNDS} interleaved rounds of {ROUND_SECONDS} s per group; "
          f"{WORKERS} gunicorn workers, {CONNECTIONS} connections, {distinct} distinct URLs")
    for cached, figures in results.items():
        label, floor = ("cache on ", TARGET_CACHED) if cached else ("cache off", TARGET_UNCACHED)
        print(f"{label}: /healthz {figures['healthz']:8.0f} requests/s (baseline)")
        for name in ("listing", "page_50", "detail"):
            ratio = figures[name]
            gated = name in ("listing", "detail")
            verdict = ("ok" if ratio >= floor else "BELOW TARGET") if gated else "(not gated)"
            print(f"{label}: {name:8} ratio {ratio:.2f} of /healthz  "
                  f"(~{ratio * figures['healthz']:.0f}/s)  target {floor:.2f} {verdict}")
            if gated and ratio < floor:
                failed.append(f"{name} ({label.strip()})")
    if failed:
        print("FAILED: " + ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

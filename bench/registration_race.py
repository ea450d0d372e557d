"""Registrations per minute for ONE event under a crowd, and that it never oversells.

    .venv/bin/python bench/registration_race.py                # SQLite in a temporary directory
    DATABASE_URL=postgresql://... bench/registration_race.py   (the schema there is rebuilt)

Serves the app with gunicorn (4 sync workers) as production runs it: jobs go to RQ on Redis, so
a registration validates, takes its seat, stores its answers, commits and enqueues its email
(the workers that render and send mail are not what is measured). REDIS_URL names the Redis
(default redis://127.0.0.1:6379/14, which is flushed); without a Redis the jobs run inline,
inside each request, and the figures say so. Logs in 500 distinct
users over HTTP, then, three times with a fresh event of 100 seats and a required registration
question, fires the 500 registrations at once (500 threads released together, one connection
each) and measures registrations/s from the release to the last answer. In the same round it
fires 500 concurrent GET /healthz the same way: the ratio of the two rates is the figure that
travels between machines. Medians of the three rounds are printed last.

Exits non-zero unless, in every round, 100 are CONFIRMED and 400 WAITLISTED (read from the
database), no request failed, and the median rate is at least 6,000 registrations a minute.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import reachable_redis, serve, stop  # noqa: E402

ATTENDEES, SEATS, ROUNDS, WORKERS = 500, 100, 3, 4
TARGET_PER_MINUTE = 6_000
PASSWORD = "bench-password-1234"
CHEAP_HASH = "scrypt:1024:8:1"  # logging 500 people in is set-up, not what is measured


# --- The database: attendees, an organizer, and one fresh event per round


def app_settings(url: str, instance: Path, redis_url: str | None = None) -> dict[str, str]:
    return {"DATABASE_URL": url, "SECRET_KEY": "bench", "LOG_LEVEL": "WARNING",
            "REDIS_URL": redis_url or "", "MAIL_BACKEND": "file",
            "MAIL_DIR": str(instance / "mail"),
            "STORAGE_DIR": str(instance / "files"), "PASSWORD_HASH_METHOD": CHEAP_HASH,
            "PAGE_CACHE": "0", "SITE_URL": "http://127.0.0.1"}


def make_app(url: str, instance: Path):
    from app import create_app

    return create_app({**app_settings(url, instance), "REDIS_URL": None})


def build_database(url: str, instance: Path) -> None:
    import sqlalchemy as sa
    from flask_migrate import upgrade
    from werkzeug.security import generate_password_hash

    from app.extensions import db

    app = make_app(url, instance)
    with app.app_context():
        with db.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade(directory=str(ROOT / "migrations"))
        now = datetime.now(UTC)
        password = generate_password_hash(PASSWORD, method=CHEAP_HASH)
        rows = [{"id": n, "uuid": uuid.uuid4(), "created_at": now, "updated_at": now,
                 "email": f"attendee{n}@example.com", "password_hash": password,
                 "full_name": f"Attendee {n}", "professional_title": "", "credentials": "",
                 "bio": "", "timezone": "Europe/London", "status": "active",
                 "is_admin": False, "security_stamp": uuid.uuid4().hex}
                for n in range(1, ATTENDEES + 2)]  # the last one organizes
        db.session.execute(db.metadata.tables["users"].insert(), rows)
        db.session.commit()


def create_event(url: str, instance: Path, round_number: int) -> str:
    """A published event with SEATS seats, the waitlist on, and a required question."""
    from app.accounts.models import User
    from app.events.models import CustomFieldType, Event, EventCustomField, EventRole
    from app.extensions import db
    from app.states import EventStatus

    app = make_app(url, instance)
    with app.app_context():
        organizer = db.session.get(User, ATTENDEES + 1)
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30 + round_number)
        event = Event(title=f"Race {round_number} {uuid.uuid4().hex[:6]}",
                      created_by_id=organizer.id,
                      start_at=start, end_at=start + timedelta(hours=3), capacity=SEATS,
                      waitlist_enabled=True, status=EventStatus.PUBLISHED,
                      published_at=datetime.now(UTC), timezone="Europe/London")
        db.session.add(event)
        event.add_member(organizer, EventRole.ORGANIZER)
        db.session.add(EventCustomField(event=event, label="Dietary needs", required=True,
                                        field_type=CustomFieldType.SINGLE_CHOICE, position=1,
                                        options=["None", "Vegetarian", "Vegan"]))
        db.session.commit()
        slug = event.slug
        for engine in db.engines.values():
            engine.dispose()
        return slug


def count_statuses(url: str, instance: Path, slug: str) -> dict[str, int]:
    import sqlalchemy as sa

    from app.events.models import Event
    from app.extensions import db
    from app.registrations.models import Registration

    app = make_app(url, instance)
    with app.app_context():
        rows = db.session.execute(
            sa.select(Registration.status, sa.func.count())
            .join(Event, Event.id == Registration.event_id)
            .where(Event.slug == slug).group_by(Registration.status)
        )
        counts = {status.value: count for status, count in rows}
        for engine in db.engines.values():
            engine.dispose()
        return counts


# --- HTTP: one connection per request, cookies by hand


class Browser:
    """One person's cookie jar and CSRF token."""

    def __init__(self, base: str):
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.cookies: dict[str, str] = {}
        self.token = ""

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=120)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            for header, value in response.getheaders():
                if header.lower() == "set-cookie":
                    name, _, rest = value.partition("=")
                    self.cookies[name] = rest.split(";", 1)[0]
            return response.status, text
        finally:
            connection.close()

    def read_token(self, html: str) -> None:
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
        if match:
            self.token = match.group(1)

    def log_in(self, email: str) -> None:
        status, html = self.request("GET", "/login")
        self.read_token(html)
        status, _ = self.request("POST", "/login", {"csrf_token": self.token, "email": email,
                                                    "password": PASSWORD})
        if status not in (302, 303):
            raise SystemExit(f"logging in {email} answered {status}")


def registration_form(browser: Browser, slug: str) -> dict:
    """Read the registration form once and answer its required question."""
    status, html = browser.request("GET", f"/events/{slug}/register")
    if status != 200:
        raise SystemExit(f"the registration form answered {status}")
    browser.read_token(html)
    form: dict = {}
    for name, value in re.findall(r'type="radio"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html):
        form.setdefault(name, value)
    for name, first in re.findall(
        r'<select[^>]*name="([^"]+)"[^>]*>\s*(?:<option[^>]*value=""[^>]*>[^<]*</option>\s*)?'
        r'<option[^>]*value="([^"]+)"', html
    ):
        form.setdefault(name, first)
    if not form:
        raise SystemExit("found no answer for the registration question in the form")
    return form


def crowd(requests: list, workers: int) -> tuple[list[int], float]:
    """Run every request at once (threads released together); (statuses, seconds)."""
    ready = threading.Barrier(len(requests) + 1)
    statuses: list[int] = [0] * len(requests)
    finished: list[float] = [0.0] * len(requests)

    def run(index: int) -> None:
        ready.wait()
        try:
            statuses[index] = requests[index]()
        except OSError:
            statuses[index] = 599
        finished[index] = time.perf_counter()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    ready.wait()
    released = time.perf_counter()
    for thread in threads:
        thread.join()
    return statuses, max(finished) - released


def run_round(url: str, instance: Path, base: str, browsers: list[Browser], number: int):
    slug = create_event(url, instance, number)
    form = registration_form(browsers[0], slug)
    path = f"/events/{slug}/register"

    def register(browser: Browser):
        return lambda: browser.request("POST", path, {**form, "csrf_token": browser.token})[0]

    def healthz(browser: Browser):
        return lambda: browser.request("GET", "/healthz")[0]

    statuses, seconds = crowd([register(b) for b in browsers], len(browsers))
    health_statuses, health_seconds = crowd([healthz(b) for b in browsers], len(browsers))
    counts = count_statuses(url, instance, slug)
    refused = sum(1 for s in statuses if s not in (302, 303))
    errors = sum(1 for s in statuses + health_statuses if s >= 500)
    return {
        "confirmed": counts.get("confirmed", 0),
        "waitlisted": counts.get("waitlisted", 0),
        "errors": errors,
        "refused": refused,
        "per_second": len(browsers) / seconds,
        "healthz_per_second": len(browsers) / health_seconds,
    }


def main() -> int:
    instance = Path(tempfile.mkdtemp(prefix="convene-race-"))
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'race.db'}"
    build_database(url, instance)
    redis_url = reachable_redis()
    process, base = serve(app_settings(url, instance, redis_url), WORKERS)
    try:
        browsers = [Browser(base) for _ in range(ATTENDEES)]
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda pair: pair[1].log_in(f"attendee{pair[0]}@example.com"),
                          enumerate(browsers, start=1)))
        # Each person's page carries their token: read it once (it lives with the session).
        slug = create_event(url, instance, 0)
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda b: registration_form(b, slug), browsers))
        rounds = [run_round(url, instance, base, browsers, n) for n in range(1, ROUNDS + 1)]
    finally:
        stop(process)
        shutil.rmtree(instance, ignore_errors=True)
        if redis_url:
            reachable_redis()  # drop the queued mail

    median = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    per_minute = median["per_second"] * 60
    ratio = median["per_second"] / median["healthz_per_second"]
    failed = []
    for n, r in enumerate(rounds, start=1):
        print(f"round {n}: confirmed {r['confirmed']}, waitlisted {r['waitlisted']}, "
              f"errors {r['errors']}, refused {r['refused']}, "
              f"{r['per_second']:.0f} registrations/s, /healthz {r['healthz_per_second']:.0f}/s")
        if (r["confirmed"], r["waitlisted"], r["errors"], r["refused"]) != (SEATS, 400, 0, 0):
            failed.append(f"round {n} counts")
    if per_minute < TARGET_PER_MINUTE:
        failed.append(f"{per_minute:.0f} registrations/min is below {TARGET_PER_MINUTE}")
    database = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    jobs = "emails enqueued to RQ on Redis" if redis_url else "jobs inline (no Redis)"
    print(f"\n{database}, gunicorn {WORKERS} workers, {jobs}, {ATTENDEES} concurrent "
          f"registrations for {SEATS} seats, median of {ROUNDS} rounds:")
    print(f"confirmed {median['confirmed']:.0f} (want {SEATS}), waitlisted "
          f"{median['waitlisted']:.0f} (want {ATTENDEES - SEATS}), errors (5xx) "
          f"{median['errors']:.0f}, refused {median['refused']:.0f}")
    print(f"registrations: {median['per_second']:.0f}/s = {per_minute:,.0f}/min "
          f"(target {TARGET_PER_MINUTE:,}/min); /healthz {median['healthz_per_second']:.0f}/s; "
          f"ratio {ratio:.2f} of /healthz")
    if failed:
        print("FAILED: " + "; ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Zoom attendance (issue 5, part (b)): matching and attendance computation for 1,000 and
for 10,000 participants and registrations, in process.

    .venv/bin/python bench/zoom.py                # SQLite in a temporary directory
    DATABASE_URL=postgresql://... bench/zoom.py   (the schema there is rebuilt)

For each size N: one event with a 60-minute session, N confirmed registrations, and N Zoom
participants with two intervals each (a re-join): half match by email, a quarter by a unique
name, a quarter nobody. Times AttendanceService.refresh (match, then recompute the session's
SessionAttendance rows) and checks the counts. Exits non-zero if the 10,000 run takes more
than 15 times the 1,000 one (the cost must grow linearly, not quadratically) or a count is
wrong. The figures are printed last. (bench/zoom_webhooks.py is part (a), the intake.)
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from app.core.process import freeze_startup_objects  # noqa: E402

SIZES = (1_000, 10_000)
MAX_RATIO = 15
T0 = datetime(2024, 6, 20, 16, 0, tzinfo=UTC)


def make_app(url: str, instance: Path):
    from app import create_app

    return create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "LOG_LEVEL": "WARNING",
                       "REDIS_URL": None, "MAIL_BACKEND": "file",
                       "MAIL_DIR": str(instance / "mail"), "STORAGE_DIR": str(instance / "files"),
                       "PAGE_CACHE": "0", "SITE_URL": "http://127.0.0.1"})


def rebuild(app) -> None:
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from app.extensions import db

    with app.app_context():
        with db.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade(directory=str(ROOT / "migrations"))


def populate(size: int) -> tuple[int, int]:
    """The event, session, registrations and intervals of one run; returns their ids."""
    import sqlalchemy as sa

    from app.extensions import db
    from app.registrations.models import Registration
    from app.states import RegistrationStatus
    from app.zoom.models import AttendanceRecord, AttendanceSource
    from tests.factories import EventFactory, SessionFactory

    event = EventFactory(title=f"Bench {size}")
    session = SessionFactory(event=event, zoom_meeting_id=str(size), start_at=T0,
                             end_at=T0 + timedelta(hours=1))
    db.session.flush()
    now = datetime.now(UTC)
    db.session.execute(sa.insert(Registration), [
        {"uuid": uuid.uuid4(), "created_at": now, "updated_at": now, "event_id": event.id,
         "email": f"person{n}-{size}@example.com", "full_name": f"Person {n} Of {size}",
         "status": RegistrationStatus.CONFIRMED, "confirmed_at": now}
        for n in range(size)
    ])
    records = []
    for n in range(size):
        kind = n % 4
        email = f"PERSON{n}-{size}@example.com" if kind < 2 else ""
        name = f"person {n} of {size}" if kind == 2 else f"Guest {n}"
        for join, leave in ((0, 20 + n % 30), (30, 55)):
            records.append({
                "uuid": uuid.uuid4(), "created_at": now, "updated_at": now,
                "event_id": event.id, "session_id": session.id, "meeting_id": str(size),
                "meeting_uuid": f"run-{size}", "participant_key": f"p{n}",
                "participant_uuid": "", "participant_user_id": "", "registrant_id": "",
                "email": email, "user_name": name, "source": AttendanceSource.ZOOM,
                "join_at": T0 + timedelta(minutes=join),
                "leave_at": T0 + timedelta(minutes=leave),
            })
    db.session.execute(sa.insert(AttendanceRecord), records)
    db.session.commit()
    return event.id, session.id


def run(app, size: int) -> float:
    import sqlalchemy as sa

    from app.events.models import Event, EventSession
    from app.extensions import db
    from app.zoom.attendance import AttendanceService
    from app.zoom.models import SessionAttendance

    with app.test_request_context():
        event_id, session_id = populate(size)
        db.session.expunge_all()
        started = time.perf_counter()
        event, session = db.session.get(Event, event_id), db.session.get(EventSession, session_id)
        AttendanceService.refresh(event, session)
        db.session.commit()
        elapsed = time.perf_counter() - started
        rows = db.session.scalar(sa.select(sa.func.count(SessionAttendance.id))
                                 .where(SessionAttendance.session_id == session_id))
        if rows != size * 3 // 4:
            raise SystemExit(f"{size}: {rows} attendance rows, expected {size * 3 // 4}")
        return elapsed


def main() -> int:
    instance = Path(tempfile.mkdtemp(prefix="bench-zoom-"))
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'bench.db'}"
    try:
        app = make_app(url, instance)
        freeze_startup_objects()  # as wsgi.py and `flask jobs worker` do
        rebuild(app)
        times = {size: run(app, size) for size in SIZES}
    finally:
        shutil.rmtree(instance, ignore_errors=True)
    small, large = (times[size] for size in SIZES)
    ratio = large / small
    print(f"database: {url.split(':', 1)[0]}")
    for size in SIZES:
        print(f"matching + attendance, {size:>6,} participants/registrations: {times[size]:.3f} s")
    print(f"ratio {SIZES[1]:,} / {SIZES[0]:,}: {ratio:.1f} (must be at most {MAX_RATIO})")
    return 0 if ratio <= MAX_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())

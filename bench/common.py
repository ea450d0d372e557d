"""What the benches share: a free port, an emptied Redis, and the app under gunicorn on
127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def poll_until(ready: Callable[[], bool], seconds: float, interval: float,
               failure: Callable[[], str]) -> None:
    """Call `ready` every `interval` seconds until it says yes; after `seconds`, stop the
    bench with `failure()` (a message that may say how far it got)."""
    deadline = time.perf_counter() + seconds
    while not ready():
        if time.perf_counter() > deadline:
            raise SystemExit(failure())
        time.sleep(interval)


def reachable_redis() -> str | None:
    """The Redis for the job queue, emptied; None when there is none (jobs run inline)."""
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/14"
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=1)
        client.flushdb()
        return url
    except Exception:
        return None


def serve(env: dict[str, str], workers: int) -> tuple[subprocess.Popen, str]:
    """Start gunicorn with `workers` sync workers and the settings in `env`; returns the
    process and its base URL once it accepts connections."""
    port = free_port()
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "--workers", str(workers), "--backlog", "2048",
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
        cwd=ROOT, env={**os.environ, **env}, start_new_session=True,
    )
    for _ in range(150):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    stop(process)
    raise SystemExit("gunicorn did not start")


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=15)

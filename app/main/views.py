"""The home page, the favicon and the health check."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify, render_template

from app.extensions import db, limiter
from app.jobs import redis_connection

bp = Blueprint("main", __name__)


@bp.get("/")
def home():
    return render_template("main/home.html")


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico whatever a page links (PDFs, JSON, error pages too)."""
    return current_app.send_static_file("favicon.ico")


@bp.get("/healthz")
@limiter.exempt
def healthz():
    """Exactly one `SELECT 1`, and one PING when Redis is configured: the bench baseline."""
    checks = {}
    try:
        db.session.execute(sa.text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any failure means "not reachable" for a health check
        checks["database"] = f"error: {type(exc).__name__}"
    redis = redis_connection()
    if redis is None:
        checks["redis"] = "not configured"
    else:
        try:
            redis.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
    healthy = all(value in ("ok", "not configured") for value in checks.values())
    checks["status"] = "ok" if healthy else "unavailable"
    return jsonify(checks), 200 if healthy else 503

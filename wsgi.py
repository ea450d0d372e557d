"""WSGI entry point: `gunicorn wsgi:app`, and `flask` finds the app here too."""

from app import create_app
from app.core.process import freeze_startup_objects

app = create_app()
freeze_startup_objects()

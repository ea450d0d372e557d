"""WSGI entry point: `gunicorn wsgi:app`, and `flask` finds the app here too."""

from app import create_app

app = create_app()

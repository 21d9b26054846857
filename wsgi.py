"""`gunicorn wsgi:app` entry point."""

from ivr.app import create_app

app = create_app()

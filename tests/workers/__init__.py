"""Tests with real Celery workers and beat, Redis and an SMTP server."""

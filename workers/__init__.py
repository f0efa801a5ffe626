"""Celery workers for timers, reminders and escalations; they call only the processes/ service layer."""

"""Shared test support: factories, pathway walking, task helpers and real background services (no tests)."""

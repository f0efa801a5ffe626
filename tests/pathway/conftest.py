"""Fixtures the pathway tests share: a person per role, and a child booked onto north's MACE 1 of 9 February 2027."""

from tests.test_meetings import child, people  # noqa: F401 (fixtures, found by pytest through this conftest)

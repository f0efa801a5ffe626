"""Tests for the MACE pathway engine, its API and CLI."""

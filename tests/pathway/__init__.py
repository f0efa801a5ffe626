"""Tests of the MACE pathway bundle: routes, timescales, meetings, oversight, alerts and its diagrams."""

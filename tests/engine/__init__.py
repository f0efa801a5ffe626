"""Tests of the generic BPMN engine: runtime, validation, scripts, concurrency, migrations, bad input."""

"""What the web routes share about their addresses: the id converter, and page numbers read from a query."""

from __future__ import annotations

from flask import request

# Ids fit a 32-bit column: a longer number is a 404 from the router, never a database overflow.
ID = "int(max=2147483647)"


def int_arg(name: str, default: int, below: int = 1_000_000) -> int:
    """A positive whole number from the query string, or the default for anything else."""
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and 0 < int(value) < below else default

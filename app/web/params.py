"""What the web routes share about their addresses: the id converter, page numbers read from a query, and
where users reach the app."""

from __future__ import annotations

from flask import current_app, request

# Ids fit a 32-bit column: a longer number is a 404 from the router, never a database overflow.
ID = "int(max=2147483647)"


def int_arg(name: str, default: int, below: int = 1_000_000) -> int:
    """A positive whole number from the query string, or the default for anything else."""
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and 0 < int(value) < below else default


def base_url() -> str:
    """Where users reach the app, for links that leave the page (a calendar invitation, single sign-on):
    BASE_URL when set, else the host and port this request came to, so `make run PORT=8000` links to 8000."""
    return current_app.config.get("BASE_URL") or request.host_url.rstrip("/")

"""Administrators' incidents page: the background steps that failed in their areas' pathways, and a retry,
through the incident service the API uses (it checks the permission and audits each case shown and retried)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from processes.engine import incidents
from processes.engine.errors import WorkflowFailed

from .auth import actor
from .params import ID

bp = Blueprint("admin_incidents", __name__, url_prefix="/admin/incidents")


def _page(failed: str | None = None, status: int = 200) -> ResponseReturnValue:
    return render_template("admin/incidents.html", incidents=incidents.open_incidents(actor()), failed=failed), \
        status


@bp.get("")
def incident_list() -> ResponseReturnValue:
    return _page()


@bp.post(f"/<{ID}:incident_id>/retry")
def retry(incident_id: int) -> ResponseReturnValue:
    try:
        incident = incidents.retry(actor(), incident_id)
    except WorkflowFailed as failure:
        # The engine's safe summary: the element id and the kind of error, never a child's details.
        return _page(failed=f"Incident {incident_id} failed again: {failure.message}", status=422)
    flash(f"Incident {incident.id} is resolved: the pathway ran on from '{incident.element_id}'.", "success")
    return redirect(url_for("web.admin_incidents.incident_list"))

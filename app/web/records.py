"""Records pages for administrators: the cases due for review under the retention schedule, their two-person
erasure, and a child's whole record for a subject access request (PDF and JSON)."""

from __future__ import annotations

import json

from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from processes.engine.clock import now
from processes.engine.errors import Conflict, Forbidden
from processes.mace import retention, subject_access
from processes.mace.working_days import UK

from .auth import actor

bp = Blueprint("records", __name__)
ID = "int(max=2147483647)"
DECISIONS = {
    "propose": (retention.propose_erasure, "Erasure is proposed. A second administrator must approve it."),
    "approve": (retention.approve_erasure, "The record is erased. The review keeps who decided, and no name."),
    "keep": (retention.keep_longer, "The record is kept. It comes back for review in a year."),
}


@bp.get("/records")
def reviews() -> ResponseReturnValue:
    return _page()


def _page(conflict: str | None = None, status: int = 200) -> ResponseReturnValue:
    me = actor()
    return render_template("records/reviews.html", reviews=retention.reviews(me), me=me, conflict=conflict), status


@bp.post(f"/records/<{ID}:case_id>/<any(propose, approve, keep):decision>")
def decide(case_id: int, decision: str) -> ResponseReturnValue:
    service, done = DECISIONS[decision]
    try:
        service(actor(), case_id)
    except (Conflict, Forbidden) as refused:
        return _page(conflict=refused.message, status=refused.status)
    flash(done, "success")  # names no child: flashed messages live in the session cookie
    return redirect(url_for("web.records.reviews"))


def _file_name(case_id: int, suffix: str) -> str:
    # A case number and a date, never a name: file names end up in download folders and mail attachments.
    return f'attachment; filename="subject-access-case-{case_id}-{now().astimezone(UK).date().isoformat()}.{suffix}"'


@bp.get(f"/cases/<{ID}:case_id>/subject-access.json")
def subject_access_json(case_id: int) -> ResponseReturnValue:
    record = subject_access.record_of(actor(), case_id)
    response = Response(json.dumps(record, indent=2, ensure_ascii=False), mimetype="application/json")
    response.headers["Content-Disposition"] = _file_name(case_id, "json")
    return response


@bp.get(f"/cases/<{ID}:case_id>/subject-access.pdf")
def subject_access_pdf(case_id: int) -> ResponseReturnValue:
    from weasyprint import HTML  # loaded on first export: it costs the other pages nothing

    record = subject_access.record_of(actor(), case_id, with_schemas=True)
    html = render_template("records/subject_access.html", record=record)
    response = Response(HTML(string=html).write_pdf(), mimetype="application/pdf")
    response.headers["Content-Disposition"] = _file_name(case_id, "pdf")
    return response

"""The audit log for information governance officers: search it by user, child, action and date, and download
the matches as CSV. `processes.mace.auditlog` checks the permission and audits both."""

from __future__ import annotations

import csv
import io
from datetime import date

from flask import Blueprint, Response, render_template, request
from flask.typing import ResponseReturnValue

from processes.engine.clock import aware, now
from processes.mace import auditlog, policy
from processes.mace.working_days import UK

from .auth import actor
from .display import ACTIONS
from .oversight import csv_cell
from .params import int_arg

bp = Blueprint("audit", __name__)
PAGE_SIZE = 50
TEXT_LIMIT = 200
DATE_FIELDS = {"since": "From", "until": "To"}


def _filter() -> tuple[auditlog.AuditFilter, list[tuple[str, str]]]:
    """The GET form's filter, and its problems by field: a date that is not one, or text far too long."""
    args, errors = request.args, []
    days: dict[str, date | None] = {}
    for name, label in DATE_FIELDS.items():
        raw = args.get(name, "").strip()
        try:
            days[name] = date.fromisoformat(raw) if raw else None
        except ValueError:
            days[name] = None
            errors.append((name, f"{label} must be a real date, like 2027-03-27"))
    texts = {name: args.get(name, "").strip() for name in ("user", "child")}
    for name, value in texts.items():
        if len(value) > TEXT_LIMIT or "\x00" in value:
            texts[name] = ""
            errors.append((name, f"{name.capitalize()} must be {TEXT_LIMIT} characters or fewer, without control "
                                 "characters"))
    if days["since"] and days["until"] and days["since"] > days["until"]:
        errors.append(("until", "To must be the same as or after From"))
    action = args.get("action") if args.get("action") in ACTIONS else None
    return auditlog.AuditFilter(texts["user"] or None, texts["child"] or None, action, days["since"],
                                days["until"]), errors


def _args() -> dict[str, str]:
    return {k: v for k in ("user", "child", "action", "since", "until") if (v := request.args.get(k, "").strip())}


@bp.get("/audit")
def search() -> ResponseReturnValue:
    me = actor()
    wanted, errors = _filter()
    page = int_arg("page", 1, below=100_000)
    me.require(policy.AUDIT_VIEW, "search the audit log")  # before telling anyone what their filter lacks
    found = auditlog.search(me, wanted, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE) if not errors \
        else auditlog.Found([], 0)
    return render_template("audit/search.html", found=found, errors=errors, error_list=errors, page=page,
                           pages=max(1, -(-found.total // PAGE_SIZE)), args=_args(),
                           actions=sorted(ACTIONS.items(), key=lambda kv: kv[1])), 400 if errors else 200


@bp.get("/audit.csv")
def search_csv() -> ResponseReturnValue:
    me = actor()
    wanted, errors = _filter()
    if errors:
        return search()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["at", "user", "action", "case_id", "child", "instance_id", "task_id", "detail"])
    for e in auditlog.export(me, wanted):
        row = e.event
        writer.writerow([csv_cell(str(v)) for v in (
            aware(row.at).astimezone(UK).isoformat(timespec="seconds"), e.username or "", row.action,
            row.case_id or "", e.child_name or "", row.instance_id or "", row.human_task_id or "", row.detail or "")])
    response = Response("\ufeff" + buffer.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = \
        f'attachment; filename="audit-{now().astimezone(UK).date().isoformat()}.csv"'
    return response

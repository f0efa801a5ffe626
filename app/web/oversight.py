"""Oversight pages for team managers, MACE chairs, business support and administrators: the overdue
dashboard (with its CSV download and charts), the bottleneck heatmap and the quarterly trends for MACE 2.

Each page calls `processes.mace.oversight`, which asks the pathway's policy who may see what (permissions and
areas) and audits the read.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue

from processes.engine import access, forms, repository
from processes.engine.clock import now
from processes.engine.errors import NotFound
from processes.identity import users as identity
from processes.mace import contract, diagrams, facts, oversight, policy
from processes.mace.working_days import UK

from . import formkit, heatmap
from .auth import actor
from .params import int_arg

bp = Blueprint("oversight", __name__)
PAGE_SIZE = 25
BUCKET_NAMES = {"overdue": "Overdue", "due_this_week": "Due this week", "on_time": "On time"}
# GOV.UK colours for the chart series; every chart also has a table of the same figures.
BUCKET_COLOURS = {"overdue": "#d4351c", "due_this_week": "#f47738", "on_time": "#00703c"}
UNCLAIMED = "(unclaimed)"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _filters(me, stages: dict[str, str]) -> oversight.Filters:
    """The GET form's filters; a value that is not one of the choices is ignored, as the inbox does."""
    args = request.args
    return oversight.Filters(
        stage=args.get("stage") if args.get("stage") in stages else None,
        area=args.get("area") if args.get("area") in me.areas else None,
        due_state=args.get("due") if args.get("due") in oversight.BUCKETS else None)


def _filter_args(filters: oversight.Filters) -> dict[str, str]:
    return {k: v for k, v in (("stage", filters.stage), ("area", filters.area), ("due", filters.due_state)) if v}


def _ordered(table: dict[str, dict[str, int]]) -> list[tuple[str, dict[str, int]]]:
    """Worst first: most overdue, then most due this week, then by name."""
    return sorted(table.items(), key=lambda kv: (-kv[1]["overdue"], -kv[1]["due_this_week"], kv[0]))


@bp.get("/oversight")
def dashboard() -> ResponseReturnValue:
    me = actor()
    stages = diagrams.stage_names()
    filters = _filters(me, stages)
    page = int_arg("page", 1, below=100_000)
    board = oversight.dashboard(me, filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    trend = oversight.weekly_trend(me, filters=filters)
    by_stage = _ordered(board.counts)
    totals = {bucket: sum(c[bucket] for c in board.counts.values()) for bucket in oversight.BUCKETS}
    stage_chart = {
        "kind": "stacked-bar",
        "labels": [stages.get(pid, diagrams.humanise(pid)) for pid, _ in by_stage],
        "series": [{"label": BUCKET_NAMES[b], "colour": BUCKET_COLOURS[b], "data": [c[b] for _, c in by_stage]}
                   for b in oversight.BUCKETS],
        "axis": "Open steps",
    }
    trend_chart = {
        "kind": "line",
        "labels": [f"{day.day} {day:%b}" for day, _ in trend],  # short on the axis; the table gives the year
        "series": [{"label": "Overdue steps", "colour": "#1d70b8", "data": [n for _, n in trend]}],
        "axis": "Overdue steps",
    }
    areas = identity.area_names(me.areas)
    args = _filter_args(filters)

    def linked(table, name: str, labels: dict[str, str]):
        return [(key, labels.get(key, key), url_for("web.oversight.dashboard", **(args | {name: key})), counts)
                for key, counts in _ordered(table)]

    return render_template(
        "oversight/dashboard.html", board=board, stages=stages, areas=areas, filters=filters, filter_args=args,
        page=page, pages=max(1, -(-board.total // PAGE_SIZE)),
        stage_rows=linked(board.counts, "stage",
                          {pid: stages.get(pid, diagrams.humanise(pid)) for pid in board.counts}),
        area_rows=linked(board.by_area, "area", areas),
        assignee_rows=[(key, "Not claimed" if key == UNCLAIMED else key, None, counts)
                       for key, counts in _ordered(board.by_assignee)],
        # Business support see every open step but open only their own role's: the others are not linked.
        openable={row.task.id for row in board.rows if access.can_see_task(me, row.task)},
        due_links={b: url_for("web.oversight.dashboard", **(args | {"due": b})) for b in oversight.BUCKETS},
        totals=totals, trend=trend, bucket_names=BUCKET_NAMES, stage_chart=stage_chart, trend_chart=trend_chart)


def csv_cell(value: str) -> str:
    """Spreadsheets run a cell that starts like a formula; a leading apostrophe keeps it text."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


@bp.get("/oversight.csv")
def dashboard_csv() -> ResponseReturnValue:
    me = actor()
    filters = _filters(me, diagrams.stage_names())
    lines = oversight.export(me, filters)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([[csv_cell(str(v)) for v in line] for line in lines])
    # A byte order mark so that Excel reads children's names in UTF-8; the file name holds a date, never a name.
    response = Response("\ufeff" + buffer.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = \
        f'attachment; filename="open-steps-{now().astimezone(UK).date().isoformat()}.csv"'
    return response


def _pathway():
    return repository.require_latest(current_app.config["PATHWAY_KEY"])


@bp.get("/oversight/bottlenecks")
def bottlenecks() -> ResponseReturnValue:
    me = actor()
    stats = oversight.bottlenecks(me)  # refuses anyone without an oversight role, before anything is read
    definition = _pathway()
    processes = diagrams.processes_of(definition)
    names = {pid: info.name for pid, info in processes.items()}
    main = definition.entry_process_id
    chosen = request.args.get("process") if request.args.get("process") in processes else main
    drawn = diagrams.diagram(definition, chosen, [], now())
    heat = heatmap.for_diagram(processes, drawn.file, stats, names)
    rows = sorted(stats, key=lambda s: (-(s.ratio if s.ratio is not None else -1), -s.over_target, s.name))
    stages = sorted(((pid, name) for pid, name in names.items()
                     if pid != main and processes[pid].file != processes[main].file), key=lambda item: item[1])
    choices = [(main, names.get(main, main)), *stages]
    data = {"xml": drawn.xml, "heat": {element: h.as_json() for element, h in heat.items()},
            "stageUrl": url_for("web.oversight.bottlenecks"),
            "casesUrl": url_for("web.oversight.bottleneck_cases", process_id="PROCESS", element_id="ELEMENT")}
    return render_template("oversight/bottlenecks.html", drawn=drawn, data=data, rows=rows, names=names,
                           choices=choices, chosen=chosen, main=main, heat=heat, level=heatmap.level,
                           words=heatmap.WORDS)


@bp.get("/oversight/bottlenecks/<process_id>/<element_id>")
def bottleneck_cases(process_id: str, element_id: str) -> ResponseReturnValue:
    me = actor()
    found = next((s for s in oversight.bottlenecks(me)
                  if s.process_id == process_id and s.element_id == element_id), None)
    if found is None:
        raise NotFound(f"No step {element_id} of {process_id} in the last 180 days.")
    names = {pid: info.name for pid, info in diagrams.processes_of(_pathway()).items()}
    return render_template("oversight/bottleneck_cases.html", step=found, stage=names.get(process_id, process_id),
                           level=heatmap.level(found.ratio), words=heatmap.WORDS)


def report_labels(definition) -> dict[str, dict[str, str]]:
    """Kind of case fact -> {value: label}, from the choices of the form fields that report it."""
    labels: dict[str, dict[str, str]] = {}
    for schema in forms.all_schemas(definition).values():
        for path, kind in facts.report_paths(schema):
            current: dict[str, Any] | None = schema
            for part in path:
                if current is not None and current.get("type") == "array":
                    current = formkit.item_schema(current)
                current = (current or {}).get("properties", {}).get(part)
            if current is not None and current.get("type") == "array":
                current = formkit.item_schema(current)
            labels.setdefault(kind, {}).update(dict(formkit.choices(current or {}) or []))
    return labels


@bp.get("/oversight/trends")
def trends() -> ResponseReturnValue:
    me = actor()
    today = now().astimezone(UK).date()
    errors: dict[str, str] = {}
    year_text = request.args.get("year", str(today.year)).strip()
    quarter_text = request.args.get("quarter", str((today.month - 1) // 3 + 1)).strip()
    year = int(year_text) if year_text.isdigit() and 2000 <= int(year_text) <= today.year + 1 else None
    quarter = int(quarter_text) if quarter_text in ("1", "2", "3", "4") else None
    if year is None:
        errors["year"] = f"Enter a year from 2000 to {today.year + 1}, for example {today.year}"
    if quarter is None:
        errors["quarter"] = "Select a quarter"
    found = None
    if not errors:
        found = oversight.quarterly(me, year, quarter)
    else:
        me.require(policy.OVERSIGHT_VIEW, "see oversight pages")  # a wrong year never hides a 403
    return render_template("oversight/trends.html", trends=found, year_text=year_text, quarter_text=quarter_text,
                           errors=errors, error_list=[(name, message) for name, message in errors.items()],
                           labels=report_labels(_pathway()), contract=contract, areas=identity.area_names(me.areas),
                           years=list(range(today.year, today.year - 5, -1))), 400 if errors else 200


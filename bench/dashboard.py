"""Oversight benchmark: the overdue dashboard and a MACE 1 agenda over 10,000 cases and 100,000 task rows.

Usage: python bench/dashboard.py [--cases N] [--quick] [--database-url URL]
Prints one name=value per line: dashboard_p95_ms (target at most 50), what the dashboard page reads (counts,
rows and the 12-week trend), and agenda_build_ms (at most 100), a MACE 1 agenda of 20 cases.
With no DATABASE_URL it uses a fresh SQLite file in a temporary folder; a database it is given is emptied
first (on PostgreSQL its public schema is dropped and recreated).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (
    add_database_arguments,
    analyze,
    app_for,
    database_uri,
    fresh_database,
    ms,
    percentile,
    print_results,
)
from processes.engine import bundle_files, repository
from processes.engine.actors import Actor
from processes.engine.clock import now
from processes.engine.db import db
from processes.engine.models import HumanTask, ProcessInstance
from processes.identity import users as identity
from processes.mace import meetings, oversight
from processes.mace.demo import PATHWAY_FOLDERS
from processes.mace.models import Booking, Case, Meeting

AREAS = ["bench-north", "bench-south", "bench-east", "bench-west"]
STAGES = [
    ("referral", "hub_decision", "hub_practitioner"), ("ric_case_discussion", "ric_record", "allocated_worker"),
    ("ric_meeting", "ric_plan", "ric_senior_practitioner"), ("plan_circulation", "share_plan", "allocated_worker"),
    ("plan_circulation", "circulate_plan", "business_support"), ("mace1", "agency_update", "core_member"),
    ("mace1", "mace1_outcome", "mace_chair"), ("after_mace1", "update_parents", "allocated_worker"),
    ("review", "review_plan", "allocated_worker"), ("escalation", "agree_escalation", "mace_chair"),
]
TASKS_PER_CASE = 10
AGENDA_CASES = 20
BATCH = 5_000


def seed(cases: int, rng: random.Random) -> tuple[Actor, Actor, Actor, int]:
    """Cases spread over the areas, each with ten steps of which the last is open with a due time from a
    month overdue to a month ahead; one meeting of the first area with a full agenda."""
    for area in AREAS:
        identity.create_area(area, area.title())
    everywhere = [("bench-manager", ["team_manager"], AREAS[:1]), ("bench-chair", ["mace_chair"], AREAS),
                  ("bench-support", ["business_support"], AREAS[:1])]
    for username, roles, areas in everywhere:
        identity.create_user(username, username, roles, areas)
    definition, _ = repository.deploy(None, "mace", bundle_files.read_folder(*PATHWAY_FOLDERS))
    at = now()
    db.session.execute(insert(Case), [
        {"id": n, "area_code": AREAS[n % len(AREAS)], "child_name": f"Bench Child {n}", "created_at": at}
        for n in range(1, cases + 1)])
    db.session.execute(insert(ProcessInstance), [
        {"id": n, "case_id": n, "definition_id": definition.id, "process_id": "mace", "status": "running",
         "state": "{}", "version": 1, "started_at": at} for n in range(1, cases + 1)])
    rows, task_id = [], 0
    for n in range(1, cases + 1):
        opened = at - timedelta(days=rng.randint(30, 400))
        for step in range(TASKS_PER_CASE):
            task_id += 1
            process_id, element_id, role = STAGES[step]
            is_open = step == TASKS_PER_CASE - 1
            created = opened + timedelta(days=3 * step)
            due = (at + timedelta(hours=rng.randint(-30 * 24, 30 * 24))) if is_open else created + timedelta(days=5)
            rows.append({"id": task_id, "instance_id": n, "case_id": n, "area_code": AREAS[n % len(AREAS)],
                         "spiff_task_id": f"{task_id:036d}", "element_id": element_id, "process_id": process_id,
                         "name": element_id.replace("_", " ").capitalize(), "role": role, "form": None,
                         "status": "open" if is_open else "completed", "created_at": created, "due_at": due,
                         "completed_at": None if is_open else created + timedelta(days=rng.randint(1, 9)),
                         "escalates": False})
            if len(rows) >= BATCH:
                db.session.execute(insert(HumanTask), rows)
                rows = []
    if rows:
        db.session.execute(insert(HumanTask), rows)
    meeting_at = at + timedelta(days=10)
    meeting = Meeting(area_code=AREAS[0], starts_at=meeting_at, plan_deadline=(at - timedelta(days=18)).date(),
                      minutes_per_case=15)
    db.session.add(meeting)
    agenda_cases = [n for n in range(1, cases + 1) if n % len(AREAS) == 0][:AGENDA_CASES]
    db.session.execute(insert(Booking), [
        {"case_id": n, "instance_id": n, "area_code": AREAS[0], "meeting_at": meeting_at,
         "plan_deadline": meeting.plan_deadline, "kind": "new" if i % 3 else "review", "status": "booked",
         "booked_at": at - timedelta(days=40)} for i, n in enumerate(agenda_cases)])
    db.session.commit()
    analyze()
    oversight.record_weeks()  # as the sweep keeps them, once each week ends
    people = [Actor.of(identity.get_user(u)) for u, _, _ in everywhere]
    return people[0], people[1], people[2], meeting.id


def page(actor: Actor) -> None:
    oversight.dashboard(actor)
    oversight.weekly_trend(actor)


def timed(call, runs: int) -> list[float]:
    for _ in range(5):
        call()  # warm caches and the query planner
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(ms(start))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="2,000 cases, 30 runs: under a minute")
    add_database_arguments(parser)
    args = parser.parse_args()
    cases, runs = (2_000, 30) if args.quick else (args.cases, args.runs)
    app = app_for(database_uri(args.database_url, "mace-bench-dashboard-"))
    with app.app_context():
        fresh_database()
        started = time.perf_counter()
        manager, chair, support, meeting_id = seed(cases, random.Random(7))
        seeded_s = ms(started) / 1000
        # What the dashboard page reads: the counts and rows, and the 12-week trend for its chart.
        manager_times = timed(lambda: page(manager), runs)
        chair_times = timed(lambda: page(chair), runs)
        trend_times = timed(lambda: oversight.weekly_trend(chair), max(10, runs // 5))
        agenda_times = timed(lambda: meetings.agenda(support, meeting_id), runs)
        agenda = meetings.agenda(support, meeting_id)
        board = oversight.dashboard(chair)
    print_results({
        "cases": cases,
        "task_rows": cases * TASKS_PER_CASE,
        "open_steps_seen_by_chair": board.total,
        "seed_s": seeded_s,
        "dashboard_p95_ms": percentile(manager_times + chair_times, 95),
        "dashboard_manager_p50_ms": percentile(manager_times, 50),
        "dashboard_chair_p50_ms": percentile(chair_times, 50),
        "weekly_trend_p50_ms": percentile(trend_times, 50),
        "agenda_items": len(agenda.items),
        "agenda_build_ms": percentile(agenda_times, 95),
    })


if __name__ == "__main__":
    main()

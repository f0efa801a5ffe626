"""Fictional demo data for a local run: areas, one user per role, the pathway, and cases at several stages."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from processes.engine import bundle_files, repository, runtime, write_queue
from processes.engine.actors import Actor
from processes.engine.clock import now
from processes.engine.db import db
from processes.engine.models import HumanTask
from processes.engine.transaction import atomic
from processes.identity import authentication
from processes.identity import users as identity
from processes.identity.models import User
from processes.mace import cases, meetings, retention
from processes.mace.contract import BOOKING_VARIABLE
from processes.mace.models import Case, RetentionReview
from processes.mace.roles import ROLES, in_sentence
from processes.mace.working_days import UK

AREAS = {"north": "Northshire North", "south": "Northshire South"}
ROOT = Path(__file__).resolve().parents[2]
PATHWAY_FOLDERS = (ROOT / "bpmn", ROOT / "forms")
# Invented names only: nothing here may come from the seed documents.
CHILDREN = [("Alex Example", "north"), ("Sam Sample", "north"), ("Jo Placeholder", "south")]
# Closed years ago and due for review under the retention schedule, so two administrators can try erasure.
CLOSED_LONG_AGO = ("Robin Retained", "north")
SECOND_ADMIN = "demo-second-admin"  # erasure needs two administrators: one proposes, another approves


@dataclass(frozen=True)
class Ahead:
    """A date this many days after today (UK), filled in when the answers are read: the forms refuse a date of
    something done that is still to come, and a due date already gone (their `x-date` rules)."""

    days: int


TODAY = Ahead(0)


class _Answers(Mapping[str, dict[str, Any]]):
    """The answers by element id, with each `Ahead` date made a date on the clock of the moment they are read."""

    def __init__(self, answers: dict[str, dict[str, Any]]):
        self._answers = answers

    def __getitem__(self, element_id: str) -> dict[str, Any]:
        return _dated(self._answers[element_id], now().astimezone(UK).date())

    def __iter__(self) -> Iterator[str]:
        return iter(self._answers)

    def __len__(self) -> int:
        return len(self._answers)


def _dated(value: Any, today: date) -> Any:
    if isinstance(value, Ahead):
        return (today + timedelta(days=value.days)).isoformat()
    if isinstance(value, dict):
        return {key: _dated(item, today) for key, item in value.items()}
    if isinstance(value, list):
        return [_dated(item, today) for item in value]
    return value


# Fictional teams: (name, area, manager's username); the demo's team manager and allocated worker are north's.
TEAMS = [("Northshire North Exploitation Team", "north", "demo-team-manager"),
         ("Northshire South Exploitation Team", "south", "demo-team-manager-south")]
# Each area's allocated worker, in its team: the hub allocates the demo's cases to them.
WORKERS = {"north": "demo-allocated-worker", "south": "demo-allocated-worker-south"}
CORE_AGENCY = "police"  # demo-core-member speaks for it; every other core agency has demo-core-member-<agency>
# A valid, fictional answer for every user task of the pathway, by element id: the demo's cases are walked with
# them, and the tests override what they route on.
ANSWERS: Mapping[str, dict[str, Any]] = _Answers({
    "screen": {"referrer_agency": "school", "exploitation_types": ["criminal"],
               "indicators": ["older_associates", "money_gifts"], "concern": "Seen with older youths after school",
               "persons_of_concern": [{"description": "Older youth known as 'K'", "link": "associate"}],
               "locations_of_concern": [{"place": "Underpass by the retail park", "location_type": "open_space"}],
               "child_aware": True, "parents_aware": True},
    "hub_decision": {"hub_decision": "allocate", "hub_reason": "Several indicators of criminal exploitation"},
    "ric_record": {"vulnerabilities": ["excluded"], "threats": "Older group recruiting", "strengths": "Likes football",
                   "information_sources": ["police", "school"], "next_steps": "RIC meeting",
                   "risk_level": "High", "risk_level_reason": "Police and school intelligence agree"},
    "ric_plan": {"meeting_held_on": TODAY, "parents_invited": True, "young_person_invited": True,
                 "threats_addressed": "Recruitment by the older group", "disruption_activities": ["patrols"],
                 "safeguarding_responses": ["safety_plan"], "support": ["youth_worker"],
                 "measures_of_success": [{"measure": "Attends school four days a week"}],
                 "actions": [{"action": "Targeted patrols at the underpass", "agency": "police",
                              "due_date": Ahead(28)}],
                 "young_person_views": "Wants to stay at his school", "parents_views": "Worried, supportive",
                 "mace1_threshold_met": True},
    "share_plan": {"shared_with_manager_on": TODAY, "plain_language": True, "manager_agrees": True},
    "circulate_plan": {"circulated_on": TODAY, "circulated_to": ["police", "health"]},
    "agency_update": {"attendance": "deputy", "attendee": "Dee Deputy", "deputy_briefed": True,
                      "agency_risk_view": "agree", "agency_plan_delivery": "on_track"},
    "mace1_outcome": {"risk_level_agreed": True,
                      "agreed_risk_level": "High", "plan_delivery": "on_track",
                      "measures_of_success_agreed": "School attendance", "escalation_agreed": False,
                      "mace1_outcome": "continue_review"},
    "disseminate": {"disseminated_on": TODAY, "forums": ["own_organisation", "child_in_need"]},
    "update_parents": {"parents_updated_on": TODAY, "update_method": "phone"},
    "review_plan": {"changes_in_risk": "Fewer sightings with the group", "actions_taken": "Patrols in place",
                    "support_needed": "None", "risk_level_now": "High", "review_outcome": "mace1"},
    "agree_escalation": {"escalation_reason": "plan_not_succeeding", "accountable_agencies": ["education_access"],
                         "response_required": "Find a school place", "respond_by": Ahead(14)},
    "agency_response": {"agency_response": "Place offered"},
    "check_response": {"escalation_resolved": True, "response_summary": "School place from Monday"},
    "escalate_onwards": {"escalated_to": ["head_of_service"], "escalated_on": TODAY,
                         "onward_reason": "No school place"},
    "community_review": {"support_in_place": ["youth_worker"], "community_risk_level": "Low",
                         "community_outcome": "close"},
    "universal_services": {"advice_given": "Online safety advice to the family", "signposted_to": ["online_safety"]},
    "return_interview": {"offered_on": TODAY, "interview_response": "accepted", "held_on": TODAY,
                         "push_pull_factors": ["peer_influence"], "repeat_episode": False, "risk_increased": False},
    "early_risk_review": {"early_review_risk_level": "High", "actions_agreed": "Strategy discussion"},
})

# Cases further on, so the oversight pages have work to show: (child, area, steps done, days ago it reached there).
FURTHER_ON = [("Riley Invented", "north", ["screen"], 3), ("Morgan Madeup", "north", ["screen"], 2),
              ("Casey Fictional", "north", ["screen", "hub_decision"], 16),
              ("Drew Pretend", "north", ["screen", "hub_decision", "ric_record"], 4)]
# Cases at a south MACE 1 meeting that is under way as the demo is seeded, so business support can record outcomes.
AT_THE_MEETING = ["Kit Storybook", "Ash Makebelieve"]
TO_THE_MEETING = ["screen", "hub_decision", "ric_record", "ric_plan", "share_plan", "circulate_plan", "agency_update"]

# Every demo user signs in to the web app with it; fictional data only, never for a real deployment.
DEMO_PASSWORD = "demo-password-not-secret"  # noqa: S105 (published in the README on purpose)


@atomic
def seed(pathway_key: str) -> dict[str, str] | None:
    """Create the demo data once, in one transaction.

    Returns each demo user's new API token, or None if already seeded.
    """
    if db.session.query(User.id).first() is not None:
        return None
    for code, name in AREAS.items():
        identity.create_area(code, name)
    # Deployed first: a user's agency must be one of the pathway's core agencies.
    repository.deploy(None, pathway_key, bundle_files.read_folder(*PATHWAY_FOLDERS))
    tokens = {}
    for role in ROLES:
        username = f"demo-{role.replace('_', '-')}"
        identity.create_user(username, f"Demo {in_sentence(role)}", [role], list(AREAS), f"{username}@example.org",
                             agency=CORE_AGENCY if role == "core_member" else None)
        authentication.set_password(username, DEMO_PASSWORD)
        tokens[username] = identity.create_token(username, "demo")
    identity.create_user(SECOND_ADMIN, "Demo second administrator", ["admin"], list(AREAS), None)
    authentication.set_password(SECOND_ADMIN, DEMO_PASSWORD)
    tokens[SECOND_ADMIN] = identity.create_token(SECOND_ADMIN, "demo")
    _teams_and_agencies()
    people = {role: Actor.of(identity.get_user(f"demo-{role.replace('_', '-')}")) for role in ROLES}
    for child, area in CHILDREN:
        _referral(people, area, child, pathway_key)
    for child, area, steps, days_ago in FURTHER_ON:
        case_id = _referral(people, area, child, pathway_key)
        _walk(people, case_id, steps)
        _opened_days_ago(case_id, days_ago)
    _meeting_under_way(people, pathway_key)
    _closed_long_ago(people, pathway_key)
    meetings.generate_ahead()
    return tokens


def _demo_user(username: str, name: str, role: str, areas: list[str], **extra: str) -> None:
    identity.create_user(username, name, [role], areas, f"{username}@example.org", **extra)
    authentication.set_password(username, DEMO_PASSWORD)


def _teams_and_agencies() -> None:
    """A team per area with its manager and allocated worker, and a core member for every other core agency."""
    _demo_user("demo-team-manager-south", "Demo south team manager", "team_manager", ["south"])
    _demo_user(WORKERS["south"], "Demo south allocated worker", "allocated_worker", ["south"])
    for name, area, manager in TEAMS:
        identity.create_team(name, area, manager)
    for (name, _area, manager), worker in zip(TEAMS, (WORKERS["north"], WORKERS["south"]), strict=True):
        identity.set_team_and_agency(manager, team=name)
        identity.set_team_and_agency(worker, team=name)
    for code, name in meetings.pathway_timescales().core_agencies.items():
        if code != CORE_AGENCY:
            _demo_user(_core_member(code), f"Demo core member ({name})", "core_member", list(AREAS), agency=code)


def _core_member(agency: str) -> str:
    return "demo-core-member" if agency == CORE_AGENCY else f"demo-core-member-{agency.replace('_', '-')}"


def _referral(people: dict[str, Actor], area: str, child: str, pathway_key: str) -> int:
    case = cases.create(people["referrer"], area, child)
    runtime.start(people["referrer"], case.id, pathway_key)
    return case.id


def _walk(people: dict[str, Actor], case_id: int, steps: list[str]) -> None:
    """Complete each step with its fictional answers, as a demo user of the step's role."""
    for element_id in steps:
        write_queue.send_now(db.session)  # the step just opened is still queued in this one transaction
        task = db.session.scalar(select(HumanTask).where(HumanTask.case_id == case_id, HumanTask.status == "open",
                                                         HumanTask.element_id == element_id))
        # A step already handed to someone (the case's worker) is theirs; one kept to an agency, its core member's.
        if task.assignee_id is not None:
            actor = Actor.of(db.session.get(User, task.assignee_id))
        elif task.group_code:
            actor = Actor.of(identity.get_user(_core_member(task.group_code)))
        else:
            actor = people[task.role]
        answers = ANSWERS[element_id]
        if element_id == "hub_decision":
            answers = {**answers, "allocated_worker": WORKERS[db.session.get(Case, case_id).area_code]}
        runtime.complete_task(actor, task.id, answers)


def _opened_days_ago(case_id: int, days: int) -> None:
    """Demo only: the case's open step opened some days ago, so it is due or overdue now and its alerts fall due."""
    shift = timedelta(days=days)
    write_queue.send_now(db.session)
    for task in db.session.scalars(select(HumanTask).where(HumanTask.case_id == case_id, HumanTask.status == "open")):
        task.created_at -= shift
        task.due_at = task.due_at - shift if task.due_at else None
        task.next_alert_at = task.next_alert_at - shift if task.next_alert_at else None


def _closed_long_ago(people: dict[str, Actor], pathway_key: str) -> None:
    """A referral withdrawn and closed, its time under the retention schedule then passed, and listed for review."""
    child, area = CLOSED_LONG_AGO
    case_id = _referral(people, area, child, pathway_key)
    runtime.cancel(people["admin"], meetings.running_main(case_id).id, "Referral withdrawn")
    db.session.get(RetentionReview, case_id).due_on = now().astimezone(UK).date() - timedelta(days=1)
    retention.list_due(case_id)


def _meeting_under_way(people: dict[str, Actor], pathway_key: str) -> None:
    """Walk two south cases to MACE 1 and move them into the area's latest meeting to have started (on its
    cadence), so business support can record their outcomes at once; the pathway's own timer opens each."""
    timescales = meetings.pathway_timescales()
    at = now()
    days = timescales.meeting_days("south", (at - timedelta(days=40)).astimezone(UK).date())
    latest = None
    for day in days:
        if timescales.meeting_at("south", day) > at:
            break
        latest = day
    booking: dict[str, Any] = {"date": timescales.meeting_at("south", latest).isoformat(), "day": latest.isoformat(),
                               "plan_deadline": timescales.plan_deadline(latest).isoformat()}
    for child in AT_THE_MEETING:
        case_id = _referral(people, "south", child, pathway_key)
        _walk(people, case_id, TO_THE_MEETING)
        runtime.set_variables(None, meetings.running_main(case_id).id, {BOOKING_VARIABLE: booking},
                              detail="demo: a meeting under way")

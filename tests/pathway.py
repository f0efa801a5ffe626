"""Driving the real MACE pathway in tests: a controllable clock, a person per role and valid answers per step."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import time_machine
from sqlalchemy import select

from processes import bundle_files, cases, repository, runtime
from processes.db import db
from processes.demo import PATHWAY_FOLDERS
from processes.identity import Actor
from processes.models import Case, HumanTask, ProcessInstance
from tests.helpers import open_tasks, swept

KEY = "mace"

# A valid answer for every user task of the pathway, by element id; tests override what they route on.
ANSWERS: dict[str, dict[str, Any]] = {
    "screen": {"referrer_agency": "school", "exploitation_types": ["criminal"],
               "indicators": ["older_associates", "money_gifts"], "concern": "Seen with older youths after school",
               "persons_of_concern": [{"description": "Older youth known as 'K'", "link": "associate"}],
               "locations_of_concern": [{"place": "Underpass by the retail park", "location_type": "open_space"}],
               "child_aware": True, "parents_aware": True},
    "hub_decision": {"hub_decision": "allocate", "hub_reason": "Several indicators of criminal exploitation"},
    "ric_record": {"vulnerabilities": ["excluded"], "threats": "Older group recruiting", "strengths": "Likes football",
                   "information_sources": ["police", "school"], "next_steps": "RIC meeting",
                   "risk_level": "High", "risk_level_reason": "Police and school intelligence agree"},
    "ric_plan": {"meeting_held_on": "2027-01-11", "parents_invited": True, "young_person_invited": True,
                 "threats_addressed": "Recruitment by the older group", "disruption_activities": ["patrols"],
                 "safeguarding_responses": ["safety_plan"], "support": ["youth_worker"],
                 "measures_of_success": [{"measure": "Attends school four days a week"}],
                 "actions": [{"action": "Targeted patrols at the underpass", "agency": "police",
                              "due_date": "2027-02-01"}],
                 "young_person_views": "Wants to stay at his school", "parents_views": "Worried, supportive",
                 "mace1_threshold_met": True},
    "share_plan": {"shared_with_manager_on": "2027-01-12", "plain_language": True, "manager_agrees": True},
    "circulate_plan": {"circulated_on": "2027-01-13", "circulated_to": ["police", "health"]},
    "agency_update": {"agency": "police", "attendance": "deputy", "deputy_briefed": True,
                      "agency_risk_view": "agree", "agency_plan_delivery": "on_track"},
    "mace1_outcome": {"agencies_present": ["police", "health", "childrens_services"],
                      "deputies": [{"agency": "police", "briefed": True}], "risk_level_agreed": True,
                      "agreed_risk_level": "High", "plan_delivery": "on_track",
                      "measures_of_success_agreed": "School attendance", "escalation_agreed": False,
                      "mace1_outcome": "continue_review"},
    "disseminate": {"disseminated_on": "2027-02-10", "forums": ["own_organisation", "child_in_need"]},
    "update_parents": {"parents_updated_on": "2027-02-11", "update_method": "phone"},
    "review_plan": {"changes_in_risk": "Fewer sightings with the group", "actions_taken": "Patrols in place",
                    "support_needed": "None", "risk_level_now": "High", "review_outcome": "mace1"},
    "agree_escalation": {"escalation_reason": "plan_not_succeeding", "accountable_agencies": ["education_access"],
                         "response_required": "Find a school place", "respond_by": "2027-03-01"},
    "agency_response": {"responding_agency": "education_access", "agency_response": "Place offered"},
    "check_response": {"escalation_resolved": True, "response_summary": "School place from Monday"},
    "escalate_onwards": {"escalated_to": ["head_of_service"], "escalated_on": "2027-03-05",
                         "onward_reason": "No school place"},
    "community_review": {"support_in_place": ["youth_worker"], "community_risk_level": "Low",
                         "community_outcome": "close"},
    "universal_services": {"advice_given": "Online safety advice to the family", "signposted_to": ["online_safety"]},
    "return_interview": {"offered_on": "2027-01-20", "interview_response": "accepted", "held_on": "2027-01-21",
                         "push_pull_factors": ["peer_influence"], "repeat_episode": False, "risk_increased": False},
    "early_risk_review": {"early_review_risk_level": "High", "actions_agreed": "Strategy discussion"},
}

ROLE_OF_STEP = {
    "screen": "referrer", "hub_decision": "hub_practitioner", "ric_record": "allocated_worker",
    "ric_plan": "ric_senior_practitioner", "share_plan": "allocated_worker", "circulate_plan": "business_support",
    "agency_update": "core_member", "mace1_outcome": "mace_chair", "disseminate": "core_member",
    "update_parents": "allocated_worker", "review_plan": "allocated_worker", "agree_escalation": "mace_chair",
    "agency_response": "core_member", "check_response": "mace_chair", "escalate_onwards": "mace_chair",
    "community_review": "allocated_worker", "universal_services": "allocated_worker",
    "return_interview": "missing_coordinator", "early_risk_review": "allocated_worker",
}


def deploy_pathway(files: dict[str, str] | None = None):
    definition, _ = repository.deploy(None, KEY, files or bundle_files.read_folder(*PATHWAY_FOLDERS))
    return definition


@dataclass
class Child:
    """One fictional child's case on the pathway, moved on step by step by the people of its area."""

    case: Case
    people: dict[str, Actor]
    clock: time_machine.Coordinates
    done: list[str] = field(default_factory=list)

    def open_steps(self) -> list[str]:
        return sorted(t.element_id for t in open_tasks(self.case.id))

    def step(self, element_id: str) -> HumanTask:
        [task] = [t for t in open_tasks(self.case.id) if t.element_id == element_id]
        return task

    def complete(self, element_id: str, **answers: Any) -> HumanTask:
        task = self.step(element_id)
        runtime.complete_task(self.people[task.role], task.id, {**ANSWERS[element_id], **answers})
        self.done.append(element_id)
        return task

    def travel(self, when: datetime) -> None:
        """Move the clock on and let the sweep fire whatever timers fell due, as the scheduler would."""
        self.clock.move_to(when)
        for instance_id in swept()["timers"]:
            runtime.fire_due_timers(instance_id)

    def instances(self) -> list[ProcessInstance]:
        db.session.expire_all()
        return list(db.session.scalars(select(ProcessInstance).where(ProcessInstance.case_id == self.case.id)
                                       .order_by(ProcessInstance.id)))

    def state(self) -> str:
        """'running', or how the pathway ended: the status of its newest instance of the main process."""
        return [i for i in self.instances() if i.process_id == KEY][-1].status


def start_child(people: dict[str, Actor], clock: time_machine.Coordinates, area: str = "north") -> Child:
    """A new referral for a fictional child, now; children sharing one clock move through time together."""
    case = cases.create(people["referrer"], area, "Casey Fictional")
    runtime.start(people["referrer"], case.id, KEY)
    return Child(case, people, clock)


@contextmanager
def child_on_pathway(people: dict[str, Actor], start: datetime, area: str = "north") -> Iterator[Child]:
    """A new referral for a fictional child, started at `start` with the clock held there."""
    with time_machine.travel(start, tick=False) as clock:
        yield start_child(people, clock, area)

"""The MACE pathway's policy: which of its roles may do what, and the decisions the pages and services ask of it."""

from __future__ import annotations

from dataclasses import dataclass

from processes.engine import access, actors
from processes.engine.actors import Actor
from processes.engine.models import HumanTask
from processes.engine.permissions import (
    DEFINITION_DEPLOY,
    INCIDENT_RETRY,
    INSTANCE_CANCEL,
    INSTANCE_START,
    MESSAGE_DELIVER,
    TASK_REASSIGN,
    TASK_SEE_AREA,
    USERS_MANAGE,
)
from processes.mace.roles import ROLES

# The pathway's own permissions, beside the engine's (processes.engine.permissions).
OVERSIGHT_VIEW = "oversight.view"  # the overdue dashboard, bottlenecks and quarterly trends of its areas
MEETING_VIEW = "meeting.view"  # MACE 1 meetings: list, agenda, register, summary, invitation
MEETING_MANAGE = "meeting.manage"  # move a case to a later meeting, keep the attendance register
MEETING_RECORD_OUTCOME = "meeting.record_outcome"  # record a child's MACE 1 outcome, whoever's step it is
REFERRAL_START = INSTANCE_START  # raising a referral is how a child's pathway starts, on the web or the API
ALERT_OVERDUE = "alert.overdue"  # told when any step of its areas is overdue
ALERT_ESCALATION = "alert.escalation"  # told when an escalating step is still open past its grace
RECORDS_ERASE = "records.erase"  # review closed cases due under the retention schedule; propose or approve erasure
RECORDS_EXPORT = "records.export"  # export a child's whole record, for a subject access request
AUDIT_VIEW = "audit.view"  # search its areas' audit log and download it as CSV
CASES_OF_AREA = "cases.of_area"  # "My cases" lists every case of its areas with a step open, not only its own
PLAN_ACTION_DONE = "plan_action.done"  # own plan actions of its areas: their work list, alerts, and marking done
CASE_ALLOCATE = "case.allocate"  # change a case's allocated worker, moving their open steps to the new one

MANAGES_TASKS = frozenset({TASK_SEE_AREA, TASK_REASSIGN, INSTANCE_CANCEL})
OVERSEES = frozenset({OVERSIGHT_VIEW, MEETING_VIEW})
RUNS_MEETINGS = frozenset({MEETING_MANAGE, MEETING_RECORD_OUTCOME})

# Role -> what it may do beyond the steps of its own lane. Every role of ROLES has a row, even an empty one.
GRANTS: dict[str, frozenset[str]] = {
    # Those who meet the child report a missing episode: the referrer, the allocated worker and the coordinator.
    "referrer": frozenset({REFERRAL_START, MESSAGE_DELIVER}),
    "hub_practitioner": frozenset(),
    # The core members and allocated workers of an area own its plan actions: those of the action's agency first.
    "allocated_worker": frozenset({MESSAGE_DELIVER, PLAN_ACTION_DONE}),
    "team_manager": MANAGES_TASKS | OVERSEES | {ALERT_OVERDUE, CASES_OF_AREA, CASE_ALLOCATE},
    "ric_senior_practitioner": frozenset(),
    "mace_chair": MANAGES_TASKS | OVERSEES | RUNS_MEETINGS | {ALERT_ESCALATION},
    "core_member": frozenset({PLAN_ACTION_DONE}),
    "business_support": OVERSEES | RUNS_MEETINGS,
    "missing_coordinator": frozenset({MESSAGE_DELIVER}),
    "process_owner": frozenset({DEFINITION_DEPLOY}),
    # Administrators run the service, so they are not sent the practitioners' alerts, nor start pathways or
    # report what happened to a child.
    "admin": MANAGES_TASKS | OVERSEES | RUNS_MEETINGS | {DEFINITION_DEPLOY, INCIDENT_RETRY, RECORDS_ERASE,
                                                         RECORDS_EXPORT, USERS_MANAGE},
    # Information governance: who saw or changed which child's record. Apart from running the service, so an
    # administrator cannot quietly read the log of their own actions.
    "auditor": frozenset({AUDIT_VIEW}),
}


def install() -> None:
    """Register the table with identity, in ROLES order, so that every Actor built carries its permissions."""
    actors.use_policy({role: GRANTS[role] for role in ROLES})


def roles_with(permission: str) -> list[str]:
    return actors.holders(permission)


@dataclass(frozen=True)
class Decisions:
    """What the signed-in user may do, as the pages ask it; with no one signed in, nothing."""

    actor: Actor | None = None
    start_referral: bool = False
    see_oversight: bool = False
    see_meetings: bool = False
    run_meetings: bool = False  # move cases on and keep the attendance register
    record_outcomes: bool = False
    reassign_tasks: bool = False
    review_records: bool = False  # the retention review list, and erasure
    see_area_cases: bool = False  # "My cases" holds every case of its areas with a step open
    export_records: bool = False  # a child's whole record, for a subject access request
    search_audit: bool = False
    deliver_messages: bool = False  # record what happened to a child (a missing episode) on their pathway
    manage_users: bool = False  # users and areas: add, change, reset a password, deactivate
    retry_incidents: bool = False
    own_plan_actions: bool = False  # a work list of plan actions, and marking them done
    change_worker: bool = False  # change a case's allocated worker

    @property
    def administer(self) -> bool:
        """The Administration pages: users, areas or incidents."""
        return self.manage_users or self.retry_incidents

    def claim(self, task: HumanTask) -> bool:
        return self.actor is not None and access.can_claim(self.actor, task)

    def act_on(self, task: HumanTask) -> bool:
        return self.actor is not None and access.can_act(self.actor, task)


def decisions_for(actor: Actor | None) -> Decisions:
    if actor is None:
        return Decisions()
    return Decisions(actor, start_referral=actor.may(REFERRAL_START), see_oversight=actor.may(OVERSIGHT_VIEW),
                     see_meetings=actor.may(MEETING_VIEW), run_meetings=actor.may(MEETING_MANAGE),
                     record_outcomes=actor.may(MEETING_RECORD_OUTCOME), reassign_tasks=actor.may(TASK_REASSIGN),
                     review_records=actor.may(RECORDS_ERASE), export_records=actor.may(RECORDS_EXPORT),
                     search_audit=actor.may(AUDIT_VIEW), deliver_messages=actor.may(MESSAGE_DELIVER),
                     manage_users=actor.may(USERS_MANAGE), retry_incidents=actor.may(INCIDENT_RETRY),
                     see_area_cases=actor.may(CASES_OF_AREA), own_plan_actions=actor.may(PLAN_ACTION_DONE),
                     change_worker=actor.may(CASE_ALLOCATE))
